"""The pre-commit hooks (.pre-commit-hooks.yaml), run by the real `pre-commit` tool.

pre-commit installs a hook repository from git at a commit, so the session copies this
working tree into a throwaway repository and commits it; a second throwaway repository,
the user's, holds the example spec and a `.pre-commit-config.yaml` that points at the
first. Building the hooks' virtualenv (pip install of csdsl and ./runtime) is the slow
part: one PRE_COMMIT_HOME serves the whole session, so it is built once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

HOOKS = ROOT / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, text=True,
                          capture_output=True, check=True)
    return done.stdout.strip()


def _commit(repo: Path) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-gpg-sign", "--allow-empty", "-m", "snapshot")
    return _git(repo, "rev-parse", "HEAD")


def test_the_manifest_declares_the_hooks() -> None:
    yaml = pytest.importorskip("yaml")
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    assert {"csdsl-fmt", "csdsl-fmt-check", "csdsl-check", "csdsl-test"} <= set(hooks)
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["entry"].startswith("csdsl ")
        # csdsl-runtime is not on PyPI: pip takes it from the hook repository's checkout
        assert "./runtime" in hook["additional_dependencies"]
    assert hooks["csdsl-fmt"]["entry"] == "csdsl fmt"  # fixes files; pre-commit sees it
    assert "--check" in hooks["csdsl-fmt-check"]["entry"]
    for name in ("csdsl-check", "csdsl-test"):  # a spec is a directory, not changed files
        assert hooks[name]["pass_filenames"] is False
        assert hooks[name]["args"] == ["."]
    assert hooks["csdsl-test"]["files"] == r"\.(cs|cstest)$"
    clientlib = pytest.importorskip("pre_commit.clientlib")
    clientlib.load_manifest(str(HOOKS))  # pre-commit's own schema accepts it


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This working tree (tracked and new files) committed in a throwaway repository."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    pytest.importorskip("pre_commit")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("the source tree is not a git checkout")
    repo = tmp_path_factory.mktemp("hooks")
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file someone deleted is not there
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    _git(repo, "init", "-q")
    return repo, _commit(repo)


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def user_repo(tmp_path: Path, hook_repo: tuple[Path, str]) -> Path:
    """A spec repository whose pre-commit config uses the hooks on `examples/spec`."""
    root = tmp_path / "user"
    (root / "examples").mkdir(parents=True)
    shutil.copytree(ROOT / "examples" / "spec", root / "examples" / "spec")
    shutil.copytree(ROOT / "examples" / "data", root / "examples" / "data")
    repo, rev = hook_repo
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n"
        f"- repo: {repo}\n"
        f"  rev: {rev}\n"
        f"  hooks:\n"
        f"  - id: csdsl-fmt\n"
        f"  - id: csdsl-check\n"
        f"    args: [examples/spec]\n"
        f"  - id: csdsl-test\n"
        f"    args: [examples/spec]\n", encoding="utf-8")
    _git(root, "init", "-q")
    _commit(root)
    return root


def _pre_commit(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit run ...` on what is staged (everything: `git add -A` first)."""
    _git(repo, "add", "-A")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1",
           "PRE_COMMIT_COLOR": "never"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--color", "never",
                           *args], cwd=repo, env=env, text=True, capture_output=True,
                          check=False, timeout=600)


@pytest.mark.slow
def test_a_clean_spec_passes_every_hook(user_repo: Path, pre_commit_home: Path) -> None:
    done = _pre_commit(user_repo, pre_commit_home, "--all-files")
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("csdsl fmt", "csdsl check", "csdsl test"):
        assert any(line.startswith(name + ".") and line.endswith("Passed")
                   for line in done.stdout.splitlines()), done.stdout


@pytest.mark.slow
def test_one_changed_file_is_checked_with_its_whole_spec(user_repo: Path,
                                                         pre_commit_home: Path) -> None:
    """A file alone names what the others declare: no false "unknown name" errors."""
    done = _pre_commit(user_repo, pre_commit_home, "--files", "examples/spec/rules_risk.cs")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_a_badly_formatted_file_fails_and_is_fixed(user_repo: Path,
                                                   pre_commit_home: Path) -> None:
    rules = user_repo / "examples" / "spec" / "rules_risk.cs"
    canonical = rules.read_text(encoding="utf-8")
    rules.write_text(canonical.replace("\n  priority high\n", "\n        priority   high\n"),
                     encoding="utf-8")
    done = _pre_commit(user_repo, pre_commit_home, "csdsl-fmt", "--all-files")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "files were modified by this hook" in done.stdout
    assert "formatted examples/spec/rules_risk.cs" in done.stdout
    assert rules.read_text(encoding="utf-8") == canonical
    again = _pre_commit(user_repo, pre_commit_home, "csdsl-fmt", "--all-files")
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.slow
def test_a_spec_error_fails_the_check_with_its_diagnostic(user_repo: Path,
                                                          pre_commit_home: Path) -> None:
    rules = user_repo / "examples" / "spec" / "rules_risk.cs"
    rules.write_text(rules.read_text(encoding="utf-8").replace(
        "owner CSM or CS_Leader", "owner CMS or CS_Leader", 1), encoding="utf-8")
    done = _pre_commit(user_repo, pre_commit_home, "csdsl-check", "--all-files")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "examples/spec/rules_risk.cs:10:9: error[CS0204]: unknown role `CMS`" in done.stdout


@pytest.mark.slow
def test_a_failing_spec_test_fails_the_test_hook(user_repo: Path,
                                                 pre_commit_home: Path) -> None:
    risk = user_repo / "examples" / "spec" / "risk.cstest"
    risk.write_text(risk.read_text(encoding="utf-8").replace(
        "due 2026-12-04", "due 2026-12-05", 1), encoding="utf-8")
    done = _pre_commit(user_repo, pre_commit_home, "csdsl-test", "--files",
                       "examples/spec/risk.cstest")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout
