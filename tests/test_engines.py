"""The SQL engine (DuckDB) agrees with the reference interpreter on random IR and data.

Conditions are drawn as well-typed IR trees over a small schema (every node kind, window
edges, unknowns, division by zero); data sets have missing fields, metric points before,
at and after the as-of day, zeros (so `change` divides by zero) and events with missing
fields. Metric values are integers, so sums and averages are exact in both engines.
"""

from __future__ import annotations

from array import array
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl_runtime import artifact as A
from csdsl_runtime.data import AccountData, Dataset, EventSeries, MetricSeries
from csdsl_runtime.engines.interpreter import InterpreterEngine

pytest.importorskip("duckdb")
pytest.importorskip("numpy")
from csdsl_runtime.engines.sql import SqlEngine

ASOF = date(2026, 11, 20)
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SCHEMA = A.DataSchema(
    account=(
        A.AccountField(name="arr", type="number"),
        A.AccountField(name="segment", type="enum", values=SEGMENTS),
        A.AccountField(name="renewal_date", type="date"),
        A.AccountField(name="churned", type="bool"),
        A.AccountField(name="name", type="text"),
    ),
    metrics=(A.Metric(name="usage"), A.Metric(name="logins")),
    events=(
        A.Event(name="nps", fields=(A.AccountField(name="score", type="number"),
                                    A.AccountField(name="channel", type="text"))),
        A.Event(name="ticket"),
    ),
)
DAYS = st.integers(min_value=1, max_value=12)
SMALL = st.integers(min_value=-3, max_value=8).map(float)


def num(lit: float) -> A.Lit:
    return A.Lit(type="number", value=lit)


def date_lit(offset: int) -> A.Lit:
    return A.Lit(type="date", value=(ASOF + timedelta(days=offset)).isoformat())


# ------------------------------------------------------------------ IR strategies

NUM_LEAVES = st.one_of(
    SMALL.map(num),
    st.just(A.FieldRef(name="arr")),
    st.sampled_from(["usage", "logins"]).map(lambda m: A.Latest(metric=m)),
    st.builds(A.Window, fn=st.sampled_from(["avg", "sum", "min", "max"]),
              metric=st.sampled_from(["usage", "logins"]), days=DAYS),
    st.builds(A.Change, metric=st.sampled_from(["usage", "logins"]), days=DAYS),
    st.builds(A.Count, event=st.sampled_from(["nps", "ticket"]), days=DAYS),
    st.just(A.DaysUntil(field="renewal_date")),
    st.just(A.DaysSince(field="renewal_date")),
    st.sampled_from(["nps", "ticket"]).map(lambda e: A.DaysSince(event=e)),
)


def numbers(leaves: st.SearchStrategy[A.Expr]) -> st.SearchStrategy[A.Expr]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(A.Arith, fn=st.sampled_from(["+", "-", "*", "/"]), left=inner,
                      right=inner),
            st.builds(A.Neg, arg=inner),
        ),
        max_leaves=4,
    )


CMP = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
EVENT_NUMS = numbers(st.one_of(SMALL.map(num), st.just(A.EventFieldRef(name="score")),
                               st.just(A.FieldRef(name="arr"))))
WHERE = st.one_of(
    st.builds(A.Compare, cmp=CMP, left=EVENT_NUMS, right=EVENT_NUMS),
    st.builds(A.Compare, cmp=st.sampled_from(["==", "!="]),
              left=st.just(A.EventFieldRef(name="channel")),
              right=st.sampled_from(["email", "in_app"]).map(
                  lambda v: A.Lit(type="text", value=v))),
)


def _kleene(leaves: st.SearchStrategy[A.Expr], max_leaves: int) -> st.SearchStrategy[A.Expr]:
    """Trees of and/or/not over `leaves`."""
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(lambda a: A.And(args=tuple(a))),
            st.lists(inner, min_size=2, max_size=3).map(lambda a: A.Or(args=tuple(a))),
            st.builds(A.Not, arg=inner),
        ),
        max_leaves=max_leaves,
    )


def wheres() -> st.SearchStrategy[A.Expr]:
    return _kleene(WHERE, max_leaves=3)


BOOL_LEAVES = st.one_of(
    st.builds(A.Compare, cmp=CMP, left=numbers(NUM_LEAVES), right=numbers(NUM_LEAVES)),
    st.builds(A.Compare, cmp=st.sampled_from(["==", "!="]),
              left=st.just(A.FieldRef(name="segment")),
              right=st.sampled_from(SEGMENTS).map(lambda v: A.Lit(type="text", value=v))),
    st.builds(A.Compare, cmp=CMP, left=st.just(A.FieldRef(name="renewal_date")),
              right=st.integers(-40, 40).map(date_lit)),
    st.builds(A.Compare, cmp=st.sampled_from(["==", "!="]),
              left=st.just(A.FieldRef(name="churned")),
              right=st.booleans().map(lambda b: A.Lit(type="bool", value=b))),
    st.builds(A.Compare, cmp=st.sampled_from(["==", "!="]), left=st.just(A.FieldRef(name="name")),
              right=st.sampled_from(["Acme", "O'Brien & Co"]).map(
                  lambda v: A.Lit(type="text", value=v))),
    st.builds(A.InList, arg=st.just(A.FieldRef(name="segment")),
              values=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=2, unique=True).map(
                  lambda vs: tuple(A.Lit(type="text", value=v) for v in vs)),
              negate=st.booleans()),
    st.builds(A.InList, arg=numbers(NUM_LEAVES),
              values=st.lists(SMALL.map(num), min_size=1, max_size=3).map(tuple),
              negate=st.booleans()),
    st.builds(A.Exists, event=st.just("nps"), days=DAYS, where=st.none() | wheres()),
    st.builds(A.Exists, event=st.just("ticket"), days=DAYS),
)

CONDITIONS = _kleene(BOOL_LEAVES, max_leaves=5)

# ------------------------------------------------------------------ data strategies


def _series(points: dict[int, int]) -> MetricSeries:
    days = sorted(points)
    return MetricSeries(days=array("l", (ASOF.toordinal() + d for d in days)),
                        values=array("d", (float(points[d]) for d in days)))


@st.composite
def accounts(draw: st.DrawFn, index: int) -> AccountData:
    account = AccountData(id=f"A{index:02}")
    maybe = lambda s: draw(st.none() | s)  # noqa: E731
    values = {
        "arr": maybe(st.integers(0, 8).map(float)),
        "segment": maybe(st.sampled_from(SEGMENTS)),
        "renewal_date": maybe(st.integers(-40, 40).map(lambda d: ASOF + timedelta(days=d))),
        "churned": maybe(st.booleans()),
        "name": maybe(st.sampled_from(["Acme", "O'Brien & Co", "Zed"])),
    }
    account.fields = {k: v for k, v in values.items() if v is not None}
    for metric in ("usage", "logins"):
        points = draw(st.dictionaries(st.integers(-26, 2), st.integers(0, 4), max_size=12))
        if points or draw(st.booleans()):
            account.metrics[metric] = _series(points)
    for event in ("nps", "ticket"):
        days = sorted(draw(st.lists(st.integers(-15, 2), max_size=4)))
        if not days:
            continue
        fields = []
        for _ in days:
            row: dict[str, float | str] = {}
            score = draw(st.none() | st.integers(0, 10).map(float))
            if score is not None and event == "nps":
                row["score"] = score
            channel = draw(st.none() | st.sampled_from(["email", "in_app"]))
            if channel is not None and event == "nps":
                row["channel"] = channel
            fields.append(row)
        account.events[event] = EventSeries(
            days=array("l", (ASOF.toordinal() + d for d in days)), fields=fields)
    return account


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    n = draw(st.integers(1, 6))
    found = [draw(accounts(i)) for i in range(n)]
    return Dataset(accounts={a.id: a for a in found})


# ------------------------------------------------------------------ properties


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(), conditions=st.lists(CONDITIONS, min_size=1, max_size=4))
def test_sql_engine_agrees_with_the_interpreter(data: Dataset, conditions: list) -> None:
    named = {f"c{i}": c for i, c in enumerate(conditions)}
    expected = InterpreterEngine(data).evaluate(named, ASOF)
    engine = SqlEngine(data, SCHEMA)
    try:
        got = engine.evaluate(named, ASOF)
    finally:
        engine.con.close()
    for key, condition in named.items():
        assert got[key] == expected[key], (key, condition.model_dump(exclude_defaults=True))


def test_accounts_limit_the_result_and_unknown_ids_are_unknown() -> None:
    data = Dataset(accounts={"A": AccountData(id="A", fields={"arr": 5.0}),
                             "B": AccountData(id="B")})
    cond = {"big": A.Compare(cmp=">", left=A.FieldRef(name="arr"), right=num(1))}
    for engine in (InterpreterEngine(data), SqlEngine(data, SCHEMA)):
        assert engine.evaluate(cond, ASOF) == {"big": {"A": True, "B": None}}
        assert engine.evaluate(cond, ASOF, {"big": ["A", "Z"]}) == {"big": {"A": True, "Z": None}}


def test_the_schema_is_inferred_when_a_host_does_not_pass_it() -> None:
    data = Dataset(accounts={"A": AccountData(
        id="A", fields={"arr": 5.0, "renewal_date": ASOF + timedelta(days=3)},
        metrics={"usage": _series({0: 4, -1: 2})})})
    cond = {
        "soon": A.Compare(cmp="<=", left=A.DaysUntil(field="renewal_date"), right=num(3)),
        "avg": A.Compare(cmp="==", left=A.Window(fn="avg", metric="usage", days=2), right=num(3)),
    }
    assert SqlEngine(data).evaluate(cond, ASOF) == {"soon": {"A": True}, "avg": {"A": True}}
