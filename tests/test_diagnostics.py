"""Golden tests: one input and its exact rendered output for every diagnostic code.

Each `tests/golden/diagnostics/CSxxxx.cs` (or directory `CSxxxx/` of `.cs` files) is a
small spec; `CSxxxx.txt` is what `csdsl check --color never` prints for it (the text
diagnostics, then the summary line). A directory that also holds `.cstest` files is a
spec with its tests (the codes of spec tests, CS08xx): its `.txt` holds the diagnostics
of the spec and of its tests, as `csdsl test` reports them before it runs anything, then
the summary line. In the input, `### CSxxxx` at the end of a line
says a diagnostic with that code must point at that line; every diagnostic must be
marked, so an unexpected one fails the test. `### CSxxxx "words"` also requires the
message to contain the words.

Regenerate the expected outputs with `CSDSL_UPDATE_GOLDEN=1 pytest tests/test_diagnostics.py`
and review the diff by eye.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from csdsl import diagnostics as D
from csdsl.codes import CODES
from csdsl.driver import check_sources, read_sources
from csdsl.spectest.check import load_suite

from . import clikit
from .conftest import ROOT

GOLDEN = Path(__file__).resolve().parent / "golden" / "diagnostics"
RENDER = GOLDEN / "render"
UPDATE = os.environ.get("CSDSL_UPDATE_GOLDEN") == "1"

# Codes that have no golden file, each with the reason and where it is tested instead.
# (CS0001 has a golden for a file that is not UTF-8; an unreadable file is tested below.)
EXEMPT: dict[str, str] = {}

_MARKER = re.compile(r'###\s*(CS\d{4})(?:\s+"([^"]*)")?')


def _inputs() -> list[Path]:
    """`CSxxxx.cs` or `CSxxxx/`, plus variants `CSxxxx-what.cs` for other cases of a code."""
    found = [p for p in GOLDEN.iterdir()
             if re.fullmatch(r"CS\d{4}(-[a-z0-9-]+)?(\.cs)?", p.name)]
    return sorted(found, key=lambda p: p.name)


def _name_of(path: Path) -> str:
    """The golden's name: `CS0301`, `CS0200-enum`; its output is `<name>.txt`."""
    return path.name.removesuffix(".cs")


def _code_of(path: Path) -> str:
    return path.name[:6]


def _check(inputs: list[str]):  # type: ignore[no-untyped-def]
    return check_sources(read_sources(inputs))


@dataclass
class _Checked:
    """What a golden's check found: diagnostics, the texts to show them in, files read."""

    diagnostics: list[D.Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    file_count: int = 0


def _has_tests(path: Path) -> bool:
    return path.is_dir() and any(path.rglob("*.cstest"))


def _check_golden(path: Path) -> _Checked:
    """Check a golden input (the working directory is the golden folder): a spec, or a
    spec with its tests, whose diagnostics are then the spec's and the tests' together."""
    result = _check([path.name])
    checked = _Checked(list(result.diagnostics), dict(result.sources), result.file_count)
    if _has_tests(path):
        assert result.model is not None
        suite, found, _ = load_suite([path.name], result.model)
        checked.diagnostics = sorted([*checked.diagnostics, *found], key=D.Diagnostic.sort_key)
        checked.sources.update(suite.sources)
        checked.file_count += len(list(path.rglob("*.cstest")))
    return checked


def _render_text(result) -> str:  # type: ignore[no-untyped-def]
    summary = D.summarize(result.diagnostics, result.file_count)
    return D.render_text(result.diagnostics, result.sources) + summary.line() + "\n"


def _golden_files(path: Path) -> list[Path]:
    """The input files of a golden: its `.cs` files, then its `.cstest` files."""
    if not path.is_dir():
        return [path]
    return sorted(path.rglob("*.cs")) + sorted(path.rglob("*.cstest"))


def _markers(path: Path) -> list[tuple[str, int, str, str | None]]:
    """(file as displayed, line, code, required words) for every `### CODE` marker."""
    files = _golden_files(path)
    found = []
    for f in files:
        text = f.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.split("\n"), 1):
            for m in _MARKER.finditer(line):
                found.append((f.relative_to(GOLDEN).as_posix(), number, m.group(1), m.group(2)))
    return found


def _compare(expected_file: Path, actual: str) -> None:
    if UPDATE:
        expected_file.write_text(actual, encoding="utf-8")
        return
    assert expected_file.exists(), f"no {expected_file.name}: run with CSDSL_UPDATE_GOLDEN=1"
    assert actual == expected_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", _inputs(), ids=_name_of)
def test_golden(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)  # paths in the output are relative to the golden folder
    result = _check_golden(path)
    _compare(GOLDEN / f"{_name_of(path)}.txt", _render_text(result))

    markers = _markers(path)
    code = _code_of(path)
    assert any(c == code for _, _, c, _ in markers), f"{path.name} has no `### {code}` marker"
    unmatched = list(result.diagnostics)
    for file, line, mcode, words in markers:
        hit = next((d for d in unmatched if (d.span.file, d.span.line, d.code)
                    == (file, line, mcode)), None)
        assert hit is not None, f"no {mcode} at {file}:{line}"
        if words:
            assert words in hit.message, f"{mcode} at {file}:{line}: {hit.message!r}"
        unmatched.remove(hit)
    assert not unmatched, "diagnostics without a marker: " + "; ".join(
        f"{d.span} {d.code} {d.message}" for d in unmatched
    )


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_has_a_golden(code: str) -> None:
    has_input = (GOLDEN / f"{code}.cs").is_file() or (GOLDEN / code).is_dir()
    assert has_input or code in EXEMPT, f"no golden input for {code}"


def test_goldens_only_for_known_codes() -> None:
    assert {_code_of(p) for p in _inputs()} <= set(CODES)
    assert set(EXEMPT) <= set(CODES)


def test_messages_follow_the_style() -> None:
    """No capital, no final period, one line: for every golden's diagnostics."""
    for path in _inputs():
        cwd = Path.cwd()
        os.chdir(GOLDEN)
        try:
            result = _check_golden(path)
        finally:
            os.chdir(cwd)
        for d in result.diagnostics:
            assert d.message[:1] == d.message[:1].lower(), d.message
            assert not d.message.endswith("."), d.message
            assert "\n" not in d.message, d.message
            for h in d.help:
                assert not h.endswith(".") or h.endswith("..."), h
                assert "\n" not in h, h


# ------------------------------------------------------------ the real command


@pytest.mark.parametrize("code", ["CS0301", "CS0200"])
def test_cli_prints_the_golden(code: str) -> None:
    target = code if (GOLDEN / code).is_dir() else f"{code}.cs"
    result = clikit.csdsl("check", "--color", "never", target, cwd=GOLDEN)
    assert result.returncode == 1
    assert result.stdout + result.stderr == (GOLDEN / f"{code}.txt").read_text(encoding="utf-8")


def test_python_m_csdsl_cli_prints_the_golden() -> None:
    """Smoke test: `python -m csdsl.cli` as a real process, from the source tree."""
    proc = subprocess.run(
        [sys.executable, "-m", "csdsl.cli", "check", "--color", "never", "CS0301.cs"],
        cwd=GOLDEN, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 1
    assert proc.stdout + proc.stderr == (GOLDEN / "CS0301.txt").read_text(encoding="utf-8")


# ------------------------------------------------------------ I/O errors


def test_unreadable_file_is_cs0001(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "ok.cs").write_text("metric usage\n", encoding="utf-8")
    (spec / "locked.cs").write_text("metric logins\n", encoding="utf-8")
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "locked.cs":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.chdir(tmp_path)
    result = _check(["spec"])
    assert result.unreadable
    [d] = [d for d in result.diagnostics if d.code == "CS0001"]
    assert d.is_error and d.span.file == "spec/locked.cs" and (d.span.line, d.span.column) == (1, 1)
    assert d.message.startswith("cannot read `spec/locked.cs`: ")
    assert "Permission denied" in d.message
    assert "spec/ok.cs" in result.sources  # the other files are still read


# ------------------------------------------------------------ other renderers


def _render_inputs(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(RENDER)
    return _check(["multi.cs"])


def test_render_json(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _render_inputs(monkeypatch)
    summary = D.summarize(result.diagnostics, result.file_count)
    text = D.render_json(result.diagnostics, summary)
    json.loads(text)
    _compare(RENDER / "multi.json", text)


def test_render_github(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _render_inputs(monkeypatch)
    _compare(RENDER / "multi.github", D.render_github(result.diagnostics))


def test_render_sarif(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _render_inputs(monkeypatch)
    text = D.render_sarif(result.diagnostics, CODES, "VERSION")
    sarif = json.loads(text)
    assert sarif["version"] == "2.1.0"
    _compare(RENDER / "multi.sarif", text)


def test_render_text_of_the_multi_error_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _render_inputs(monkeypatch)
    _compare(RENDER / "multi.txt", _render_text(result))


# ------------------------------------------------------------ the reference


def test_specs_diagnostics_lists_every_code() -> None:
    """specs/diagnostics.md has one `## CSxxxx` section per code, in order."""
    text = (ROOT / "specs" / "diagnostics.md").read_text(encoding="utf-8")
    listed = re.findall(r"^## (CS\d{4})\b", text, re.MULTILINE)
    assert listed == sorted(CODES)
    table = re.findall(r"^\| \[(CS\d{4})\]", text, re.MULTILINE)
    assert table == sorted(CODES)


_EXAMPLE = re.compile(r"<!-- golden (CS\d{4}) -->\n.*?<!-- /golden -->", re.DOTALL)


def _example_block(code: str) -> str:
    """The input(s) and output of a code's golden, as Markdown."""
    path = GOLDEN / code if (GOLDEN / code).is_dir() else GOLDEN / f"{code}.cs"
    parts = [f"<!-- golden {code} -->"]
    for f in _golden_files(path):
        try:
            text = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            text = "# (this file's bytes are not UTF-8: the input is Latin-1 text)\n"
        parts.append(f"`{f.relative_to(GOLDEN).as_posix()}`:\n\n```\n{text.rstrip()}\n```")
    output = (GOLDEN / f"{code}.txt").read_text(encoding="utf-8")
    command = (f"What `csdsl test --color never {path.name}` reports before it runs"
               if _has_tests(path) else f"`csdsl check --color never {path.name}`")
    parts.append(f"{command}:\n\n```text\n{output.rstrip()}\n```")
    parts.append("<!-- /golden -->")
    return "\n\n".join(parts)


def test_specs_diagnostics_examples_are_the_goldens() -> None:
    """Each code's example in specs/diagnostics.md is its golden input and output."""
    doc = ROOT / "specs" / "diagnostics.md"
    text = doc.read_text(encoding="utf-8")
    expected = _EXAMPLE.sub(lambda m: _example_block(m.group(1)), text)
    if UPDATE:
        doc.write_text(expected, encoding="utf-8")
        return
    assert text == expected, "specs/diagnostics.md is stale: run with CSDSL_UPDATE_GOLDEN=1"
    assert set(_EXAMPLE.findall(text)) == {_code_of(p) for p in _inputs()}  # one example each


def test_specs_language_lists_the_reserved_words() -> None:
    """The reserved words in specs/language.md are the parser's RESERVED, no more, no less."""
    from csdsl.syntax.keywords import RESERVED

    text = (ROOT / "specs" / "language.md").read_text(encoding="utf-8")
    block = text.split("- **Reserved words**", 1)[1].split("Using one where", 1)[0]
    assert set(re.findall(r"`([a-z_]+)`", block)) == set(RESERVED)
