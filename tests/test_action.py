"""The GitHub Action (action.yml) and its steps (scripts/action/csdsl_action.py), run here.

A throwaway git repository holds two commits of the example spec: the base, and a head
that lowers the `usage_drop` threshold; the script runs against it with the values a
pull-request workflow gives as environment variables, the comment written to a file
(`CSDSL_COMMENT_FILE`) or posted to a fake GitHub API on localhost. Also: SARIF results
carry fingerprints that survive lines added above them, so code scanning does not
close and reopen an alert on every unrelated edit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest

from csdsl import diagnostics as D
from csdsl.codes import CODES
from csdsl.driver import check_paths

from . import clikit
from .conftest import ROOT

SCRIPT = ROOT / "scripts" / "action" / "csdsl_action.py"
BIN = Path(sys.executable).parent
BASE_RULE = "when usage drops 30% over 30d and segment"
HEAD_RULE = "when usage drops 25% over 30d and segment"


def _action_module() -> ModuleType:
    """The script as a module, for its comment-posting function."""
    spec = importlib.util.spec_from_file_location("csdsl_action", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, text=True, capture_output=True,
                          check=True)
    return done.stdout.strip()


def _commit(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-gpg-sign", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """A git repository: the example spec and data at the base commit, a lower
    `usage_drop` threshold at the head; returns (repository, base sha)."""
    root = tmp_path / "repo"
    (root / "examples").mkdir(parents=True)
    shutil.copytree(ROOT / "examples" / "spec", root / "examples" / "spec")
    shutil.copytree(ROOT / "examples" / "data", root / "examples" / "data")
    _git(root, "init", "-q")
    base = _commit(root, "base")
    rules = root / "examples" / "spec" / "rules_risk.cs"
    text = rules.read_text(encoding="utf-8")
    assert BASE_RULE in text
    rules.write_text(text.replace(BASE_RULE, HEAD_RULE), encoding="utf-8")
    _commit(root, "head: usage_drop at 25%")
    return root, base


def _env(repo: Path, **extra: str) -> dict[str, str]:
    """A pull-request run's variables, and none of the real runner's (no real posting)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "CSDSL_", "RUNNER_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    env["CSDSL_SPEC_PATH"] = "examples/spec"
    env["CSDSL_SARIF_FILE"] = str(repo / "out" / "csdsl.sarif")
    env["GITHUB_STEP_SUMMARY"] = str(repo.parent / "summary.md")
    env.update(extra)
    return env


def _step(repo: Path, step: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), step], cwd=repo, env=_env(repo, **extra),
                          text=True, capture_output=True, check=False, timeout=300)


# ------------------------------------------------------------------------- the files


def test_action_yml_is_a_composite_action_that_runs_the_script() -> None:
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert {"name", "description", "inputs", "runs"} <= set(action)
    assert {"spec-path", "github-token", "upload-sarif", "test", "comment"} <= set(
        action["inputs"])
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    runs = " ".join(s.get("run", "") for s in steps)
    for step in ("fmt", "check", "test", "diff"):
        assert f"scripts/action/csdsl_action.py\" {step}" in runs
    assert "$ACTION_PATH/runtime" in runs  # csdsl-runtime from the action's own checkout
    for s in steps:
        if "run" in s:
            assert s["shell"] == "bash"  # a composite step must name its shell
            assert "${{" not in s["run"]  # inputs come in as env, never pasted into a shell
    diff = next(s for s in steps if s.get("name") == "csdsl diff")
    assert "github.event.pull_request.base.sha" in diff["env"]["CSDSL_BASE_SHA"]


# ------------------------------------------------------------------------ the steps


def test_check_step_writes_sarif_for_a_clean_spec(repo: tuple[Path, str]) -> None:
    root, _ = repo
    done = _step(root, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    sarif = json.loads((root / "out" / "csdsl.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    assert not [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]


def test_check_step_fails_with_sarif_results_and_annotations(repo: tuple[Path, str]) -> None:
    root, _ = repo
    rules = root / "examples" / "spec" / "rules_risk.cs"
    rules.write_text(rules.read_text(encoding="utf-8").replace(
        "owner CSM or CS_Leader", "owner CMS or CS_Leader", 1), encoding="utf-8")
    done = _step(root, "check")
    assert done.returncode == 1
    sarif = json.loads((root / "out" / "csdsl.sarif").read_text(encoding="utf-8"))
    errors = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    assert [r["ruleId"] for r in errors] == ["CS0204"]
    location = errors[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "examples/spec/rules_risk.cs"  # repo paths
    assert D.FINGERPRINT_KEY in errors[0]["partialFingerprints"]
    assert "::error file=examples/spec/rules_risk.cs" in done.stdout  # annotations
    assert "error[CS0204]" in done.stdout  # and the text, for the log


def test_test_step_runs_the_spec_tests(repo: tuple[Path, str]) -> None:
    root, _ = repo
    done = _step(root, "test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed, 0 failed" in done.stdout
    risk = root / "examples" / "spec" / "risk.cstest"
    risk.write_text(risk.read_text(encoding="utf-8").replace(
        'due 2026-12-04', 'due 2026-12-05', 1), encoding="utf-8")
    failed = _step(root, "test")
    assert failed.returncode == 1
    assert " 1 failed" in failed.stdout


def test_fmt_step_fails_on_a_file_out_of_the_canonical_layout(repo: tuple[Path, str]) -> None:
    root, _ = repo
    done = _step(root, "fmt")
    assert done.returncode == 0, done.stdout + done.stderr
    risk = root / "examples" / "spec" / "rules_risk.cs"
    risk.write_text(risk.read_text(encoding="utf-8").replace("\n  ", "\n      ", 3),
                    encoding="utf-8")
    failed = _step(root, "fmt")
    assert failed.returncode == 1
    assert "rules_risk.cs" in failed.stdout + failed.stderr


def test_test_step_without_tests_passes(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(ROOT / "examples" / "spec", spec, ignore=shutil.ignore_patterns("*.cstest"))
    done = _step(tmp_path, "test", CSDSL_SPEC_PATH="spec")
    assert done.returncode == 0
    assert "nothing to test" in done.stdout


def _stub(tmp_path: Path, status: int, out: str) -> str:
    """A stand-in `csdsl` that records its arguments and prints a canned diff."""
    stub = tmp_path / "stub_csdsl.py"
    stub.write_text(
        "import json, sys\n"
        f"open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        f"sys.stdout.write({out!r})\n"
        f"sys.exit({status})\n", encoding="utf-8")
    return f"{sys.executable} {stub}"


def test_diff_step_changes_do_not_fail_the_job(repo: tuple[Path, str], tmp_path: Path) -> None:
    """csdsl diff's exit status 2 (changes) is news for the reviewer, not a failure."""
    root, base = repo
    comment = tmp_path / "comment.md"
    done = _step(root, "diff", CSDSL_BASE_SHA=base, CSDSL_COMMENT_FILE=str(comment),
                 CSDSL_COMMAND=_stub(tmp_path, 2, "## 1 rule changed\n- `usage_drop`\n"))
    assert done.returncode == 0, done.stdout + done.stderr
    argv = json.loads((tmp_path / "argv.json").read_text(encoding="utf-8"))
    assert argv == ["diff", f"{base}:examples/spec", "examples/spec", "--format", "markdown"]
    body = comment.read_text(encoding="utf-8")
    assert body.startswith("<!-- csdsl-diff -->\n")
    assert "## 1 rule changed" in body
    assert body in (tmp_path / "summary.md").read_text(encoding="utf-8") + "\n"


def test_diff_step_passes_data_and_day(repo: tuple[Path, str], tmp_path: Path) -> None:
    root, base = repo
    done = _step(root, "diff", CSDSL_BASE_SHA=base, CSDSL_COMMENT_FILE=str(tmp_path / "c.md"),
                 CSDSL_DATA="examples/data", CSDSL_AS_OF="2026-11-20",
                 CSDSL_COMMAND=_stub(tmp_path, 0, ""))
    assert done.returncode == 0, done.stdout + done.stderr
    argv = json.loads((tmp_path / "argv.json").read_text(encoding="utf-8"))
    assert argv[-4:] == ["--data", "examples/data", "--as-of", "2026-11-20"]
    assert "no change in meaning" in (tmp_path / "c.md").read_text(encoding="utf-8")


def test_diff_step_passes_days(repo: tuple[Path, str], tmp_path: Path) -> None:
    root, base = repo
    done = _step(root, "diff", CSDSL_BASE_SHA=base, CSDSL_COMMENT_FILE=str(tmp_path / "c.md"),
                 CSDSL_DATA="examples/data", CSDSL_AS_OF="2026-11-20", CSDSL_DAYS="7",
                 CSDSL_COMMAND=_stub(tmp_path, 2, "changes\n"))
    assert done.returncode == 0, done.stdout + done.stderr
    argv = json.loads((tmp_path / "argv.json").read_text(encoding="utf-8"))
    assert argv[-6:] == ["--data", "examples/data", "--as-of", "2026-11-20", "--days", "7"]
    # without data there is nothing to replay: no --days either
    _step(root, "diff", CSDSL_BASE_SHA=base, CSDSL_COMMENT_FILE=str(tmp_path / "c.md"),
          CSDSL_DAYS="7", CSDSL_COMMAND=_stub(tmp_path, 2, "changes\n"))
    argv = json.loads((tmp_path / "argv.json").read_text(encoding="utf-8"))
    assert "--days" not in argv
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["inputs"]["days"]["default"] == ""
    step = next(s for s in action["runs"]["steps"] if s.get("name") == "csdsl diff")
    assert step["env"]["CSDSL_DAYS"] == "${{ inputs.days }}"


@pytest.mark.slow
def test_diff_step_a_week_with_the_real_csdsl(repo: tuple[Path, str], tmp_path: Path) -> None:
    root, base = repo
    comment = tmp_path / "c.md"
    done = _step(root, "diff", CSDSL_BASE_SHA=base, CSDSL_COMMENT_FILE=str(comment),
                 CSDSL_DATA="examples/data", CSDSL_AS_OF="2026-11-20", CSDSL_DAYS="7")
    assert done.returncode == 0, done.stdout + done.stderr
    body = comment.read_text(encoding="utf-8")
    assert "over the 7 days to 2026-11-20, after a warm-up day" in body
    assert "| `usage_drop` | changed |" in body


def test_diff_step_passes_the_env_input(repo: tuple[Path, str], tmp_path: Path) -> None:
    root, base = repo
    done = _step(root, "diff", CSDSL_BASE_SHA=base, CSDSL_COMMENT_FILE=str(tmp_path / "c.md"),
                 CSDSL_ENV="production", CSDSL_COMMAND=_stub(tmp_path, 2, "changes\n"))
    assert done.returncode == 0, done.stdout + done.stderr
    argv = json.loads((tmp_path / "argv.json").read_text(encoding="utf-8"))
    assert argv == ["diff", f"{base}:examples/spec", "examples/spec", "--format", "markdown",
                    "--env", "production"]
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["inputs"]["env"]["default"] == ""
    step = next(s for s in action["runs"]["steps"] if s.get("name") == "csdsl diff")
    assert step["env"]["CSDSL_ENV"] == "${{ inputs.env }}"


def test_diff_step_on_an_overlay_change(repo: tuple[Path, str], tmp_path: Path) -> None:
    """The real `csdsl diff`: a head commit that switches a rule off in production
    shows in the comment, by default and with the env input."""
    root, base = repo
    spec = root / "examples" / "spec"
    (spec / "env.cs").write_text(
        "environment production {\n  rule usage_drop {\n    enabled false\n  }\n}\n",
        encoding="utf-8")
    _commit(root, "head: usage_drop off in production")
    comment = tmp_path / "comment.md"
    for extra in ({}, {"CSDSL_ENV": "production"}):
        done = _step(root, "diff", CSDSL_BASE_SHA=base, CSDSL_COMMENT_FILE=str(comment),
                     **extra)
        assert done.returncode == 0, done.stdout + done.stderr
        body = comment.read_text(encoding="utf-8")
        assert "+ enabled: false" in body and "failed" not in body
        if extra:
            assert "--env production" in done.stdout  # the command line, logged
        else:
            assert "#### Environment `production`" in body


def test_diff_step_fails_when_the_diff_fails(repo: tuple[Path, str], tmp_path: Path) -> None:
    root, base = repo
    comment = tmp_path / "comment.md"
    for status in (1, 2):  # 2 with nothing printed is argparse's bad usage
        done = _step(root, "diff", CSDSL_BASE_SHA=base, CSDSL_COMMENT_FILE=str(comment),
                     CSDSL_COMMAND=_stub(tmp_path, status, ""))
        assert done.returncode == 1
        assert "failed" in comment.read_text(encoding="utf-8")


class _FakeGitHub(BaseHTTPRequestHandler):
    """The three issue-comment endpoints of the REST API, over an in-memory list."""

    comments: ClassVar[list[dict[str, Any]]] = []
    calls: ClassVar[list[str]] = []

    def _reply(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        assert self.headers["Authorization"] == "Bearer t0ken"
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else {}

    def do_GET(self) -> None:
        self._body()
        self.calls.append(f"GET {self.path}")
        page = int(self.path.rsplit("page=", 1)[1])
        self._reply(200, self.comments[(page - 1) * 100: page * 100])

    def do_POST(self) -> None:
        body = self._body()
        self.calls.append(f"POST {self.path}")
        assert self.path == "/repos/acme/specs/issues/7/comments"
        self.comments.append({"id": len(self.comments) + 1, "body": body["body"]})
        self._reply(201, self.comments[-1])

    def do_PATCH(self) -> None:
        body = self._body()
        self.calls.append(f"PATCH {self.path}")
        number = int(self.path.rsplit("/", 1)[1])
        self.comments[number - 1]["body"] = body["body"]
        self._reply(200, self.comments[number - 1])

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def github() -> Iterator[str]:
    _FakeGitHub.comments = [{"id": 1, "body": "LGTM"}]
    _FakeGitHub.calls = []
    server = HTTPServer(("127.0.0.1", 0), _FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_diff_comment_is_posted_once_then_updated(repo: tuple[Path, str], tmp_path: Path,
                                                  github: str) -> None:
    root, base = repo
    event = tmp_path / "event.json"  # the base and the number from the webhook payload
    event.write_text(json.dumps({"pull_request": {"number": 7, "base": {"sha": base}}}),
                     encoding="utf-8")
    env = {"GITHUB_API_URL": github, "GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": "acme/specs",
           "GITHUB_EVENT_PATH": str(event)}
    for push in ("first", "second"):
        done = _step(root, "diff", **env, CSDSL_COMMAND=_stub(tmp_path, 2, f"{push} diff\n"))
        assert done.returncode == 0, done.stdout + done.stderr
    assert [c["body"].split("\n")[:2] for c in _FakeGitHub.comments] == [
        ["LGTM"], ["<!-- csdsl-diff -->", "second diff"]]
    assert [c.split("?")[0] for c in _FakeGitHub.calls] == [
        "GET /repos/acme/specs/issues/7/comments", "POST /repos/acme/specs/issues/7/comments",
        "GET /repos/acme/specs/issues/7/comments", "PATCH /repos/acme/specs/issues/comments/2"]


def test_diff_comment_pages_through_many_comments(github: str) -> None:
    """The marked comment may be past the first page of 100."""
    _FakeGitHub.comments = [{"id": i + 1, "body": f"comment {i}"} for i in range(150)]
    _FakeGitHub.comments[120]["body"] = "<!-- csdsl-diff -->\nold"
    how = _action_module().post_or_update_comment(github, "acme/specs", 7, "t0ken", "new")
    assert how == "updated"
    assert _FakeGitHub.comments[120]["body"] == "new"
    assert len(_FakeGitHub.comments) == 150


def test_comment_failure_is_a_warning(repo: tuple[Path, str], tmp_path: Path) -> None:
    """A fork's pull request gets a read-only token: the job summary still has the diff."""
    root, base = repo
    done = _step(root, "diff", CSDSL_BASE_SHA=base, CSDSL_PR_NUMBER="7", GITHUB_TOKEN="t",
                 GITHUB_REPOSITORY="acme/specs", GITHUB_API_URL="http://127.0.0.1:9",
                 CSDSL_COMMAND=_stub(tmp_path, 2, "changed\n"))
    assert done.returncode == 0
    assert "::warning::could not post" in done.stdout
    assert "changed" in (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_the_action_on_a_threshold_change(repo: tuple[Path, str], tmp_path: Path) -> None:
    """All three steps with the real `csdsl diff`: the comment names the changed rule."""
    root, base = repo
    comment = tmp_path / "comment.md"
    done = _step(root, "all", CSDSL_BASE_SHA=base, CSDSL_COMMENT_FILE=str(comment))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((root / "out" / "csdsl.sarif").read_text(encoding="utf-8"))["runs"]
    assert " passed, 0 failed" in done.stdout
    body = comment.read_text(encoding="utf-8")
    assert body.startswith("<!-- csdsl-diff -->\n")
    assert "usage_drop" in body and "changed" in body  # the diff's summary
    assert "usage_drop_smb" not in body  # only the rule whose threshold changed
    assert "25%" in body
    assert "failed" not in body


# ----------------------------------------------------------------- SARIF fingerprints


def _fingerprints(spec: Path) -> dict[tuple[str, str], str]:
    """(code, flagged line) -> fingerprint of `csdsl check --format sarif` on the spec."""
    done = clikit.csdsl("check", "--format", "sarif", ".", cwd=spec)
    assert done.returncode == 1
    lines = {p.name: p.read_text(encoding="utf-8").split("\n") for p in spec.glob("*.cs")}
    out = {}
    for r in json.loads(done.stdout)["runs"][0]["results"]:
        loc = r["locations"][0]["physicalLocation"]
        line = lines[loc["artifactLocation"]["uri"]][loc["region"]["startLine"] - 1].strip()
        out[(r["ruleId"], line)] = r["partialFingerprints"][D.FINGERPRINT_KEY]
    return out


def _bad_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "spec"
    shutil.copytree(ROOT / "examples" / "spec", spec, ignore=shutil.ignore_patterns("*.cstest"))
    rules = spec / "rules_risk.cs"
    text = rules.read_text(encoding="utf-8")
    # two errors of one code, one of another
    text = text.replace("owner CSM or CS_Leader\n  due 14d", "owner CMS or CS_Leader\n  due 14d")
    text = text.replace("owner CSM or CS_Leader\n  playbook LowNPS",
                        "owner CMS or CS_Leader\n  playbook LowNPS")
    text = text.replace('segment == "SMB"', 'segment == "SMBB"', 1)
    rules.write_text(text, encoding="utf-8")
    return spec


def test_sarif_fingerprints_survive_lines_added_above(tmp_path: Path) -> None:
    spec = _bad_spec(tmp_path)
    before = _fingerprints(spec)
    assert len(before) == 2  # the two CMS lines are the same text: one key, two results
    assert len(set(before.values())) == 2
    rules = spec / "rules_risk.cs"
    text = rules.read_text(encoding="utf-8")
    rules.write_text("# a new comment\n\n# and another one\n" + text, encoding="utf-8")
    assert _fingerprints(spec) == before


def test_sarif_fingerprints_tell_problems_apart(tmp_path: Path) -> None:
    spec = _bad_spec(tmp_path)
    done = clikit.csdsl("check", "--format", "sarif", ".", cwd=spec)
    results = json.loads(done.stdout)["runs"][0]["results"]
    prints = [r["partialFingerprints"][D.FINGERPRINT_KEY] for r in results]
    assert len(results) == 3
    assert len(set(prints)) == 3  # identical lines differ by their occurrence number
    cms = sorted(p for r, p in zip(results, prints, strict=True) if r["ruleId"] == "CS0204")
    assert [p.split(":")[1] for p in cms] == ["1", "2"]
    assert cms[0].split(":")[0] == cms[1].split(":")[0]


def test_sarif_fingerprints_from_sources_match_the_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compilation's texts and the files read again give the same fingerprints; a
    file that cannot be read falls back on the message, and still renders."""
    spec = _bad_spec(tmp_path)
    monkeypatch.chdir(spec)
    result = check_paths(["."])
    given = D.render_sarif(result.diagnostics, CODES, "V", sources=result.sources)
    assert given == D.render_sarif(result.diagnostics, CODES, "V")
    moved = D.render_sarif(result.diagnostics, CODES, "V", sources={})
    assert json.loads(moved)["runs"][0]["results"][0]["partialFingerprints"]
    assert moved != given


def test_the_documented_configs_parse_and_name_real_hooks_and_inputs() -> None:
    """specs/ci.md's YAML examples: the workflow has the permissions the Action needs,
    and the pre-commit config and the `with:` use hooks and inputs that exist."""
    yaml = pytest.importorskip("yaml")
    import re

    doc = (ROOT / "specs" / "ci.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", doc, re.S)]
    config, workflow = blocks
    hooks = {h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(
        encoding="utf-8"))}
    assert {h["id"] for h in config["repos"][0]["hooks"]} <= hooks
    assert workflow["permissions"]["pull-requests"] == "write"
    assert workflow["permissions"]["security-events"] == "write"
    inputs = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["inputs"]
    step = workflow["jobs"]["csdsl"]["steps"][1]
    assert set(step["with"]) <= set(inputs)
