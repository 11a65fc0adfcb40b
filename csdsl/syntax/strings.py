"""String literals: the escapes `.cs` and `.cstest` files share, in one place."""

from __future__ import annotations

from collections.abc import Callable

from csdsl.diagnostics import Diagnostic, error
from csdsl.source import SourceFile

ESCAPES = {'"': '"', "\\": "\\", "n": "\n"}


def unescape(raw: str, at: int, source: SourceFile,
             report: Callable[[Diagnostic], None]) -> str:
    """The value of a string's body `raw`, which starts at offset `at` of `source`. An
    unknown escape is CS0103 at its two characters and stands for the character after
    the backslash, so that the rest of the file still checks."""
    if "\\" not in raw:
        return raw
    out = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            known = ESCAPES.get(nxt)
            if known is None:
                report(error("CS0103", source.span(at + i, at + i + 2),
                             f"unknown escape `\\{nxt}` in a string",
                             "strings know `\\\"`, `\\\\` and `\\n`"))
            out.append(nxt if known is None else known)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)
