"""The days plan (`SqlEngine.evaluate_days`, what `csdsl backtest` evaluates with) agrees
with the reference interpreter run day by day, on the random IR and data of
tests/test_engines.py, in each of its ways to compute a table's features: windows over
probe rows in SQL (large tables), the same windows of a metric or an event computed by
NumPy over dense days (`engines.dense`), and a join with the days grouped per account
and day (small tables), alone and side by side, with days before, at and after the
data's points."""

from __future__ import annotations

from array import array
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from csdsl_runtime import artifact as A
from csdsl_runtime.data import AccountData, Dataset, EventSeries, MetricSeries
from csdsl_runtime.engines import CODE_OF_TRUTH, dense
from csdsl_runtime.engines import days as D
from csdsl_runtime.engines.interpreter import InterpreterEngine
from csdsl_runtime.engines.sql import SqlEngine

from .test_engines import ASOF, CONDITIONS, EXTREME_CONDITIONS, FILLED, SCHEMA, datasets, num

START, END = ASOF - timedelta(days=6), ASOF + timedelta(days=3)

MODES = {"windows": (0, False, False), "dense": (0, True, True),
         "grouped": (D.FANOUT_ROWS, False, False), "mixed": (D.FANOUT_ROWS, True, False),
         "events": (0, False, True)}
"""(`FANOUT_ROWS`, `DENSE`, `DENSE_EVENTS`): every table windowed in SQL; every table
by NumPy; every table grouped (the data sets here are small); the metrics by NumPy
beside the events grouped (hash joins with the NumPy grid); the events by NumPy beside
the metrics windowed in SQL (joined by position)."""


def _differences(data: Dataset, conditions: list[A.Expr], schema: A.DataSchema,
                 mode: str, monkeypatch: pytest.MonkeyPatch, grid_rows: int | None = None
                 ) -> list[tuple]:
    named = {f"c{i}": c for i, c in enumerate(conditions)}
    engine = SqlEngine(data, schema)
    fanout, numpy, events = MODES[mode]
    monkeypatch.setattr(D, "FANOUT_ROWS", fanout)
    monkeypatch.setattr(D, "DENSE", numpy)
    monkeypatch.setattr(D, "DENSE_EVENTS", events)
    try:
        got = engine.evaluate_days(named, START, END) if grid_rows is None else \
            D.evaluate_days(engine, named, START, END, grid_rows=grid_rows)
        ids = list(engine.ids)
        exact = engine.exact_sums
        tables = set(engine.frame.metrics.values())
    finally:
        engine.con.close()
    if got is None:  # sums to add in day order: left to the one-day plan
        assert tables - exact, "evaluate_days declined data whose sums are all exact"
        return []
    reference = InterpreterEngine(data, schema)
    wrong = []
    for i in range((END - START).days + 1):
        day = START + timedelta(days=i)
        expected = reference.evaluate(named, day)
        for key in named:
            want = np.array([CODE_OF_TRUTH[expected[key][a]] for a in ids], dtype=np.int8)
            if not np.array_equal(want, got[key][i]):
                wrong.append((day, repr(named[key]), want.tolist(), got[key][i].tolist()))
    return wrong


@pytest.mark.parametrize("mode", list(MODES))
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(data=datasets(), conditions=st.lists(CONDITIONS, min_size=1, max_size=4))
def test_the_days_plan_agrees_with_the_interpreter_every_day(
        data: Dataset, conditions: list, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _differences(data, conditions, SCHEMA, mode, monkeypatch)


@pytest.mark.parametrize("mode", list(MODES))
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(data=datasets(), conditions=st.lists(CONDITIONS, min_size=1, max_size=4))
def test_the_days_plan_agrees_on_metrics_whose_missing_days_count(
        data: Dataset, conditions: list, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _differences(data, conditions, FILLED, mode, monkeypatch)


@pytest.mark.parametrize("mode", ["windows", "dense"])
@pytest.mark.parametrize("schema", [SCHEMA, FILLED], ids=["plain", "filled"])
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(data=datasets(extreme=True), conditions=st.lists(EXTREME_CONDITIONS, min_size=1,
                                                        max_size=3))
def test_the_days_plan_agrees_on_extreme_values_or_declines(
        data: Dataset, conditions: list, schema: A.DataSchema, mode: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _differences(data, conditions, schema, mode, monkeypatch)


def _metric_nodes(sums: bool = True) -> list[A.Expr]:
    """A comparison of every metric feature with a few thresholds: windows of each kind
    and several lengths, changes (two windows each), the latest value; without `sums`,
    the latest value, min and max only."""
    nodes: list[A.Expr] = []
    for metric in ("usage", "logins"):
        leaves: list[A.Expr] = [A.Latest(metric=metric)]
        leaves += [A.Window(fn=fn, metric=metric, days=d)
                   for fn in (("avg", "sum", "min", "max") if sums else ("min", "max"))
                   for d in (1, 2, 5, 9)]
        leaves += [A.Change(metric=metric, days=d) for d in ((1, 4, 10) if sums else ())]
        for leaf in leaves:
            nodes += [A.Compare(cmp=">", left=leaf, right=num(1.0)),
                      A.Compare(cmp="<=", left=leaf, right=num(-2.0))]
    return nodes


def _series(points: dict[int, float]) -> MetricSeries:
    days = sorted(points)
    return MetricSeries(days=array("l", (ASOF.toordinal() + d for d in days)),
                        values=array("d", (points[d] for d in days)))


_POINTS = [  # days from ASOF -> value, per account
    {},  # no rows
    {-60: 5.0},  # one row, long before every frame: only the latest value sees it
    {-60: 3.0, -35: -4.0, -21: 2.0, -12: 0.0, -6: 7.0, -5: -1.0, -2: 4.0, 0: 1.0, 3: -3.0},
    {d: float((d * 7) % 11 - 5) for d in range(-40, 4)},  # every day, past the range too
    {-7: 2.0, -6: -2.0, 1: 6.0, 2: 6.0},  # at and around the first day, then the last
    {4: 9.0},  # after the range only
]


@pytest.mark.parametrize("schema", [SCHEMA, FILLED], ids=["plain", "filled"])
def test_numpy_computes_the_metric_windows_the_interpreter_does(
        schema: A.DataSchema, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every metric feature, on rows before the grid (carried), inside it, on its first
    and last days and after it, in slices of a few accounts: computed by NumPy (both
    metric tables, every slice), and equal to the interpreter's."""
    accounts = {}
    for i, points in enumerate(_POINTS):
        account = AccountData(id=f"A{i:02}")
        account.metrics["usage"] = _series(points)
        account.metrics["logins"] = _series({d + 1: v * 2 for d, v in points.items()})
        accounts[account.id] = account
    data = Dataset(accounts=accounts)
    ran: list[tuple[str, bool]] = []
    run_dense = D._dense

    def spy(con: Any, table: str, *args: Any) -> dict[str, dense.Column] | None:
        found = run_dense(con, table, *args)
        ran.append((table, found is not None))
        return found

    monkeypatch.setattr(D, "_dense", spy)
    # 10 days and 20 before them (the longest change): slices of 2 accounts
    assert not _differences(data, _metric_nodes(), schema, "dense", monkeypatch, 2 * 30)
    assert sorted(ran) == [(t, True) for t in ("m0", "m1") for _ in range(3)]


def test_a_slice_with_a_nan_value_is_left_to_the_sql_windows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB reads a NumPy NaN as NULL (and orders NaN above every number): NumPy
    declines a slice with a NaN or NULL value (what a data set's NaN is loaded as),
    whose features then come from the SQL windows."""
    con = duckdb.connect()
    con.execute("CREATE TABLE m0 AS SELECT * FROM (VALUES (0, 10, 1.0), (1, 11, 'nan'::DOUBLE))"
                " t(acc, day, value)")
    windows: dict[str, dense.Wanted] = {"w0": dense.Window("count", None)}
    assert dense.columns(con, "m0", windows, 0, 1, 10, 12) is not None
    assert dense.columns(con, "m0", windows, 0, 2, 10, 12) is None
    con.execute("UPDATE m0 SET value = NULL WHERE acc = 1")
    assert dense.columns(con, "m0", windows, 0, 2, 10, 12) is None
    con.close()

    accounts = {}
    for i, points in enumerate([{-3: 1.0, -1: 2.0}, {-2: float("nan"), 0: 4.0}]):
        account = AccountData(id=f"A{i:02}")
        account.metrics["usage"] = _series(points)
        account.metrics["logins"] = _series({-4: 3.0})
        accounts[account.id] = account
    named = {f"c{i}": c for i, c in enumerate(_metric_nodes(sums=False))}
    ran: list[tuple[str, bool]] = []
    run_dense = D._dense

    def spy(con: Any, table: str, *args: Any) -> dict[str, dense.Column] | None:
        found = run_dense(con, table, *args)
        ran.append((table, found is not None))
        return found

    monkeypatch.setattr(D, "_dense", spy)
    monkeypatch.setattr(D, "FANOUT_ROWS", 0)
    got = {}
    for numpy in (False, True):
        monkeypatch.setattr(D, "DENSE", numpy)
        engine = SqlEngine(Dataset(accounts=accounts), SCHEMA)
        got[numpy] = D.evaluate_days(engine, named, START, END, grid_rows=18)  # an account
        engine.con.close()
    # a slice per account: the second's usage has the NaN
    assert ran == [("m0", True), ("m1", True), ("m0", False), ("m1", True)]
    assert got[True] is not None and got[False] is not None
    for key in named:
        assert np.array_equal(got[True][key], got[False][key]), key


def _event_nodes() -> list[A.Expr]:
    """Every event feature: counts and `exists` of several lengths (longer than the
    range and the data too), `exists where` on the occurrence (true, false and unknown
    per row), the days since the last occurrence."""
    score = A.EventFieldRef(name="score")
    wheres: list[A.Expr] = [
        A.Compare(cmp="<=", left=score, right=num(6.0)),
        A.Compare(cmp=">=", left=A.Arith(fn="/", left=num(10.0), right=score),
                  right=num(2.0)),  # unknown for a score of 0 too
        A.Compare(cmp="==", left=A.EventFieldRef(name="channel"),
                  right=A.Lit(type="text", value="email")),
    ]
    nodes: list[A.Expr] = []
    for event in ("nps", "ticket"):
        for d in (1, 2, 5, 9, 40):
            nodes += [A.Compare(cmp=">=", left=A.Count(event=event, days=d), right=num(2.0)),
                      A.Exists(event=event, days=d)]
        nodes.append(A.Compare(cmp="<=", left=A.DaysSince(event=event), right=num(3.0)))
    nodes += [A.Exists(event="nps", days=d, where=w) for d in (1, 3, 12) for w in wheres]
    return nodes


_OCCURRENCES = [  # days from ASOF -> the rows of that day (score, channel), per account
    {},  # none
    {-60: [(9.0, "email")]},  # one, long before the range
    {-12: [(3.0, None)], -7: [(None, "email"), (0.0, "in_app")], -6: [(10.0, None)],
     -3: [(7.0, "email")], 0: [(None, None), (2.0, "in_app"), (9.0, "email")],
     3: [(1.0, None)]},  # several a day, at the first and last days, NULL fields
    {d: [(float(d % 11), "email" if d % 2 else "in_app")] for d in range(-20, 4)},
    {4: [(5.0, "email")]},  # after the range only
]


def test_numpy_computes_the_event_windows_the_interpreter_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every event feature, on rows before the range, inside it (several a day), on its
    first and last days and after it, in slices of two accounts: computed by NumPy (both
    event tables, every slice), and equal to the interpreter's."""
    accounts = {}
    for i, occurrences in enumerate(_OCCURRENCES):
        account = AccountData(id=f"A{i:02}")
        for event in ("nps", "ticket"):
            days = sorted(occurrences)
            rows = [(d, row) for d in days for row in occurrences[d]]
            if not rows:
                continue
            fields = [{k: v for k, v in (("score", score), ("channel", channel))
                       if v is not None} if event == "nps" else {}
                      for _, (score, channel) in rows]
            account.events[event] = EventSeries(
                days=array("l", (ASOF.toordinal() + d for d, _ in rows)), fields=fields)
        accounts[account.id] = account
    data = Dataset(accounts=accounts)
    ran: list[tuple[str, bool]] = []
    run_dense = D._dense

    def spy(con: Any, table: str, *args: Any) -> dict[str, dense.Column] | None:
        found = run_dense(con, table, *args)
        ran.append((table, found is not None))
        return found

    monkeypatch.setattr(D, "_dense", spy)
    # 10 days, nothing before them (NumPy's event columns need none): slices of 2
    assert not _differences(data, _event_nodes(), SCHEMA, "dense", monkeypatch, 2 * 10)
    assert sorted(ran) == [(t, True) for t in ("e0", "e1") for _ in range(3)]


@settings(deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 2), st.integers(-6, 12),
                               st.none() | st.integers(0, 9)), max_size=40),
       since=st.integers(1, 12), until=st.integers(0, 11))
def test_event_columns_are_those_of_each_frame(rows: list[tuple[int, int, int | None]],
                                               since: int, until: int) -> None:
    """`dense.event_columns` against each frame's rows, for every kind of window, running
    and over a frame, a lag and a difference of running counts, with rows before, in and
    after the range, several a day, arguments unknown for some."""
    until = min(until, since - 1)
    first, last = 100, 104
    con = duckdb.connect()
    con.execute("CREATE TABLE e0 (acc BIGINT, day INTEGER, f0 DOUBLE)")
    if rows:
        con.executemany("INSERT INTO e0 VALUES (?, ?, ?)",
                        [(a, first + d, v) for a, d, v in rows])
    arg = exp.LTE(this=exp.column("f0", "s"), expression=exp.Literal.number(4))
    running = dense.Window("count", None)
    wanted: dict[str, dense.Wanted] = {
        "rows": running, "known": dense.Window("count", None, 0, arg),
        "framed": dense.Window("count", since, until),
        "framed_known": dense.Window("count", since, until, arg),
        "any": dense.Window("any", None, 0, arg),
        "any_framed": dense.Window("any", since, until, arg),
        "last": dense.Window("last", None), "last_framed": dense.Window("last", since, until),
        "lag": dense.Lag(running, since), "between": dense.Between(running, until, since)}
    got = dense.event_columns(con, "e0", wanted, 0, 3, first, last)
    con.close()
    for i, (day, acc) in enumerate((d, a) for d in range(first, last + 1) for a in range(3)):
        mine = [(first + d, v) for a, d, v in rows if a == acc and first + d <= day]
        frame = [(d, v) for d, v in mine if day - since < d <= day - until]
        tests = [v <= 4 for _, v in mine if v is not None]
        framed_tests = [v <= 4 for _, v in frame if v is not None]
        want: dict[str, Any] = {
            "rows": len(mine), "known": len(tests), "framed": len(frame),
            "framed_known": len(framed_tests),
            "any": any(tests) if tests else None,
            "any_framed": any(framed_tests) if framed_tests else None,
            "last": max((d for d, _ in mine), default=None),
            "last_framed": max((d for d, _ in frame), default=None),
            "lag": sum(1 for d, _ in mine if d <= day - since),
            "between": sum(1 for d, _ in mine if day - since < d <= day - until)}
        for name, expected in want.items():
            column = got[name]
            value = None if np.ma.is_masked(column[i]) else column[i].item()
            assert value == expected, (name, day, acc, value, expected)


@settings(deadline=None)
@given(present=st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1,
                        max_size=30),
       width=st.integers(1, 12), data=st.data())
def test_sliding_extrema_are_those_of_each_frame(present: list[list[bool]], width: int,
                                                 data: st.DataObject) -> None:
    """`dense._sliding` against each frame's extremum, missing days left out, any width
    against any number of days (fewer than the width too), on every day or on a block
    of days."""
    mask = np.array(present, dtype=bool)
    values = np.array(data.draw(st.lists(st.floats(-5, 5), min_size=mask.size,
                                         max_size=mask.size)), dtype=np.float64
                      ).reshape(mask.shape)
    start = data.draw(st.integers(0, mask.shape[0]))
    rows = data.draw(st.none() | st.just(slice(start, data.draw(st.integers(
        start, mask.shape[0])))))
    days = range(mask.shape[0])[rows or slice(None)]
    for pick, identity in ((np.minimum, np.inf), (np.maximum, -np.inf)):
        got = dense._sliding(values, mask, width, pick, identity, rows)
        assert got.shape == (len(days), mask.shape[1])
        for i, day in enumerate(days):
            for acc in range(mask.shape[1]):
                frame = [values[d, acc] for d in range(day - width + 1, day + 1)
                         if d >= 0 and mask[d, acc]]
                want = identity if not frame or day < width - 1 else float(
                    pick.reduce(frame))
                assert got[i, acc] == want, (day, acc)


@pytest.mark.parametrize("numpy", [False, True], ids=["windows", "dense"])
def test_accounts_go_in_slices(numpy: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A grid of a few probe rows per slice gives the same columns as one slice."""
    from csdsl.driver import compile_spec
    from csdsl_runtime.frame import read_frame

    from .conftest import ROOT

    artifact, _ = compile_spec([ROOT / "examples" / "spec"])
    assert artifact is not None
    frame = read_frame(ROOT / "examples" / "data", artifact.schema_)
    engine = SqlEngine(frame)
    named = {r.name: r.when for r in artifact.rules if r.enabled}
    start, end = date(2026, 11, 1), date(2026, 11, 20)
    monkeypatch.setattr(D, "FANOUT_ROWS", 0)
    monkeypatch.setattr(D, "DENSE", numpy)
    monkeypatch.setattr(D, "DENSE_EVENTS", numpy)
    whole = engine.evaluate_days(named, start, end)
    sliced = D.evaluate_days(engine, named, start, end, grid_rows=2_000)
    frame.close()
    assert whole is not None and sliced is not None
    for key in named:
        assert np.array_equal(whole[key], sliced[key]), key
    assert sum(int((c == 1).sum()) for c in whole.values()) > 0
