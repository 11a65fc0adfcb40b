"""Wires the phases: files → parse → semantic model → artifact. No phase logic lives here.

The command line and the public API (`csdsl.compile_spec`, `csdsl.check_spec`) both go
through `check_paths` and `build`, so they read, check and emit in exactly one way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from csdsl import ast
from csdsl.diagnostics import Diagnostic, did_you_mean, error
from csdsl.semantic import SpecModel, analyze
from csdsl.source import SourceFile, Span, UsageError, collect_files, display_path
from csdsl.syntax.parser import ParseStats, parse_source

if TYPE_CHECKING:
    from csdsl_runtime.artifact import Artifact

__all__ = ["Compilation", "UsageError", "build", "check_environments", "check_paths",
           "check_spec", "compile_spec", "environment_names"]


@dataclass(slots=True)
class Compilation:
    """Everything one run of the front-end produced, for the CLI to render."""

    sources: dict[str, str] = field(default_factory=dict)
    files: list[ast.File] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    model: SpecModel | None = None
    unreadable: bool = False
    file_count: int = 0  # every file found, including those that could not be read
    stats: ParseStats = field(default_factory=ParseStats)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)


def read_sources(paths: Sequence[str | Path]) -> Compilation:
    """Read and parse every `.cs` file under the given paths."""
    found, missing = collect_files([str(p) for p in paths])
    if missing:
        raise UsageError("no such file or directory: " + ", ".join(f"`{m}`" for m in missing))
    result = Compilation()
    if not found:
        raise UsageError("no `.cs` files under " + ", ".join(f"`{p}`" for p in paths))
    result.file_count = len(found)
    for path in found:
        name = display_path(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
            result.diagnostics.append(
                error("CS0001", Span(name, 1, 1, 1, 1), f"cannot read `{name}`: {reason}")
            )
            result.unreadable = True
            continue
        if text.startswith("\ufeff"):
            text = text[1:]
        if "\x00" in text:  # no store can keep it in a title, and no editor shows it
            at = text.index("\x00")
            line = text.count("\n", 0, at) + 1
            column = at - (text.rfind("\n", 0, at) + 1) + 1
            result.diagnostics.append(error(
                "CS0001", Span(name, line, column, line, column + 1),
                f"cannot read `{name}`: it holds a NUL character: not a text file"))
            result.unreadable = True
            continue
        result.sources[name] = text
        parsed, diagnostics = parse_source(SourceFile.of(name, text), result.stats)
        result.files.append(parsed)
        result.diagnostics.extend(diagnostics)
    return result


def environment_names(files: Sequence[ast.File]) -> tuple[str, ...]:
    """The environments a spec declares, each once, in source order: a look at the top
    level of each file, nothing checked."""
    names = (d.name.value for f in files for d in f.decls if isinstance(d, ast.EnvironmentDecl))
    return tuple(dict.fromkeys(names))


def _known_environment(result: Compilation, environment: str) -> None:
    """`--env NAME` must name an environment of the spec: bad usage otherwise."""
    declared = environment_names(result.files)
    if environment in declared:
        return
    if not declared:
        raise UsageError(f"`--env {environment}`: the spec declares no environment")
    meant = did_you_mean(environment, declared)
    hint = f"; did you mean `{meant}`?" if meant else ""
    raise UsageError(f"`--env {environment}`: the spec declares no such environment{hint} "
                     "(it declares " + ", ".join(f"`{n}`" for n in declared) + ")")


def _in_environments(found: Diagnostic, names: Sequence[str]) -> Diagnostic:
    """A diagnostic the base spec does not have: the message says where it comes from."""
    words = (f"environment `{names[0]}`" if len(names) == 1 else
             "environments " + ", ".join(f"`{n}`" for n in names))
    return dataclasses.replace(found, message=f"in {words}: {found.message}")


def check_sources(result: Compilation, environment: str | None = None) -> Compilation:
    """Run the semantic passes over what was parsed; diagnostics end up in source order.
    With `environment`, over the spec merged with that environment's overlays (a
    `UsageError` when the spec declares no such environment): a diagnostic the base spec
    does not have names the environment."""
    if environment is not None:
        _known_environment(result, environment)
    model, diagnostics = analyze(result.files, environment)
    if environment is not None and diagnostics:  # a clean compile pays for one analysis
        base = set(analyze(result.files)[1])
        diagnostics = [d if d in base else _in_environments(d, (environment,))
                       for d in diagnostics]
    result.model = model
    result.diagnostics.extend(diagnostics)
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def check_environments(result: Compilation) -> Compilation:
    """`csdsl check`: the base spec, then the spec merged with each environment it
    declares. A diagnostic that only environments have names them; one that several
    have at the same place is reported once. The model is the base spec's. (A spec
    without environments is checked once, as by `check_sources`.)"""
    check_sources(result)
    names = result.model.environments if result.model is not None else ()
    if not names:
        return result
    base = set(result.diagnostics)
    only: dict[Diagnostic, list[str]] = {}
    for name in names:
        for found in analyze(result.files, name)[1]:
            if found not in base:
                only.setdefault(found, []).append(name)
    result.diagnostics.extend(_in_environments(d, envs) for d, envs in only.items())
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def check_paths(paths: Sequence[str | Path], environment: str | None = None) -> Compilation:
    """Read, parse and check a spec (raises `UsageError` for paths that do not exist);
    with `environment`, the spec merged with that environment's overlays."""
    return check_sources(read_sources(paths), environment)


def build(result: Compilation) -> Artifact | None:
    """The artifact of a checked compilation; None when it has errors."""
    from csdsl.emit import emit  # the artifact's models: only when an artifact is wanted

    if result.has_errors or result.unreadable or result.model is None:
        return None
    return emit(result.model)


def check_spec(paths: Sequence[str | Path], environment: str | None = None
               ) -> tuple[SpecModel, list[Diagnostic]]:
    """Check a spec: its semantic model (partial when there are errors) and diagnostics;
    with `environment`, of the spec merged with that environment's overlays."""
    result = check_paths(paths, environment)
    assert result.model is not None
    return result.model, result.diagnostics


def compile_spec(paths: Sequence[str | Path], environment: str | None = None
                 ) -> tuple[Artifact | None, list[Diagnostic]]:
    """Compile a spec: `(Artifact | None, diagnostics)`; None when there are errors. With
    `environment`, that environment's overlays merged in (the artifact names it)."""
    result = check_paths(paths, environment)
    return build(result), result.diagnostics
