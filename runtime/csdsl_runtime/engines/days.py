"""Truth columns for every day of a range in one pass (`csdsl backtest`): the SQL
engine's plan with the as-of day as a column.

A one-day plan (`sql._Plan`) groups each metric's and event's rows per account, with one
`FILTER (WHERE s.day > asof - D ...)` per feature: 90 days are 90 passes over the
history. Here each table's rows are joined by a *probe* row per account and day (no
value, `probe` true, left out of every aggregate), and each feature becomes a function of
the probe rows in day order:

- a count or a sum (of a table whose sums are exact in any order, `frame.exact_sums`)
  over `(asof - D, asof - E]` is a difference of running totals, `total(asof - E) -
  total(asof - D)`: one cumulative pass per total, then `LAG` over the probes, which are
  dense (one per day from the first day minus the longest window);
- an aggregate with no lower bound (the latest value, the last occurrence) is a
  cumulative window;
- anything else (min, max, `bool_or` of an occurrence test) is a window whose frame is
  the filter: `RANGE BETWEEN D - 1 PRECEDING AND E PRECEDING`.

A table whose window columns are all of the kinds `engines.dense` computes has them
computed by NumPy instead, on arrays of the grid's days by the slice's accounts, with
each `LAG` a shift along the days: a metric's counts, sums, min and max of the value or
of |value| and latest value over frames of days; an event's counts (of rows, or of rows
whose argument is not NULL), `bool_or` of an occurrence's test and last day. Their
windows over the rows and probes (sorts of millions of rows) took half of a 90-day
evaluation at 100,000 accounts; NumPy a quarter of that time. An event table small
enough for the join with the days (below) goes to NumPy too: the 9-million-row grid's
hash joins with those grouped tables were a third of the evaluation.

Every NumPy column of a slice, and the grid's keys, are one registered table in
(day, account) order, which the conditions read in one scan: the level-2 SQL (the same
trees) is computed inline, beside the account fields (a hash join with `accounts`) and
the SQL windows' tables (by position); no table of features is materialised (writing
them, and joining the grouped ones by hash, was most of the evaluation). The rows come
back in any order: each goes to its cell by its keys.

Everything else is the one-day translation, unchanged: the same aggregates, NULL rules
and projections, with the as-of day read from `a.asof`. Accounts go in slices, so that
one slice's grid and features fit in memory. A metric whose sums must be added in day
order (non-integer values) is left to the one-day plan: `evaluate_days` returns None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlglot import exp

from csdsl_runtime.engines import dense
from csdsl_runtime.engines import sql as S

GRID_ROWS = 4_000_000
"""Probe rows (accounts x days) per slice of accounts."""

DENSE = True
"""Whether a metric table's window columns are computed by NumPy (`engines.dense`) when
it can compute them all; tests turn it off to cover the SQL windows, which the other
tables (and a slice with a NaN value) keep."""

DENSE_EVENTS = True
"""The same for an event table (whose SQL is then the windows or the join with the
days, by its size)."""

_MARK = "__csdsl_day"  # a filter on `s.day` relative to the as-of day, turned into a frame


class _Unsupported(Exception):
    """A feature this plan does not compute: the caller uses the one-day plan."""


def _mark(kind: str, days: int) -> exp.Expr:
    return exp.Anonymous(this=_MARK, expressions=[exp.Literal.string(kind),
                                                  exp.Literal.number(days)])


def _marked(node: exp.Expr) -> tuple[str, int] | None:
    """(`since`, `until` or `on`, days) of a mark, None for any other node."""
    if isinstance(node, exp.Anonymous) and node.name == _MARK:
        return node.expressions[0].name, int(node.expressions[1].name)
    return None


class DaysPlan(S._Plan):
    """A `_Plan` whose as-of day is the column `a.asof` of a grid of accounts and days."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine, 0)

    def _day(self, back: int = 0) -> exp.Expr:
        asof = exp.column("asof", "a")
        return asof if back == 0 else exp.Sub(this=asof, expression=S._int(back))

    def _since(self, days: int) -> exp.Expr:
        return _mark("since", days)

    def _until(self, days: int) -> exp.Expr:
        return _mark("until", days)

    def _on_asof(self) -> exp.Expr:
        return _mark("on", 0)


class _Table:
    """The windowed statement of one table's features: level 1 computes the window
    columns at every row and keeps the probes; level 2 takes the differences of running
    totals by `LAG` and builds each feature from them. The level-2 trees read a
    difference of running totals as a column of its own (`differences`, of level-1
    columns or lags, `lags`): `COALESCE(a, 0) - COALESCE(LAG(b, k), 0)` in the SQL
    windows (`_lagged`), an array when NumPy computes the level-1 columns
    (`engines.dense`, `_wanted`), which the grid's scan reads (`_read`): there, the two
    `COALESCE` and the difference at each of the grid's millions of rows were half of
    the conditions' query."""

    def __init__(self, table: str, exact: bool, metric: bool) -> None:
        self.table = table
        self.exact = exact
        self.metric = metric
        self.level1: dict[str, tuple[str, exp.Expr]] = {}  # SQL text -> (column, window)
        self.windows: dict[str, dense.Window | None] = {}  # column -> the same for NumPy
        self.lags: dict[str, tuple[str, int]] = {}  # column -> (running total, days back)
        self.differences: dict[str, tuple[str, str]] = {}  # column -> (newer, older total)
        self.span = 0  # the longest lookback of a running-total difference

    def column(self, window: exp.Expr, same: dense.Window | None) -> exp.Expr:
        """The level-1 column of a window (`same`: what NumPy computes as it, if it can)."""
        key = window.sql(dialect="duckdb")
        found = self.level1.get(key)
        if found is None:
            found = self.level1[key] = (f"w{len(self.level1)}", window)
            self.windows[found[0]] = same
        return exp.column(found[0], "l")

    @property
    def dense(self) -> bool:
        """Whether NumPy computes every level-1 column (and so every lag, a running
        total's)."""
        return all(w is not None for w in self.windows.values())

    def depth(self, numpy: bool) -> int:
        """Days before the first as-of day that a slice's grid holds: the longest lag,
        and with NumPy (`numpy`) the longest frame too (the SQL windows read the rows
        before the grid); none for NumPy's events, whose columns are each made over the
        range's days alone (`dense.event_columns`)."""
        if not numpy:
            return self.span
        if not self.metric:
            return 0
        return max([self.span, *(w.reach for w in self.windows.values() if w is not None)])

    def feature(self, node: exp.Expr) -> exp.Expr:
        """The feature's tree with each aggregate replaced by level-2 SQL."""
        if isinstance(node, exp.Filter):
            return self._aggregate(node.this, node.expression.this)
        if isinstance(node, exp.AggFunc):
            return self._aggregate(node, None)
        for key, value in list(node.args.items()):
            if isinstance(value, exp.Expr):
                node.set(key, self.feature(value))
            elif isinstance(value, list):
                node.set(key, [self.feature(v) if isinstance(v, exp.Expr) else v
                               for v in value])
        return node

    def _aggregate(self, aggregate: exp.Expr, where: exp.Expr | None) -> exp.Expr:
        since, until, on, kept = _frame(where)
        rows = exp.and_(*kept, copy=False)
        plain = len(kept) == 1  # only the probes left out: NumPy may compute it
        if isinstance(aggregate, exp.Sum) and (not self.exact or isinstance(
                aggregate.this, exp.Order)):
            raise _Unsupported(self.table)  # added in day order: the one-day plan
        if isinstance(aggregate, exp.Count | exp.Sum) and not on:
            if since is None:
                return exp.Coalesce(this=exp.column(self._running(aggregate, rows, plain, 0),
                                                    "l"), expressions=[S._int(0)])
            return self._difference(aggregate, rows, plain, since, until or 0)
        if since is None and not on and not until:
            return self.column(_over(aggregate, rows, None),
                               _numpy(aggregate, plain, self.metric, None, 0))
        frame = (1, 0) if on else (since, until or 0)  # `on`: the as-of day's rows alone
        return self.column(_over(aggregate, rows, (since, until, on)),
                           _numpy(aggregate, plain, self.metric, *frame))

    def _running(self, aggregate: exp.Expr, rows: exp.Expr, plain: bool, back: int
                 ) -> str:
        """The column of the running total of `aggregate` over the rows up to `back`
        days before the as-of day (NULL before the first row): level 1's, or its lag."""
        total = self.column(_over(aggregate, rows, None),
                            _numpy(aggregate, plain, self.metric, None, 0))
        if back == 0:
            return total.name
        self.span = max(self.span, back)
        lagged = f"{total.name}_{back}"
        self.lags[lagged] = (total.name, back)
        return lagged

    def _between(self, aggregate: exp.Expr, rows: exp.Expr, plain: bool, since: int,
                 until: int) -> exp.Expr:
        """The total of `aggregate` over (asof - since, asof - until]: the difference of
        two running totals (0 before the first row), a column of its own."""
        pair = (self._running(aggregate, rows, plain, until),
                self._running(aggregate, rows, plain, since))
        for name, found in self.differences.items():
            if found == pair:
                return exp.column(name, "l")
        name = f"d{len(self.differences)}"
        self.differences[name] = pair
        return exp.column(name, "l")

    def _difference(self, aggregate: exp.Expr, rows: exp.Expr, plain: bool, since: int,
                    until: int) -> exp.Expr:
        total = self._between(aggregate, rows, plain, since, until)
        if isinstance(aggregate, exp.Count):
            return S._p(total)
        # a sum over no rows is NULL: count the rows that have a value (every row of a
        # metric has one: a row without is a bad row, never loaded; one total less)
        present = exp.Count(this=exp.Star() if self.metric else aggregate.this.copy())
        count = self._between(present, rows, plain, since, until)
        return S._p(exp.case(copy=False).when(exp.GT(this=S._p(count), expression=S._int(0)),
                                              total, copy=False))


def _numpy(aggregate: exp.Expr, plain: bool, metric: bool, since: int | None, until: int
           ) -> dense.Window | None:
    """What NumPy computes as a metric's (`metric`) or an event's `aggregate` over
    (asof - since, asof - until] (`since` None: every day up to the as-of day), if it
    can: not when the filter has terms other than the days (`plain`) or the aggregate
    is not one of `dense.Kind`."""
    if not plain:
        return None
    value, arg = exp.column("value", "s"), aggregate.this
    if not metric:
        return _numpy_event(aggregate, since, until)
    kind: dense.Kind | None = None
    if isinstance(aggregate, exp.Count):
        kind = "count" if isinstance(arg, exp.Star) else None
    elif isinstance(aggregate, exp.ArgMax):
        kind = "latest" if arg == value and aggregate.expression == exp.column("day", "s") \
            else None
    elif isinstance(aggregate, exp.Max) and isinstance(arg, exp.Abs):
        kind = "abs" if arg.this == value else None
    elif arg == value and not aggregate.expressions:
        kind = "sum" if isinstance(aggregate, exp.Sum) else "min" if isinstance(
            aggregate, exp.Min) else "max" if isinstance(aggregate, exp.Max) else None
    return None if kind is None else dense.window(kind, since, until)


def _numpy_event(aggregate: exp.Expr, since: int | None, until: int
                 ) -> dense.Window | None:
    """`_numpy` for an event: `count(*)`, `count(arg)`, `bool_or(arg)`, `max(s.day)`."""
    arg = aggregate.this
    if isinstance(arg, exp.Distinct):
        return None
    if isinstance(aggregate, exp.Count):
        return dense.window("count", since, until, None if isinstance(arg, exp.Star) else arg)
    if isinstance(aggregate, exp.LogicalOr):
        return dense.window("any", since, until, arg)
    if isinstance(aggregate, exp.Max) and arg == exp.column("day", "s") \
            and not aggregate.expressions:
        return dense.window("last", since, until)
    return None


def _frame(where: exp.Expr | None) -> tuple[int | None, int | None, bool, list[exp.Expr]]:
    """(since, until, on the as-of day, the other terms) of an aggregate's filter, the
    probe rows left out."""
    since: int | None = None
    until: int | None = None
    on = False
    kept: list[exp.Expr] = [exp.Not(this=exp.column("probe", "s"))]
    for term in _conjuncts(where):
        mark = _marked(term)
        if mark is not None:
            kind, days = mark
            if kind == "since":
                since = days if since is None else min(since, days)
            elif kind == "until":
                until = days if until is None else max(until, days)
            else:
                on = True
        else:
            kept.append(term)
    return since, until, on, kept


def _over(aggregate: exp.Expr, rows: exp.Expr, frame: tuple[Any, ...] | None) -> exp.Expr:
    """`aggregate FILTER (WHERE rows)` as a window over the account's rows: running (the
    probe after the day's rows) when `frame` is None, else over the frame's days."""
    filtered = exp.Filter(this=aggregate.copy(), expression=exp.Where(this=rows.copy()))
    acc = [exp.column("acc", "s")]
    if frame is None:
        order = exp.Order(expressions=[exp.Ordered(this=exp.column("day", "s")),
                                       exp.Ordered(this=exp.column("probe", "s"))])
        spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING",
                              end="CURRENT ROW")
        return exp.Window(this=filtered, partition_by=acc, order=order, spec=spec)
    since, until, on = frame
    if on:
        start: Any = "CURRENT ROW"
        start_side = None
        end: Any = "CURRENT ROW"
        end_side = None
    else:
        start, start_side = ("UNBOUNDED", "PRECEDING") if since is None else (
            S._int(since - 1), "PRECEDING")
        end, end_side = ("CURRENT ROW", None) if not until else (S._int(until), "PRECEDING")
    spec = exp.WindowSpec(kind="RANGE", start=start, start_side=start_side, end=end,
                          end_side=end_side)
    order = exp.Order(expressions=[exp.Ordered(this=exp.column("day", "s"))])
    return exp.Window(this=filtered, partition_by=acc, order=order, spec=spec)


def _conjuncts(where: exp.Expr | None) -> list[exp.Expr]:
    if where is None:
        return []
    if isinstance(where, exp.Paren):
        return _conjuncts(where.this)
    if isinstance(where, exp.And):
        return [*_conjuncts(where.this), *_conjuncts(where.expression)]
    return [where]


def _between(column: exp.Expr, lo: int, hi: int) -> exp.Expr:
    return exp.and_(exp.GTE(this=column, expression=S._int(lo)),
                    exp.LT(this=column.copy(), expression=S._int(hi)), copy=False)


FANOUT_ROWS = 40_000_000
"""A table whose rows times the days stay under this is grouped by (account, day) over a
join with the days (the one-day plan's aggregates, exactly); a larger one is windowed."""


def _by_day(node: exp.Expr) -> exp.Expr:
    """An aggregate tree with its `s.day` marks as filters relative to `d.asof`."""
    def unmark(n: exp.Expr) -> exp.Expr:
        mark = _marked(n)
        if mark is not None:
            kind, days = mark
            day, asof = exp.column("day", "s"), exp.column("asof", "d")
            back = asof if days == 0 else exp.Sub(this=asof, expression=S._int(days))
            if kind == "since":
                return S._p(exp.GT(this=day, expression=back))
            if kind == "until":
                return S._p(exp.LTE(this=day, expression=back))
            return S._p(exp.EQ(this=day, expression=asof))
        return n

    return node.transform(unmark)


def _fanned(table: str, features: Mapping[tuple[Any, ...], tuple[str, exp.Expr]], lo: int,
            hi: int) -> exp.Expr:
    """`CREATE TEMP TABLE _g_<table>` for a small table: its rows joined with every day of
    `_days` on or after them, grouped per account and day (accounts without rows by a
    day have no row: the grid's LEFT JOIN reads NULL, as the one-day plan does)."""
    query = exp.select(exp.column("acc", "s"), exp.column("asof", "d"), *(
        exp.alias_(_by_day(aggregate.copy()), column, copy=False)
        for column, aggregate in features.values()), copy=False).from_(
        exp.to_table(table).as_("s"), copy=False).join(
        exp.to_table("_days").as_("d"), on=exp.LTE(this=exp.column("day", "s"),
                                                   expression=exp.column("asof", "d")),
        join_type="inner", copy=False).where(
        _between(exp.column("acc", "s"), lo, hi), copy=False).group_by(
        exp.column("acc", "s"), exp.column("asof", "d"), copy=False)
    return S._temp_table(f"_g_{table}", query)


def _windowed(table: str, built: _Table, features: list[tuple[str, exp.Expr]],
             columns: list[str], lo: int, hi: int, first: int, last: int) -> exp.Expr:
    """`CREATE TEMP TABLE _g_<table>`: per account of [lo, hi) and day of [first, last],
    the table's features."""
    grid_first = first - built.span
    rows = exp.select(*(exp.column(c) for c in columns), exp.alias_(exp.false(), "probe"),
                      copy=False).from_(table, copy=False).where(exp.and_(
                          _between(exp.column("acc"), lo, hi),
                          exp.LTE(this=exp.column("day"), expression=S._int(last)),
                          copy=False), copy=False)
    days = exp.select(exp.alias_(exp.cast(exp.column("range"), "INTEGER"), "day"),
                      copy=False).from_(exp.Anonymous(this="range", expressions=[
                          S._int(grid_first), S._int(last + 1)]), copy=False)
    probes = exp.select(exp.column("acc", "a"), exp.column("day", "d"),
                        *(exp.alias_(exp.null(), c) for c in columns[2:]),
                        exp.alias_(exp.true(), "probe"), copy=False).from_(
        exp.to_table("accounts").as_("a"), copy=False).join(
        days.subquery("d"), join_type="cross", copy=False).where(
        _between(exp.column("acc", "a"), lo, hi), copy=False)
    grid = exp.union(rows, probes, distinct=False, copy=False).subquery("s", copy=False)
    level1 = exp.select(exp.column("acc", "s"), exp.column("day", "s"), *(
        exp.alias_(window, name, copy=False) for name, window in built.level1.values()),
        copy=False).from_(grid, copy=False).qualify(exp.column("probe", "s"), copy=False)
    level2 = exp.select(exp.column("acc", "l"), exp.alias_(exp.column("day", "l"), "asof"),
                        *(exp.alias_(_lagged(built, sql), column, copy=False)
                          for column, sql in features),
                        copy=False).from_(level1.subquery("l", copy=False), copy=False)
    query = exp.select("*", copy=False).from_(level2.subquery("q", copy=False), copy=False).where(
        exp.GTE(this=exp.column("asof"), expression=S._int(first)), copy=False).order_by(
        exp.column("asof"), exp.column("acc"), copy=False)
    return S._temp_table(f"_g_{table}", query)  # a row per day and account, in grid order


def _lagged(built: _Table, node: exp.Expr) -> exp.Expr:
    """A level-2 tree (a copy) with its differences of running totals as SQL over the
    level-1 rows: `COALESCE(a, 0) - COALESCE(b, 0)`, each lag a `LAG`."""
    def total(name: str) -> exp.Expr:
        column: exp.Expr = exp.column(name, "l")
        if name in built.lags:
            running, back = built.lags[name]
            column = exp.Window(this=exp.Anonymous(this="LAG", expressions=[
                exp.column(running, "l"), S._int(back)]), partition_by=[exp.column("acc", "l")],
                order=exp.Order(expressions=[exp.Ordered(this=exp.column("day", "l"))]))
        return S._p(exp.Coalesce(this=column, expressions=[S._int(0)]))

    def expand(n: exp.Expr) -> exp.Expr:
        if isinstance(n, exp.Column) and n.table == "l" and n.name in built.differences:
            newer, older = built.differences[n.name]
            return S._p(exp.Sub(this=total(newer), expression=total(older)))
        return n

    return node.transform(expand)


def _wanted(built: _Table, trees: list[exp.Expr]) -> dict[str, dense.Wanted]:
    """The columns that a table's level-2 trees read, as NumPy computes them: level-1
    windows, lags, and differences of running totals (`dense.Between`); the lags that
    only differences read are left out."""
    windows = {c: w for c, w in built.windows.items() if w is not None}

    def running(name: str) -> tuple[dense.Window, int]:  # a total's window, days back
        if name in built.lags:
            total, back = built.lags[name]
            return windows[total], back
        return windows[name], 0

    out: dict[str, dense.Wanted] = {}
    for tree in trees:
        for column in tree.find_all(exp.Column):
            name = column.name
            if column.table != "l" or name in out:
                continue
            if name in built.differences:
                (total, newer), (other, older) = map(running, built.differences[name])
                assert total == other, (total, other)
                out[name] = dense.Between(total, newer, older)
            elif name in built.lags:
                out[name] = dense.Lag(*running(name))
            else:
                out[name] = windows[name]
    return out


def _dense(con: Any, table: str, built: _Table, wanted: Mapping[str, dense.Wanted], lo: int,
           hi: int, first: int, last: int) -> dict[str, dense.Column] | None:
    """The columns of a table that NumPy computes (`engines.dense`), by day then
    account; None when a metric's slice has a NaN value (or a row lacks its key):
    `_windowed` then."""
    if built.metric:
        return dense.columns(con, table, wanted, lo, hi, first, last)
    return dense.event_columns(con, table, wanted, lo, hi, first, last)


def _read(table: str, node: exp.Expr) -> exp.Expr:
    """A level-2 tree (a copy) reading its level-1 columns from the grid's scan, where
    each is named after its table."""
    def rename(n: exp.Expr) -> exp.Expr:
        if isinstance(n, exp.Column) and n.table == "l":
            return exp.column(f"{table}_{n.name}", "l")
        return n

    return node.copy().transform(rename)


_GRID = "_grid_days"


def _keys(lo: int, hi: int, first: int, days: int) -> dict[str, dense.Column]:
    """The (account, day) keys of the accounts [lo, hi) and the days from `first`, by
    day then account: the order of NumPy's columns (days are rows, `engines.dense`) and
    of `_windowed`'s tables, which join them by position (nothing to sort, no hash
    join of millions)."""
    return {"acc": np.tile(np.arange(lo, hi, dtype=np.int64), days),
            "asof": np.repeat(np.arange(first, first + days, dtype=np.int32), hi - lo)}


def _grid(plan: DaysPlan, level2: Mapping[str, list[tuple[str, exp.Expr]]],
          windowed: list[str], fields: list[str]) -> exp.Expr:
    """The grid with the account fields and every feature: what the conditions read as
    `a` (not materialised: only the truth columns come out of it). `level2`: the tables
    whose level-1 columns are in the grid's scan (`_GRID`, as `l`), with their
    features' trees; `windowed`: the tables of `_windowed`, in the grid's order; the
    others are `_fanned`'s."""
    selects: list[exp.Expr] = [exp.column("acc", "l"), exp.column("asof", "l"),
                               *(exp.column(f, "f") for f in fields)]
    query = exp.select(copy=False).from_(exp.to_table(_GRID).as_("l"), copy=False)
    for table in windowed:
        query = query.join(exp.Join(this=exp.to_table(f"_g_{table}"), method="POSITIONAL"),
                           copy=False)
    query = query.join(exp.to_table("accounts").as_("f"), on=exp.EQ(
        this=exp.column("acc", "f"), expression=exp.column("acc", "l")), join_type="inner",
        copy=False)
    for table, features in plan.aggregates.items():
        alias = f"_g_{table}"
        if table in level2:
            selects.extend(exp.alias_(tree, column, copy=False)
                           for column, tree in level2[table])
            continue
        if table not in windowed:
            query = query.join(exp.to_table(alias), on=exp.and_(
                exp.EQ(this=exp.column("acc", alias), expression=exp.column("acc", "l")),
                exp.EQ(this=exp.column("asof", alias), expression=exp.column("asof", "l")),
                copy=False), join_type="left", copy=False)
        selects.extend(exp.column(column, alias) for column, _ in features.values())
    return query.select(*selects, copy=False)


def evaluate_days(engine: Any, conditions: Mapping[str, Any], start: date, end: date,
                  grid_rows: int = GRID_ROWS) -> dict[str, npt.NDArray[np.int8]] | None:
    """Per condition, truth codes (1, 0, -1) of shape (days, accounts): row i is the day
    `start + i`, columns aligned with `engine.ids`. None when a feature needs the one-day
    plan."""
    con = engine.con
    days = (end - start).days + 1
    accounts = len(engine.ids)
    out = {key: np.full((days, accounts), -1, dtype=np.int8) for key in conditions}
    if not conditions or accounts == 0:
        return out
    cells_of = {key: column.reshape(-1) for key, column in out.items()}  # views, by cell
    plan = DaysPlan(engine)
    translated = {key: plan.truth(node) for key, node in conditions.items()}
    sizes: dict[str, int] = {}

    def size(table: str) -> int:
        """The table's rows, counted only when asked for (a scan of the metrics)."""
        if table not in sizes:
            sizes[table] = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        return sizes[table]

    metrics = set(engine.frame.metrics.values())
    built: dict[str, tuple[_Table, list[tuple[str, exp.Expr]]]] = {}  # NumPy's or windowed
    numpy: set[str] = set()
    for table, features in plan.aggregates.items():
        metric = table in metrics
        t = _Table(table, table in engine.exact_sums or not metric, metric)
        try:
            windows = [(column, t.feature(aggregate.copy()))
                       for column, aggregate in features.values()]
        except _Unsupported:
            if size(table) * days > FANOUT_ROWS:
                return None
            continue  # joined with the days
        if t.dense and (DENSE if metric else DENSE_EVENTS and size(table) < 2**31):
            numpy.add(table)
        elif size(table) * days <= FANOUT_ROWS:
            continue
        built[table] = (t, windows)
    columns = {table: [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
               for table in built}
    fields = [d[0] for d in con.execute("SELECT * FROM accounts LIMIT 0").description
              if d[0] != "acc"]
    first, last = start.toordinal(), end.toordinal()
    con.execute("CREATE OR REPLACE TEMP TABLE _days AS SELECT CAST(range AS INTEGER) AS asof "
                f"FROM range({first}, {last + 1})")
    wanted = {table: _wanted(built[table][0], [tree for _, tree in built[table][1]])
              for table in numpy}
    spans = max((t.depth(table in numpy) for table, (t, _) in built.items()), default=0)
    step = max(1, grid_rows // (days + spans))
    keys = list(translated)
    try:
        for lo in range(0, accounts, step):
            hi = min(accounts, lo + step)
            arrays = _keys(lo, hi, first, days)
            level2: dict[str, list[tuple[str, exp.Expr]]] = {}
            windowed: list[str] = []
            for table, features in plan.aggregates.items():
                if table not in built:
                    con.execute(S._sql(_fanned(table, features, lo, hi)))
                    continue
                t, windows = built[table]
                found = _dense(con, table, t, wanted[table], lo, hi, first, last) \
                    if table in numpy else None
                if found is None:
                    con.execute(S._sql(_windowed(table, t, windows, columns[table], lo, hi,
                                                 first, last)))
                    windowed.append(table)
                    continue
                arrays.update((f"{table}_{name}", column) for name, column in found.items())
                level2[table] = [(column, _read(table, tree)) for column, tree in windows]
            grid = exp.Subquery(this=_grid(plan, level2, windowed, fields),
                                alias=exp.TableAlias(this=exp.to_identifier("a")))
            con.register(_GRID, arrays)
            try:
                for at in range(0, len(keys), S._BATCH):
                    batch = keys[at:at + S._BATCH]
                    query = exp.select(exp.column("acc", "a"), exp.column("asof", "a"), *(
                        exp.alias_(translated[k], f"c{i}", copy=False)
                        for i, k in enumerate(batch)), copy=False).from_(grid.copy(),
                                                                         copy=False)
                    got = con.execute(S._sql(query)).fetchnumpy()
                    # in any order (the hash join): each row to its cell of (day, account),
                    # by flat index (`np.put`, or a pair of index arrays, took twice as long)
                    cells = (np.asarray(got["asof"], dtype=np.int64) - first) * accounts + \
                        np.asarray(got["acc"], dtype=np.int64)
                    for i, key in enumerate(batch):
                        cells_of[key][cells] = np.asarray(got[f"c{i}"], dtype=np.int8)
                    del got, cells
            finally:
                con.unregister(_GRID)
            del arrays
            for table in plan.aggregates:
                con.execute(f"DROP TABLE IF EXISTS _g_{table}")
    finally:
        for table in (*(f"_g_{t}" for t in plan.aggregates), "_days"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return out
