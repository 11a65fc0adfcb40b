"""Wires the phases: files → parse → semantic model → artifact. No phase logic lives here.

The command line and the public API (`csdsl.compile_spec`, `csdsl.check_spec`) both go
through `check_paths` and `build`, so they read, check and emit in exactly one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from csdsl import ast
from csdsl.diagnostics import Diagnostic, error
from csdsl.semantic import SpecModel, analyze
from csdsl.source import SourceFile, Span, UsageError, collect_files, display_path
from csdsl.syntax.parser import ParseStats, parse_source

if TYPE_CHECKING:
    from csdsl_runtime.artifact import Artifact

__all__ = ["Compilation", "UsageError", "build", "check_paths", "check_spec", "compile_spec"]


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


def check_sources(result: Compilation) -> Compilation:
    """Run the semantic passes over what was parsed; diagnostics end up in source order."""
    model, diagnostics = analyze(result.files)
    result.model = model
    result.diagnostics.extend(diagnostics)
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def check_paths(paths: Sequence[str | Path]) -> Compilation:
    """Read, parse and check a spec (raises `UsageError` for paths that do not exist)."""
    return check_sources(read_sources(paths))


def build(result: Compilation) -> Artifact | None:
    """The artifact of a checked compilation; None when it has errors."""
    from csdsl.emit import emit  # the artifact's models: only when an artifact is wanted

    if result.has_errors or result.unreadable or result.model is None:
        return None
    return emit(result.model)


def check_spec(paths: Sequence[str | Path]) -> tuple[SpecModel, list[Diagnostic]]:
    """Check a spec: its semantic model (partial when there are errors) and diagnostics."""
    result = check_paths(paths)
    assert result.model is not None
    return result.model, result.diagnostics


def compile_spec(paths: Sequence[str | Path]) -> tuple[Artifact | None, list[Diagnostic]]:
    """Compile a spec: `(Artifact | None, diagnostics)`; None when there are errors."""
    result = check_paths(paths)
    return build(result), result.diagnostics
