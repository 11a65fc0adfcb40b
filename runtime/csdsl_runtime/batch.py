"""Opening CTAs in bulk: a rule's new CTAs and their tasks as columns, not records.

A first run opens hundreds of thousands of CTAs. Most of what they hold depends on the
rule and the day only: the type, priority, created and due dates, every task's start
and due date (business days or not), the reason. Those are computed once per rule
(`CtaColumns` keeps them once). What depends on the account (the title, the owner, each
task's title, owner and description) is computed per CTA from `AccountColumns`: field
values and team members as columns aligned with the run's account ids, so that no
`AccountData` is made for an account unless a template needs Jinja for it, and a plain
substitution (`{{ account.name }}`) reads the column directly (`Renderer.render_rows`).
The store writes the columns in bulk (`Store.insert_cta_columns`).

The result is what `actions.ActionBuilder.cta` builds account by account, the reference
that plans still use: the same strings, owners, dates, pool rotation (accounts in run
order, each account's CTA owner before its tasks' owners, actions in spec order),
fallback and unassigned counts and template counts. Tests hold the two paths together.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from csdsl_runtime import artifact as A
from csdsl_runtime.actions import (
    DEFAULT_CTA_DAYS,
    GAP_ACCOUNTS,
    ActionBuilder,
    place,
    task_timing,
    template_context,
)
from csdsl_runtime.data import AccountData, Dataset, Value
from csdsl_runtime.dates import add_days
from csdsl_runtime.records import CtaColumns, PlanRecord, TaskColumns
from csdsl_runtime.templates import DESCRIPTION_LIMIT, TITLE_LIMIT
from csdsl_runtime.vocabulary import (
    ACCOUNT_ID_ATTRIBUTE,
    RULE_TEMPLATE_ATTRIBUTES,
    TEMPLATE_ROOTS,
)

if TYPE_CHECKING:
    from csdsl_runtime.frame import Frame

_ACCOUNT_ROOT, _RULE_ROOT, _ASOF_ROOT = TEMPLATE_ROOTS
_RULE_NAME, _RULE_TITLE = RULE_TEMPLATE_ATTRIBUTES


class AccountColumns:
    """A run's accounts as columns aligned with `ids`: each field's values (None when
    missing) and each role's user, loaded when first read; `record(row)` is the account
    as `AccountData`, for the few paths that need one (Jinja, plans)."""

    def __init__(self, ids: list[str], schema: A.DataSchema,
                 load_field: Callable[[int], Sequence[Value | None]],
                 load_role: Callable[[str], Sequence[str | None]],
                 record: Callable[[int], AccountData] | None = None) -> None:
        self.ids = ids
        self.schema = schema
        self._index = {f.name: i for i, f in enumerate(schema.account)}
        self._load_field = load_field
        self._load_role = load_role
        self._record = record
        self._fields: dict[str, Sequence[Value | None]] = {}
        self._roles: dict[str, Sequence[str | None]] = {}
        self._made: tuple[int, AccountData] | None = None  # the last record made
        self._positions: dict[str, int] | None = None

    @property
    def index(self) -> dict[str, int]:
        """Each id's position, made once: every run over these columns (a backtest's
        ninety) looks the store's accounts up in it."""
        if self._positions is None:
            self._positions = {account: i for i, account in enumerate(self.ids)}
        return self._positions

    @classmethod
    def of_dataset(cls, dataset: Dataset, schema: A.DataSchema) -> AccountColumns:
        accounts = list(dataset.accounts.values())
        return cls(
            [a.id for a in accounts], schema,
            lambda i: [a.fields.get(schema.account[i].name) for a in accounts],
            lambda role: [a.team.get(role) for a in accounts],
            accounts.__getitem__)

    @classmethod
    def of_frame(cls, frame: Frame) -> AccountColumns:
        """Columns fetched as NumPy arrays, a value converted when read: a million
        accounts' fields as Python objects held 10 bytes of overhead per byte."""
        con, schema, n = frame.con, frame.schema, len(frame.ids)

        def load_field(i: int) -> Sequence[Value | None]:
            if schema.account[i].type in ("text", "enum"):
                return _Dictionary(con, f"SELECT acc, f{i} AS v FROM accounts", n)
            column = con.execute(f"SELECT f{i} FROM accounts ORDER BY acc").fetchnumpy()[f"f{i}"]
            return _Column(schema.account[i].type, column)

        def load_role(role: str) -> Sequence[str | None]:
            return _Dictionary(con, 'SELECT acc, "user" AS v FROM team WHERE role = ?', n,
                               [role])

        return cls(frame.ids, schema, load_field, load_role)

    def field(self, name: str) -> Sequence[Value | None] | None:
        """The values of a declared field by row, None for a name that is not one."""
        i = self._index.get(name)
        if i is None:
            return None
        values = self._fields.get(name)
        if values is None:
            values = self._fields[name] = self._load_field(i)
        return values

    def role(self, role: str) -> Sequence[str | None]:
        users = self._roles.get(role)
        if users is None:
            users = self._roles[role] = self._load_role(role)
        return users

    def team(self, row: int) -> _TeamAt:
        return _TeamAt(self, row)

    def record(self, row: int) -> AccountData:
        """The account at `row` as `AccountData`, made from the columns; the last one is
        kept (a CTA's tasks render from the same record), not every one: a first run
        renders hundreds of thousands."""
        if self._record is not None:
            return self._record(row)
        if self._made is not None and self._made[0] == row:
            return self._made[1]
        fields = {f.name: value for f in self.schema.account
                  if (value := (self.field(f.name) or ())[row]) is not None}
        team = {r.name: user for r in self.schema.roles
                if (user := self.role(r.name)[row]) is not None}
        made = AccountData(self.ids[row], fields, team)
        self._made = (row, made)
        return made


class _TeamAt:
    """One account's team, read from the role columns (`actions.Team`)."""

    __slots__ = ("columns", "row")

    def __init__(self, columns: AccountColumns, row: int) -> None:
        self.columns = columns
        self.row = row

    def get(self, role: str, /) -> str | None:
        return self.columns.role(role)[self.row]


class _Lazy(Sequence[Any]):
    """A column whose values are converted when read (`at`), by row or slice."""

    __slots__ = ()

    @abstractmethod
    def at(self, row: Any) -> Any:
        """The value at one row."""

    def __getitem__(self, row: Any) -> Any:
        if isinstance(row, slice):
            return [self.at(i) for i in range(*row.indices(len(self)))]
        return self.at(row)


class _Column(_Lazy):
    """A fetched DuckDB column of numbers, dates or bools (a masked NumPy array) read as
    the values `AccountData` holds: None when missing, else converted when read."""

    __slots__ = ("convert", "data", "missing")

    def __init__(self, kind: str, column: Any) -> None:
        self.data = np.ma.getdata(column)
        self.missing = np.ma.getmaskarray(column)
        self.convert: Callable[[Any], Value] = float if kind == "number" else \
            _from_ordinal if kind == "date" else bool

    def at(self, row: Any) -> Any:
        return None if self.missing[row] else self.convert(self.data[row])

    def __len__(self) -> int:
        return len(self.data)


class _Dictionary(_Lazy):
    """A text column by account (`acc`, `v` from `query`, at most one row per account)
    as each distinct string once and an index per account: segments, regions and team
    members repeat over a million accounts, and a Python string per row held hundreds
    of megabytes. The index is the string's rank among the distinct values, in the
    order DuckDB sorts both."""

    __slots__ = ("codes", "values")

    def __init__(self, con: Any, query: str, n: int, params: list[Any] | None = None
                 ) -> None:
        present = f"FROM ({query}) WHERE v IS NOT NULL"
        self.values: list[str | None] = [str(v) for (v,) in con.execute(
            f"SELECT DISTINCT v {present} ORDER BY v", params or []).fetchall()]
        self.values.append(None)  # code -1
        found = con.execute(f"SELECT acc, CAST(dense_rank() OVER (ORDER BY v) - 1 AS INTEGER)"
                            f" AS k {present}", params or []).fetchnumpy()
        self.codes = np.full(n, -1, dtype=np.int32)
        self.codes[np.asarray(found["acc"], dtype=np.int64)] = found["k"]

    def at(self, row: Any) -> Any:
        return self.values[self.codes[row]]

    def __len__(self) -> int:
        return len(self.codes)


def _take(column: Sequence[Any], at: np.ndarray) -> np.ndarray:
    """The values of a column at positions `at`, as an object array."""
    if isinstance(column, _Dictionary):
        picked: np.ndarray = np.asarray(column.values, dtype=object)[column.codes[at]]
        return picked
    out = np.empty(len(at), dtype=object)
    out[:] = [column[i] for i in at.tolist()]
    return out


def _from_ordinal(value: Any) -> date:
    return date.fromordinal(int(value))


class _Same(Sequence[Any]):
    """One value at every row (what a `rule.` or `asof` read prints)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __getitem__(self, row: Any) -> Any:
        return self.value

    def __len__(self) -> int:
        return 1


class BatchBuilder:
    """Builds what a rule opens for many accounts at once, with an `ActionBuilder`'s
    owners (pool positions, counts) and renderer: the two may serve one run."""

    def __init__(self, builder: ActionBuilder, accounts: AccountColumns) -> None:
        self.builder = builder
        self.accounts = accounts
        self.schema = builder.artifact.schema_

    def open(self, rule: A.Rule, rows: Sequence[int], asof: date
             ) -> tuple[list[CtaColumns], list[PlanRecord]]:
        """The CTAs (one `CtaColumns` per CTA action) and plans that `rule` opens for the
        accounts at `rows` (positions in the account columns, in run order)."""
        builder, accounts = self.builder, self.accounts
        batches: list[tuple[CtaColumns, A.CtaAction, tuple[A.Task, ...]]] = []
        for index, action in enumerate(rule.actions):
            if isinstance(action, A.CtaAction):
                batches.append(self._shared(rule, index, action, asof))
        plans: list[PlanRecord] = []
        if len(batches) == len(rule.actions):  # CTAs only: owners as columns
            self._owners(rule, rows, batches)
        rows_by_row = rows if len(batches) < len(rule.actions) else ()
        # A plan's owners are chosen by `ActionBuilder.plan` as it builds it, so a rule
        # with a plan goes row by row in spec order: pools rotate exactly as account by
        # account (each CTA's owner, then its tasks', then the next action's).
        owners = builder.owners
        for row in rows_by_row:
            team = accounts.team(row)
            ctas = iter(batches)
            for index, action in enumerate(rule.actions):
                if not isinstance(action, A.CtaAction):
                    plans.append(builder.plan(rule, index, action, accounts.record(row), asof))
                    continue
                batch, _, tasks = next(ctas)
                owner = owners.resolve(rule.owner, team)
                if owner is None:
                    owners.note(rule.name, place(rule, index, "CTA"), rule.owner, "unassigned",
                                [accounts.ids[row]])
                batch.owners.append(owner)
                for task, column in zip(tasks, batch.tasks, strict=True):
                    column.owners.append(owners.task_owner(
                        task.owner, team, owner, rule.name,
                        place(rule, index, f"task `{task.key}`"), accounts.ids[row]))
        ids = accounts.ids
        for batch, action, tasks in batches:
            batch.accounts = [ids[row] for row in rows]
            self._render(rule, rows, asof, batch, action, tasks)
        return [batch for batch, _, _ in batches], plans

    def _owners(self, rule: A.Rule, rows: Sequence[int],
                batches: list[tuple[CtaColumns, A.CtaAction, tuple[A.Task, ...]]]) -> None:
        """Every owner of the CTAs and tasks a rule opens at `rows`, a column per slot
        (each CTA's owner, then its tasks'), with the counts and pool positions that
        resolving them account by account, slot by slot, gives (`OwnerResolver`).

        A chain resolves per slot as a column: the rows still open take a role's user
        where the account has one, a named user, or a draw from the first pool that has
        members. Draws from one pool are numbered in (row, slot) order from the pool's
        cursor, the order in which the row path draws them."""
        owners, n = self.builder.owners, len(rows)
        at = np.asarray(rows, dtype=np.int64)
        slots: list[tuple[A.Owner | None, int | None]] = []  # (chain, its CTA's slot)
        places: list[str] = []  # where each slot is, for the report
        for batch, _, tasks in batches:
            head = len(slots)
            slots.append((rule.owner, None))
            slots.extend((task.owner, head) for task in tasks)
            places.append(place(rule, batch.action, "CTA"))
            places.extend(place(rule, batch.action, f"task `{task.key}`") for task in tasks)
        chosen = np.full((n, len(slots)), None, dtype=object)
        drawn = np.full((n, len(slots)), -1, dtype=np.int64)  # the pool drawn from
        pools: list[str] = []
        for k, (chain, _) in enumerate(slots):
            pending = np.ones(n, dtype=bool)
            for choice in chain.chain if chain is not None else ():
                if choice.kind == "user":
                    chosen[pending, k] = choice.name
                    pending[:] = False
                elif choice.kind == "role":
                    users = _take(self.accounts.role(choice.name), at)
                    found = pending & (users != None) & (users != "")  # noqa: E711
                    chosen[found, k] = users[found]
                    pending &= ~found
                elif owners.pools.get(choice.name):
                    if choice.name not in pools:
                        pools.append(choice.name)
                    drawn[pending, k] = pools.index(choice.name)
                    pending[:] = False
                if not pending.any():
                    break
        for p, pool in enumerate(pools):
            flat = (drawn == p).ravel()  # row-major: the (row, slot) order
            start = owners.cursors.get(pool, 0)
            count = int(flat.sum())
            members = np.asarray(owners.pools[pool], dtype=object)
            picked = members[np.arange(start, start + count) % len(members)]
            chosen.ravel()[np.flatnonzero(flat)] = picked
            owners.cursors[pool] = start + count
        columns: list[Any] = []
        for batch, _, _ in batches:
            columns.append(batch.owners)
            columns.extend(task.owners for task in batch.tasks)
        for k, (chain, of_cta) in enumerate(slots):
            got = chosen[:, k]
            missing = got == None  # noqa: E711
            if of_cta is None:
                self._gap(rule, places[k], chain, "unassigned", missing, rows)
            elif chain is not None:  # it takes its CTA's owner, when there is one
                heads = chosen[:, of_cta] == None  # noqa: E711
                self._gap(rule, places[k], chain, "fallback", missing & ~heads, rows)
                self._gap(rule, places[k], chain, "unassigned", missing & heads, rows)
            if of_cta is not None:
                got = np.where(missing, chosen[:, of_cta], got)
            columns[k].extend(got.tolist())

    def _gap(self, rule: A.Rule, where: str, chain: A.Owner | None, outcome: str,
             missing: np.ndarray, rows: Sequence[int]) -> None:
        """Note the rows of `missing` as owner gaps (`OwnerResolver.note`)."""
        found = np.flatnonzero(missing)
        ids = self.accounts.ids
        first = [ids[rows[i]] for i in found[:GAP_ACCOUNTS].tolist()]
        self.builder.owners.note(rule.name, where, chain, outcome, first, int(found.size))

    def _shared(self, rule: A.Rule, index: int, action: A.CtaAction, asof: date
                ) -> tuple[CtaColumns, A.CtaAction, tuple[A.Task, ...]]:
        """A batch's columns with what every CTA of the action shares filled in."""
        playbook = self.builder.playbooks.get(rule.playbook) if rule.playbook else None
        tasks = playbook.tasks if playbook else ()
        calendar = playbook.calendar if playbook else "calendar"
        region = self.builder.artifact.holidays
        keys = {t.key for t in tasks}
        columns = [TaskColumns(t.key, t.type, t.priority,
                               add_days(asof, t.start, calendar, region),
                               add_days(asof, t.due, calendar, region),
                               timing=task_timing(t, asof, calendar, region, keys))
                   for t in tasks]
        if rule.due is not None:
            due = add_days(asof, rule.due, rule.due_calendar, region)
        elif columns:
            due = max(t.due for t in columns)
        else:
            due = asof + timedelta(days=DEFAULT_CTA_DAYS)
        reason = rule.reason
        if reason is not None and len(reason) > DESCRIPTION_LIMIT:
            reason = None  # cut (and counted) per CTA in `_render`
        batch = CtaColumns(rule.name, index, action.type, rule.priority, asof, due,
                           self.builder.artifact.spec_hash, reason,
                           playbook.name if playbook else None, tasks=columns)
        return batch, action, tasks

    def _render(self, rule: A.Rule, rows: Sequence[int], asof: date, batch: CtaColumns,
                action: A.CtaAction, tasks: tuple[A.Task, ...]) -> None:
        renderer = self.builder.renderer
        accounts = self.accounts
        schema = self.schema
        constants = {_RULE_ROOT: {_RULE_NAME: rule.name, _RULE_TITLE: rule.title or rule.name},
                     _ASOF_ROOT: asof.isoformat()}

        def context(row: int) -> dict[str, Any]:
            return template_context(rule, accounts.record(row), schema, asof)

        def column(root: str, attribute: str | None) -> Sequence[Any] | None:
            if attribute is not None and hasattr({}, attribute):
                return None  # Jinja reads a dict's own attribute (`items`) first
            if root == _ACCOUNT_ROOT and attribute is not None:
                return accounts.ids if attribute == ACCOUNT_ID_ATTRIBUTE else \
                    accounts.field(attribute)
            value = constants.get(root)
            if attribute is None:
                return None if value is None or isinstance(value, dict) else _Same(value)
            if not isinstance(value, dict) or attribute not in value:
                return None
            return _Same(value[attribute])

        for task, out in zip(tasks, batch.tasks, strict=True):
            out.titles = renderer.render_rows(task.title, rows, context, column,
                                              f"task `{task.key}` title", TITLE_LIMIT)
            if task.description:
                out.descriptions = list(renderer.render_rows(
                    task.description, rows, context, column,
                    f"task `{task.key}` description", DESCRIPTION_LIMIT))
            else:
                out.descriptions = [None] * len(rows)
        batch.titles = renderer.render_rows(action.title, rows, context, column, "CTA title",
                                            TITLE_LIMIT)
        if rule.reason is not None and batch.reason is None:
            cut = [renderer.plain(rule.reason, context(row), "reason", DESCRIPTION_LIMIT)
                   for row in rows]
            batch.reason = cut[0] if cut else None
