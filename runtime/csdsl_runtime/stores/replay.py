"""A throwaway in-memory store for one replay that goes forward in time (`csdsl backtest`).

`SqlStore.load_state` reads every CTA and plan of the store's history at the start of
every run: right for a host, whose store others write to, but a backtest of 90 days of
100,000 accounts then re-reads a growing store 90 times (most of a replay's time after
the evaluation). `ReplayStore` keeps that state between runs instead. Temporary triggers
(on this connection only, rolled back with the run that fired them) note the id of every
CTA and plan row inserted, updated or deleted; the next `load_state` reads back those
rows only and updates the state of their (rule, account) keys from the rows it holds.
Whatever the writer (a run, a close, a retirement), a changed row is re-read: nothing
depends on which store methods a run calls. Other triggers count the open CTAs and
plans per rule and spec version, which every run reports (rules no longer in the spec,
CTAs of earlier versions) and a store otherwise groups its whole tables for.

The state kept is that of the newest day the rows carry. A `load_state` for an earlier
day than a row's creation or close (a backfill), or without a day, reads the store in
full as `SqlStore` does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from csdsl_runtime.records import OPEN_PLAN_STATUSES, OpenWork, RunState
from csdsl_runtime.stores.sql import SqlStore
from csdsl_runtime.stores.sqlite import connect_sqlite

__all__ = ["ReplayStore"]

_TOUCHED = "csdsl_replay_touched"
_TRIGGERS = [
    f"CREATE TEMP TABLE {_TOUCHED} (kind TEXT NOT NULL, id INTEGER NOT NULL)",
    *(f"CREATE TEMP TRIGGER csdsl_replay_{table}_{event} AFTER {event.upper()} ON {table} "
      f"BEGIN INSERT INTO {_TOUCHED} (kind, id) VALUES ('{table}', {row}.id); END"
      for table in ("csdsl_ctas", "csdsl_plans")
      for event, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD"))),
]
# Open CTAs (objectives included) and open plans per rule and spec version, counted as
# rows change: what `open_work_by_rule` and `open_under_other_specs` group the whole
# tables for on every run.
_OPEN = "csdsl_replay_open"
_PLAN_OPEN = ", ".join(f"'{status}'" for status in OPEN_PLAN_STATUSES)
_IS_OPEN = {"csdsl_ctas": "{row}.status = 'open'",
            "csdsl_plans": "{row}.status IN (" + _PLAN_OPEN + ")"}
_COUNTERS = [
    f"CREATE TEMP TABLE {_OPEN} (kind TEXT NOT NULL, rule TEXT NOT NULL, spec_hash TEXT "
    "NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, rule, spec_hash))",
    *(f"CREATE TEMP TRIGGER csdsl_replay_{table}_{event}_{sign} AFTER {event.upper()} ON "
      f"{table} WHEN {_IS_OPEN[table].format(row=row)} BEGIN INSERT INTO {_OPEN} (kind, "
      f"rule, spec_hash, n) VALUES ('{table}', {row}.rule, {row}.spec_hash, {step}) ON "
      f"CONFLICT (kind, rule, spec_hash) DO UPDATE SET n = n + {step}; END"
      for table in ("csdsl_ctas", "csdsl_plans")
      for event, row, step, sign in (("insert", "NEW", 1, "in"), ("delete", "OLD", -1, "out"),
                                     ("update", "OLD", -1, "was"),
                                     ("update", "NEW", 1, "now"))),
]
_ROWS = {  # what `SqlStore.load_state` reads of each table (objectives are no CTA of it)
    "csdsl_ctas": "SELECT r.id, r.rule, r.account_id, r.status, r.created, r.closed, "
                  "r.success IS NULL FROM csdsl_ctas r{touched} WHERE r.plan_id IS NULL",
    "csdsl_plans": "SELECT r.id, r.rule, r.account_id, r.status, r.created, r.closed, 0 "
                   "FROM csdsl_plans r{touched}",
}

Row = tuple[str, str, bool, date, "date | None", bool]
"""(rule, account, open, created, closed, success undecided) of a CTA or plan."""


@dataclass(slots=True)
class _Table:
    """The rows of one table that `load_state` reads, and the state built from them."""

    opened: Collection[str]  # the statuses that count as open
    rows: dict[int, Row] = field(default_factory=dict)
    keys: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    open: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    last_closed: dict[tuple[str, str], date] = field(default_factory=dict)
    pending: dict[int, tuple[int, str, str, date]] = field(default_factory=dict)
    latest: date = date.min  # the newest creation or close of any row

    def update(self, found: Iterable[tuple[Any, ...]], gone: Iterable[int], read_day: Any,
               wanted: Collection[str], watched: Collection[str]) -> None:
        """Take in re-read rows (`found`) and deleted ones (`gone`), then rebuild the
        state of each (rule, account) key they belong to."""
        changed: set[tuple[str, str]] = set()
        for row_id in gone:
            old = self.rows.pop(row_id, None)
            if old is not None:
                key = (old[0], old[1])
                self.keys[key].discard(row_id)
                changed.add(key)
            self.pending.pop(row_id, None)
        for row_id, rule, account_id, status, created, closed, undecided in found:
            if rule not in wanted:
                continue
            row_id = int(row_id)
            day = read_day(created)
            shut = None if closed is None else read_day(closed)
            self.rows[row_id] = (rule, account_id, status in self.opened, day, shut,
                                 bool(undecided))
            key = (rule, account_id)
            self.keys.setdefault(key, set()).add(row_id)
            changed.add(key)
            self.latest = max(self.latest, day, shut or day)
            if undecided and rule in watched:
                self.pending[row_id] = (row_id, rule, account_id, day)
            else:
                self.pending.pop(row_id, None)
        for key in changed:
            ids = sorted(self.keys.get(key, ()))
            opened = [i for i in ids if self.rows[i][2]]
            closes = [shut for i in ids if not self.rows[i][2]
                      and (shut := self.rows[i][4]) is not None]
            if opened:
                self.open[key] = opened
            else:
                self.open.pop(key, None)
            if closes:
                self.last_closed[key] = max(closes)
            else:
                self.last_closed.pop(key, None)
            if not ids:
                self.keys.pop(key, None)


class ReplayStore(SqlStore):
    """An in-memory SQLite store that keeps the run state between forward runs."""

    def __init__(self) -> None:
        super().__init__(connect_sqlite("sqlite:///:memory:"), "sqlite", "sqlite:///:memory:")
        for statement in (*_TRIGGERS, *_COUNTERS):
            self._exec(statement)
        self._tables: dict[str, _Table] | None = None
        self._asked: tuple[Any, ...] | None = None

    def load_state(self, rules: Sequence[str], asof: date | None = None,
                   scored: Collection[str] | None = None,
                   windows: Mapping[str, int] | None = None) -> RunState:
        wanted = frozenset(rules)
        watched = wanted if scored is None else wanted & frozenset(scored)
        asked = (wanted, watched)
        if self._tables is None or asked != self._asked:
            self._exec(f"DELETE FROM {_TOUCHED}")
            self._tables = {"csdsl_ctas": _Table(("open",)),
                            "csdsl_plans": _Table(OPEN_PLAN_STATUSES)}
            self._asked = asked
            for name, table in self._tables.items():
                table.update(self._exec(_ROWS[name].format(touched="")), (), self._read_date,
                             wanted, watched)
        else:
            self._catch_up(wanted, watched)
        ctas, plans = self._tables["csdsl_ctas"], self._tables["csdsl_plans"]
        if asof is None or asof < max(ctas.latest, plans.latest):
            return super().load_state(rules, asof, scored, windows)  # a backfill: in full
        state = RunState(open_ctas=dict(ctas.open), open_plans=dict(plans.open),
                         pending_success=list(ctas.pending.values()))
        state.last_closed = dict(ctas.last_closed)
        for key, day in plans.last_closed.items():
            if key not in state.last_closed or state.last_closed[key] < day:
                state.last_closed[key] = day
        state.pool_cursors = dict(
            self._exec("SELECT pool, position FROM csdsl_pool_cursors").fetchall())
        for rule, account_id, closed in self._exec(
                "SELECT rule, account_id, closed FROM csdsl_arming"):
            day = self._read_date(closed)
            if rule in wanted and day <= asof:
                state.disarmed[(rule, account_id)] = day
        if windows:
            self._enrolments(state, windows, asof)
        return state

    def open_work_by_rule(self) -> dict[str, OpenWork]:
        """As `SqlStore.open_work_by_rule`, from the counts the triggers keep."""
        counts: dict[str, dict[str, int]] = {}
        for kind, rule, n in self._exec(
                f"SELECT kind, rule, sum(n) FROM {_OPEN} GROUP BY kind, rule HAVING sum(n) > 0"):
            counts.setdefault(str(rule), {})[str(kind)] = int(n)
        return {rule: OpenWork(ctas=got.get("csdsl_ctas", 0), plans=got.get("csdsl_plans", 0))
                for rule, got in sorted(counts.items())}

    def open_under_other_specs(self, spec_hash: str) -> dict[str, dict[str, int]]:
        """As `SqlStore.open_under_other_specs`, from the counts the triggers keep."""
        found: dict[str, dict[str, int]] = {}
        for other, rule, n in self._exec(
                f"SELECT spec_hash, rule, n FROM {_OPEN} WHERE kind = 'csdsl_ctas' AND n > 0 "
                "AND spec_hash <> ? ORDER BY spec_hash, rule", (spec_hash,)):
            found.setdefault(str(other), {})[str(rule)] = int(n)
        return found

    def _catch_up(self, wanted: Collection[str], watched: Collection[str]) -> None:
        """Re-read the rows changed since the last `load_state`, and forget them."""
        assert self._tables is not None
        for name, table in self._tables.items():
            touched = self._exec(f"SELECT DISTINCT id FROM {_TOUCHED} WHERE kind = ?",
                                 (name,)).fetchall()
            if not touched:
                continue
            found = self._exec(_ROWS[name].format(touched=(
                f" JOIN (SELECT DISTINCT id FROM {_TOUCHED} WHERE kind = '{name}') t "
                "ON t.id = r.id"))).fetchall()
            present = {int(row[0]) for row in found}
            # a row deleted, or become a plan's objective: out of the state
            table.update(found, (int(i) for (i,) in touched if int(i) not in present),
                         self._read_date, wanted, watched)
        self._exec(f"DELETE FROM {_TOUCHED}")
