"""The two sides of `csdsl diff`: a spec directory (or `.cs` files), a compiled artifact
(`.json`), or a git revision of either (`REV:PATH`), each turned into an artifact.

A revision is read with `git archive` into a temporary directory (so that the spec's
files compile exactly as they would in a checkout) and its diagnostics are shown with the
`REV:PATH` the user typed, not the temporary path. PATH is relative to the top of the
git repository of the working directory, as `git show REV:PATH` takes it.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csdsl.driver import Compilation
    from csdsl.source import Span
    from csdsl_runtime.artifact import Artifact

__all__ = ["DiffError", "Side", "load_side"]


class DiffError(Exception):
    """Why a side cannot be compared (already reported when `reported`): exit 1."""

    def __init__(self, message: str, reported: bool = False) -> None:
        super().__init__(message)
        self.reported = reported


@dataclass(frozen=True, slots=True)
class Side:
    """One version of the spec: what the user called it, and its meaning."""

    label: str
    artifact: Artifact


def load_side(spec: str, role: str, color: str = "auto", environment: str | None = None
              ) -> Side:
    """The artifact of BASE or HEAD (`role`), merged with `environment` if given; spec
    errors are printed as `csdsl check` prints them, on stderr, then raised as a
    reported `DiffError`."""
    path = Path(spec)
    label = spec if environment is None else f"{spec} (--env {environment})"
    if path.exists():
        if path.is_file() and path.suffix == ".json":
            _no_environment(spec, role, environment)
            return Side(label, _load_json(path))
        return Side(label, _compile([path], spec, role, color, None, environment))
    rev, colon, inner = spec.partition(":")
    if colon and rev:
        return Side(label, _from_git(rev, inner, spec, role, color, environment))
    raise DiffError(f"{role} `{spec}`: no such file or directory (nor a git revision "
                    "`REV:PATH`)")


def _no_environment(spec: str, role: str, environment: str | None) -> None:
    if environment is not None:
        raise DiffError(f"{role} `{spec}` is compiled already: an environment is chosen "
                        "when a spec is compiled (`csdsl compile --env`)")


def _load_json(path: Path) -> Artifact:
    from csdsl_runtime.loader import ArtifactError, load

    try:
        return load(path)
    except ArtifactError as exc:
        raise DiffError(str(exc)) from None


def _compile(paths: list[Path], label: str, role: str, color: str,
             rename: tuple[str, str] | None, environment: str | None) -> Artifact:
    """Check and build a spec; `rename` maps a temporary directory prefix to `REV:`."""
    from csdsl.driver import build, check_paths
    from csdsl.source import UsageError

    try:
        result = check_paths(paths) if environment is None else \
            check_paths(paths, environment)
    except UsageError as exc:
        where = f"{role} `{label}`"
        raise DiffError(f"{where}: {exc}") from None
    artifact = build(result)
    if artifact is None:
        if rename is not None:
            _rename(result, *rename)
        from csdsl.cli import _report

        _report(result, "text", color, stream=sys.stderr)
        raise DiffError(f"{role} `{label}` has errors: nothing to compare", reported=True)
    return artifact


def _rename(result: Compilation, old: str, new: str) -> None:
    """Diagnostics and sources of a spec read from a temporary directory, named as the
    user typed the revision."""
    def name(file: str) -> str:
        return new + file[len(old):] if file.startswith(old) else file

    def moved(span: Span) -> Span:
        return span._replace(file=name(span.file))

    result.sources = {name(k): v for k, v in result.sources.items()}
    result.diagnostics = [
        replace(d, span=moved(d.span),
                related=tuple(replace(r, span=moved(r.span)) for r in d.related))
        for d in result.diagnostics
    ]


# ---------------------------------------------------------------- git


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False,
                              timeout=120)
    except FileNotFoundError:
        raise DiffError("cannot read a git revision: `git` is not installed") from None
    except subprocess.TimeoutExpired:
        raise DiffError(f"`git {' '.join(args)}` took more than 120 s") from None


def _from_git(rev: str, inner: str, label: str, role: str, color: str,
              environment: str | None) -> Artifact:
    cwd = Path.cwd()
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise DiffError(f"{role} `{label}`: no such file or directory, and not a git "
                        f"revision: `{cwd}` is not inside a git repository")
    root = Path(top.stdout.decode().strip())
    if rev.startswith("-"):
        raise DiffError(f"{role} `{label}`: `{rev}` is not a git revision")
    found = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], root)
    if found.returncode != 0:
        raise DiffError(f"{role} `{label}`: no revision `{rev}` in the git repository at "
                        f"`{root}`")
    commit = found.stdout.decode().strip()
    path = inner.strip("/")
    while path.startswith("./"):
        path = path[2:]
    kind = _git(["cat-file", "-t", f"{commit}:{path}"], root)
    if kind.returncode != 0:
        raise DiffError(f"{role} `{label}`: revision `{rev}` has no `{path or '.'}` (paths "
                        "are relative to the top of the repository)")
    if kind.stdout.decode().strip() == "blob" and path.endswith(".json"):
        _no_environment(label, role, environment)
        return _json_blob(commit, path, label, root)
    archive = _git(["archive", "--format=tar", commit, *(["--", path] if path else [])], root)
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip()
        raise DiffError(f"{role} `{label}`: `git archive` failed: {message}")
    with tempfile.TemporaryDirectory(prefix="csdsl-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        target = Path(tmp) / path if path else Path(tmp)
        prefix = Path(tmp).as_posix() + "/"
        return _compile([target], label, role, color, (prefix, f"{rev}:"), environment)


def _json_blob(commit: str, path: str, label: str, root: Path) -> Artifact:
    from csdsl_runtime.loader import ArtifactError, load_data

    shown = _git(["show", f"{commit}:{path}"], root)
    try:
        data = json.loads(shown.stdout.decode("utf-8"))
        return load_data(data, origin=label)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DiffError(f"`{label}` is not artifact JSON: {exc}") from None
    except ArtifactError as exc:
        raise DiffError(str(exc)) from None
