"""Source files and spans: where every piece of a spec came from."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


class Span(NamedTuple):
    """A region of one file: 1-based line and column, end exclusive, plus byte offsets.

    A named tuple rather than a frozen dataclass: a large spec makes hundreds of
    thousands of spans, and a tuple is built three times faster (and is as immutable).
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    start: int = 0
    end: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_SPAN = Span("<none>", 1, 1, 1, 1)


class UsageError(Exception):
    """Bad command-line input (a path that does not exist): exit status 2."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file's text with a line index for offset → (line, column) lookups."""

    path: str
    text: str
    _line_starts: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @staticmethod
    def of(path: str, text: str) -> SourceFile:
        starts = [0]
        find = text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        return SourceFile(path, text, tuple(starts))

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return index + 1, offset - self._line_starts[index] + 1

    def span(self, start: int, end: int) -> Span:
        line, column = self.position(start)
        end_line, end_column = self.position(end)
        return Span(self.path, line, column, end_line, end_column, start, end)


def collect_files(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Expand directories into their `.cs` files (sorted); report paths that do not exist."""
    files: list[Path] = []
    missing: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.cs") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(raw)
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, missing


def display_path(path: Path) -> str:
    """A path relative to the working directory when possible, with forward slashes."""
    try:
        rel = path.resolve().relative_to(Path.cwd().resolve())
        return rel.as_posix()
    except ValueError:
        return path.as_posix()
