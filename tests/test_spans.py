"""Every AST span's line and column agree with its character offsets.

The parser takes lines and columns from lark's tokens (fast) and offsets from their
positions; this holds the two together on every node of every file we have, including
files re-parsed declaration by declaration after a syntax error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from csdsl.source import NO_SPAN, SourceFile, Span
from csdsl.syntax.parser import parse_source

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([*ROOT.glob("examples/spec/*.cs"), *ROOT.glob("tests/golden/*/*.cs")])


def spans_of(node: object) -> Iterator[Span]:
    """Every span in an AST (NO_SPAN left out), depth first."""
    if isinstance(node, tuple | list):
        for item in node:
            yield from spans_of(item)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type | Span):
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, Span):
                if value is not NO_SPAN:
                    yield value
            else:
                yield from spans_of(value)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_span_lines_and_columns_match_offsets(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    source = SourceFile.of(path.name, text)
    parsed, _ = parse_source(source)
    spans = list(spans_of(parsed.decls))
    assert spans or not parsed.decls
    for span in spans:
        assert span == source.span(span.start, span.end), text[span.start:span.end]


def test_spans_after_a_syntax_error_point_into_the_file() -> None:
    text = 'metric usage\n\nrule broken "x" {\n  when usage >\n}\n\nrole CSM "Manager"\n'
    source = SourceFile.of("a.cs", text)
    parsed, diagnostics = parse_source(source)
    assert diagnostics
    role = parsed.decls[-1]
    assert (role.span.line, role.span.column, role.span.end_column) == (7, 1, 19)
    assert text[role.name.span.start:role.name.span.end] == "CSM"
    for span in spans_of(parsed.decls):
        assert span == source.span(span.start, span.end)
