"""The tracing evaluator (`csdsl_runtime.explain`) agrees with the reference interpreter.

A trace's value, and every recorded sub-value, is what `ir.compile_expr` gives for the
same node (on random IR and data, with and without `missing V`); `observe` sees every
node once, and a `where` once per occurrence; traces round-trip through JSON. A table
pins down the causes of unknowns, and golden files pin down `render` for a few
realistic conditions: regenerate them with
`CSDSL_UPDATE_GOLDEN=1 pytest tests/test_explain.py` and review the diff by eye.
"""

from __future__ import annotations

import importlib
import json
import os
from array import array
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl_runtime import artifact as A
from csdsl_runtime.data import AccountData, EventSeries, MetricSeries, Value
from csdsl_runtime.explain import Trace, atomic_paths, children, describe, render, trace, walk
from csdsl_runtime.ir import compile_expr, missing_values

# The IR and data strategies of the engine tests; imported by name so that mypy does
# not check that loosely typed module through this one.
_engines: Any = importlib.import_module(".test_engines", __package__)
ASOF: date = _engines.ASOF
DAY = ASOF.toordinal()

GOLDEN = Path(__file__).resolve().parent / "golden" / "explain"
UPDATE = os.environ.get("CSDSL_UPDATE_GOLDEN") == "1"

Path_ = tuple[int, ...]


def _same(a: object, b: object) -> bool:
    """Equal and of the same type (True is not 1.0); values here are never NaN."""
    return type(a) is type(b) and a == b


def _by_path(t: Trace) -> dict[Path_, Trace]:
    found: dict[Path_, Trace] = {}
    stack = [t]
    while stack:
        current = stack.pop()
        found[current.path] = current
        stack.extend(current.children)
    return found


def _recorder(seen: list[tuple[Path_, Any]]) -> Callable[[Path_, Any], None]:
    """An `observe` that appends what it sees to `seen`."""
    def observe(path: Path_, value: Any) -> None:
        seen.append((path, value))

    return observe


def _where_roots(node: A.Expr) -> list[Path_]:
    """The paths of the `where`s of exists nodes that are not inside another `where`."""
    roots: list[Path_] = []
    for path, sub in walk(node):
        if isinstance(sub, A.Exists) and sub.where is not None \
                and not any(path[:len(r)] == r for r in roots):
            roots.append((*path, 0))
    return roots


# ------------------------------------------------------------------ the property


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), extreme=st.booleans(), filled=st.booleans())
def test_a_trace_records_the_interpreters_values(data: st.DataObject, extreme: bool,
                                                 filled: bool) -> None:
    node: A.Expr = data.draw(_engines.EXTREME_CONDITIONS if extreme else _engines.CONDITIONS)
    dataset = data.draw(_engines.datasets(extreme=extreme))
    missing = missing_values(_engines.FILLED if filled else _engines.SCHEMA)
    whole = compile_expr(node, missing)
    wheres = _where_roots(node)
    outside = [(p, sub) for p, sub in walk(node)
               if not any(p[:len(r)] == r for r in wheres)]
    evaluators = {p: compile_expr(sub, missing) for p, sub in outside}
    atoms = atomic_paths(node)
    assert set(atoms) <= {p for p, _ in walk(node)}

    for account in dataset.accounts.values():
        seen: list[tuple[Path_, Any]] = []
        t = trace(node, account, ASOF, missing, _recorder(seen))
        assert _same(t.value, whole(account, DAY, None))
        recorded = _by_path(t)
        observed = Counter(p for p, _ in seen)
        values = dict(seen)
        for path, sub in outside:
            expected = evaluators[path](account, DAY, None)
            got = recorded[path]
            assert got.op == sub.op and _same(got.value, expected), (path, sub, got)
            assert observed[path] == 1 and _same(values[path], expected), path
            assert (got.cause is not None) == (expected is None) or sub.op == "lit"
            if isinstance(sub, A.Exists) and sub.where is not None:
                _check_decider(sub, account, missing, got)
        for root in wheres:
            exists = dict(walk(node))[root[:-1]]
            assert isinstance(exists, A.Exists)
            series = account.events.get(exists.event)
            n = 0 if series is None else sum(
                DAY - exists.days < d <= DAY for d in series.days)
            assert observed[root] == n
        assert Trace.from_json(json.loads(json.dumps(t.to_json()))) == t


def _check_decider(node: A.Exists, account: AccountData, missing: dict[str, float],
                   got: Trace) -> None:
    """The one `where` trace kept is the first true one, else the first unknown one,
    else the last (false) one; none without occurrences."""
    assert node.where is not None
    series = account.events.get(node.event)
    where = compile_expr(node.where, missing)
    outcomes = [] if series is None else [
        where(account, DAY, series.fields[i])
        for i, d in enumerate(series.days) if DAY - node.days < d <= DAY]
    if not outcomes:
        assert got.children == () and got.value is False
        return
    (kept,) = got.children
    want = True if True in outcomes else None if None in outcomes else outcomes[-1]
    assert kept.path == (*got.path, 0) and _same(kept.value, want)


# ------------------------------------------------------------------ words


def num(x: float) -> A.Lit:
    return A.Lit(type="number", value=x)


def text(s: str) -> A.Lit:
    return A.Lit(type="text", value=s)


USAGE_DROP = A.Compare(cmp="<=", left=A.Change(metric="usage", days=30), right=num(-0.3))
ENTERPRISE = A.InList(arg=A.FieldRef(name="segment"),
                      values=(text("Mid-Market"), text("Enterprise")))
DETRACTOR = A.Exists(event="nps", days=90, where=A.And(args=(
    A.Compare(cmp="<=", left=A.EventFieldRef(name="score"), right=num(6)),
    A.Compare(cmp="==", left=A.EventFieldRef(name="channel"), right=text("email")))))


@pytest.mark.parametrize(("node", "words"), [
    (A.And(args=(USAGE_DROP, ENTERPRISE)),
     'change(usage, 30d) <= -30% and segment in ("Mid-Market", "Enterprise")'),
    (DETRACTOR, 'event nps within 90d where (score <= 6 and channel == "email")'),
    (A.Not(arg=A.Or(args=(A.FieldRef(name="churned"), ENTERPRISE))),
     'not (churned or segment in ("Mid-Market", "Enterprise"))'),
    (A.Compare(cmp=">", left=A.Arith(fn="-", left=A.FieldRef(name="arr"), right=A.Arith(
        fn="-", left=num(1), right=A.Window(fn="sum", metric="usage", days=7))),
        right=A.Neg(arg=A.Arith(fn="*", left=num(2.5), right=A.Latest(metric="usage")))),
     "arr - (1 - sum(usage, 7d)) > -(2.5 * usage)"),
    (A.InList(arg=A.Change(metric="usage", days=7), values=(num(0.07), num(-1 / 3)),
              negate=True),
     "change(usage, 7d) not in (7%, -33.33%)"),
    (A.Compare(cmp="<", left=A.FieldRef(name="renewal_date"),
               right=A.Lit(type="date", value="2026-12-01")),
     "renewal_date < 2026-12-01"),
    (A.Compare(cmp=">=", left=A.DaysSince(event="nps"), right=num(1e20)),
     "days_since(nps) >= 1e+20"),
    (A.Compare(cmp="==", left=A.Count(event="ticket", days=14), right=num(0)),
     "count(ticket, 14d) == 0"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_describe_reads_like_the_source(node: A.Expr, words: str) -> None:
    assert describe(node) == words


def test_atomic_paths_are_the_conditions_that_are_not_and_or_not() -> None:
    node = A.And(args=(USAGE_DROP, A.Not(arg=A.FieldRef(name="churned")), DETRACTOR,
                       A.Lit(type="bool", value=True)))
    assert atomic_paths(node) == [(0,), (1, 0), (2,), (2, 0, 0), (2, 0, 1), (3,)]
    assert atomic_paths(A.FieldRef(name="churned")) == [()]
    assert children(DETRACTOR) == (DETRACTOR.where,)


# ------------------------------------------------------------------ causes


def series(points: dict[int, float]) -> MetricSeries:
    """A metric's rows by day offset from the as-of day."""
    days = sorted(points)
    return MetricSeries(array("l", (DAY + d for d in days)),
                        array("d", (points[d] for d in days)))


def events(*given: tuple[int, dict[str, Value]]) -> EventSeries:
    """An event's occurrences by day offset from the as-of day, in any order."""
    occurrences = sorted(given, key=lambda o: o[0])
    return EventSeries(array("l", (DAY + d for d, _ in occurrences)),
                       [fields for _, fields in occurrences])


def account(fields: dict[str, Value] | None = None,
            metrics: dict[str, dict[int, float]] | None = None,
            events_: dict[str, EventSeries] | None = None) -> AccountData:
    return AccountData(id="A", fields=dict(fields or {}),
                       metrics={k: series(v) for k, v in (metrics or {}).items()},
                       events=dict(events_ or {}))


AVG7 = A.Window(fn="avg", metric="usage", days=7)
SUM7 = A.Window(fn="sum", metric="usage", days=7)
CHANGE7 = A.Change(metric="usage", days=7)
ARR = A.FieldRef(name="arr")
LOW_SCORE = A.Exists(event="nps", days=30, where=A.Compare(
    cmp="<=", left=A.EventFieldRef(name="score"), right=num(6)))
ZERO_USAGE = {"usage": 0.0}


@pytest.mark.parametrize(("node", "acc", "missing", "path", "value", "cause", "detail"), [
    pytest.param(AVG7, account(metrics={"usage": {-20: 3.0}}), None, (), None,
                 "no rows of `usage` in the last 7d", "0 rows from 2026-11-14 to 2026-11-20",
                 id="no rows in the window"),
    pytest.param(AVG7, account(), None, (), None, "`usage` has no rows", None,
                 id="no rows at all"),
    pytest.param(AVG7, account(metrics={"usage": {-1: 3.0, 0: 4.0}}), None, (), 3.5, None,
                 "2 rows from 2026-11-14 to 2026-11-20", id="a window's rows"),
    pytest.param(SUM7, account(metrics={"usage": {-1: 1e308, 0: 1e308}}), None, (), None,
                 "the sum of `usage` over the last 7d could overflow",
                 "2 rows from 2026-11-14 to 2026-11-20", id="a sum that could overflow"),
    pytest.param(CHANGE7, account(metrics={"usage": {-10: 0.0, 0: 5.0}}), None, (), None,
                 "the earlier 7d average of `usage` is 0",
                 "avg of the last 7d = 5, of the 7d before = 0", id="earlier average 0"),
    pytest.param(CHANGE7, account(metrics={"usage": {0: 5.0}}), None, (), None,
                 "no rows of `usage` in the 7d before", "avg of the last 7d = 5",
                 id="no rows before"),
    pytest.param(CHANGE7, account(metrics={"usage": {-10: 5.0}}), None, (), None,
                 "no rows of `usage` in the last 7d", None, id="no recent rows"),
    pytest.param(CHANGE7, account(metrics={"usage": {-10: 10.0, 0: 6.0}}), None, (), -0.4,
                 None, "avg of the last 7d = 6, of the 7d before = 10", id="a change"),
    pytest.param(CHANGE7, account(metrics={"usage": {-10: 5e-324, 0: 1e308}}), None, (),
                 None, "the change of `usage` overflows",
                 "avg of the last 7d = 1e+308, of the 7d before = 5e-324",
                 id="a change that overflows"),
    pytest.param(A.DaysUntil(field="renewal_date"), account(), None, (), None,
                 "`renewal_date` is empty", None, id="empty field"),
    pytest.param(A.DaysUntil(field="renewal_date"),
                 account({"renewal_date": ASOF + timedelta(days=30)}), None, (), 30.0, None,
                 "renewal_date = 2026-12-20", id="days until a date"),
    pytest.param(A.Arith(fn="/", left=ARR, right=num(0)), account({"arr": 5.0}), None, (),
                 None, "division by zero", None, id="division by zero"),
    pytest.param(A.Arith(fn="*", left=ARR, right=ARR), account({"arr": 1e200}), None, (),
                 None, "the result overflows", None, id="arithmetic that overflows"),
    pytest.param(A.Compare(cmp=">", left=ARR, right=AVG7), account({"arr": 5.0}), None, (),
                 None, "`avg(usage, 7d)` is unknown", None, id="an operand is unknown"),
    pytest.param(A.And(args=(A.FieldRef(name="churned"), USAGE_DROP)),
                 account({"churned": True}), None, (), None,
                 "`change(usage, 30d) <= -30%` is unknown", None, id="an argument is unknown"),
    pytest.param(A.Or(args=(A.FieldRef(name="churned"), USAGE_DROP)),
                 account({"churned": True}), None, (), True, None, None,
                 id="or: true decides"),
    pytest.param(SUM7, account(metrics={"usage": {-1: 2.0, 0: 3.0}}), ZERO_USAGE, (), 5.0,
                 None, "2 rows from 2026-11-14 to 2026-11-20; 5 days without a row count as 0",
                 id="missing-filled window"),
    pytest.param(CHANGE7, account(metrics={"usage": {0: 7.0}}), ZERO_USAGE, (), None,
                 "the earlier 7d average of `usage` is 0",
                 "avg of the last 7d = 1, of the 7d before = 0; days without a row count as "
                 "0: 6 of the last 7d, 7 before", id="missing-filled change"),
    pytest.param(A.Latest(metric="usage"), account(metrics={"usage": {-3: 7.0}}),
                 ZERO_USAGE, (), 0.0, None, "no row on 2026-11-20: counts as 0",
                 id="missing-filled latest"),
    pytest.param(A.Latest(metric="usage"), account(metrics={"usage": {3: 7.0}}), None, (),
                 None, "no row of `usage` on or before 2026-11-20", None,
                 id="no latest value"),
    pytest.param(A.Latest(metric="usage"), account(metrics={"usage": {-3: 7.0, 1: 2.0}}),
                 None, (), 7.0, None, "the row of 2026-11-17", id="the latest value"),
    pytest.param(LOW_SCORE, account(), None, (), False, None,
                 "no nps from 2026-10-22 to 2026-11-20", id="exists with no occurrence"),
    pytest.param(LOW_SCORE, account(events_={"nps": events((-5, {"score": 9.0}), (-2, {}))}),
                 None, (), None, "the `where` is unknown for an `nps` and true for none",
                 "2 nps from 2026-10-22 to 2026-11-20: unknown for 1, false for 1; "
                 "shown: the one of 2026-11-18", id="where with an unknown field"),
    pytest.param(LOW_SCORE, account(events_={"nps": events((-5, {"score": 9.0}), (-2, {}))}),
                 None, (0, 0), None, "`score` of this `nps` is empty", None,
                 id="the unknown field of the occurrence"),
    pytest.param(LOW_SCORE, account(events_={"nps": events(
        (-9, {"score": 9.0}), (-5, {"score": 2.0}), (-2, {}), (-1, {"score": 1.0}))}),
                 None, (), True, None,
                 "4 nps from 2026-10-22 to 2026-11-20: true for 2, unknown for 1, false for "
                 "1; shown: the one of 2026-11-15", id="the first true occurrence decides"),
    pytest.param(A.Exists(event="ticket", days=7), account(events_={"ticket": events(
        *((-d, {}) for d in range(7)))}), None, (), True, None,
                 "on 2026-11-14, 2026-11-15, 2026-11-16, 2026-11-17, 2026-11-18 and 2 more",
                 id="occurrences"),
    pytest.param(A.Count(event="ticket", days=7), account(), None, (), 0.0, None,
                 "none from 2026-11-14 to 2026-11-20", id="no occurrence counts 0"),
    pytest.param(A.DaysSince(event="nps"), account(events_={"nps": events((2, {}))}), None,
                 (), None, "no `nps` on or before 2026-11-20", None, id="event never seen"),
    pytest.param(A.EventFieldRef(name="score"), account(), None, (), None,
                 "`score` is a field of an event, read outside `event ... where`", None,
                 id="an event field outside a where"),
])
def test_causes_and_details(node: A.Expr, acc: AccountData, missing: dict[str, float] | None,
                            path: Path_, value: Value | None, cause: str | None,
                            detail: str | None) -> None:
    got = _by_path(trace(node, acc, ASOF, missing))[path]
    assert (got.value, got.cause, got.detail) == (value, cause, detail)
    assert _same(got.value, compile_expr(node, missing)(acc, DAY, None)) or path


def test_json_is_compact_and_keeps_dates() -> None:
    node = A.Compare(cmp="<", left=A.FieldRef(name="renewal_date"),
                     right=A.Lit(type="date", value="2026-12-01"))
    t = trace(node, account({"renewal_date": date(2026, 11, 30)}), ASOF)
    data = t.to_json()
    assert data == {"path": [], "op": "cmp", "text": "renewal_date < 2026-12-01",
                    "value": True, "type": "bool", "children": [
                        {"path": [0], "op": "field", "text": "renewal_date",
                         "value": "2026-11-30", "type": "date"},
                        {"path": [1], "op": "lit", "text": "2026-12-01",
                         "value": "2026-12-01", "type": "date"}]}
    assert Trace.from_json(data) == t


# ------------------------------------------------------------------ golden renders

RENEWAL = A.And(args=(
    A.Compare(cmp="<=", left=A.DaysUntil(field="renewal_date"), right=num(60)),
    A.Or(args=(
        A.Compare(cmp=">=", left=A.Count(event="ticket", days=30), right=num(3)),
        A.Compare(cmp="<", left=A.Window(fn="avg", metric="logins", days=14), right=num(2)),
    )),
    A.Not(arg=A.FieldRef(name="churned")),
))
REVENUE_PER_USE = A.Compare(cmp=">", left=A.Arith(fn="/", left=ARR, right=A.Window(
    fn="sum", metric="usage", days=30)), right=num(1000))


def _declining(recent: float, before: float) -> dict[int, float]:
    """Daily usage: `before` on days -59..-30, `recent` on days -29..0."""
    return {d: (recent if d > -30 else before) for d in range(-59, 1)}


SCENARIOS: dict[str, tuple[A.Expr, dict[str, float], dict[Path_, str],
                           list[AccountData]]] = {
    "usage-drop": (A.And(args=(USAGE_DROP, ENTERPRISE)), {}, {}, [
        account({"segment": "Enterprise"}, {"usage": _declining(60, 100)}),
        account({"segment": "SMB"}, {"usage": _declining(90, 100)}),
        account({"segment": "Mid-Market"}, {"usage": {d: 5.0 for d in range(-10, 1)}}),
        account({}, {"usage": _declining(1, 0)}),
    ]),
    "renewal": (RENEWAL, {"logins": 0.0}, {(): "rules.cs:4", (0,): "rules.cs:4",
                                           (1,): "rules.cs:5", (1, 0): "rules.cs:5",
                                           (1, 1): "rules.cs:6", (2,): "rules.cs:7"}, [
        account({"renewal_date": ASOF + timedelta(days=45), "churned": False},
                {"logins": {-3: 5.0, -1: 9.0}},
                {"ticket": events((-40, {}), (-12, {}), (-2, {}))}),
        account({"renewal_date": ASOF + timedelta(days=200)}, {}),
        account({"renewal_date": ASOF - timedelta(days=3)}, {"logins": {-1: 100.0}},
                {"ticket": events(*((-d, {}) for d in range(0, 28, 3)))}),
    ]),
    "nps-detractor": (A.And(args=(DETRACTOR, A.Not(arg=A.FieldRef(name="churned")))), {},
                      {}, [
        account({"churned": False}, events_={"nps": events(
            (-80, {"score": 4.0, "channel": "in_app"}), (-30, {"score": 3.0, "channel": "email"}),
            (-2, {"score": 10.0, "channel": "email"}))}),
        account({"churned": False}, events_={"nps": events(
            (-50, {"score": 2.0}), (-10, {"score": 9.0, "channel": "email"}))}),
        account({}, events_={"nps": events((-200, {"score": 0.0, "channel": "email"}))}),
    ]),
    "revenue-per-use": (REVENUE_PER_USE, {}, {(): "rules.cs:12"}, [
        account({"arr": 250000.0}, {"usage": {-3: 40.5, -2: 60.0, 0: 99.5}}),
        account({"arr": 250000.0}, {"usage": {-3: 0.0, 0: 0.0}}),
        account({}, {"usage": {0: 1.0}}),
    ]),
}


def _golden_text(node: A.Expr, missing: dict[str, float], spans: dict[Path_, str],
                 accounts: list[AccountData]) -> str:
    parts = [f"# when {describe(node)}\n# as of {ASOF.isoformat()}"
             + (f"; missing: {json.dumps(missing, sort_keys=True)}" if missing else "")]
    for i, acc in enumerate(accounts, 1):
        parts.append(f"## account {i}\n{render(trace(node, acc, ASOF, missing), spans=spans)}")
    return "\n\n".join(parts) + "\n"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_render_golden(name: str) -> None:
    node, missing, spans, accounts = SCENARIOS[name]
    actual = _golden_text(node, missing, spans, accounts)
    expected_file = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        expected_file.write_text(actual, encoding="utf-8")
        return
    assert expected_file.exists(), f"no {expected_file.name}: run with CSDSL_UPDATE_GOLDEN=1"
    assert actual == expected_file.read_text(encoding="utf-8")


def test_render_shows_the_example_of_the_brief() -> None:
    acc = account({"segment": "Enterprise"}, {"usage": _declining(60, 100)})
    assert render(trace(A.And(args=(USAGE_DROP, ENTERPRISE)), acc, ASOF)) == "\n".join([
        "all of → true",
        "  change(usage, 30d) <= -30% → true",
        "    change(usage, 30d) = -40%  (avg of the last 30d = 60, of the 30d before = 100)",
        '  segment in ("Mid-Market", "Enterprise") → true',
        '    segment = "Enterprise"',
    ])
