#!/usr/bin/env python3
"""The steps of the csdsl GitHub Action (action.yml), runnable on a laptop as well.

`python scripts/action/csdsl_action.py check|test|diff|all`. The Action calls one step
at a time, so that it can upload the SARIF file between `check` and the others and run
every step even when an earlier one failed; locally `all` runs them in turn.

Everything comes from environment variables, as the Action passes its inputs (never
`${{ }}` pasted into a shell line, which a branch name could inject into):

| variable | meaning | default |
|---|---|---|
| `CSDSL_SPEC_PATH` | the spec directory | `.` |
| `CSDSL_SARIF_FILE` | where `check` writes SARIF | `csdsl.sarif` |
| `CSDSL_STRICT` | `true`: warnings fail `check` | `false` |
| `CSDSL_BASE_SHA` | the commit `diff` compares with (the base) | from `GITHUB_EVENT_PATH` |
| `CSDSL_PR_NUMBER` | the pull request that gets the comment | from `GITHUB_EVENT_PATH` |
| `CSDSL_DATA`, `CSDSL_AS_OF` | a data directory and a day: `diff` adds CTA volumes | none |
| `CSDSL_DAYS` | with data: `diff --days N`, the N days to the day (a week: 7) | 1 |
| `CSDSL_ENV` | `diff --env`: both versions merged with this environment | each one |
| `CSDSL_COMMENT_FILE` | write the comment's body here instead of posting it | none |
| `CSDSL_COMMAND` | the csdsl command line (for tests) | `csdsl` |
| `GITHUB_TOKEN`, `GITHUB_REPOSITORY`, `GITHUB_API_URL` | posting the comment | |
| `GITHUB_STEP_SUMMARY` | the diff goes there too (fork pull requests cannot comment) | |

Exit statuses: `check` and `test` pass on csdsl's own (0 or 1, 2 for bad usage); `diff`
exits 0 when there is no change *and* when there are changes (csdsl diff's 2 is news
for the reviewer, not a failure), 1 when the diff itself fails. Failing to post the
comment is a warning, not a failure: a fork's pull request gets a read-only token.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MARKER = "<!-- csdsl-diff -->"
# GitHub refuses comment bodies over 65536 characters; leave room for the frame
MAX_DIFF = 60000


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def _csdsl() -> list[str]:
    return shlex.split(_env("CSDSL_COMMAND", "csdsl"))


def _spec() -> str:
    return _env("CSDSL_SPEC_PATH", ".")


def _log(line: str) -> None:
    print(line, flush=True)


def _run(args: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    _log("$ " + shlex.join(args))
    return subprocess.run(list(args), text=True, check=False, **kw)


def _event() -> Mapping[str, Any]:
    """The webhook payload of the workflow run (empty when run by hand)."""
    path = _env("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# ------------------------------------------------------------------------------- check


def step_check() -> int:
    """SARIF for code scanning, plus workflow annotations for the log and the diff view."""
    spec = _spec()
    sarif = Path(_env("CSDSL_SARIF_FILE", "csdsl.sarif"))
    strict = ["--strict"] if _env("CSDSL_STRICT", "false").lower() == "true" else []
    result = _run([*_csdsl(), "check", *strict, "--format", "sarif", spec],
                  stdout=subprocess.PIPE)
    if result.stdout.strip():
        sarif.parent.mkdir(parents=True, exist_ok=True)
        sarif.write_text(result.stdout, encoding="utf-8")
        _log(f"wrote {sarif}")
    # the same problems once more as annotations: code scanning may be off in the repo
    # (private repositories need GitHub Advanced Security for SARIF uploads)
    _run([*_csdsl(), "check", *strict, "--format", "github", spec])
    # and in the text format, with source line and caret, for whoever reads the log
    _run([*_csdsl(), "check", *strict, "--color", "never", spec])
    return result.returncode


# -------------------------------------------------------------------------------- fmt


def step_fmt() -> int:
    """`csdsl fmt --check --diff` on the spec's files: a pull request whose `.cs` files
    are not in the canonical layout fails, with the change it needs in the log."""
    return _run([*_csdsl(), "fmt", "--check", "--diff", _spec()]).returncode


# -------------------------------------------------------------------------------- test


def step_test() -> int:
    """`csdsl test` on the spec; a spec without `.cstest` files has nothing to run."""
    spec = Path(_spec())
    if spec.is_dir() and not any(spec.rglob("*.cstest")):
        _log(f"no .cstest files under {spec}: nothing to test")
        return 0
    return _run([*_csdsl(), "test", "--color", "never", str(spec)]).returncode


# -------------------------------------------------------------------------------- diff


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], text=True, capture_output=True, check=False)


def _repo_relative(spec: str) -> str:
    """The spec's path from the repository's root, as `git show REV:PATH` wants it."""
    top = _git("rev-parse", "--show-toplevel")
    if top.returncode != 0:
        return Path(spec).as_posix()
    try:
        rel = Path(spec).resolve().relative_to(Path(top.stdout.strip()).resolve())
    except ValueError:
        return Path(spec).as_posix()
    return rel.as_posix() or "."


def _ensure_commit(sha: str) -> None:
    """A shallow checkout (actions/checkout's default) lacks the base commit: fetch it."""
    if _git("cat-file", "-e", f"{sha}^{{commit}}").returncode == 0:
        return
    _log(f"fetching the base commit {sha}")
    fetched = _git("fetch", "--no-tags", "--depth=1", "origin", sha)
    if fetched.returncode != 0:
        _log(fetched.stderr.rstrip())


def comment_body(diff: str, status: int, base: str, spec: str, errors: str = "") -> str:
    """The pull-request comment: the marker that finds it again, the diff, the versions."""
    head = _env("GITHUB_SHA") or _git("rev-parse", "HEAD").stdout.strip()
    lines = [MARKER]
    if status == 1:
        lines += [f"**csdsl diff** of `{spec}` failed:", "", "```text",
                  (errors or diff).strip()[:MAX_DIFF], "```"]
    elif status == 0 and not diff.strip():
        lines += [f"**csdsl diff** of `{spec}`: no change in meaning."]
    else:
        text = diff.strip()
        if len(text) > MAX_DIFF:
            text = text[:MAX_DIFF] + "\n\n… (cut: run `csdsl diff` locally for all of it)"
        lines += [text]
    lines += ["", f"<sub>csdsl diff `{base[:12]}:{spec}` → `{head[:12] or 'working tree'}`"
                  "</sub>"]
    return "\n".join(lines) + "\n"


def _request(method: str, url: str, token: str, payload: Mapping[str, Any] | None = None
             ) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": "2022-11-28",
        "Content-Type": "application/json",
        "User-Agent": "csdsl-action",
    })
    with urllib.request.urlopen(req, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def post_or_update_comment(api: str, repo: str, number: int, token: str, body: str,
                           marker: str = MARKER) -> str:
    """Update the pull request's comment that holds the marker, or add one: a push
    replaces the old diff instead of piling up comments. Returns `created`/`updated`."""
    api = api.rstrip("/")
    page = 1
    while True:
        comments = _request(
            "GET", f"{api}/repos/{repo}/issues/{number}/comments?per_page=100&page={page}",
            token)
        for comment in comments or []:
            if marker in (comment.get("body") or ""):
                _request("PATCH", f"{api}/repos/{repo}/issues/comments/{comment['id']}",
                         token, {"body": body})
                return "updated"
        if not comments or len(comments) < 100:
            break
        page += 1
    _request("POST", f"{api}/repos/{repo}/issues/{number}/comments", token, {"body": body})
    return "created"


def _deliver(body: str) -> None:
    """Write the body where asked, to the job summary, and post it on the pull request."""
    summary = _env("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(body + "\n")
    target = _env("CSDSL_COMMENT_FILE")
    if target:
        Path(target).write_text(body, encoding="utf-8")
        _log(f"wrote the comment to {target}")
        return
    number = _env("CSDSL_PR_NUMBER") or str(_event().get("pull_request", {}).get("number", ""))
    token, repo = _env("GITHUB_TOKEN"), _env("GITHUB_REPOSITORY")
    if not (number.isdigit() and token and repo):
        _log("::notice::not a pull request run (or no GITHUB_TOKEN): no comment posted")
        return
    try:
        how = post_or_update_comment(_env("GITHUB_API_URL", "https://api.github.com"), repo,
                                     int(number), token, body)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # a fork's pull request has a read-only token: the job summary still has the diff
        _log(f"::warning::could not post the csdsl diff comment: {exc}")
        return
    _log(f"{how} the csdsl diff comment on #{number}")


def step_diff() -> int:
    """`csdsl diff BASE:SPEC SPEC --format markdown`, posted on the pull request."""
    spec = _spec()
    base = _env("CSDSL_BASE_SHA") or str(_event().get("pull_request", {}).get("base", {})
                                         .get("sha", ""))
    if not base:
        _log("::notice::no base commit (not a pull request, CSDSL_BASE_SHA unset): no diff")
        return 0
    _ensure_commit(base)
    args = [*_csdsl(), "diff", f"{base}:{_repo_relative(spec)}", spec, "--format", "markdown"]
    if _env("CSDSL_DATA") and _env("CSDSL_AS_OF"):
        args += ["--data", _env("CSDSL_DATA"), "--as-of", _env("CSDSL_AS_OF")]
        if _env("CSDSL_DAYS"):  # csdsl diff says what is wrong with a bad value
            args += ["--days", _env("CSDSL_DAYS")]
    if _env("CSDSL_ENV"):
        args += ["--env", _env("CSDSL_ENV")]
    result = _run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    status = result.returncode if result.returncode in (0, 1, 2) else 1
    if status == 2 and not result.stdout.strip():
        status = 1  # argparse's bad usage is 2 too, but changes always print something
    _deliver(comment_body(result.stdout, status, base, spec, result.stderr))
    return 1 if status == 1 else 0


STEPS = {"fmt": step_fmt, "check": step_check, "test": step_test, "diff": step_diff}


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1 or argv[0] not in (*STEPS, "all"):
        sys.stderr.write("usage: csdsl_action.py check|test|diff|all\n")
        return 2
    if argv[0] != "all":
        return STEPS[argv[0]]()
    statuses = [step() for step in STEPS.values()]  # every step, as the Action runs them
    return max(statuses)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
