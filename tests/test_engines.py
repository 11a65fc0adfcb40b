"""The SQL engine (DuckDB) agrees with the reference interpreter on random IR and data.

Conditions are drawn as well-typed IR trees over a small schema (every node kind, window
edges, unknowns, division by zero); data sets have missing fields, metric points before,
at and after the as-of day, zeros (so `change` divides by zero) and events with missing
fields. In the first property metric values are small integers, so sums and averages
are exact in both engines. The second draws conditions over numbers (comparisons, `in`,
`where`) and values and literals near ±1e308, tiny and subnormal values, zeros and
arbitrary floats, so that sums, averages, `change` and arithmetic overflow (a result
that is not finite is unknown in both engines) and window sums sit on either side of
the overflow rule (`count * max |value| > 1e308`).
"""

from __future__ import annotations

import math
from array import array
from datetime import date, timedelta

import msgspec
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

MAX = 1.7976931348623157e308
# Near ±1e308, where sums, products and averages overflow, with the window rule's
# boundary (1e308 / n and its neighbours, for the n points a window can hold here);
# tiny and subnormal values, where quotients overflow and products underflow; zeros and
# plain numbers; and any finite float.
HUGE = sorted({
    1e154, 1e200, 1e300, 1e307, 4.5e307, 5e307, 8.98846567431158e307, 1e308, 1.5e308,
    1.7e308, MAX,
    *(x for n in range(1, 13) for x in (1e308 / n, math.nextafter(1e308 / n, math.inf),
                                        math.nextafter(1e308 / n, 0.0))),
})
TINY = [5e-324, 1e-320, 2.2250738585072014e-308, 1e-300, 1e-200, 1e-154]
EXTREME = st.one_of(
    st.sampled_from([*HUGE, *(-x for x in HUGE)]),
    st.sampled_from([*HUGE, *(-x for x in HUGE)]),
    st.sampled_from([*TINY, *(-x for x in TINY)]),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0]),
    st.floats(allow_nan=False, allow_infinity=False),
)


def num(lit: float) -> A.Lit:
    return A.Lit(type="number", value=lit)


def date_lit(offset: int) -> A.Lit:
    return A.Lit(type="date", value=(ASOF + timedelta(days=offset)).isoformat())


# ------------------------------------------------------------------ IR strategies


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


def conditions(literals: st.SearchStrategy[float],
               numeric: bool = False) -> st.SearchStrategy[A.Expr]:
    """Boolean conditions whose number literals are drawn from `literals`; with
    `numeric`, only the leaves that read numbers (comparisons, `in`, `where`)."""
    lits = literals.map(num)
    num_leaves = st.one_of(
        lits,
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
    event_nums = numbers(st.one_of(lits, st.just(A.EventFieldRef(name="score")),
                                   st.just(A.FieldRef(name="arr"))))
    where = _kleene(st.one_of(
        st.builds(A.Compare, cmp=CMP, left=event_nums, right=event_nums),
        st.builds(A.Compare, cmp=st.sampled_from(["==", "!="]),
                  left=st.just(A.EventFieldRef(name="channel")),
                  right=st.sampled_from(["email", "in_app"]).map(
                      lambda v: A.Lit(type="text", value=v))),
    ), max_leaves=3)
    bool_leaves = st.one_of(
        st.builds(A.Compare, cmp=CMP, left=numbers(num_leaves), right=numbers(num_leaves)),
        st.builds(A.Compare, cmp=st.sampled_from(["==", "!="]),
                  left=st.just(A.FieldRef(name="segment")),
                  right=st.sampled_from(SEGMENTS).map(lambda v: A.Lit(type="text", value=v))),
        st.builds(A.Compare, cmp=CMP, left=st.just(A.FieldRef(name="renewal_date")),
                  right=st.integers(-40, 40).map(date_lit)),
        st.builds(A.Compare, cmp=st.sampled_from(["==", "!="]),
                  left=st.just(A.FieldRef(name="churned")),
                  right=st.booleans().map(lambda b: A.Lit(type="bool", value=b))),
        st.builds(A.Compare, cmp=st.sampled_from(["==", "!="]),
                  left=st.just(A.FieldRef(name="name")),
                  right=st.sampled_from(["Acme", "O'Brien & Co"]).map(
                      lambda v: A.Lit(type="text", value=v))),
        st.builds(A.InList, arg=st.just(A.FieldRef(name="segment")),
                  values=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=2,
                                  unique=True).map(
                      lambda vs: tuple(A.Lit(type="text", value=v) for v in vs)),
                  negate=st.booleans()),
        st.builds(A.InList, arg=numbers(num_leaves),
                  values=st.lists(lits, min_size=1, max_size=3).map(tuple),
                  negate=st.booleans()),
        st.builds(A.Exists, event=st.just("nps"), days=DAYS, where=st.none() | where),
        st.builds(A.Exists, event=st.just("ticket"), days=DAYS),
    )
    if numeric:
        bool_leaves = st.one_of(
            st.builds(A.Compare, cmp=CMP, left=numbers(num_leaves), right=numbers(num_leaves)),
            st.builds(A.InList, arg=numbers(num_leaves),
                      values=st.lists(lits, min_size=1, max_size=3).map(tuple),
                      negate=st.booleans()),
            st.builds(A.Exists, event=st.just("nps"), days=DAYS, where=where),
        )
    return _kleene(bool_leaves, max_leaves=5)


CONDITIONS = conditions(SMALL)
EXTREME_CONDITIONS = conditions(EXTREME, numeric=True)

# ------------------------------------------------------------------ data strategies


def _series(points: dict[int, float]) -> MetricSeries:
    days = sorted(points)
    return MetricSeries(days=array("l", (ASOF.toordinal() + d for d in days)),
                        values=array("d", (float(points[d]) for d in days)))


@st.composite
def accounts(draw: st.DrawFn, index: int, arr: st.SearchStrategy[float],
             metric: st.SearchStrategy[float], score: st.SearchStrategy[float]) -> AccountData:
    account = AccountData(id=f"A{index:02}")
    maybe = lambda s: draw(st.none() | s)  # noqa: E731
    values = {
        "arr": maybe(arr),
        "segment": maybe(st.sampled_from(SEGMENTS)),
        "renewal_date": maybe(st.integers(-40, 40).map(lambda d: ASOF + timedelta(days=d))),
        "churned": maybe(st.booleans()),
        "name": maybe(st.sampled_from(["Acme", "O'Brien & Co", "Zed"])),
    }
    account.fields = {k: v for k, v in values.items() if v is not None}
    for name in ("usage", "logins"):
        points = draw(st.dictionaries(st.integers(-26, 2), metric, max_size=12))
        if points or draw(st.booleans()):
            account.metrics[name] = _series(points)
    for event in ("nps", "ticket"):
        days = sorted(draw(st.lists(st.integers(-15, 2), max_size=4)))
        if not days:
            continue
        fields = []
        for _ in days:
            row: dict[str, float | str] = {}
            value = draw(st.none() | score)
            if value is not None and event == "nps":
                row["score"] = value
            channel = draw(st.none() | st.sampled_from(["email", "in_app"]))
            if channel is not None and event == "nps":
                row["channel"] = channel
            fields.append(row)
        account.events[event] = EventSeries(
            days=array("l", (ASOF.toordinal() + d for d in days)), fields=fields)
    return account


@st.composite
def datasets(draw: st.DrawFn, extreme: bool = False) -> Dataset:
    if extreme:
        arr = metric = score = EXTREME
    else:
        arr = st.integers(0, 8).map(float)
        metric = st.integers(0, 4).map(float)
        score = st.integers(0, 10).map(float)
    n = draw(st.integers(1, 6))
    found = [draw(accounts(i, arr, metric, score)) for i in range(n)]
    return Dataset(accounts={a.id: a for a in found})


# ------------------------------------------------------------------ properties


def disagreements(data: Dataset, conditions: list[A.Expr], schema: A.DataSchema = SCHEMA
                  ) -> dict[str, dict[str, tuple]]:
    """For each condition the engines disagree on: account -> (interpreter, duckdb)."""
    named = {f"c{i}": c for i, c in enumerate(conditions)}
    expected = InterpreterEngine(data, schema).evaluate(named, ASOF)
    engine = SqlEngine(data, schema)
    try:
        got = engine.evaluate(named, ASOF)
    finally:
        engine.con.close()
    return {key: {a: (expected[key][a], got[key][a]) for a in expected[key]
                  if expected[key][a] != got[key][a]}
            for key in named if got[key] != expected[key]}


def _explain(data: Dataset, conditions: list[A.Expr], differ: dict) -> list:
    return [(conditions[int(key[1:])].__repr__(), accounts_differing,
             {a: data.accounts[a] for a in accounts_differing})
            for key, accounts_differing in differ.items()]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(), conditions=st.lists(CONDITIONS, min_size=1, max_size=4))
def test_sql_engine_agrees_with_the_interpreter(data: Dataset, conditions: list) -> None:
    differ = disagreements(data, conditions)
    assert not differ, _explain(data, conditions, differ)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(extreme=True), conditions=st.lists(EXTREME_CONDITIONS, min_size=1,
                                                        max_size=4))
def test_engines_agree_on_extreme_values(data: Dataset, conditions: list) -> None:
    differ = disagreements(data, conditions)
    assert not differ, _explain(data, conditions, differ)


FILLED = msgspec.structs.replace(SCHEMA, metrics=(A.Metric(name="usage", missing=0.0),
                                                  A.Metric(name="logins", missing=2.5)))
"""`missing 0` on usage and a non-integer fill on logins (sums then depend on how the
fill is added: both engines add `(D - rows) * fill` once, after the rows)."""


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(), conditions=st.lists(CONDITIONS, min_size=1, max_size=4))
def test_engines_agree_on_metrics_whose_missing_days_count(data: Dataset,
                                                           conditions: list) -> None:
    differ = disagreements(data, conditions, FILLED)
    assert not differ, _explain(data, conditions, differ)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets(extreme=True), conditions=st.lists(EXTREME_CONDITIONS, min_size=1,
                                                        max_size=4))
def test_engines_agree_on_extreme_values_with_missing_days(data: Dataset,
                                                            conditions: list) -> None:
    differ = disagreements(data, conditions, FILLED)
    assert not differ, _explain(data, conditions, differ)


_SPARSE = {"usage": {0: 4.0, -2: 2.0}}  # two rows in the last 3 days, none before


@pytest.mark.parametrize(("node", "declared", "zero", "fill"), [
    (A.Window(fn="sum", metric="usage", days=14), 6.0, 6.0, 6.0 + 12 * 1.5),
    (A.Window(fn="avg", metric="usage", days=3), 3.0, 2.0, 7.5 / 3),
    (A.Window(fn="min", metric="usage", days=3), 2.0, 0.0, 1.5),
    (A.Window(fn="max", metric="usage", days=3), 4.0, 4.0, 4.0),
    (A.Window(fn="min", metric="usage", days=1), 4.0, 4.0, 4.0),  # no day missing
    (A.Latest(metric="usage"), 4.0, 4.0, 4.0),
    (A.Change(metric="usage", days=3), None, None, (2.5 - 1.5) / 1.5),
    (A.Window(fn="sum", metric="logins", days=4), None, 0.0, 10.0),  # no rows at all
    (A.Window(fn="max", metric="logins", days=7), None, 0.0, 2.5),
    (A.Latest(metric="logins"), None, 0.0, 2.5),
], ids=repr)
def test_a_day_without_a_row_is_unknown_unless_declared(
        node: A.Expr, declared: float | None, zero: float | None, fill: float | None) -> None:
    """Sparse exports leave out days with no logins: by default a window sees only the
    rows it has (and none at all is unknown); `missing 0` counts those days as 0, and
    `missing 1.5` as 1.5."""
    data = Dataset(accounts={"A": AccountData(id="A", metrics={
        m: _series(points) for m, points in _SPARSE.items()})})

    def declaring(usage: float, logins: float) -> A.DataSchema:
        return msgspec.structs.replace(SCHEMA, metrics=(
            A.Metric(name="usage", missing=usage), A.Metric(name="logins", missing=logins)))

    for schema, want in ((SCHEMA, declared), (declaring(0.0, 0.0), zero),
                         (declaring(1.5, 2.5), fill)):
        interpreter = InterpreterEngine(data, schema)
        sql = SqlEngine(data, schema)
        is_value = {"c": A.Compare(cmp="==", left=node, right=num(0 if want is None else want))}
        expected = {"c": {"A": None if want is None else True}}
        assert interpreter.evaluate(is_value, ASOF) == expected
        assert sql.evaluate(is_value, ASOF) == expected
        sql.con.close()


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


def test_nested_divisors_stay_linear() -> None:
    """`arr / (arr / (arr / ...))` 40 deep: each divisor is guarded (0 or not finite is
    unknown) with the divisor written once. With NULLIF, a DuckDB macro that copies its
    argument, the bound expression doubled at every level: 14 levels took 30 s."""
    import time

    data = Dataset(accounts={f"A{i}": AccountData(id=f"A{i}", fields={"arr": float(i % 3)})
                             for i in range(50)})
    arr = A.FieldRef(name="arr")
    expr: A.Expr = arr
    for _ in range(40):
        expr = A.Arith(fn="/", left=arr, right=expr)
    cond = {"c": A.Compare(cmp=">", left=expr, right=num(0))}
    engine = SqlEngine(data, SCHEMA)
    started = time.perf_counter()
    try:
        got = engine.evaluate(cond, ASOF)
    finally:
        engine.con.close()
    assert time.perf_counter() - started < 20
    assert got == InterpreterEngine(data).evaluate(cond, ASOF)
    assert got["c"]["A0"] is None and got["c"]["A1"] is True


def test_nested_exists_stay_linear() -> None:
    """`exists nps where (exists nps where (...))` 12 deep: each `where` is written once
    in the SQL (twice, the text doubled at every level: 8 levels took 7 s, 12 hung)."""
    data = Dataset(accounts={f"A{i}": AccountData(id=f"A{i}", events={"nps": EventSeries(
        array("l", [ASOF.toordinal() - 1]), [{"score": float(i % 4)}])}) for i in range(30)})
    cond: A.Expr = A.Compare(cmp=">", left=A.EventFieldRef(name="score"), right=num(1))
    for _ in range(12):
        cond = A.Exists(event="nps", days=30, where=cond)
    engine = SqlEngine(data, SCHEMA)
    try:
        got = engine.evaluate({"c": cond}, ASOF)
    finally:
        engine.con.close()
    assert got == InterpreterEngine(data).evaluate({"c": cond}, ASOF)


@pytest.mark.parametrize("reverse", [False, True])
def test_window_sums_add_in_day_order_whatever_the_row_order(reverse: bool) -> None:
    """0.1 + 0.2 + 0.3 is 0.6000000000000001 in day order and 0.6 backwards: the engines
    add as the interpreter does (in day order), however the rows are stored."""
    values = [0.1, 0.2, 0.3]
    accounts = {}
    for i in range(300):  # enough rows for DuckDB to split the work between threads
        days = [ASOF.toordinal() - 2 + k for k in range(3)]
        accounts[f"A{i}"] = AccountData(id=f"A{i}", metrics={"usage": MetricSeries(
            array("l", days), array("d", values))})
    data = Dataset(accounts=accounts)
    total = A.Window(fn="sum", metric="usage", days=3)
    conds = {"above": A.Compare(cmp=">", left=total, right=num(0.6)),
             "equal": A.Compare(cmp="==", left=total, right=num(0.6000000000000001))}
    engine = SqlEngine(data, SCHEMA)
    try:
        if reverse:  # the table's rows backwards: the order a file or a join may give
            for table in engine.frame.metrics.values():
                engine.con.execute(f"CREATE TABLE r AS SELECT * FROM {table} "
                                   "ORDER BY acc DESC, day DESC")
                engine.con.execute(f"DROP TABLE {table}")
                engine.con.execute(f"ALTER TABLE r RENAME TO {table}")
        got = engine.evaluate(conds, ASOF)
    finally:
        engine.con.close()
    assert got == InterpreterEngine(data).evaluate(conds, ASOF)
    assert all(got["above"].values()) and all(got["equal"].values())


def test_an_exists_that_reads_only_the_occurrence_is_one_shared_feature() -> None:
    """`exists nps within 30d where score <= 6` in three conditions: one column of the
    `nps` table's grouped pass, read by all three, and no subquery; a `where` that reads
    an account field keeps its correlated subquery. Both answer as the interpreter."""
    from csdsl_runtime.engines.sql import _Plan, _sql

    data = Dataset(accounts={
        "A0": AccountData(id="A0", fields={"arr": 5.0}, events={"nps": EventSeries(
            days=array("l", [ASOF.toordinal() - 3, ASOF.toordinal()]),
            fields=[{"score": 9.0}, {}])}),
        "A1": AccountData(id="A1", fields={"arr": 5.0}, events={"nps": EventSeries(
            days=array("l", [ASOF.toordinal() - 1]), fields=[{"score": 2.0}])}),
        "A2": AccountData(id="A2", fields={}),
    })
    low = A.Exists(event="nps", days=30, where=A.Compare(
        cmp="<=", left=A.EventFieldRef(name="score"), right=num(6)))
    by_field = A.Exists(event="nps", days=30, where=A.Compare(
        cmp="<", left=A.EventFieldRef(name="score"), right=A.FieldRef(name="arr")))
    conditions = {"low": low, "not_low": A.Not(arg=low), "either": A.Or(args=(low, low)),
                  "by_field": by_field}
    engine = SqlEngine(data, SCHEMA)
    try:
        plan = _Plan(engine, ASOF.toordinal())
        sql = {key: _sql(plan.truth(node)) for key, node in conditions.items()}
        assert sum(len(features) for features in plan.aggregates.values()) == 1
        assert not any("SELECT" in sql[k] for k in ("low", "not_low", "either"))
        assert "SELECT" in sql["by_field"]
        got = engine.evaluate(conditions, ASOF)
    finally:
        engine.con.close()
    assert got == InterpreterEngine(data).evaluate(conditions, ASOF)
    assert got["low"] == {"A0": None, "A1": True, "A2": False}
