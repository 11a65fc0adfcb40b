"""Plain substitutions (`Usage dropped for {{ account.name }}`) render without Jinja, and
exactly as Jinja does: same text, same failures, same truncation counts."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from csdsl_runtime.templates import TITLE_LIMIT, Renderer

_PIECES = st.sampled_from([
    "Usage at ", " is low", "{{ account.name }}", "{{ account.arr }}", "{{ account.day }}",
    "{{ account.flag }}", "{{ account.id }}", "{{ rule.name }}", "{{ rule.title }}",
    "{{ asof }}", "{{ account.missing }}", "{{ account.items }}", "{{- account.name -}}",
    "{{ account.name|upper }}", "{{ account.name ~ '!' }}", " {% if true %}x{% endif %}",
    "\n", "{{ account }}", "{{ other.name }}", "{", "}}", "{{ account.huge }}",
])
_VALUES = st.one_of(
    st.none(), st.text(max_size=20), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.dates(),
)


@given(st.lists(_PIECES, min_size=1, max_size=6).map("".join),
       st.fixed_dictionaries({"name": _VALUES, "arr": _VALUES, "day": _VALUES,
                              "flag": _VALUES, "items": _VALUES}),
       st.sampled_from([TITLE_LIMIT, 12]))
def test_a_substitution_renders_as_jinja_does(template: str, values: dict[str, Any],
                                              limit: int) -> None:
    context = {"account": {**values, "id": "acc-1", "huge": "x" * (TITLE_LIMIT + 5)},
               "rule": {"name": "usage_drop", "title": "Usage drop"}, "asof": "2026-11-20"}
    fast, jinja = Renderer(), Renderer(fast=False)
    assert fast.render(template, context, limit=limit) == \
        jinja.render(template, context, limit=limit)
    assert (fast.errors, fast.truncated) == (jinja.errors, jinja.truncated)
    assert [p.reason for p in fast.problems] == [p.reason for p in jinja.problems]


def test_the_common_forms_take_the_fast_path() -> None:
    renderer = Renderer()
    context = {"account": {"name": "Acme", "seats": 50.0, "renews": date(2027, 1, 31),
                           "ratio": 0.25, "none": None, "id": "a1"},
               "rule": {"name": "r", "title": "R"}, "asof": "2026-11-20"}
    out = renderer.render(
        "{{ account.name }}: {{ account.seats }} seats, {{ account.ratio }} used, renews "
        "{{ account.renews }}{{ account.none }} ({{ rule.title }}, {{ asof }})", context)
    assert out == "Acme: 50 seats, 0.25 used, renews 2027-01-31 (R, 2026-11-20)"
    assert renderer._cache == {}  # no Jinja template was compiled for it
    assert renderer.render("{{ account.seats }}", {**context, "account": {
        **context["account"], "seats": math.inf}}) == "inf"
