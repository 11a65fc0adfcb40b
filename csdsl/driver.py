"""Wires the phases: files → parse → check → emit. No phase logic lives here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from csdsl import ast
from csdsl.diagnostics import Diagnostic, error
from csdsl.parser import parse_source
from csdsl.source import SourceFile, Span, collect_files, display_path


class UsageError(Exception):
    """Bad command-line input (a path that does not exist): exit status 2."""


@dataclass(slots=True)
class Compilation:
    """Everything one run of the front-end produced, for the CLI to render."""

    sources: dict[str, str] = field(default_factory=dict)
    files: list[ast.File] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    checked: object | None = None
    unreadable: bool = False
    file_count: int = 0  # every file found, including those that could not be read

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)


def read_sources(paths: Sequence[str]) -> Compilation:
    """Read and parse every `.cs` file under the given paths."""
    found, missing = collect_files(list(paths))
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
                error("CS0001", Span(name, 1, 1, 1, 1), f"cannot read `{name}`: "
                      f"{reason}")
            )
            result.unreadable = True
            continue
        if text.startswith("\ufeff"):
            text = text[1:]
        result.sources[name] = text
        parsed, diagnostics = parse_source(SourceFile.of(name, text))
        result.files.append(parsed)
        result.diagnostics.extend(diagnostics)
    return result


def check_sources(result: Compilation) -> Compilation:
    from csdsl.check import check

    checked, diagnostics = check(result.files)
    result.checked = checked
    result.diagnostics.extend(diagnostics)
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def compile_spec(paths: Sequence[str | Path]):  # type: ignore[no-untyped-def]
    """Compile a spec: `(Artifact | None, diagnostics)`; None when there are errors."""
    from csdsl.emit import emit

    result = check_sources(read_sources([str(p) for p in paths]))
    if result.has_errors:
        return None, result.diagnostics
    return emit(result.checked), result.diagnostics  # type: ignore[arg-type]
