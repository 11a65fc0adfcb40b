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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csdsl.driver import Compilation
    from csdsl.source import Span
    from csdsl_runtime.artifact import Artifact

__all__ = ["DiffError", "Side", "load_side"]


class DiffError(Exception):
    """Why a side cannot be compared (already reported when `reported`): exit 1 for
    `csdsl diff`. `usage`: the command line asked for something the spec does not have
    (an unknown `--env`), which commands whose bad usage is 2 report as such."""

    def __init__(self, message: str, reported: bool = False, usage: bool = False) -> None:
        super().__init__(message)
        self.reported = reported
        self.usage = usage


@dataclass(frozen=True, slots=True)
class Side:
    """One version of the spec: what the user called it, and its meaning."""

    label: str
    artifact: Artifact
    declares: tuple[str, ...] = ()
    """The environments the spec declares (none for a compiled artifact)."""
    environments: dict[str, Artifact] = field(default_factory=dict)
    """With `every_environment`: the spec merged with each environment it declares."""
    missing: bool = False
    """With `optional`: the spec does not declare the environment, and `artifact` is
    its base spec."""


@dataclass(frozen=True, slots=True)
class _Compiled:
    artifact: Artifact
    declares: tuple[str, ...]
    environments: dict[str, Artifact]
    missing: bool


def load_side(spec: str, role: str, color: str = "auto", environment: str | None = None,
              *, optional: bool = False, every_environment: bool = False) -> Side:
    """The artifact of BASE or HEAD (`role`), merged with `environment` if given; spec
    errors are printed as `csdsl check` prints them, on stderr, then raised as a
    reported `DiffError`.

    `optional`: a spec that declares no such `environment` compiles its base spec
    (`Side.missing`) instead of failing. `every_environment` (without `environment`):
    the spec merged with each environment it declares, too (`Side.environments`); a
    spec that declares none is compiled once, as without it."""
    path = Path(spec)
    how = _Options(environment, optional, every_environment and environment is None)
    if path.exists():
        if path.is_file() and path.suffix == ".json":
            _no_environment(spec, role, environment)
            return Side(spec, _load_json(path))
        return _side(spec, _compile([path], spec, role, color, None, how))
    rev, colon, inner = spec.partition(":")
    if colon and rev:
        return _side(spec, _from_git(rev, inner, spec, role, color, how))
    raise DiffError(f"{role} `{spec}`: no such file or directory (nor a git revision "
                    "`REV:PATH`)")


@dataclass(frozen=True, slots=True)
class _Options:
    environment: str | None
    optional: bool
    every_environment: bool


def _side(spec: str, compiled: _Compiled | Artifact) -> Side:
    if not isinstance(compiled, _Compiled):  # a compiled artifact read from git
        return Side(spec, compiled)
    environment = getattr(compiled.artifact, "environment", None)
    if compiled.missing:
        label = f"{spec} (base spec: it declares no such environment)"
    else:
        label = spec if environment is None else f"{spec} (--env {environment})"
    return Side(label, compiled.artifact, compiled.declares, compiled.environments,
                compiled.missing)


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
             rename: tuple[str, str] | None, how: _Options) -> _Compiled:
    """Check and build a spec; `rename` maps a temporary directory prefix to `REV:`."""
    from csdsl.driver import environment_names, read_sources
    from csdsl.source import UsageError

    try:
        parsed = read_sources(paths)
    except UsageError as exc:
        raise DiffError(f"{role} `{label}`: {exc}") from None
    declares = environment_names(parsed.files)
    environment, missing = how.environment, False
    if environment is not None and how.optional and environment not in declares:
        environment, missing = None, True
    names = declares if how.every_environment else ()
    artifact = _build(parsed, environment, bool(names), label, role, color, rename)
    environments = {name: _build(parsed, name, True, label, role, color, rename)
                    for name in names}
    return _Compiled(artifact, declares, environments, missing)


def _build(parsed: Compilation, environment: str | None, again: bool, label: str,
           role: str, color: str, rename: tuple[str, str] | None) -> Artifact:
    """The artifact of a parsed spec, merged with `environment`; `again`: `parsed` is
    checked more than once, each time on a copy."""
    from csdsl.driver import build, check_sources
    from csdsl.source import UsageError

    source = replace(parsed, diagnostics=list(parsed.diagnostics)) if again else parsed
    try:
        result = check_sources(source) if environment is None else \
            check_sources(source, environment)
    except UsageError as exc:
        raise DiffError(f"{role} `{label}`: {exc}", usage=True) from None
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
              how: _Options) -> _Compiled | Artifact:
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
        _no_environment(label, role, how.environment)
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
        return _compile([target], label, role, color, (prefix, f"{rev}:"), how)


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
