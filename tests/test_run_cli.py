"""`csdsl run`, `csdsl ctas` and the other runtime commands.

They run in-process (tests/clikit.py); `test_run_then_ctas` also runs the installed
console scripts as real processes, and one test installs the runtime into a new venv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import clikit
from tests.rtkit import ASOF, compile_spec_text
from tests.test_runtime import RULES, drop_data

ROOT = Path(__file__).resolve().parent.parent
Ran = clikit.Result | subprocess.CompletedProcess[str]


def run(*args: str, cwd: Path, tool: str = "csdsl") -> clikit.Result:
    return clikit.run(tool, *args, cwd=cwd)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    compile_spec_text(tmp_path, RULES)  # writes tmp/spec
    drop_data().write(tmp_path / "data")
    return tmp_path


@pytest.mark.parametrize("runner", [clikit.run, clikit.spawn], ids=["in-process", "process"])
def test_run_then_ctas(project: Path, runner: Callable[..., Ran]) -> None:
    """In-process, and once through the installed console script as a smoke test."""
    done = runner("csdsl", "run", "spec", "--data", "data", "--as-of", ASOF.isoformat(),
                  cwd=project)
    assert done.returncode == 0, done.stderr
    assert "opened 1 CTAs" in done.stdout and (project / "csdsl.db").exists()
    listed = runner("csdsl", "ctas", "--format", "json", cwd=project)
    assert listed.returncode == 0
    (cta,) = json.loads(listed.stdout)
    required = {"id", "rule", "account_id", "type", "title", "priority", "owner", "status",
                "outcome", "created", "due", "playbook", "plan", "tasks"}
    assert required <= cta.keys()
    assert [set(t) >= {"key", "title", "owner", "type", "start", "due", "status"}
            for t in cta["tasks"]] == [True, True]
    text = runner("csdsl", "ctas", cwd=project).stdout
    assert "Usage dropped for Acme" in text and "1 CTAs (1 open)" in text


def test_host_operations(project: Path) -> None:
    run("run", "spec", "--data", "data", "--as-of", "2026-11-20", cwd=project)
    (cta,) = json.loads(run("ctas", "--format", "json", cwd=project).stdout)
    task = cta["tasks"][0]["id"]
    assert run("complete-task", str(task), "--date", "2026-11-21", cwd=project).returncode == 0
    again = run("complete-task", str(task), cwd=project)
    assert again.returncode == 1 and "is done, not open" in again.stderr
    no_reason = run("close", str(cta["id"]), "--outcome", "not_valid", cwd=project)
    assert no_reason.returncode == 1 and "needs a reason" in no_reason.stderr
    closed = run("close", str(cta["id"]), "--outcome", "not_valid", "--reason", "duplicate",
                 cwd=project)
    assert closed.returncode == 0
    (cta,) = json.loads(run("ctas", "--format", "json", cwd=project).stdout)
    assert (cta["status"], cta["outcome"], cta["outcome_reason"]) == (
        "closed", "not_valid", "duplicate")
    assert [t["status"] for t in cta["tasks"]] == ["done", "cancelled"]
    missing = run("close", "999", "--outcome", "success", cwd=project)
    assert missing.returncode == 1 and "no CTA with id 999" in missing.stderr


def test_a_compiled_artifact_runs_and_dry_run_stores_nothing(project: Path) -> None:
    assert run("compile", "spec", "-o", "spec.json", cwd=project).returncode == 0
    dry = run("run", "spec.json", "--data", "data", "--as-of", "2026-11-20", "--dry-run",
              cwd=project)
    assert dry.returncode == 0 and "would open 1 CTAs" in dry.stdout
    assert not (project / "csdsl.db").exists()  # no store yet: the dry run made none
    assert json.loads(run("ctas", "--format", "json", cwd=project).stdout) == []


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (("--as-of", "20-11-2026"), 2, "is not a date"),
        (("--as-of", "2026-11-20", "--data", "nowhere"), 1, "no data at `nowhere`"),
        (("--as-of", "2026-11-20", "--store", "mysql://x"), 2, "unknown store URL"),
        (("--as-of", "2026-W47-5"), 2, "is not a date"),
    ],
)
def test_run_usage_errors(project: Path, args: tuple[str, ...], status: int, message: str) -> None:
    base = ["run", "spec"] + ([] if "--data" in args else ["--data", "data"])
    done = run(*base, *args, cwd=project)
    assert done.returncode == status and message in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_data_fails_or_is_skipped(project: Path) -> None:
    with (project / "data" / "metrics.csv").open("a", encoding="utf-8") as handle:
        handle.write("a1,usage,2026-11-31,3\n")
    failed = run("run", "spec", "--data", "data", "--as-of", "2026-11-20", cwd=project)
    assert failed.returncode == 1
    assert "metrics.csv:30: `2026-11-31` is not a date" in failed.stderr
    skipped = run("run", "spec", "--data", "data", "--as-of", "2026-11-20",
                  "--on-bad-data", "skip", "--format", "json", cwd=project)
    assert skipped.returncode == 0 and json.loads(skipped.stdout)["bad_rows"] == 1


def test_a_tampered_artifact_is_refused(project: Path) -> None:
    run("compile", "spec", "-o", "spec.json", cwd=project)
    text = (project / "spec.json").read_text(encoding="utf-8")
    (project / "spec.json").write_text(text.replace('"high"', '"low"'), encoding="utf-8")
    done = run("run", "spec.json", "--data", "data", "--as-of", "2026-11-20", cwd=project,
               tool="csdsl-runtime")
    assert done.returncode == 1 and "spec_hash does not match" in done.stderr


def test_spec_errors_exit_1(project: Path) -> None:
    (project / "spec" / "main.cs").write_text('rule r { when arr > "x"  then cta risk "R" }\n',
                                              encoding="utf-8")
    done = run("run", "spec", "--data", "data", "--as-of", "2026-11-20", cwd=project)
    assert done.returncode == 1 and "error[CS0300]" in done.stdout


@pytest.mark.slow
def test_the_runtime_installs_and_runs_alone(tmp_path: Path, project: Path) -> None:
    """A host installs only csdsl-runtime (no lark, no compiler) and runs an artifact."""
    run("compile", "spec", "-o", "spec.json", cwd=project)
    env_dir = tmp_path / "host-venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(ROOT / "runtime")], capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stderr
    probe = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('lark'), "
         "u.find_spec('csdsl'))"], capture_output=True, text=True, cwd=project,
    )
    assert probe.stdout.split() == ["None", "None"]
    done = subprocess.run(
        [str(env_dir / "bin" / "csdsl-runtime"), "run", "spec.json", "--data", "data",
         "--as-of", "2026-11-20", "--store", "sqlite:///host.db"],
        cwd=project, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "opened 1 CTAs" in done.stdout


def test_both_engines_open_the_same_ctas_on_the_example_data(tmp_path: Path) -> None:
    listed = {}
    for engine in ("interpreter", "duckdb"):
        store = f"sqlite:///{tmp_path / engine}.db"
        examples = ROOT / "examples"
        done = run("run", str(examples / "spec"), "--data", str(examples / "data"),
                   "--as-of", "2026-11-20", "--engine", engine, "--store", store, "--quiet",
                   "--format", "json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["engine"] == engine
        ctas = json.loads(run("ctas", "--store", store, "--format", "json", cwd=tmp_path).stdout)
        listed[engine] = sorted((c["rule"], c["account_id"], c["title"], c["due"]) for c in ctas)
    assert len(listed["interpreter"]) > 100
    assert listed["duckdb"] == listed["interpreter"]


@pytest.mark.slow
def test_the_built_wheel_holds_the_whole_compiler(tmp_path: Path) -> None:
    """The wheel (not the checkout) has every module, the grammar and py.typed: a
    `csdsl check` run from the unpacked wheel alone works."""
    import zipfile

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("csdsl-*.whl")
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(unpacked)
    for module in ROOT.joinpath("csdsl").rglob("*.py"):
        assert module.relative_to(ROOT).as_posix() in names
    assert {"csdsl/grammar/csdsl.lark", "csdsl/py.typed"} <= names
    done = subprocess.run(
        [sys.executable, "-c", "import sys, csdsl.cli; print(csdsl.cli.__file__, "
         "file=sys.stderr); sys.exit(csdsl.cli.main(sys.argv[1:]))", "check",
         str(ROOT / "examples" / "spec")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(unpacked)},
    )
    assert done.returncode == 0, done.stderr
    assert str(unpacked) in done.stderr.splitlines()[0]
