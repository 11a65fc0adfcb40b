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
- `LAG(w, k)` of a running total is the same total k days earlier.

Day-major, the days of the range are one block of rows of each array, and a lag the
block k rows up: a running column and its lags are views of one array, each flattened
in (day, account) order without a copy (the grid's keys, `days._base`, are in that
order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlglot import exp

from csdsl_runtime.engines import sql as S

Kind = Literal["count", "sum", "min", "max", "abs", "latest"]
"""`count(*)`, `sum(value)`, `min(value)`, `max(value)`, `max(abs(value))` and
`arg_max(value, day)` (the latest value)."""

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

    @property
    def reach(self) -> int:
        """Days before the as-of day whose rows the frame reads on the grid (a running
        aggregate reads the earlier ones from the carry)."""
        return 0 if self.since is None else self.since - 1


def window(kind: Kind, since: int | None, until: int) -> Window | None:
    """The window, None when this module does not compute it: a running aggregate
    other than a count, a sum or the latest value, or one that stops before the as-of
    day; a frame that is empty, or more than one day wide for a sum or the latest value
    (a sum over a frame is a difference of running totals, which the caller takes)."""
    if since is None:
        return Window(kind, None) if kind in ("count", "sum", "latest") and not until else None
    width = since - until
    if width < 1 or (kind in ("sum", "latest") and width != 1):
        return None
    return Window(kind, since, until)


class _Grid:
    """One slice's rows as a dense array of the days from `start` (rows) by accounts
    (columns), the rows before `start` kept as carries; the running columns are made
    once, when first asked for."""

    def __init__(self, lo: int, hi: int, start: int, last: int, acc: npt.NDArray[np.int64],
                 day: npt.NDArray[np.int64], value: npt.NDArray[np.float64]) -> None:
        n, days = hi - lo, last - start + 1
        on = day >= start
        cell = (day[on] - start, acc[on] - lo)
        self.values = np.zeros((days, n), dtype=np.float64)
        self.present = np.zeros((days, n), dtype=bool)
        self.values[cell] = value[on]
        self.present[cell] = True
        early, early_day, early_value = acc[~on] - lo, day[~on], value[~on]
        self.early_count = np.bincount(early, minlength=n).astype(np.int64)
        self.early_sum = np.bincount(early, weights=early_value, minlength=n)
        order = np.lexsort((early_day, early))  # by account, then day: the last is latest
        owner = early[order]
        ends = order[np.flatnonzero(np.r_[owner[1:] != owner[:-1], True])] if len(order) \
            else order
        self.early_latest = np.zeros(n, dtype=np.float64)
        self.early_has = np.zeros(n, dtype=bool)
        self.early_latest[early[ends]] = early_value[ends]
        self.early_has[early[ends]] = True
        self._made: dict[str, tuple[_Cells, _Nulls]] = {}

    def _once(self, key: str, make: Callable[[], tuple[_Cells, _Nulls]]
              ) -> tuple[_Cells, _Nulls]:
        found = self._made.get(key)
        if found is None:
            found = self._made[key] = make()
        return found

    def running(self, w: Window) -> tuple[_Cells, _Nulls]:
        """A running window at every grid day, and where it is NULL (a sum of no rows,
        no latest value; a count is never NULL)."""
        if w.kind == "count":
            return self._once("count", lambda: (
                np.cumsum(self.present, axis=0, dtype=np.int64) + self.early_count, None))
        if w.kind == "sum":
            count = self.running(Window("count", None))[0]
            return self._once("sum", lambda: (
                np.cumsum(self.values, axis=0) + self.early_sum, count == 0))
        return self._once("latest", self._latest)

    def _latest(self) -> tuple[_Cells, _Nulls]:
        days = self.present.shape[0]
        index = np.where(self.present, np.arange(days)[:, None], -1)
        np.maximum.accumulate(index, axis=0, out=index)
        found = index >= 0
        latest = np.take_along_axis(self.values, np.maximum(index, 0), axis=0)
        np.copyto(latest, np.broadcast_to(self.early_latest, latest.shape), where=~found)
        return latest, ~(found | self.early_has)

    def _present_before(self) -> _Cells:
        """The present days before each grid day (a row of zeros first), whose
        differences count the rows of frames."""
        def make() -> tuple[_Cells, _Nulls]:
            counts = np.zeros((self.present.shape[0] + 1, self.present.shape[1]),
                              dtype=np.int64)
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
        if since - until == 1:  # the one day's value
            return values[end], ~self.present[end]
        pick = np.minimum if w.kind == "min" else np.maximum
        slid = _sliding(values, self.present, since - until, pick,
                        np.inf if w.kind == "min" else -np.inf)
        return slid[end], rows == 0


def _sliding(values: _Cells, present: _Cells, width: int, pick: np.ufunc, identity: float
             ) -> _Cells:
    """`pick` (np.minimum or np.maximum) of the present values over the `width` days
    that end on each day (`identity` where none is, and for the first width - 1 days):
    van Herk / Gil-Werman, whose frames each take one suffix extremum of a block of
    `width` days and one prefix extremum of the next (or of the same block). The
    extrema run along the days a row at a time, each step a vector over the accounts
    (`ufunc.accumulate` along an outer axis was ten times slower)."""
    days, n = values.shape
    out = np.full((days, n), identity, dtype=values.dtype)
    if width > days:
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
    pick(suffix[:days - width + 1], prefix[width - 1:days], out=out[width - 1:])
    return out


def columns(con: Any, table: str, windows: Mapping[str, Window],
            lags: Mapping[str, tuple[str, int]], lo: int, hi: int, first: int, last: int
            ) -> dict[str, Column] | None:
    """Per day of [first, last] and account of [lo, hi), in that order: each window's
    column (by name) and each lag's (name -> (a running window's name, days back)),
    masked where the SQL gives NULL. None when a value of the slice is NULL or NaN
    (which a data set's NaN becomes, `Frame.from_dataset`: DuckDB reads a NumPy NaN as
    NULL, and orders NaN above every number): the caller's SQL windows take that slice,
    with their NULL rules."""
    back = max([*(w.reach for w in windows.values()), *(k for _, k in lags.values()), 0])
    days = last - first + 1
    query = exp.select("acc", "day", "value", copy=False).from_(table, copy=False).where(
        exp.and_(exp.GTE(this=exp.column("acc"), expression=S._int(lo)),
                 exp.LT(this=exp.column("acc"), expression=S._int(hi)),
                 exp.LTE(this=exp.column("day"), expression=S._int(last)), copy=False),
        copy=False)
    rows = con.execute(S._sql(query)).fetchnumpy()
    if np.ma.is_masked(rows["value"]):
        return None
    value = np.asarray(np.ma.getdata(rows["value"]), dtype=np.float64)
    if np.isnan(value).any():
        return None
    grid = _Grid(lo, hi, first - back, last, np.asarray(rows["acc"], dtype=np.int64),
                 np.asarray(rows["day"], dtype=np.int64), value)
    del rows, value
    out: dict[str, Column] = {}
    for name, w in windows.items():
        if w.since is None:
            cells, nulls = grid.running(w)
            out[name] = _flat(cells[back:], None if nulls is None else nulls[back:])
        else:
            out[name] = _flat(*grid.framed(w, back, days))
    for name, (total, k) in lags.items():
        cells, nulls = grid.running(windows[total])
        at = slice(back - k, back - k + days)
        out[name] = _flat(cells[at], None if nulls is None else nulls[at])
    return out


def _flat(cells: _Cells, nulls: _Nulls) -> Column:
    """A column in (day, account) order (a view of a block of whole rows), masked where
    NULL."""
    flat = cells.reshape(-1)
    if nulls is None or not nulls.any():
        return flat
    return np.ma.masked_array(flat, mask=nulls.reshape(-1))
