"""Diagnostics as data, and their renderers: text with caret, JSON, GitHub, SARIF.

Phases return diagnostics; they never print. Messages follow one style: no capital, no
final period, user input in backticks, one line; details go in `help`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from csdsl.source import Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Related:
    """A second place that explains a diagnostic (the first declaration of a duplicate)."""

    span: Span
    message: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    span: Span
    message: str
    help: tuple[str, ...] = ()
    related: tuple[Related, ...] = ()
    suggestion: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.column, self.code)


def error(code: str, span: Span, message: str, *help_lines: str, **kw: object) -> Diagnostic:
    """An error; empty help lines are dropped so callers can pass optional ones."""
    helps = tuple(h for h in help_lines if h)
    return Diagnostic(code, Severity.ERROR, span, message, helps, **kw)  # type: ignore[arg-type]


def warning(code: str, span: Span, message: str, *help_lines: str, **kw: object) -> Diagnostic:
    helps = tuple(h for h in help_lines if h)
    return Diagnostic(code, Severity.WARNING, span, message, helps, **kw)  # type: ignore[arg-type]


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate by edit distance, if close enough to be a likely typo."""
    best: str | None = None
    best_distance = max(1, min(3, len(name) // 3 + 1)) + 1
    lowered = name.lower()
    for candidate in sorted(set(candidates)):
        if candidate.lower() == lowered:
            return candidate
        distance = _edit_distance(lowered, candidate.lower(), best_distance)
        if distance < best_distance:
            best, best_distance = candidate, distance
    return best


def _edit_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) >= limit:
        return limit
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) >= limit:
            return limit
        previous = current
    return previous[-1]


# ---------------------------------------------------------------- rendering


@dataclass(slots=True)
class Summary:
    errors: int = 0
    warnings: int = 0
    files: int = 0

    def line(self) -> str:
        def plural(n: int, word: str) -> str:
            return f"{n} {word}{'' if n == 1 else 's'}"

        if not self.errors and not self.warnings:
            return f"no problems in {plural(self.files, 'file')}"
        parts = []
        if self.errors:
            parts.append(plural(self.errors, "error"))
        if self.warnings:
            parts.append(plural(self.warnings, "warning"))
        return f"{', '.join(parts)} in {plural(self.files, 'file')}"


def summarize(diagnostics: Iterable[Diagnostic], files: int) -> Summary:
    summary = Summary(files=files)
    for d in diagnostics:
        if d.is_error:
            summary.errors += 1
        else:
            summary.warnings += 1
    return summary


@dataclass(slots=True)
class _Style:
    color: bool
    codes: dict[str, str] = field(
        default_factory=lambda: {
            "error": "\x1b[1;31m",
            "warning": "\x1b[1;33m",
            "bold": "\x1b[1m",
            "blue": "\x1b[1;34m",
            "green": "\x1b[32m",
            "reset": "\x1b[0m",
        }
    )

    def __call__(self, kind: str, text: str) -> str:
        if not self.color:
            return text
        return f"{self.codes[kind]}{text}{self.codes['reset']}"


def render_text(
    diagnostics: Iterable[Diagnostic], sources: Mapping[str, str], color: bool = False
) -> str:
    """Compiler-style text: `path:line:col: severity[CODE]: message`, source line, caret."""
    style = _Style(color)
    out: list[str] = []
    for d in diagnostics:
        sev = d.severity.value
        out.append(
            f"{style('bold', str(d.span))}: {style(sev, f'{sev}[{d.code}]')}: "
            f"{style('bold', d.message)}"
        )
        out.extend(_snippet(d.span, sources, style, sev))
        for rel in d.related:
            out.append(f"  {style('blue', 'note')}: {rel.message} at {rel.span}")
            out.extend(_snippet(rel.span, sources, style, "blue", indent="  "))
        if d.suggestion:
            out.append(f"  {style('green', 'help')}: did you mean `{d.suggestion}`?")
        for h in d.help:
            out.append(f"  {style('green', 'help')}: {h}")
    return "\n".join(out) + ("\n" if out else "")


def _snippet(
    span: Span, sources: Mapping[str, str], style: _Style, kind: str, indent: str = ""
) -> list[str]:
    text = sources.get(span.file)
    if text is None:
        return []
    lines = text.split("\n")
    if not 1 <= span.line <= len(lines):
        return []
    line = lines[span.line - 1].rstrip("\r").expandtabs(1)
    # a control character (NUL, ESC...) would reach the terminal raw: one \ufffd for it
    line = "".join(c if c.isprintable() else "\ufffd" for c in line)
    gutter = str(span.line)
    pad = " " * len(gutter)
    end_col = span.end_column if span.end_line == span.line else len(line) + 1
    width = max(1, end_col - span.column)
    caret = " " * (span.column - 1) + "^" * width
    return [
        f"{indent}{pad} {style('blue', '|')}",
        f"{indent}{style('blue', gutter)} {style('blue', '|')} {line}",
        f"{indent}{pad} {style('blue', '|')} {style(kind, caret)}",
    ]


def to_dict(d: Diagnostic) -> dict[str, object]:
    return {
        "code": d.code,
        "severity": d.severity.value,
        "message": d.message,
        "file": d.span.file,
        "line": d.span.line,
        "column": d.span.column,
        "end_line": d.span.end_line,
        "end_column": d.span.end_column,
        "help": list(d.help),
        "suggestion": d.suggestion,
        "related": [
            {"message": r.message, "file": r.span.file, "line": r.span.line,
             "column": r.span.column}
            for r in d.related
        ],
    }


def render_json(diagnostics: list[Diagnostic], summary: Summary) -> str:
    payload = {
        "diagnostics": [to_dict(d) for d in diagnostics],
        "summary": {"errors": summary.errors, "warnings": summary.warnings,
                    "files": summary.files},
    }
    return json.dumps(payload, indent=2) + "\n"


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(diagnostics: list[Diagnostic]) -> str:
    """GitHub Actions workflow commands, so problems show up on the pull request diff."""
    out = []
    for d in diagnostics:
        message = d.message
        if d.suggestion:
            message += f" (did you mean `{d.suggestion}`?)"
        if d.help:
            message += "\n" + "\n".join(d.help)
        props = (
            f"file={_gh_escape(d.span.file, True)},line={d.span.line},col={d.span.column},"
            f"endLine={d.span.end_line},endColumn={d.span.end_column},"
            f"title={_gh_escape(d.code, True)}"
        )
        out.append(f"::{d.severity.value} {props}::{_gh_escape(message)}")
    return "\n".join(out) + ("\n" if out else "")


def _uri(path: str) -> str:
    """A SARIF artifact URI: a relative reference (percent-encoded), or file:// if absolute."""
    from pathlib import PurePosixPath
    from urllib.parse import quote

    if path.startswith("/"):
        return PurePosixPath(path).as_uri()
    return quote(path)


FINGERPRINT_KEY = "csdslFingerprint/v1"


def _flagged_line(span: Span, sources: Mapping[str, str | None]) -> tuple[str, str] | None:
    """The first line a span covers and the part of it the span flags, or None if unknown."""
    text = sources.get(span.file)
    if text is None:
        return None
    lines = text.split("\n")
    if not 1 <= span.line <= len(lines):
        return None
    line = lines[span.line - 1].rstrip("\r")
    end = span.end_column - 1 if span.end_line == span.line else len(line)
    return line, line[span.column - 1 : max(end, span.column - 1)]


def _fingerprint_content(d: Diagnostic, sources: Mapping[str, str | None]) -> str:
    """What identifies a problem apart from where it is: the flagged line and span, with
    all whitespace removed (so re-indenting or `csdsl fmt` keeps it), or the message
    when the source is not at hand (an unreadable file)."""
    flagged = _flagged_line(d.span, sources)
    if flagged is None:
        return "message\0" + d.message
    line, part = flagged
    return "line\0" + "".join(line.split()) + "\0" + "".join(part.split())


def sarif_fingerprints(
    diagnostics: Iterable[Diagnostic], sources: Mapping[str, str | None]
) -> list[str]:
    """One `partialFingerprints` value per diagnostic, stable across runs.

    Code scanning matches results across uploads by fingerprint; with the line number in
    it, adding a line above a problem would close its alert and open a new one. So it
    hashes the code, the file's path and the flagged text, and appends an occurrence
    number (`HASH:N`, as GitHub's own `primaryLocationLineHash`) for identical ones in a
    file, counted in source order.
    """
    import hashlib

    ordered = sorted(enumerate(diagnostics), key=lambda item: item[1].sort_key())
    seen: dict[str, int] = {}
    out: dict[int, str] = {}
    for index, d in ordered:
        key = "\0".join((d.code, d.span.file, _fingerprint_content(d, sources)))
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        seen[digest] = seen.get(digest, 0) + 1
        out[index] = f"{digest}:{seen[digest]}"
    return [out[i] for i in range(len(out))]


def _read_sources(files: Iterable[str]) -> dict[str, str | None]:
    """The spec files' text from disk, for a caller that did not pass it (None: unreadable)."""
    from pathlib import Path

    out: dict[str, str | None] = {}
    for name in files:
        try:
            out[name] = Path(name).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError, ValueError):
            out[name] = None
    return out


def render_sarif(
    diagnostics: list[Diagnostic],
    rules: Mapping[str, str],
    version: str,
    sources: Mapping[str, str] | None = None,
) -> str:
    """SARIF 2.1.0, for code-scanning dashboards.

    `sources` (path -> text, as the compilation read it) feeds the fingerprints; without
    it the files are read again from disk, relative to the working directory.
    """
    used = sorted({d.code for d in diagnostics})
    texts: Mapping[str, str | None] = (
        dict(sources) if sources is not None else _read_sources({d.span.file for d in diagnostics})
    )
    fingerprints = sarif_fingerprints(diagnostics, texts)
    results = []
    for d, fingerprint in zip(diagnostics, fingerprints, strict=True):
        text = d.message + (f" (did you mean `{d.suggestion}`?)" if d.suggestion else "")
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": used.index(d.code),
                "level": d.severity.value,
                "message": {"text": text},
                "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(d.span.file)},
                            "region": {
                                "startLine": d.span.line,
                                "startColumn": d.span.column,
                                "endLine": d.span.end_line,
                                "endColumn": d.span.end_column,
                            },
                        }
                    }
                ],
                "relatedLocations": [
                    {
                        "id": i,
                        "message": {"text": r.message},
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(r.span.file)},
                            "region": {"startLine": r.span.line, "startColumn": r.span.column},
                        },
                    }
                    for i, r in enumerate(d.related)
                ],
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "csdsl",
                        "version": version,
                        "informationUri": "https://csdsl.dev",
                        "rules": [
                            {"id": code, "shortDescription": {"text": rules.get(code, code)}}
                            for code in used
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2) + "\n"
