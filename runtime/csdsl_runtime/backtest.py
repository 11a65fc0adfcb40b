"""Replay a spec over past days with the full lifecycle, into a throwaway store.

Each day from `start` to `end` is a real run (`Runtime.run`): re-arming, cooldowns,
`close when`, `success within`, limits and pools behave as they would have on a host
that ran every day. The data is read once. DuckDB computes the truth of every condition
for a span of days in one pass (`SqlEngine.evaluate_days`: running totals and windows
instead of a grouped pass per day), and each day's run reads its row; the interpreter,
or data whose sums must be added in day order, evaluate day by day. Nobody closes CTAs by
hand in a backtest: they close by `close when`, and otherwise stay open.

History is what the data says it is: metric and event rows carry their days, but the
account fields, team assignments and pools are today's values (the data directory has
no dated snapshots of them), so a backtest of a rule on `segment` or of an owner's load
assumes they did not change. `Backtest.caveats` says so in every output.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from csdsl_runtime import artifact as A
from csdsl_runtime.data import Dataset
from csdsl_runtime.engines import conditions_of
from csdsl_runtime.frame import Frame

__all__ = ["Backtest", "BacktestDay", "Flood", "backtest", "week_of"]

CAVEAT = ("account fields, team assignments and pools are today's values from the data: "
          "the backtest assumes they were the same on every past day")
FLOOD_FACTOR = 3.0
"""A week counts as a flood when a rule opens more than this many times its median week
(and at least `FLOOD_MINIMUM` CTAs): a change that makes a rule fire for a whole segment
shows as one such week."""
FLOOD_MINIMUM = 10
UNASSIGNED = "(unassigned)"
"""The owner of a CTA or task with none, in the load per owner."""
MEDIAN_WEEKS = 3
"""Full weeks needed before a week is compared with the rule's median one."""


@dataclass(slots=True)
class BacktestDay:
    """One replayed day: per rule, what it opened (CTAs, or plans for a plan rule) and
    the CTAs `close when` closed."""

    day: date
    opened: dict[str, int] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)
    tasks: int = 0
    limit_breaches: list[dict[str, Any]] = field(default_factory=list)
    """A day whose run would break a `limit` or `max`: it stores nothing, as on a host."""
    owners: dict[str, int] = field(default_factory=dict)
    """The CTAs the day opened per owner (`UNASSIGNED` for none), plan objectives
    included."""

    def to_json(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "opened": dict(self.opened),
                "closed": dict(self.closed), "tasks": self.tasks,
                "limit_breaches": self.limit_breaches}


@dataclass(slots=True)
class Flood:
    """A rule's week far above its usual volume, or over the budget given."""

    rule: str
    week: date
    opened: int
    median: float
    budget: int | None

    def reason(self) -> str:
        if self.budget is not None and self.opened > self.budget:
            return f"over the budget of {self.budget} per week"
        if self.median == 0:
            return "against a median week of 0"
        return f"{self.opened / self.median:.1f}x its median week ({self.median:g})"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "week": self.week.isoformat(), "opened": self.opened,
                "median": self.median, "budget": self.budget, "reason": self.reason()}


@dataclass(slots=True)
class Backtest:
    """What a spec would have done from `start` to `end`."""

    spec_hash: str
    start: date
    end: date
    accounts: int
    rules: list[str]
    days: list[BacktestDay]
    owner_load: dict[str, dict[date, dict[str, int]]]
    """Per owner, per week (its Monday): `open` CTAs at the week's end, `opened` in the
    week and `tasks_due`: open tasks due in the week, as of the last day."""
    floods: list[Flood]
    seconds: dict[str, float] = field(default_factory=dict)
    caveats: list[str] = field(default_factory=lambda: [CAVEAT])

    @property
    def backlog(self) -> dict[str, int]:
        """What the first day opens: a CTA for every account its rule is already true
        for, which a host that has been running has open already. Weeks and floods leave
        it out; `days` and `totals` keep it."""
        return dict(self.days[0].opened) if self.days else {}

    def weekly(self, what: str = "opened") -> dict[str, dict[date, int]]:
        """Per rule, per week (its Monday): the sum of `opened` (the first day's backlog
        left out) or `closed`."""
        out: dict[str, dict[date, int]] = {rule: {} for rule in self.rules}
        for week in self.weeks():
            for rule in self.rules:
                out[rule][week] = 0
        for i, day in enumerate(self.days):
            if i == 0 and what == "opened":
                continue
            week = week_of(day.day)
            for rule, n in getattr(day, what).items():
                out.setdefault(rule, {}).setdefault(week, 0)
                out[rule][week] += n
        return out

    def weeks(self) -> list[date]:
        first, last = week_of(self.start), week_of(self.end)
        return [first + timedelta(days=7 * i) for i in range((last - first).days // 7 + 1)]

    def totals(self) -> dict[str, dict[str, int]]:
        out = {rule: {"opened": 0, "closed": 0} for rule in self.rules}
        for day in self.days:
            for rule, n in day.opened.items():
                out.setdefault(rule, {"opened": 0, "closed": 0})["opened"] += n
            for rule, n in day.closed.items():
                out.setdefault(rule, {"opened": 0, "closed": 0})["closed"] += n
        return out

    def to_json(self) -> dict[str, Any]:
        opened, closed = self.weekly("opened"), self.weekly("closed")
        return {
            "spec_hash": self.spec_hash, "from": self.start.isoformat(),
            "to": self.end.isoformat(), "accounts": self.accounts,
            "days": [d.to_json() for d in self.days],
            "weeks": [{"week": w.isoformat(),
                       "opened": {r: opened[r][w] for r in self.rules if opened[r].get(w)},
                       "closed": {r: closed[r][w] for r in self.rules if closed[r].get(w)}}
                      for w in self.weeks()],
            "totals": self.totals(),
            "backlog": self.backlog,
            "owner_load": {owner: {w.isoformat(): load for w, load in sorted(weeks.items())}
                           for owner, weeks in sorted(self.owner_load.items())},
            "floods": [f.to_json() for f in self.floods],
            "caveats": self.caveats,
            "seconds": self.seconds,
        }


def week_of(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def backtest(artifact: A.Artifact, data: Dataset | Frame, start: date, end: date, *,
             engine: Any = None, budget: int | None = None, on_bad_data: str = "fail",
             progress: Callable[[date], None] | None = None) -> Backtest:
    """Replay every day from `start` to `end` (inclusive) into an in-memory SQLite store.

    `engine`: None picks the interpreter for a `Dataset` and DuckDB for a `Frame`.
    `budget`: CTAs per rule per week above which a week is a flood."""
    import time

    from csdsl_runtime.api import Runtime
    from csdsl_runtime.limits import LimitError
    from csdsl_runtime.stores.replay import ReplayStore

    if end < start:
        raise ValueError("the backtest ends before it starts")
    started = time.perf_counter()
    store = ReplayStore()
    seconds: dict[str, float] = {}
    try:
        if engine is None and isinstance(data, Frame):
            from csdsl_runtime.engines.sql import SqlEngine

            engine = SqlEngine(data)
        if engine is not None and getattr(engine, "evaluate_days", None) is not None:
            engine = _DaysEngine(engine, conditions_of(artifact, lifecycle=True), end)
        runtime = Runtime(artifact, data, store, engine=engine, on_bad_data=on_bad_data,
                          evidence=False)
        replayed: list[BacktestDay] = []
        last_id = 0
        day = start
        while day <= end:
            if progress:
                progress(day)
            replayed.append(_one_day(runtime, day, LimitError, seconds))
            last_id = _owners_of_day(store, replayed[-1], last_id)
            day += timedelta(days=1)
        seconds["days"] = round(time.perf_counter() - started, 3)
        seconds["evaluate"] = round(seconds.get("evaluate", 0.0), 3)
        load = _owner_load(store, start, end)
    finally:
        store.close()
    rules = [r.name for r in artifact.rules]
    result = Backtest(spec_hash=artifact.spec_hash, start=start, end=end,
                      accounts=len(data.accounts) if isinstance(data, Dataset) else len(
                          data.ids), rules=rules, days=replayed, owner_load=load, floods=[])
    result.floods = _floods(result, budget)
    span = _data_days(data)
    if span is not None and (start < span[0] or end > span[1]):
        result.caveats.append(
            f"the data's metric and event rows run from {span[0].isoformat()} to "
            f"{span[1].isoformat()}: on the days replayed outside that span, windows see "
            "fewer rows than a host running then would have had")
    seconds["total"] = round(time.perf_counter() - started, 3)
    result.seconds = seconds
    return result


def _data_days(data: Dataset | Frame) -> tuple[date, date] | None:
    """The first and last day of any metric or event row (None: there are none)."""
    if isinstance(data, Frame):
        tables = [*data.metrics.values(), *(t for t, _ in data.events.values())]
        if not tables:
            return None
        union = " UNION ALL ".join(f"SELECT min(day) AS lo, max(day) AS hi FROM {t}"
                                   for t in tables)
        row = data.con.execute(f"SELECT min(lo), max(hi) FROM ({union})").fetchone()
        lo, hi = (None, None) if row is None else row
    else:
        ends: list[int] = []
        for account in data.accounts.values():
            for series in account.metrics.values():
                ends += series.days[:1] + series.days[-1:]
            for events in account.events.values():
                ends += events.days[:1] + events.days[-1:]
        lo, hi = (min(ends), max(ends)) if ends else (None, None)
    if lo is None or hi is None:
        return None
    return date.fromordinal(int(lo)), date.fromordinal(int(hi))


def _owners_of_day(store: Any, day: BacktestDay, after: int) -> int:
    """Fill `day.owners` from the CTAs with an id above `after` (the store's ids grow,
    and only the backtest's runs write to it: a range of the primary key, not a scan);
    the largest id seen."""
    last = after
    for owner, n, top in store._exec(
            "SELECT owner, count(*), max(id) FROM csdsl_ctas WHERE id > ? GROUP BY owner",
            (after,)):
        day.owners[owner or UNASSIGNED] = int(n)
        last = max(last, int(top))
    return last


def _one_day(runtime: Any, day: date, limit_error: type[Exception],
             seconds: dict[str, float]) -> BacktestDay:
    out = BacktestDay(day)
    try:
        report = runtime.run(day)
    except limit_error as exc:  # the day stores nothing, as it would on a host
        out.limit_breaches = [b.to_json() for b in getattr(exc, "breaches", [])]
        return out
    # (a days engine's pass over a span of days is in the evaluation of the span's first)
    seconds["evaluate"] = seconds.get("evaluate", 0.0) + report.seconds.get("evaluate", 0.0)
    for counts in report.rules:
        if counts.opened:
            out.opened[counts.rule] = counts.opened
        if counts.auto_closed:
            out.closed[counts.rule] = counts.auto_closed
    out.tasks = report.tasks_created
    return out


def _owner_load(store: Any, start: date, end: date) -> dict[str, dict[date, dict[str, int]]]:
    """Per owner and week: CTAs opened in the week, CTAs still open at its end, and the
    tasks due in it whose CTA was open on their due day (nobody completes a task in a
    backtest). Counted by SQLite per owner and day from the backtest's own store, not
    as CTA records: a backtest of 100,000 accounts holds hundreds of thousands of them.
    Open at a week's end is created by then less closed by then (a close is never
    dated before its creation)."""
    load: dict[str, dict[date, dict[str, int]]] = defaultdict(dict)
    first = week_of(start)
    weeks = [first + timedelta(days=7 * i) for i in range((week_of(end) - first).days // 7 + 1)]
    last = weeks[-1] + timedelta(days=6)
    day = store._read_date

    def cell(owner: str, week: date) -> dict[str, int]:
        return load[owner].setdefault(week, {"opened": 0, "open": 0, "tasks_due": 0})

    # per owner and week, CTAs created (closed) in it, the weeks before the first in it
    created: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    closed: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for owner, when, n in store._exec(
            "SELECT owner, created, count(*) FROM csdsl_ctas GROUP BY owner, created"):
        owner, opened = owner or UNASSIGNED, day(when)
        if first <= opened <= last:
            cell(owner, week_of(opened))["opened"] += int(n)
        created[owner][max(first, week_of(opened))] += int(n)
    for owner, when, n in store._exec(
            "SELECT owner, closed, count(*) FROM csdsl_ctas WHERE closed IS NOT NULL "
            "GROUP BY owner, closed"):
        closed[owner or UNASSIGNED][max(first, week_of(day(when)))] += int(n)
    for owner, by_week in created.items():
        still = 0
        for week in weeks:
            still += by_week.get(week, 0) - closed[owner].get(week, 0)
            if still:
                cell(owner, week)["open"] = still
    # due that week with its CTA still open then: `close when` cancels the tasks of the
    # CTAs it closes, and a task due before that was still someone's load
    for task_owner, cta_owner, due, n in store._exec(
            "SELECT t.owner, c.owner, t.due, count(*) FROM csdsl_tasks t JOIN csdsl_ctas c "
            "ON c.id = t.cta_id WHERE t.status IN ('open', 'cancelled') AND t.due >= ? AND "
            "t.due <= ? AND (c.closed IS NULL OR c.closed > t.due) GROUP BY 1, 2, 3",
            (store._day(first), store._day(last))):
        owner = task_owner or cta_owner or UNASSIGNED
        cell(owner, week_of(day(due)))["tasks_due"] += int(n)
    return dict(load)


def _floods(result: Backtest, budget: int | None) -> list[Flood]:
    """Weeks over the budget, or far above the rule's median *full* week: a week cut by
    the range's ends (or holding only the first day's backlog) would pull the median
    down, and fewer than `MEDIAN_WEEKS` full weeks are too few to call one unusual."""
    floods: list[Flood] = []
    full = set(_full_weeks(result))
    for rule, weeks in result.weekly("opened").items():
        volumes = [n for week, n in weeks.items() if week in full]
        median = float(statistics.median(volumes)) if volumes else 0.0
        for week, n in weeks.items():
            over_budget = budget is not None and n > budget
            spike = len(volumes) >= MEDIAN_WEEKS and n >= FLOOD_MINIMUM and (
                n > FLOOD_FACTOR * max(median, 1.0))
            if over_budget or spike:
                floods.append(Flood(rule, week, n, median, budget))
    return sorted(floods, key=lambda f: (f.week, -f.opened, f.rule))


def _full_weeks(result: Backtest) -> list[date]:
    """The weeks whose seven days all lie in the range, after its first day (the
    backlog)."""
    first = result.start + timedelta(days=1)
    return [w for w in result.weeks() if w >= first and w + timedelta(days=6) <= result.end]


SPAN_CELLS = 250_000_000
"""Truth codes held at once by the days engine (conditions x accounts x days, a byte
each): the days of a backtest are computed in spans that fit."""


class _DaysEngine:
    """An engine whose `evaluate_columns` answers from truth columns computed for a span
    of days at once by `evaluate_days`; what it did not compute (another condition, a
    day outside the backtest, data the one-pass plan leaves to the one-day plan) goes to
    the engine itself."""

    def __init__(self, inner: Any, conditions: dict[str, A.Expr], end: date) -> None:
        self._inner = inner
        self._conditions = conditions
        self._end = end
        self._first: date | None = None
        self._span: dict[str, Any] | None = None
        self._failed = False
        self.name = inner.name
        self.ids = inner.ids

    def _columns(self, asof: date) -> dict[str, Any] | None:
        if self._failed:
            return None
        span = self._span
        if span is None or self._first is None or not (
                0 <= (asof - self._first).days < next(iter(span.values())).shape[0]):
            cells = max(1, len(self.ids) * max(1, len(self._conditions)))
            days = max(1, min((self._end - asof).days + 1, SPAN_CELLS // cells))
            span = self._inner.evaluate_days(self._conditions, asof,
                                             asof + timedelta(days=days - 1))
            if span is None or not span:
                self._failed = True
                return None
            self._span, self._first = span, asof
        assert self._first is not None
        at = (asof - self._first).days
        return {key: by_day[at] for key, by_day in span.items()}

    def evaluate_columns(self, conditions: Any, asof: date) -> dict[str, Any]:
        have = self._columns(asof) if asof <= self._end else None
        if have is not None and all(key in have for key in conditions):
            return {key: have[key] for key in conditions}
        return dict(self._inner.evaluate_columns(conditions, asof))

    def evaluate(self, conditions: Any, asof: date, accounts: Any = None) -> Any:
        return self._inner.evaluate(conditions, asof, accounts)
