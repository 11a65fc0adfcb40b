"""Why a condition has its value for one account: a tracing evaluator of the condition IR.

`trace` evaluates a condition as `csdsl_runtime.ir` does (it calls the interpreter's
window, change and latest functions and its comparison table, so the two cannot drift
apart) and keeps, for every sub-expression, its value, why it is unknown when it is
(`cause`) and the data behind it (`detail`). `csdsl explain` renders that tree for a CS
admin (`render`); coverage reads the values through `observe` and `atomic_paths`.

Unlike the interpreter, a trace does not short-circuit: every child of `and`, `or`,
comparisons and arithmetic is evaluated and recorded, and the `where` of an `exists` is
evaluated for every occurrence in the window, so that coverage sees all of them. Values
are unaffected: evaluation has no side effects, and each node combines its children's
values exactly as the interpreter's closure would.

Paths number nodes as `csdsl.semantic.conditions.walk` does: the indices of `children`
from the root (`exists` -> its `where`; comparisons and arithmetic -> left, right; `in`
-> its argument, then the listed values; `neg`/`not` -> the argument; `and`/`or` -> the
arguments). A trace is compiled once per IR node (cached by identity), so that tracing
each CTA of a run re-describes nothing.
"""

from __future__ import annotations

import json
import operator
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from csdsl_runtime import artifact as A
from csdsl_runtime.data import AccountData, EventSeries, MetricSeries, Value
from csdsl_runtime.ir import (
    _ARITH,
    _CMP,
    _isfinite,
    _window_slice,
    change,
    change_filled,
    latest,
    latest_filled,
    literal_value,
    window,
    window_filled,
)

__all__ = ["Observe", "Trace", "atomic_paths", "children", "describe", "render", "trace",
           "walk"]

Path = tuple[int, ...]
Observe = Callable[[Path, Any], None]
"""Called with (path, value) for every node evaluation, children before their parent."""


@dataclass(frozen=True, slots=True)
class Trace:
    """One evaluated node: its value, and why (cause of an unknown, data behind a value)."""

    path: Path
    op: str
    text: str
    value: Value | None
    cause: str | None
    detail: str | None
    children: tuple[Trace, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON data, None fields and empty children left out. A known value comes with
        its `type` (number, text, date, bool), so that a date (written YYYY-MM-DD) reads
        back as a date."""
        out: dict[str, Any] = {"path": list(self.path), "op": self.op, "text": self.text}
        value = self.value
        if value is not None:
            if value is True or value is False:
                out["value"], out["type"] = value, "bool"
            elif isinstance(value, str):
                out["value"], out["type"] = value, "text"
            elif isinstance(value, date):
                out["value"], out["type"] = value.isoformat(), "date"
            else:
                out["value"], out["type"] = value, "number"
        if self.cause is not None:
            out["cause"] = self.cause
        if self.detail is not None:
            out["detail"] = self.detail
        if self.children:
            out["children"] = [child.to_json() for child in self.children]
        return out

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Trace:
        """The trace `to_json` wrote."""
        raw: Any = data.get("value")
        kind = data.get("type")
        value: Value | None = raw
        if raw is not None:
            if kind == "date":
                value = date.fromisoformat(raw)
            elif kind == "number":
                value = float(raw)
        return Trace(tuple(data["path"]), data["op"], data["text"], value, data.get("cause"),
                     data.get("detail"),
                     tuple(Trace.from_json(child) for child in data.get("children", ())))


def _constructor() -> Callable[..., Trace]:
    """`Trace(...)` at half the cost: a frozen dataclass's `__init__` sets each field
    through `object.__setattr__` (2.4 us for the seven), the slots' own descriptors
    take 1.2 us. A run traces every CTA it opens, a node at a time."""
    new = object.__new__
    setters = tuple(getattr(Trace, name).__set__ for name in Trace.__dataclass_fields__)
    s_path, s_op, s_text, s_value, s_cause, s_detail, s_children = setters

    def make(path: Path, op: str, text: str, value: Value | None, cause: str | None,
             detail: str | None, kids: tuple[Trace, ...]) -> Trace:
        t = new(Trace)
        s_path(t, path)
        s_op(t, op)
        s_text(t, text)
        s_value(t, value)
        s_cause(t, cause)
        s_detail(t, detail)
        s_children(t, kids)
        return t

    return make


_make = _constructor()


# ---------------------------------------------------------------- the tree's shape


def children(node: A.Expr) -> tuple[A.Expr, ...]:
    """The sub-expressions of an IR node, in the order of
    `csdsl.semantic.conditions.children` (the path convention)."""
    if isinstance(node, A.Exists):
        return (node.where,) if node.where is not None else ()
    if isinstance(node, A.Compare | A.Arith):
        return (node.left, node.right)
    if isinstance(node, A.InList):
        return (node.arg, *node.values)
    if isinstance(node, A.Neg | A.Not):
        return (node.arg,)
    if isinstance(node, A.And | A.Or):
        return node.args
    return ()


def walk(node: A.Expr, path: Path = ()) -> Iterator[tuple[Path, A.Expr]]:
    """Every node with its path, parents before children (as `conditions.walk`)."""
    stack: list[tuple[Path, A.Expr]] = [(path, node)]
    while stack:
        at, current = stack.pop()
        yield at, current
        kids = children(current)
        stack.extend(((*at, i), kid) for i, kid in reversed(list(enumerate(kids))))


_KLEENE = frozenset({"and", "or", "not"})
_BOOLEAN = frozenset({"cmp", "in", "exists", "and", "or", "not"})
"""Ops whose value is always a bool or unknown."""
_CONDITION_PARENTS = frozenset({"and", "or", "not", "exists"})
"""Ops whose children stand where a condition is expected."""


def atomic_paths(node: A.Expr) -> list[Path]:
    """The paths of the atomic conditions, parents first: comparisons, `in` and `exists`
    wherever they are, and whatever else stands where a condition is expected (the root,
    an argument of and/or/not, the `where` of an exists: a bool field, metric or
    literal). The atoms inside an exists' `where` are included: coverage sees them once
    per occurrence."""
    found: list[Path] = []
    stack: list[tuple[Path, A.Expr, bool]] = [((), node, True)]
    while stack:
        path, current, condition = stack.pop()
        op = current.op
        if op in ("cmp", "in", "exists") or (condition and op not in _KLEENE):
            found.append(path)
        inner = op in _CONDITION_PARENTS
        kids = children(current)
        stack.extend(((*path, i), kid, inner) for i, kid in reversed(list(enumerate(kids))))
    return found


# ---------------------------------------------------------------- words

_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "in": 4, "exists": 4, "neg": 7}
_ARITH_PREC = {"+": 5, "-": 5, "*": 6, "/": 6}
_ATOM = 9


def _number(x: float) -> str:
    """A number as a CS admin reads it: `3`, not `3.0`; a computed average to six
    significant digits (`104.567`, not `104.56666666666666`)."""
    if type(x) is int:
        return str(x)
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    shown = f"{x:.6g}"
    return repr(x) if "e" in shown else shown


def _percent(x: float) -> str:
    """A fraction as a percentage: exactly when it is short (0.07 is `7%`, where
    0.07 * 100 would be 7.000000000000001), else to four significant digits (`-43.48%`)."""
    if x == 0:
        return "0%"
    d = Decimal(repr(x)).scaleb(2).normalize()
    if len(d.as_tuple().digits) > 6:
        return f"{float(d):.4g}%"
    return (format(d, "f") if abs(d.adjusted()) < 16 else format(d, "g").lower()) + "%"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _show(value: Value | None, percent: bool = False) -> str:
    """A value in words: unknown, true/false, a number, "text", YYYY-MM-DD."""
    if value is None:
        return "unknown"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, date):
        return value.isoformat()
    return _percent(value) if percent else _number(value)


def _is_percent(node: A.Expr) -> bool:
    """A number read as a percentage: a change (and its negation)."""
    return node.op == "change" or (isinstance(node, A.Neg) and _is_percent(node.arg))


def _literal_text(node: A.Lit, percent: bool) -> str:
    if node.type == "number" and percent:
        return _percent(float(node.value))
    return _show(literal_value(node))


class Words:
    """The IR in source-like words, without values. `describe` uses it as it is; `csdsl
    diff` prints conditions as `.cs` source by overriding how literals and durations
    read and putting back the sugar (`drops`, `no ... for`) the lowering removed."""

    def literal(self, node: A.Lit, percent: bool) -> str:
        return _literal_text(node, percent)

    def days(self, n: int) -> str:
        return f"{n}d"

    def sugar(self, node: A.Compare) -> str | None:
        """The comparison in a shorter form, or None to print it as it is."""
        return None

    def where(self, node: A.Expr) -> str:
        return self.sub(node, 4)

    def prec(self, node: A.Expr) -> int:
        if isinstance(node, A.Arith):
            return _ARITH_PREC[node.fn]
        if isinstance(node, A.Lit) and node.type == "number" and float(node.value) < 0:
            return 7  # `-3` reads as a unary minus
        if isinstance(node, A.Compare) and self.sugar(node) is not None:
            return 4
        return _PREC.get(node.op, _ATOM)

    def sub(self, node: A.Expr, least: int, percent: bool = False) -> str:
        text = self.text(node, percent)
        return text if self.prec(node) >= least else f"({text})"

    def text(self, node: A.Expr, percent: bool = False) -> str:
        sub, days = self.sub, self.days
        if isinstance(node, A.Lit):
            return self.literal(node, percent)
        if isinstance(node, A.FieldRef | A.EventFieldRef):
            return node.name
        if isinstance(node, A.Latest):
            return node.metric
        if isinstance(node, A.Window):
            return f"{node.fn}({node.metric}, {days(node.days)})"
        if isinstance(node, A.Change):
            return f"change({node.metric}, {days(node.days)})"
        if isinstance(node, A.Count):
            return f"count({node.event}, {days(node.days)})"
        if isinstance(node, A.Exists):
            text = f"event {node.event} within {days(node.days)}"
            return text if node.where is None else f"{text} where {self.where(node.where)}"
        if isinstance(node, A.DaysUntil):
            return f"days_until({node.field})"
        if isinstance(node, A.DaysSince):
            return f"days_since({node.event or node.field or ''})"
        if isinstance(node, A.Compare):
            sugar = self.sugar(node)
            if sugar is not None:
                return sugar
            pct = _is_percent(node.left) or _is_percent(node.right)
            return f"{sub(node.left, 5, pct)} {node.cmp} {sub(node.right, 5, pct)}"
        if isinstance(node, A.Arith):
            own = _ARITH_PREC[node.fn]
            return f"{sub(node.left, own)} {node.fn} {sub(node.right, own + 1)}"
        if isinstance(node, A.Neg):
            return f"-{sub(node.arg, 7)}"
        if isinstance(node, A.InList):
            pct = _is_percent(node.arg)
            listed = ", ".join(self.literal(v, pct) for v in node.values)
            return f"{sub(node.arg, 5)} {'not in' if node.negate else 'in'} ({listed})"
        if isinstance(node, A.And):
            return " and ".join(sub(a, 3) for a in node.args)
        if isinstance(node, A.Or):
            return " or ".join(sub(a, 2) for a in node.args)
        if isinstance(node, A.Not):
            return f"not {sub(node.arg, 3)}"
        raise ValueError(f"unknown IR node `{node.op}`")  # pragma: no cover


_WORDS = Words()


def describe(node: A.Expr) -> str:
    """The node in source-like words, without values: `change(usage, 30d) <= -30%`,
    `segment in ("SMB", "Enterprise")`, `event nps within 30d where score <= 6`."""
    return _WORDS.text(node)


# ---------------------------------------------------------------- the tracer

_Tracer = Callable[
    [AccountData, int, "Mapping[str, Value] | None", Mapping[str, float], "Observe | None"],
    Trace]
"""A compiled node: (account, as-of ordinal, occurrence, missing, observe) -> trace."""

_NO_KIDS: tuple[Trace, ...] = ()
_NO_MISSING: Mapping[str, float] = {}


def _day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def _span(asof: int, days: int) -> str:
    """The window (asof - days, asof] as its first and last day."""
    return f"from {_day(asof - days + 1)} to {_day(asof)}"


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"


def _on_days(days: Any, lo: int, hi: int) -> str:
    """The days of occurrences lo..hi-1, the first five of them."""
    shown = ", ".join(_day(days[i]) for i in range(lo, min(hi, lo + 5)))
    more = hi - lo - 5
    return f"on {shown}" + (f" and {more} more" if more > 0 else "")


class _Compiler:
    """Compiles an IR tree into tracers; `event` is the event of the innermost enclosing
    `exists`, for the words about its fields."""

    def compile(self, node: A.Expr, path: Path, event: str | None,
                percent: bool = False) -> _Tracer:
        text = _WORDS.text(node, percent)
        if isinstance(node, A.Lit):
            return self._lit(node, path, text)
        if isinstance(node, A.FieldRef):
            return self._field(node, path, text)
        if isinstance(node, A.EventFieldRef):
            return self._event_field(node, path, text, event)
        if isinstance(node, A.Latest):
            return self._latest(node, path, text)
        if isinstance(node, A.Window):
            return self._window(node, path, text)
        if isinstance(node, A.Change):
            return self._change(node, path, text)
        if isinstance(node, A.Count):
            return self._count(node, path, text)
        if isinstance(node, A.Exists):
            return self._exists(node, path, text)
        if isinstance(node, A.DaysUntil | A.DaysSince):
            return self._days(node, path, text)
        if isinstance(node, A.Compare):
            return self._compare(node, path, text, event)
        if isinstance(node, A.Arith):
            return self._arith(node, path, text, event)
        if isinstance(node, A.Neg | A.Not):
            return self._unary(node, path, text, event)
        if isinstance(node, A.InList):
            return self._in(node, path, text, event)
        if isinstance(node, A.And | A.Or):
            return self._kleene(node, path, text, event)
        raise ValueError(f"unknown IR node `{node.op}`")  # pragma: no cover

    # ------------------------------------------------------------ leaves

    def _lit(self, node: A.Lit, path: Path, text: str) -> _Tracer:
        value = literal_value(node)
        done = _make(path, "lit", text, value, None, None, _NO_KIDS)

        def lit(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                missing: Mapping[str, float], observe: Observe | None) -> Trace:
            if observe is not None:
                observe(path, value)
            return done

        return lit

    def _field(self, node: A.FieldRef, path: Path, text: str) -> _Tracer:
        name = node.name
        empty = f"`{name}` is empty"

        def field(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                  missing: Mapping[str, float], observe: Observe | None) -> Trace:
            value = acc.fields.get(name)
            if observe is not None:
                observe(path, value)
            return _make(path, "field", text, value, None if value is not None else empty,
                         None, _NO_KIDS)

        return field

    def _event_field(self, node: A.EventFieldRef, path: Path, text: str,
                     event: str | None) -> _Tracer:
        name = node.name
        empty = f"`{name}` of this `{event}` is empty" if event else f"`{name}` is empty"
        outside = f"`{name}` is a field of an event, read outside `event ... where`"

        def event_field(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                        missing: Mapping[str, float], observe: Observe | None) -> Trace:
            value = None if ev is None else ev.get(name)
            if observe is not None:
                observe(path, value)
            cause = None if value is not None else (outside if ev is None else empty)
            return _make(path, "event_field", text, value, cause, None, _NO_KIDS)

        return event_field

    def _latest(self, node: A.Latest, path: Path, text: str) -> _Tracer:
        metric = node.metric
        no_rows = f"`{metric}` has no rows"

        def latest_(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                    missing: Mapping[str, float], observe: Observe | None) -> Trace:
            series = acc.metrics.get(metric)
            fill = missing.get(metric)
            cause: str | None = None
            detail: str | None = None
            value: float | None
            if fill is not None:
                value = latest_filled(series, asof, fill)
                if series is not None and (i := bisect_right(series.days, asof)) \
                        and series.days[i - 1] == asof:
                    detail = f"the row of {_day(asof)}"
                else:
                    detail = f"no row on {_day(asof)}: counts as {_number(fill)}"
            else:
                value = latest(series, asof)
                if value is not None:
                    assert series is not None
                    detail = f"the row of {_day(series.days[bisect_right(series.days, asof) - 1])}"
                elif series is None:
                    cause = no_rows
                else:
                    cause = f"no row of `{metric}` on or before {_day(asof)}"
            if observe is not None:
                observe(path, value)
            return _make(path, "latest", text, value, cause, detail, _NO_KIDS)

        return latest_

    def _window(self, node: A.Window, path: Path, text: str) -> _Tracer:
        metric, fn, days = node.metric, node.fn, node.days
        what = "sum" if fn == "sum" else "average"
        no_rows = f"`{metric}` has no rows"
        none_in = f"no rows of `{metric}` in the last {days}d"
        overflow = f"the {what} of `{metric}` over the last {days}d could overflow"

        def window_(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                    missing: Mapping[str, float], observe: Observe | None) -> Trace:
            series = acc.metrics.get(metric)
            fill = missing.get(metric)
            lo, hi = _window_slice(series, asof, days) if series is not None else (0, 0)
            rows = hi - lo
            cause: str | None = None
            detail: str | None = f"{_rows(rows)} {_span(asof, days)}"
            value: float | None
            if fill is not None:
                value = window_filled(series, fn, asof, days, fill)
                if days > rows:
                    gap = days - rows
                    detail = (f"{detail}; {gap} {'day' if gap == 1 else 'days'} without a row "
                              f"count{'s' if gap == 1 else ''} as {_number(fill)}")
                if value is None:
                    cause = overflow
            else:
                value = window(series, fn, asof, days)
                if value is None:
                    cause = no_rows if series is None else none_in if not rows else overflow
                    if series is None:
                        detail = None
            if observe is not None:
                observe(path, value)
            return _make(path, "window", text, value, cause, detail, _NO_KIDS)

        return window_

    def _change(self, node: A.Change, path: Path, text: str) -> _Tracer:
        metric, days = node.metric, node.days
        no_rows = f"`{metric}` has no rows"
        none_recent = f"no rows of `{metric}` in the last {days}d"
        none_before = f"no rows of `{metric}` in the {days}d before"
        big_recent = f"the average of `{metric}` over the last {days}d could overflow"
        big_before = f"the average of `{metric}` over the {days}d before could overflow"
        zero = f"the earlier {days}d average of `{metric}` is 0"
        infinite = f"the change of `{metric}` overflows"

        def change_(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                    missing: Mapping[str, float], observe: Observe | None) -> Trace:
            series = acc.metrics.get(metric)
            fill = missing.get(metric)
            if fill is not None:
                value = change_filled(series, asof, days, fill)
                recent = window_filled(series, "avg", asof, days, fill)
                before = window_filled(series, "avg", asof - days, days, fill)
            else:
                value = change(series, asof, days)
                recent = window(series, "avg", asof, days)
                before = window(series, "avg", asof - days, days) if recent is not None else None
            averages = []
            if recent is not None:
                averages.append(f"avg of the last {days}d = {_number(recent)}")
                if before is not None:
                    averages.append(f"of the {days}d before = {_number(before)}")
            parts = [", ".join(averages)] if averages else []
            if fill is not None:
                recent_gap = days - _row_count(series, asof, days)
                before_gap = days - _row_count(series, asof - days, days)
                if recent_gap or before_gap:
                    parts.append(f"days without a row count as {_number(fill)}: "
                                 f"{recent_gap} of the last {days}d, {before_gap} before")
            detail = "; ".join(parts) or None
            cause: str | None = None
            if value is None:
                if recent is None:
                    cause = (big_recent if fill is not None else no_rows if series is None
                             else none_recent if not _row_count(series, asof, days)
                             else big_recent)
                elif before is None:
                    cause = (big_before if fill is not None
                             or _row_count(series, asof - days, days) else none_before)
                elif before == 0:
                    cause = zero
                else:
                    cause = infinite
            if observe is not None:
                observe(path, value)
            return _make(path, "change", text, value, cause, detail, _NO_KIDS)

        return change_

    def _count(self, node: A.Count, path: Path, text: str) -> _Tracer:
        event, days = node.event, node.days

        def count(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                  missing: Mapping[str, float], observe: Observe | None) -> Trace:
            series = acc.events.get(event)
            lo, hi = _occurrence_slice(series, asof, days)
            value = float(hi - lo)
            detail = (_on_days(series.days, lo, hi) if series is not None and hi > lo
                      else f"none {_span(asof, days)}")
            if observe is not None:
                observe(path, value)
            return _make(path, "count", text, value, None, detail, _NO_KIDS)

        return count

    def _days(self, node: A.DaysUntil | A.DaysSince, path: Path, text: str) -> _Tracer:
        op = node.op
        if isinstance(node, A.DaysSince) and node.event is not None:
            event = node.event

            def since_event(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                            missing: Mapping[str, float], observe: Observe | None) -> Trace:
                series = acc.events.get(event)
                i = bisect_right(series.days, asof) if series is not None else 0
                value: float | None = None
                cause: str | None = None
                detail: str | None = None
                if series is not None and i:
                    last = series.days[i - 1]
                    value = float(asof - last)
                    detail = f"last on {_day(last)}"
                else:
                    cause = f"no `{event}` on or before {_day(asof)}"
                if observe is not None:
                    observe(path, value)
                return _make(path, op, text, value, cause, detail, _NO_KIDS)

            return since_event
        name = node.field
        until = isinstance(node, A.DaysUntil)
        empty = f"`{name}` is empty" if name else "no field or event to count from"

        def days(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                 missing: Mapping[str, float], observe: Observe | None) -> Trace:
            when = acc.fields.get(name) if name is not None else None
            value: float | None = None
            cause: str | None = None
            detail: str | None = None
            if when is None:
                cause = empty
            else:
                day = when.toordinal()  # type: ignore[union-attr]
                value = float(day - asof) if until else float(asof - day)
                detail = f"{name} = {_show(when)}"
            if observe is not None:
                observe(path, value)
            return _make(path, op, text, value, cause, detail, _NO_KIDS)

        return days

    # ------------------------------------------------------------ events

    def _exists(self, node: A.Exists, path: Path, text: str) -> _Tracer:
        event, days = node.event, node.days
        if node.where is None:
            def exists(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                       missing: Mapping[str, float], observe: Observe | None) -> Trace:
                series = acc.events.get(event)
                lo, hi = _occurrence_slice(series, asof, days)
                value = hi > lo
                detail = (_on_days(series.days, lo, hi) if series is not None and value
                          else f"no {event} {_span(asof, days)}")
                if observe is not None:
                    observe(path, value)
                return _make(path, "exists", text, value, None, detail, _NO_KIDS)

            return exists

        where = self.compile(node.where, (*path, 0), event)
        unknown = f"the `where` is unknown for an `{event}` and true for none"

        def exists_where(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                         missing: Mapping[str, float], observe: Observe | None) -> Trace:
            series = acc.events.get(event)
            lo, hi = _occurrence_slice(series, asof, days)
            if series is None or lo >= hi:
                if observe is not None:
                    observe(path, False)
                return _make(path, "exists", text, False, None,
                             f"no {event} {_span(asof, days)}", _NO_KIDS)
            fields, d = series.fields, series.days
            true = unknown_at = false_at = None
            matched = unknowns = 0
            for i in range(lo, hi):
                t = where(acc, asof, fields[i], missing, observe)
                v = t.value
                if v is True:
                    matched += 1
                    if true is None:
                        true = (t, i)
                elif v is None:
                    unknowns += 1
                    if unknown_at is None:
                        unknown_at = (t, i)
                else:
                    false_at = (t, i)
            value: bool | None = True if matched else None if unknowns else False
            shown = true or unknown_at or false_at
            assert shown is not None
            n = hi - lo
            counts = [f"{label} for {k}" for label, k in
                      (("true", matched), ("unknown", unknowns),
                       ("false", n - matched - unknowns)) if k]
            detail = (f"{n} {event} {_span(asof, days)}: {', '.join(counts)}; "
                      f"shown: the one of {_day(d[shown[1]])}")
            if observe is not None:
                observe(path, value)
            return _make(path, "exists", text, value, unknown if value is None else None,
                         detail, (shown[0],))

        return exists_where

    # ------------------------------------------------------------ operators

    def _compare(self, node: A.Compare, path: Path, text: str, event: str | None) -> _Tracer:
        pct = _is_percent(node.left) or _is_percent(node.right)
        left = self.compile(node.left, (*path, 0), event, pct)
        right = self.compile(node.right, (*path, 1), event, pct)
        test = _CMP[node.cmp]
        left_unknown = f"`{_WORDS.text(node.left, pct)}` is unknown"
        right_unknown = f"`{_WORDS.text(node.right, pct)}` is unknown"

        def compare(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                    missing: Mapping[str, float], observe: Observe | None) -> Trace:
            a = left(acc, asof, ev, missing, observe)
            b = right(acc, asof, ev, missing, observe)
            x, y = a.value, b.value
            value: bool | None = None
            cause = None
            if x is None:
                cause = left_unknown
            elif y is None:
                cause = right_unknown
            else:
                value = test(x, y)
            if observe is not None:
                observe(path, value)
            return _make(path, "cmp", text, value, cause, None, (a, b))

        return compare

    def _arith(self, node: A.Arith, path: Path, text: str, event: str | None) -> _Tracer:
        left = self.compile(node.left, (*path, 0), event)
        right = self.compile(node.right, (*path, 1), event)
        divide = node.fn == "/"
        fn: Callable[[float, float], float] = _ARITH.get(node.fn, operator.truediv)
        left_unknown = f"`{_WORDS.text(node.left)}` is unknown"
        right_unknown = f"`{_WORDS.text(node.right)}` is unknown"
        overflow = "the result overflows"

        def arith(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                  missing: Mapping[str, float], observe: Observe | None) -> Trace:
            a = left(acc, asof, ev, missing, observe)
            b = right(acc, asof, ev, missing, observe)
            x: Any = a.value
            y: Any = b.value
            value: float | None = None
            cause = None
            if x is None:
                cause = left_unknown
            elif y is None:
                cause = right_unknown
            elif divide and y == 0:
                cause = "division by zero"
            else:
                result = fn(x, y)
                if _isfinite(result):
                    value = result
                else:
                    cause = overflow
            if observe is not None:
                observe(path, value)
            return _make(path, "arith", text, value, cause, None, (a, b))

        return arith

    def _unary(self, node: A.Neg | A.Not, path: Path, text: str, event: str | None) -> _Tracer:
        arg = self.compile(node.arg, (*path, 0), event)
        op = node.op
        negate = op == "not"
        unknown = f"`{_WORDS.text(node.arg)}` is unknown"

        def unary(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                  missing: Mapping[str, float], observe: Observe | None) -> Trace:
            a = arg(acc, asof, ev, missing, observe)
            x: Any = a.value
            value = None if x is None else (not x) if negate else -x
            if observe is not None:
                observe(path, value)
            return _make(path, op, text, value, unknown if x is None else None, None, (a,))

        return unary

    def _in(self, node: A.InList, path: Path, text: str, event: str | None) -> _Tracer:
        pct = _is_percent(node.arg)
        arg = self.compile(node.arg, (*path, 0), event)
        listed = tuple(self.compile(v, (*path, i), event, pct)
                       for i, v in enumerate(node.values, 1))
        values = frozenset(literal_value(v) for v in node.values)
        negate = node.negate
        unknown = f"`{_WORDS.text(node.arg)}` is unknown"

        def in_list(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                    missing: Mapping[str, float], observe: Observe | None) -> Trace:
            a = arg(acc, asof, ev, missing, observe)
            kids = (a, *(v(acc, asof, ev, missing, observe) for v in listed))
            x = a.value
            value = None if x is None else (x in values) != negate
            if observe is not None:
                observe(path, value)
            return _make(path, "in", text, value, unknown if x is None else None, None, kids)

        return in_list

    def _kleene(self, node: A.And | A.Or, path: Path, text: str, event: str | None
                ) -> _Tracer:
        args = tuple(self.compile(a, (*path, i), event) for i, a in enumerate(node.args))
        unknowns = tuple(f"`{_WORDS.text(a)}` is unknown" for a in node.args)
        op = node.op
        decisive = op == "or"  # the value that decides: True for or, False for and

        def kleene(acc: AccountData, asof: int, ev: Mapping[str, Value] | None,
                   missing: Mapping[str, float], observe: Observe | None) -> Trace:
            kids = tuple(a(acc, asof, ev, missing, observe) for a in args)
            value: bool | None = not decisive
            cause = None
            for i, kid in enumerate(kids):
                v = kid.value
                if v is decisive:
                    value, cause = decisive, None
                    break
                if v is None and value is not None:
                    value, cause = None, unknowns[i]
            if observe is not None:
                observe(path, value)
            return _make(path, op, text, value, cause, None, kids)

        return kleene


def _occurrence_slice(series: EventSeries | None, asof: int, days: int) -> tuple[int, int]:
    """The occurrences in (asof - days, asof], as the interpreter's `count` finds them."""
    if series is None:
        return 0, 0
    d = series.days
    return bisect_right(d, asof - days), bisect_right(d, asof)


def _row_count(series: MetricSeries | None, asof: int, days: int) -> int:
    """How many rows of a metric fall in (asof - days, asof]."""
    if series is None:
        return 0
    lo, hi = _window_slice(series, asof, days)
    return hi - lo


_PLANS: dict[int, tuple[A.Expr, _Tracer]] = {}
"""Compiled tracers by node identity (the node is kept, so its id stays its own)."""
_PLAN_LIMIT = 4096


def _tracer(node: A.Expr) -> _Tracer:
    cached = _PLANS.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    compiled = _Compiler().compile(node, (), None)
    if len(_PLANS) >= _PLAN_LIMIT:
        _PLANS.clear()
    _PLANS[id(node)] = (node, compiled)
    return compiled


def trace(node: A.Expr, account: AccountData, asof: date,
          missing: Mapping[str, float] | None = None,
          observe: Observe | None = None) -> Trace:
    """Evaluate `node` for one account, keeping every sub-expression's value and why an
    unknown is unknown. `missing` is `ir.missing_values(schema)`. `observe(path, value)`
    is called for every node evaluation (a `where` once per occurrence in the window)."""
    return _tracer(node)(account, asof.toordinal(), None,
                         _NO_MISSING if missing is None else missing, observe)


# ---------------------------------------------------------------- rendering

_LABELS = {"and": "all of", "or": "any of", "not": "not"}


def render(trace: Trace, *, spans: Mapping[Path, str] | None = None,
           indent: str = "  ") -> str:
    """The trace as an indented tree for a CS admin, one line per node that matters
    (literals appear in their parent's words). A condition reads `words → true|false|
    unknown`, a value `words = value`; an unknown that no unknown child explains gives
    its cause after `: `, the data behind a value follows in parentheses, and `spans`
    (path -> `file:line`) is appended to conditions in brackets. No trailing newline."""
    lines: list[str] = []
    _render(trace, "", True, lines, spans or {}, indent)
    return "\n".join(lines)


def _render(t: Trace, prefix: str, condition: bool, lines: list[str],
            spans: Mapping[Path, str], indent: str) -> None:
    op = t.op
    boolean = condition or op in _BOOLEAN
    if op == "lit" and not condition:
        return
    words = _LABELS.get(op, t.text)
    if boolean:
        line = f"{prefix}{words} → {_show(t.value)}"
    else:
        line = f"{prefix}{words} = {_show(t.value, percent=op == 'change')}"
    if t.value is None and t.cause and not any(c.value is None for c in t.children):
        line += ": " + t.cause.replace("`", "")
    if t.detail:
        line += f"  ({t.detail})"
    span = spans.get(t.path) if boolean else None
    if span:
        line += f"  [{span}]"
    lines.append(line)
    inner = op in _CONDITION_PARENTS
    deeper = prefix + indent
    for child in t.children:
        _render(child, deeper, inner, lines, spans, indent)
