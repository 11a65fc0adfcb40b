"""End to end: the `csdsl` command line, its outputs and exit statuses.

The tests call `csdsl.cli.main` in-process (tests/clikit.py); the smoke tests at the end
run the installed console script as a real process."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest

from .clikit import csdsl, spawn
from .conftest import EXAMPLES, ROOT

GOLDEN = ROOT / "tests" / "golden" / "graph"

BAD = """rule r {
  when segment == "Enterprize" and usage > "high"
  then cta risk "x {{ account.nam }}"
  owner CSMM
}
"""


@pytest.fixture
def bad_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "spec"
    shutil.copytree(EXAMPLES, spec)
    (spec / "bad.cs").write_text(BAD, encoding="utf-8")
    return spec


def test_check_examples_is_clean() -> None:
    result = csdsl("check", str(EXAMPLES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("no problems in ")
    assert "Traceback" not in result.stderr


def test_check_reports_errors_with_caret_and_summary(bad_spec: Path) -> None:
    result = csdsl("check", ".", cwd=bad_spec)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == 'bad.cs:2:19: error[CS0301]: `"Enterprize"` is not a value of `segment`'
    assert "  |                   ^^^^^^^^^^^^" in lines
    assert "  help: did you mean `\"Enterprise\"`?" in lines
    assert any("error[CS0300]" in line for line in lines)
    assert any("error[CS0501]" in line and "`nam`" in line for line in lines)
    assert any("error[CS0204]" in line and "`CSMM`" in line for line in lines)
    assert result.stderr.strip().startswith("4 errors")


def test_check_json_github_sarif(bad_spec: Path) -> None:
    as_json = json.loads(csdsl("check", ".", "--format", "json", cwd=bad_spec).stdout)
    assert as_json["summary"]["errors"] == 4
    first = as_json["diagnostics"][0]
    assert {first["code"], first["file"], first["line"], first["column"]} == {
        "CS0301", "bad.cs", 2, 19
    }
    github = csdsl("check", ".", "--format", "github", cwd=bad_spec).stdout.splitlines()
    assert github[0].startswith("::error file=bad.cs,line=2,col=19,")
    sarif = json.loads(csdsl("check", ".", "--format", "sarif", cwd=bad_spec).stdout)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert len(results) == 4
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 2


def test_strict_makes_warnings_fail(tmp_path: Path) -> None:
    spec = tmp_path / "w.cs"
    spec.write_text("role Unused\n", encoding="utf-8")
    assert csdsl("check", str(spec)).returncode == 0
    assert csdsl("check", "--strict", str(spec)).returncode == 1


def test_bad_usage_and_unreadable_input_exit_2(tmp_path: Path) -> None:
    missing = csdsl("check", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    binary = tmp_path / "b.cs"
    binary.write_bytes(b"rule \xff\xfe {")
    unreadable = csdsl("check", str(binary))
    assert unreadable.returncode == 2 and "CS0001" in unreadable.stdout
    assert csdsl("check").returncode == 2
    assert csdsl("frobnicate").returncode == 2


def test_compile_writes_a_valid_deterministic_artifact(tmp_path: Path) -> None:
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    assert csdsl("compile", str(EXAMPLES), "-o", str(out1)).returncode == 0
    assert csdsl("compile", str(EXAMPLES), "-o", str(out2)).returncode == 0
    assert out1.read_bytes() == out2.read_bytes()
    schema = json.loads((ROOT / "specs" / "artifact.schema.json").read_text())
    jsonschema.validate(json.loads(out1.read_text()), schema)


def test_compile_with_errors_writes_nothing(bad_spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    assert csdsl("compile", str(bad_spec), "-o", str(out)).returncode == 1
    assert not out.exists()


def test_fmt_check_diff_and_write(tmp_path: Path) -> None:
    assert csdsl("fmt", "--check", str(EXAMPLES)).returncode == 0
    messy = tmp_path / "m.cs"
    messy.write_text("metric usage\nrule r { when usage > 1  then cta risk \"x\" }\n")
    check = csdsl("fmt", "--check", str(messy))
    assert check.returncode == 1 and "would reformat" in check.stdout
    diff = csdsl("fmt", "--diff", str(messy))
    assert "+  when usage > 1" in diff.stdout
    assert messy.read_text().startswith("metric usage\nrule r {")  # --diff writes nothing
    assert csdsl("fmt", str(messy)).returncode == 0
    assert csdsl("fmt", "--check", str(messy)).returncode == 0


def test_schema_command_prints_the_checked_in_schema() -> None:
    result = csdsl("schema")
    assert result.returncode == 0
    assert result.stdout == (ROOT / "specs" / "artifact.schema.json").read_text()


@pytest.mark.parametrize(("name", "fmt"), [("Onboarding", "mermaid"), ("Onboarding", "dot"),
                                           ("UsageDrop", "mermaid")])
def test_graph_golden(name: str, fmt: str) -> None:
    result = csdsl("graph", name, str(EXAMPLES), "--format", fmt, "--start", "2026-11-23")
    assert result.returncode == 0, result.stderr
    golden = GOLDEN / f"{name}.{fmt}"
    if os.environ.get("CSDSL_UPDATE_GOLDEN"):
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()


def test_graph_titles_with_line_breaks_stay_on_one_chart_line(tmp_path: Path) -> None:
    (tmp_path / "p.cs").write_text('role CSM\nplaybook P {\n  task a "first\\nline" { owner CSM }\n'
                                   '  task b "x: y" { after a  owner CSM }\n}\n', encoding="utf-8")
    for fmt in ("mermaid", "dot"):
        out = csdsl("graph", "P", str(tmp_path), "--format", fmt, "--start", "2026-11-23").stdout
        assert "first line" in out and "first\n" not in out


def test_graph_unknown_name_suggests() -> None:
    result = csdsl("graph", "Onbording", str(EXAMPLES))
    assert result.returncode == 2
    assert "did you mean `Onboarding`?" in result.stderr


def test_color_only_when_asked_or_on_a_terminal(bad_spec: Path) -> None:
    always = csdsl("check", ".", "--color", "always", cwd=bad_spec)
    assert "\x1b[" in always.stdout
    # auto: captured output is no terminal, so no colour even without NO_COLOR
    auto = csdsl("check", ".", cwd=bad_spec, env={"NO_COLOR": None, "TERM": "xterm"})
    assert auto.returncode == 1 and "\x1b[" not in auto.stdout
    assert auto.stdout == csdsl("check", ".", "--color", "never", cwd=bad_spec).stdout


def test_version() -> None:
    from csdsl import __version__

    result = csdsl("--version")
    assert (result.returncode, result.stdout) == (0, f"csdsl {__version__}\n")


# ------------------------------------------------------------ the installed command


def test_the_installed_command_checks_and_prints_its_version(bad_spec: Path) -> None:
    """Smoke test: the console script starts, finds its package and exits as in-process."""
    from csdsl import __version__

    version = spawn("csdsl", "--version")
    assert (version.returncode, version.stdout) == (0, f"csdsl {__version__}\n")
    clean = spawn("csdsl", "check", str(EXAMPLES))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == "" and clean.stderr.startswith("no problems in ")
    bad = spawn("csdsl", "check", ".", cwd=bad_spec)
    assert bad.returncode == 1 and "error[CS0301]" in bad.stdout
    in_process = csdsl("check", ".", cwd=bad_spec)
    assert (bad.stdout, bad.stderr) == (in_process.stdout, in_process.stderr)
