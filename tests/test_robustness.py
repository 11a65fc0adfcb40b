"""No input crashes the front-end: every mutation of a valid spec gives diagnostics."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl.diagnostics import render_text
from csdsl.semantic import analyze
from csdsl.syntax.parser import parse_text
from tests.fuzzkit import mutations

from .test_compile import ALL_FORMS

PIECES = [
    "{", "}", "(", ")", '"', "#", ",", ".", ":", "-", "%", "\\", "\n", " ", "==", "and", "or",
    "not", "when", "then", "task", "rule", "after", "owner", "day", "30d", "2026-13-45", "12.5",
    "usage", "x", "é", "\t", "\x00", "{{", "}}", "{%", "account.__class__", "in", "no",
    "event", "where", "plan", "objective", "playbook", "enum(", "true", "pool", "limit", "max",
    "per", "run", "at most", "every", "reopen while", "missing", "0", "holidays", '"US-CA"',
    "on change", "append", "business", "due",
]


def mutated() -> object:
    return mutations(ALL_FORMS, PIECES)


def _front_end(text: str) -> list:
    parsed, diagnostics = parse_text("m.cs", text)
    _, more = analyze([parsed])
    everything = [*diagnostics, *more]
    render_text(everything, {"m.cs": text})  # rendering must not crash either
    return everything


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_never_raise(text: str) -> None:
    diagnostics = _front_end(text)
    for d in diagnostics:
        assert d.code.startswith("CS") and d.span.line >= 1 and d.span.column >= 1


@settings(deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises(text: str) -> None:
    _front_end(text)


def test_every_syntax_error_in_a_file_is_reported() -> None:
    text = ALL_FORMS.replace('then cta risk "Usage', 'then cta risk risk "Usage').replace(
        "when days_until(renewal_date) == 120", "when days_until(renewal_date) == == 120"
    )
    diagnostics = _front_end(text)
    syntax = [d for d in diagnostics if d.code == "CS0100"]
    assert len(syntax) == 2


@pytest.mark.parametrize("spec", [
    'rule r {{ when arr > 1  then cta risk "x"  due {digits}d }}',
    'rule r {{ when arr > 1  then cta risk "x"  cooldown {digits}w }}',
    'playbook P {{ task t {{ day {digits} }} }}\nrule r {{ when arr > 1  then cta risk "x"'
    "  playbook P }}",
    'rule r {{ when arr > {digits}  then cta risk "x" }}',
    'rule r {{ when avg(usage, {digits}d) > 1  then cta risk "x" }}',
])
def test_huge_numbers_are_cs0309_with_a_place(tmp_path, spec: str) -> None:  # type: ignore[no-untyped-def]
    """Past Python's 4,300-digit limit for int(): a located CS0309, no internal error."""
    from .conftest import compile_text

    artifact, diagnostics = compile_text(tmp_path, spec.format(digits="9" * 5000))
    assert artifact is None
    errors = [d for d in diagnostics if d.is_error]
    assert [d.code for d in errors] == ["CS0309"]
    assert errors[0].span.file.endswith("main.cs") and errors[0].span.line >= 1


def test_a_nul_character_in_a_spec_is_cs0001_at_its_place(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL refuses NUL in text: a spec string holding one never reaches a store."""
    from .conftest import compile_text

    artifact, diagnostics = compile_text(tmp_path, 'rule r {\n  when arr > 1\n'
                                                   '  then cta risk "a\x00b"\n}\n')
    assert artifact is None
    (found,) = [d for d in diagnostics if d.is_error]
    assert found.code == "CS0001" and "NUL" in found.message
    assert (found.span.line, found.span.column) == (3, 19)
