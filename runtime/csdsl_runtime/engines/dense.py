"""The window columns of a metric table for every account of a slice and every day of a
range, computed by NumPy over a dense (days x accounts) array (`engines.days`).

A metric has at most one row per account and day (the frame reader guarantees it, and
a `MetricSeries` holds one value per day), so its rows of a slice of accounts fill an
array of the grid's days by the slice's accounts, with a mask of the cells that have a
row. What DuckDB's windows computed over the rows and a probe row per account and day
(sorts of millions of rows) is then a pass along the day axis, each step a vector over
the accounts:

- a running count or sum (every row up to the as-of day) is a cumulative sum, plus the
  count and sum of the rows before the grid (the carry); the running totals of integer
  data are integers below 2**53 (`frame.exact_sum`), exact in any order of addition, as
  the SQL's are;
- the latest value is the last present day's value carried forward (else the latest
  value before the grid);
- a count over a frame of days is a difference of the cumulative count of present days;
  a min or max (of the value or of |value|) is a sliding min or max (van Herk /
  Gil-Werman: prefix and suffix extrema of blocks of the frame's width, O(cells) for any
  width), the missing days set to the extremum's identity, a frame without a row NULL;
- a frame one day wide (the as-of day's value) is that day's value, if any;
- `LAG(w, k)` of a running total is the same total k days earlier (`Lag`), and the
  difference of two of them, `COALESCE(w, 0) - COALESCE(LAG(w, k), 0)` in the SQL, one
  subtraction of two blocks of the same array (`Between`).

Day-major, the days of the range are one block of rows of each array, and a lag the
block k rows up: a running column and its lags are views of one array, each flattened
in (day, account) order without a copy (the order of the grid, `days._keys`).

An event table (`event_columns`) has any number of rows per account and day, few of
them: each of its columns is made over the range's days alone, by adding each row's
+1 on the first as-of day it counts on, and its -1 on the first it no longer does, then
one cumulative sum, so that a 365-day count needs no grid of 365 more days:

- a count of the rows (or of those where an argument is not NULL) over a frame, or up
  to the as-of day (a running count, its lags and their differences are such counts);
- `bool_or` of an argument (an occurrence's `where`, computed per row by DuckDB): true
  if a row of the frame is true, else false if one is known, else NULL;
- the last day with a row (`max(day)`), a running maximum of the days with rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlglot import exp

from csdsl_runtime.engines import sql as S

Kind = Literal["count", "sum", "min", "max", "abs", "latest", "any", "last"]
"""A metric's `count(*)`, `sum(value)`, `min(value)`, `max(value)`, `max(abs(value))`
and `arg_max(value, day)` (the latest value); an event's `count(*)` or `count(arg)`,
`bool_or(arg)` (`any`) and `max(day)` (`last`)."""

Column = npt.NDArray[Any] | np.ma.MaskedArray[Any, Any]
_Cells = npt.NDArray[Any]  # [grid days, accounts]
_Nulls = npt.NDArray[np.bool_] | None  # where a column is NULL; None: nowhere


@dataclass(frozen=True)
class Window:
    """An aggregate of a metric's rows over the days (asof - since, asof - until]: every
    day up to the as-of day when `since` is None (a running aggregate)."""

    kind: Kind
    since: int | None
    until: int = 0
    arg: exp.Expr | None = None
    """An event's per-row argument (over the row `s`) of `count` or `any`; None for
    `count(*)` and a metric's windows."""

    @property
    def reach(self) -> int:
        """Days before the as-of day whose rows the frame reads on the grid (a running
        aggregate reads the earlier ones from the carry)."""
        return 0 if self.since is None else self.since - 1


@dataclass(frozen=True)
class Lag:
    """A running count or sum (`total`) `back` days before the as-of day: `LAG`."""

    total: Window
    back: int


@dataclass(frozen=True)
class Between:
    """`COALESCE(LAG(total, newer), 0) - COALESCE(LAG(total, older), 0)` of a running
    count or sum (its lag 0 being itself): the total over the days (asof - older, asof -
    newer]."""

    total: Window
    newer: int
    older: int


Wanted = Window | Lag | Between
"""A column that NumPy computes."""


def window(kind: Kind, since: int | None, until: int, arg: exp.Expr | None = None
           ) -> Window | None:
    """The window, None when this module does not compute it: a running aggregate
    other than a count, a sum, the latest value, `any` or the last day, or one that
    stops before the as-of day; a frame that is empty, or more than one day wide for a
    sum or the latest value (a sum over a frame is a difference of running totals,
    which the caller takes)."""
    if since is None:
        running = ("count", "sum", "latest", "any", "last")
        return Window(kind, None, 0, arg) if kind in running and not until else None
    width = since - until
    if width < 1 or (kind in ("sum", "latest") and width != 1):
        return None
    return Window(kind, since, until, arg)


class _Grid:
    """One slice's rows as a dense array of the days from `start` (rows) by accounts
    (columns), the rows before `start` kept as carries; the running columns are made
    once, when first asked for."""

    def __init__(self, lo: int, hi: int, start: int, last: int, acc: npt.NDArray[np.int64],
                 day: npt.NDArray[np.int64], value: npt.NDArray[np.float64]) -> None:
        n, days = hi - lo, last - start + 1
        on = day >= start
        cell = (day[on] - start) * n + (acc[on] - lo)
        self.values = np.zeros((days, n), dtype=np.float64)
        self.present = np.zeros((days, n), dtype=bool)
        self.values.reshape(-1)[cell] = value[on]
        self.present.reshape(-1)[cell] = True
        self.early = acc[~on] - lo, day[~on], value[~on]
        self.early_count = np.bincount(self.early[0], minlength=n).astype(np.int32)
        self.early_sum = np.bincount(self.early[0], weights=self.early[2], minlength=n)
        self._made: dict[str, tuple[_Cells, _Nulls]] = {}

    def _once(self, key: str, make: Callable[[], tuple[_Cells, _Nulls]]
              ) -> tuple[_Cells, _Nulls]:
        found = self._made.get(key)
        if found is None:
            found = self._made[key] = make()
        return found

    def running(self, w: Window) -> tuple[_Cells, _Nulls]:
        """A running window at every grid day, and where it is NULL (a sum of no rows,
        no latest value; a count is never NULL). A sum is +0.0 where NULL (no row so
        far: zeros added), as a count is 0: their `COALESCE(x, 0)` is the array."""
        if w.kind == "count":
            return self._once("count", lambda: (
                self._present_before()[1:] + self.early_count, None))
        if w.kind == "sum":
            count = self.running(Window("count", None))[0]
            return self._once("sum", lambda: (
                np.cumsum(self.values, axis=0) + self.early_sum, count == 0))
        return self._once("latest", self._latest)

    def _latest(self) -> tuple[_Cells, _Nulls]:
        days, n = self.present.shape
        early, early_day, early_value = self.early
        latest_day = np.full(n, -1, dtype=np.int64)  # day ordinals are positive
        np.maximum.at(latest_day, early, early_day)
        is_latest = early_day == latest_day[early]  # one row per account and day
        early_latest = np.zeros(n, dtype=np.float64)
        early_latest[early[is_latest]] = early_value[is_latest]
        index = np.where(self.present, np.arange(days)[:, None], -1)
        np.maximum.accumulate(index, axis=0, out=index)
        found = index >= 0
        latest = np.take_along_axis(self.values, np.maximum(index, 0), axis=0)
        np.copyto(latest, np.broadcast_to(early_latest, latest.shape), where=~found)
        return latest, ~(found | (latest_day >= 0))

    def _present_before(self) -> _Cells:
        """The present days before each grid day (a row of zeros first), whose
        differences count the rows of frames. Counts are 32-bit (of days: DuckDB's
        BIGINT counts and these are the same numbers), half the memory."""
        def make() -> tuple[_Cells, _Nulls]:
            counts = np.zeros((self.present.shape[0] + 1, self.present.shape[1]),
                              dtype=np.int32)
            np.cumsum(self.present, axis=0, out=counts[1:])
            return counts, None
        return self._once("present", make)[0]

    def framed(self, w: Window, offset: int, days: int) -> tuple[_Cells, _Nulls]:
        """A window over a frame of days at the grid days [offset, offset + days), and
        where it is NULL (a frame without a row, but for a count)."""
        assert w.since is not None
        since, until = w.since, w.until
        end = slice(offset - until, offset - until + days)  # each frame's last day
        before = self._present_before()
        rows = before[offset - until + 1:offset - until + 1 + days] - before[
            offset - since + 1:offset - since + 1 + days]
        if w.kind == "count":
            return rows, None
        values = np.abs(self.values) if w.kind == "abs" else self.values
        if since - until == 1:  # the one day's value (a copy: the grid's days go back)
            return values[end].copy(), ~self.present[end]
        pick = np.minimum if w.kind == "min" else np.maximum
        return _sliding(values, self.present, since - until, pick,
                        np.inf if w.kind == "min" else -np.inf, end), rows == 0


def _sliding(values: _Cells, present: _Cells, width: int, pick: np.ufunc, identity: float,
             rows: slice | None = None) -> _Cells:
    """`pick` (np.minimum or np.maximum) of the present values over the `width` days
    that end on each day of `rows` (all days for None; `identity` where none is, and for
    the first width - 1 days): van Herk / Gil-Werman, whose frames each take one suffix
    extremum of a block of `width` days and one prefix extremum of the next (or of the
    same block). The extrema run along the days a row at a time, each step a vector over
    the accounts (`ufunc.accumulate` along an outer axis was ten times slower)."""
    days, n = values.shape
    start, stop, _ = (rows or slice(None)).indices(days)
    out = np.empty((stop - start, n), dtype=values.dtype)
    framed = max(start, width - 1)  # the first row whose frame is whole
    out[:max(0, framed - start)] = identity
    if framed >= stop:
        return out
    blocks = -(-days // width)
    suffix = np.full((blocks * width, n), identity, dtype=values.dtype)
    np.copyto(suffix[:days], values, where=present)
    prefix = suffix.copy()
    ahead, behind = prefix.reshape(blocks, width, n), suffix.reshape(blocks, width, n)
    for i in range(1, width):
        pick(ahead[:, i - 1], ahead[:, i], out=ahead[:, i])
        j = width - 1 - i
        pick(behind[:, j + 1], behind[:, j], out=behind[:, j])
    pick(suffix[framed - width + 1:stop - width + 1], prefix[framed:stop],
         out=out[framed - start:])
    return out


def columns(con: Any, table: str, wanted: Mapping[str, Wanted], lo: int, hi: int,
            first: int, last: int) -> dict[str, Column] | None:
    """Per day of [first, last] and account of [lo, hi), in that order: each wanted
    column of a metric table (by name), masked where the SQL gives NULL. None when a
    value of the slice is NULL or NaN (which a data set's NaN becomes,
    `Frame.from_dataset`: DuckDB reads a NumPy NaN as NULL, and orders NaN above every
    number), or a row lacks its account or day (never loaded): the caller's SQL windows
    take that slice, with their NULL rules."""
    back = max([0, *(w.reach if isinstance(w, Window) else w.back if isinstance(w, Lag)
                     else w.older for w in wanted.values())])
    days = last - first + 1
    # the rows before the grid only carry into running columns and lags: a difference
    # of two running totals (exact in any order of addition) is the same without them
    early = any(isinstance(w, Lag) or (isinstance(w, Window) and w.since is None)
                for w in wanted.values())
    where = [exp.GTE(this=exp.column("acc"), expression=S._int(lo)),
             exp.LT(this=exp.column("acc"), expression=S._int(hi)),
             exp.LTE(this=exp.column("day"), expression=S._int(last))]
    if not early:
        where.append(exp.GTE(this=exp.column("day"), expression=S._int(first - back)))
    query = exp.select("acc", "day", "value", copy=False).from_(table, copy=False).where(
        exp.and_(*where, copy=False), copy=False)
    rows = con.execute(S._sql(query)).fetchnumpy()
    if any(np.ma.is_masked(rows[c]) for c in ("acc", "day", "value")):
        return None
    value = np.asarray(np.ma.getdata(rows["value"]), dtype=np.float64)
    if np.isnan(value).any():
        return None
    grid = _Grid(lo, hi, first - back, last, np.asarray(rows["acc"], dtype=np.int64),
                 np.asarray(rows["day"], dtype=np.int64), value)
    del rows, value

    def at(k: int) -> slice:  # the range's days, k days earlier
        return slice(back - k, back - k + days)

    out: dict[str, Column] = {}
    for name, w in wanted.items():
        if isinstance(w, Between):
            assert w.total.kind in ("count", "sum") and w.total.since is None, w
            cells = grid.running(w.total)[0]  # 0 where NULL
            out[name] = _flat(cells[at(w.newer)] - cells[at(w.older)], None)
        elif isinstance(w, Lag) or w.since is None:
            cells, nulls = grid.running(w.total if isinstance(w, Lag) else w)
            k = w.back if isinstance(w, Lag) else 0
            out[name] = _flat(cells[at(k)], None if nulls is None else nulls[at(k)])
        else:
            out[name] = _flat(*grid.framed(w, back, days))
    return out


class _Events:
    """One slice's event rows (accounts numbered from 0) and their per-row flags (name
    -> which rows have it), as counts over frames at every day of the range, each made
    once. Counts are 32-bit: an account has fewer than 2**31 rows (the caller checks
    the table), and DuckDB's BIGINT counts and these give the same numbers."""

    def __init__(self, n: int, first: int, last: int, acc: npt.NDArray[np.int64],
                 day: npt.NDArray[np.int64], flags: Mapping[str, npt.NDArray[np.bool_]]
                 ) -> None:
        self.n, self.first, self.days = n, first, last - first + 1
        self.acc, self.day, self.flags = acc, day, flags
        self._made: dict[tuple[str | None, int | None, int], _Cells] = {}

    def count(self, flag: str | None, since: int | None, until: int) -> _Cells:
        """Per day of the range, by account: the rows (with `flag`; every row for None)
        of the days (asof - since, asof - until], or of every day up to asof - until
        when `since` is None. A row of day r counts on the as-of days [r + until, r +
        since): +1 on the first, -1 on the last's next, then a cumulative sum."""
        key = (flag, since, until)
        found = self._made.get(key)
        if found is None:
            keep = self.day <= self.first + self.days - 1 - until
            if flag is not None:
                keep &= self.flags[flag]
            day, acc = self.day[keep] - self.first, self.acc[keep]
            cells = np.zeros(self.days * self.n, dtype=np.int32)
            np.add.at(cells, np.maximum(day + until, 0) * self.n + acc, 1)
            if since is not None:
                stop = day + since
                inside = stop < self.days  # a row that stops before the range never counts
                np.subtract.at(cells, np.maximum(stop[inside], 0) * self.n + acc[inside], 1)
            found = cells.reshape(self.days, self.n)
            np.cumsum(found, axis=0, out=found)
            self._made[key] = found
        return found

    def last(self, back: int) -> _Cells:
        """Per day of the range moved `back` days earlier: the last day with a row on
        or before it, -1 when none (day ordinals are positive)."""
        start = self.first - back
        keep = self.day < start + self.days
        day = self.day[keep]
        cells = np.full(self.days * self.n, -1, dtype=np.int64)
        np.maximum.at(cells, np.maximum(day - start, 0) * self.n + self.acc[keep], day)
        found = cells.reshape(self.days, self.n)
        np.maximum.accumulate(found, axis=0, out=found)
        return found

    def column(self, w: Window, known: str | None, true: str | None
               ) -> tuple[_Cells, _Nulls]:
        """A window at every day of the range, and where it is NULL: `known` and `true`
        name the flags of the rows whose argument is not NULL and is true."""
        since, until = w.since, w.until
        if w.kind == "last":
            latest = self.last(until)
            nulls = latest < 0 if since is None else latest <= (
                self.first - since + np.arange(self.days)[:, None])
            return latest.astype(np.int32), nulls
        if w.kind == "count":
            return self.count(known, since, until), None
        assert w.kind == "any" and true is not None
        return self.count(true, since, until) > 0, self.count(known, since, until) == 0


def event_columns(con: Any, table: str, wanted: Mapping[str, Wanted], lo: int, hi: int,
                  first: int, last: int) -> dict[str, Column] | None:
    """What `columns` gives for a metric, for an event table. DuckDB computes the
    per-row flags of the arguments (`arg IS NOT NULL`, and `CAST(arg AS BOOLEAN)` for
    `bool_or`, which casts it so), NumPy the rest. None for a row without its account
    or day (never loaded: the SQL windows would take the slice)."""
    flags: dict[str, exp.Expr] = {}

    def flag(test: exp.Expr) -> str:
        key = test.sql(dialect="duckdb")
        if key not in flags:
            flags[key] = test
        return f"k{list(flags).index(key)}"

    def flags_of(w: Window) -> tuple[str | None, str | None]:
        """The names of the flags of `w`'s rows whose argument is known, and true."""
        assert w.kind in ("count", "any", "last"), w
        if w.arg is None:
            return None, None
        arg = exp.Paren(this=w.arg.copy())
        known = flag(exp.Not(this=exp.Is(this=arg, expression=exp.null())))
        return known, None if w.kind != "any" else flag(exp.Coalesce(
            this=exp.cast(arg.copy(), "BOOLEAN"), expressions=[exp.false()]))

    named = {name: (w, flags_of(w if isinstance(w, Window) else w.total))
             for name, w in wanted.items()}
    s = "s"
    query = exp.select(exp.column("acc", s), exp.column("day", s), *(
        exp.alias_(test, f"k{i}", copy=False) for i, test in enumerate(flags.values())),
        copy=False).from_(exp.to_table(table).as_(s), copy=False).where(exp.and_(
            exp.GTE(this=exp.column("acc", s), expression=S._int(lo)),
            exp.LT(this=exp.column("acc", s), expression=S._int(hi)),
            exp.LTE(this=exp.column("day", s), expression=S._int(last)), copy=False),
        copy=False)
    rows = con.execute(S._sql(query)).fetchnumpy()
    if any(np.ma.is_masked(rows[c]) for c in ("acc", "day")):
        return None
    events = _Events(hi - lo, first, last, np.asarray(rows["acc"], dtype=np.int64) - lo,
                     np.asarray(rows["day"], dtype=np.int64),
                     {f"k{i}": np.asarray(np.ma.getdata(rows[f"k{i}"]), dtype=bool)
                      for i in range(len(flags))})
    out: dict[str, Column] = {}
    for name, (w, (known, true)) in named.items():
        if isinstance(w, Window):
            out[name] = _flat(*events.column(w, known, true))
            continue
        assert w.total.kind == "count" and w.total.since is None, w
        if isinstance(w, Lag):
            out[name] = _flat(events.count(known, None, w.back), None)
        else:
            assert w.older > w.newer, w
            out[name] = _flat(events.count(known, w.older, w.newer), None)
    return out


def _flat(cells: _Cells, nulls: _Nulls) -> Column:
    """A column in (day, account) order (a view of a block of whole rows), masked where
    NULL."""
    flat = cells.reshape(-1)
    if nulls is None or not nulls.any():
        return flat
    return np.ma.masked_array(flat, mask=nulls.reshape(-1))
