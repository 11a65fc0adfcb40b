"""The store's tables and operations, in SQL that both SQLite and PostgreSQL run.

Invariants live in the database, not in the host: a partial unique index allows one
open CTA per (rule, account, action) and one active plan per (rule, account, action),
and inserts use `ON CONFLICT DO NOTHING`, so two hosts running the same day create no
duplicates. A run is one transaction: killed at any point, it leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

SCHEMA_VERSION = 1

PLAN_STATUSES = ("active", "on_hold", "completed", "cancelled")
OPEN_PLAN_STATUSES = ("active", "on_hold")
CTA_OUTCOMES = ("success", "not_valid", "resolved")


class StoreError(Exception):
    """The store cannot be used (unreachable, newer schema, unknown id...)."""


@dataclass(slots=True)
class TaskRecord:
    key: str
    title: str
    owner: str | None
    type: str
    priority: str
    start: date
    due: date
    description: str | None = None
    status: str = "open"
    completed: date | None = None
    id: int | None = None
    cta_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "key": self.key, "title": self.title, "owner": self.owner,
            "type": self.type, "priority": self.priority, "description": self.description,
            "start": self.start.isoformat(), "due": self.due.isoformat(),
            "status": self.status,
            "completed": self.completed.isoformat() if self.completed else None,
        }


@dataclass(slots=True)
class CtaRecord:
    rule: str
    account_id: str
    action: int
    type: str
    title: str
    priority: str
    owner: str | None
    created: date
    due: date
    spec_hash: str
    reason: str | None = None
    playbook: str | None = None
    plan: str | None = None
    objective: str | None = None
    status: str = "open"
    outcome: str | None = None
    outcome_reason: str | None = None
    closed: date | None = None
    success: bool | None = None
    success_date: date | None = None
    plan_id: int | None = None
    id: int | None = None
    tasks: list[TaskRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The CTA object of `csdsl ctas --format json` (RUNTIME.md), tasks by due, key."""
        tasks = sorted(self.tasks, key=lambda t: (t.due, t.key))
        return {
            "id": self.id, "rule": self.rule, "account_id": self.account_id,
            "type": self.type, "title": self.title, "priority": self.priority,
            "reason": self.reason, "owner": self.owner, "status": self.status,
            "outcome": self.outcome, "outcome_reason": self.outcome_reason,
            "created": self.created.isoformat(), "due": self.due.isoformat(),
            "closed": self.closed.isoformat() if self.closed else None,
            "playbook": self.playbook, "plan": self.plan, "plan_id": self.plan_id,
            "objective": self.objective, "spec_hash": self.spec_hash,
            "success": self.success,
            "success_date": self.success_date.isoformat() if self.success_date else None,
            "tasks": [t.to_json() for t in tasks],
        }


@dataclass(slots=True)
class PlanRecord:
    rule: str
    account_id: str
    action: int
    plan: str
    title: str
    owner: str | None
    created: date
    due: date
    spec_hash: str
    status: str = "active"
    closed: date | None = None
    id: int | None = None
    objectives: list[CtaRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "rule": self.rule, "account_id": self.account_id,
            "plan": self.plan, "title": self.title, "owner": self.owner,
            "status": self.status, "created": self.created.isoformat(),
            "due": self.due.isoformat(),
            "closed": self.closed.isoformat() if self.closed else None,
            "spec_hash": self.spec_hash,
            "objectives": [o.to_json() for o in self.objectives],
        }


@dataclass(slots=True)
class RunState:
    """What the store knows before a run, for the rules being run."""

    open_ctas: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    open_plans: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    last_closed: dict[tuple[str, str], date] = field(default_factory=dict)
    # closed CTAs whose success is still undecided: (id, rule, account_id, created)
    pending_success: list[tuple[int, str, str, date]] = field(default_factory=list)
    pool_cursors: dict[str, int] = field(default_factory=dict)

    def is_open(self, rule: str, account_id: str) -> bool:
        key = (rule, account_id)
        return key in self.open_ctas or key in self.open_plans


def _ddl(dialect: str) -> list[str]:
    pk = (
        "INTEGER PRIMARY KEY"
        if dialect == "sqlite"
        else "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    )
    day = "TEXT" if dialect == "sqlite" else "DATE"
    flag = "INTEGER" if dialect == "sqlite" else "BOOLEAN"
    ref = "INTEGER" if dialect == "sqlite" else "BIGINT"
    return [
        "CREATE TABLE IF NOT EXISTS csdsl_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS csdsl_runs (
            id {pk}, asof {day} NOT NULL, spec_hash TEXT NOT NULL,
            started TEXT NOT NULL, dry_run {flag} NOT NULL, report TEXT)""",
        f"""CREATE TABLE IF NOT EXISTS csdsl_plans (
            id {pk}, rule TEXT NOT NULL, account_id TEXT NOT NULL, action INTEGER NOT NULL,
            plan TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL, owner TEXT,
            created {day} NOT NULL, due {day} NOT NULL, closed {day},
            spec_hash TEXT NOT NULL, run_id {ref})""",
        """CREATE UNIQUE INDEX IF NOT EXISTS csdsl_plans_one_active
            ON csdsl_plans (rule, account_id, action) WHERE status IN ('active', 'on_hold')""",
        f"""CREATE TABLE IF NOT EXISTS csdsl_ctas (
            id {pk}, rule TEXT NOT NULL, account_id TEXT NOT NULL, action INTEGER NOT NULL,
            type TEXT NOT NULL, title TEXT NOT NULL, priority TEXT NOT NULL, reason TEXT,
            owner TEXT, status TEXT NOT NULL, outcome TEXT, outcome_reason TEXT,
            created {day} NOT NULL, due {day} NOT NULL, closed {day},
            playbook TEXT, plan TEXT, plan_id {ref} REFERENCES csdsl_plans (id),
            objective TEXT, spec_hash TEXT NOT NULL, success {flag}, success_date {day},
            run_id {ref})""",
        """CREATE UNIQUE INDEX IF NOT EXISTS csdsl_ctas_one_open
            ON csdsl_ctas (rule, account_id, action) WHERE status = 'open' AND plan_id IS NULL""",
        "CREATE INDEX IF NOT EXISTS csdsl_ctas_rule ON csdsl_ctas (rule, account_id)",
        "CREATE INDEX IF NOT EXISTS csdsl_ctas_plan ON csdsl_ctas (plan_id)",
        f"""CREATE TABLE IF NOT EXISTS csdsl_tasks (
            id {pk}, cta_id {ref} NOT NULL REFERENCES csdsl_ctas (id), key TEXT NOT NULL,
            title TEXT NOT NULL, owner TEXT, type TEXT NOT NULL, priority TEXT NOT NULL,
            description TEXT, start {day} NOT NULL, due {day} NOT NULL,
            status TEXT NOT NULL, completed {day})""",
        "CREATE INDEX IF NOT EXISTS csdsl_tasks_cta ON csdsl_tasks (cta_id)",
        """CREATE TABLE IF NOT EXISTS csdsl_pool_cursors (
            pool TEXT PRIMARY KEY, position INTEGER NOT NULL)""",
    ]


_CTA_COLUMNS = (
    "rule, account_id, action, type, title, priority, reason, owner, status, outcome, "
    "outcome_reason, created, due, closed, playbook, plan, plan_id, objective, spec_hash, "
    "success, success_date, id"
)
_TASK_COLUMNS = (
    "key, title, owner, type, priority, start, due, description, status, completed, id, cta_id"
)
_PLAN_COLUMNS = (
    "rule, account_id, action, plan, title, owner, created, due, spec_hash, status, closed, id"
)


class SqlStore:
    """A CTA store over a DB-API connection (sqlite3 or psycopg) in autocommit mode."""

    def __init__(self, conn: Any, dialect: str, url: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.url = url
        self._in_tx = False
        self.migrate()

    # ------------------------------------------------------------ plumbing
    def _sql(self, query: str) -> str:
        return query if self.dialect == "sqlite" else query.replace("?", "%s")

    def _exec(self, query: str, params: Sequence[Any] = ()) -> Any:
        cur = self.conn.cursor()
        cur.execute(self._sql(query), params)
        return cur

    def _many(self, query: str, rows: list[Sequence[Any]]) -> None:
        if rows:
            self.conn.cursor().executemany(self._sql(query), rows)

    def _day(self, value: date | None) -> Any:
        if value is None or self.dialect != "sqlite":
            return value
        return value.isoformat()

    @staticmethod
    def _read_day(value: Any) -> date | None:
        if value is None or isinstance(value, date):
            return value
        return date.fromisoformat(value)

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[None]:
        """One atomic unit; `commit=False` rolls everything back (a dry run)."""
        if self._in_tx:
            raise StoreError("a transaction is already open on this store")
        self._exec("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        self._in_tx = True
        try:
            yield
        except BaseException:
            self._exec("ROLLBACK")
            raise
        else:
            self._exec("COMMIT" if commit else "ROLLBACK")
        finally:
            self._in_tx = False

    def migrate(self) -> None:
        """Create the tables, or check that an existing store is not from a newer csdsl."""
        with self.transaction():
            if self.dialect == "postgres":  # two hosts starting at once create tables once
                self._exec("SELECT pg_advisory_xact_lock(745021)")
            for statement in _ddl(self.dialect):
                self._exec(statement)
            row = self._exec("SELECT value FROM csdsl_meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                self._exec(
                    "INSERT INTO csdsl_meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError(
                    f"the store was created by a newer csdsl (schema {row[0]}, this one "
                    f"knows {SCHEMA_VERSION}): upgrade csdsl-runtime"
                )

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------ runs
    def start_run(self, asof: date, spec_hash: str, dry_run: bool) -> int:
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")  # noqa: UP017
        cur = self._exec(
            "INSERT INTO csdsl_runs (asof, spec_hash, started, dry_run) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            (self._day(asof), spec_hash, started, dry_run),
        )
        return int(cur.fetchone()[0])

    def finish_run(self, run_id: int, report: dict[str, Any]) -> None:
        self._exec(
            "UPDATE csdsl_runs SET report = ? WHERE id = ?",
            (json.dumps(report, sort_keys=True), run_id),
        )

    def load_state(self, rules: Sequence[str]) -> RunState:
        """Open CTAs and plans, last closes and pending success checks of these rules."""
        state = RunState()
        wanted = set(rules)
        for rule, account_id, cta_id, status, closed in self._exec(
            "SELECT rule, account_id, id, status, closed FROM csdsl_ctas "
            "WHERE plan_id IS NULL"
        ).fetchall():
            if rule not in wanted:
                continue
            key = (rule, account_id)
            if status == "open":
                state.open_ctas.setdefault(key, []).append(cta_id)
            elif closed is not None:
                day = self._read_day(closed)
                if day and (key not in state.last_closed or state.last_closed[key] < day):
                    state.last_closed[key] = day
        for rule, account_id, plan_id, status, closed in self._exec(
            "SELECT rule, account_id, id, status, closed FROM csdsl_plans"
        ).fetchall():
            if rule not in wanted:
                continue
            key = (rule, account_id)
            if status in OPEN_PLAN_STATUSES:
                state.open_plans.setdefault(key, []).append(plan_id)
            elif closed is not None:
                day = self._read_day(closed)
                if day and (key not in state.last_closed or state.last_closed[key] < day):
                    state.last_closed[key] = day
        # `success within D when` is watched from the CTA's creation, open or closed: a
        # recovery while the CTA is still open counts, and closing it stops nothing.
        for cta_id, rule, account_id, created in self._exec(
            "SELECT id, rule, account_id, created FROM csdsl_ctas "
            "WHERE success IS NULL AND plan_id IS NULL"
        ).fetchall():
            if rule in wanted:
                state.pending_success.append((cta_id, rule, account_id, self._read_day(created)))
        state.pool_cursors = dict(
            self._exec("SELECT pool, position FROM csdsl_pool_cursors").fetchall()
        )
        return state

    def save_pool_cursors(self, cursors: dict[str, int]) -> None:
        for pool, position in sorted(cursors.items()):
            self._exec(
                "INSERT INTO csdsl_pool_cursors (pool, position) VALUES (?, ?) "
                "ON CONFLICT (pool) DO UPDATE SET position = excluded.position",
                (pool, position),
            )

    # ------------------------------------------------------------ writing
    def insert_cta(self, cta: CtaRecord, run_id: int | None = None) -> int | None:
        """Insert a CTA and its tasks; None when one is already open (another host won)."""
        return self.insert_ctas([cta], run_id)[0]

    def insert_ctas(self, ctas: Sequence[CtaRecord], run_id: int | None = None) -> list[int | None]:
        """Insert CTAs with their tasks in one batch; None for each one already open.

        On PostgreSQL the batch is one pipelined `executemany` (a round trip per CTA made
        the store the slowest phase of a run); SQLite is in-process, a loop costs nothing.
        """
        query = self._sql(
            "INSERT INTO csdsl_ctas (rule, account_id, action, type, title, priority, reason, "
            "owner, status, created, due, playbook, plan, plan_id, objective, spec_hash, run_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING id"
        )
        rows = [
            (cta.rule, cta.account_id, cta.action, cta.type, cta.title, cta.priority,
             cta.reason, cta.owner, self._day(cta.created), self._day(cta.due), cta.playbook,
             cta.plan, cta.plan_id, cta.objective, cta.spec_hash, run_id)
            for cta in ctas
        ]
        ids: list[int | None] = []
        if not rows:
            return ids
        cur = self.conn.cursor()
        if self.dialect == "sqlite":
            for row in rows:
                found = cur.execute(query, row).fetchone()
                ids.append(None if found is None else int(found[0]))
        else:
            cur.executemany(query, rows, returning=True)
            while True:
                found = cur.fetchone()
                ids.append(None if found is None else int(found[0]))
                if not cur.nextset():
                    break
        tasks = []
        for cta, cta_id in zip(ctas, ids, strict=True):
            if cta_id is not None:
                cta.id = cta_id
                tasks.extend((cta_id, t) for t in cta.tasks)
        self._many(
            "INSERT INTO csdsl_tasks (cta_id, key, title, owner, type, priority, description, "
            "start, due, status, completed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (cta_id, t.key, t.title, t.owner, t.type, t.priority, t.description,
                 self._day(t.start), self._day(t.due), t.status, self._day(t.completed))
                for cta_id, t in tasks
            ],
        )
        return ids

    def insert_plan(self, plan: PlanRecord, run_id: int | None = None) -> int | None:
        """Insert a plan with its objective CTAs; None when one is already active."""
        cur = self._exec(
            "INSERT INTO csdsl_plans (rule, account_id, action, plan, title, status, owner, "
            "created, due, spec_hash, run_id) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING id",
            (plan.rule, plan.account_id, plan.action, plan.plan, plan.title, plan.owner,
             self._day(plan.created), self._day(plan.due), plan.spec_hash, run_id),
        )
        row = cur.fetchone()
        if row is None:
            return None
        plan.id = int(row[0])
        for objective in plan.objectives:
            objective.plan_id = plan.id
        self.insert_ctas(plan.objectives, run_id)
        return plan.id

    def close_ctas(
        self, ids: Sequence[int], outcome: str, day: date, reason: str | None = None
    ) -> None:
        """Close open CTAs with an outcome; their open tasks are cancelled."""
        if outcome not in CTA_OUTCOMES:
            raise StoreError(f"unknown outcome `{outcome}`: use one of {', '.join(CTA_OUTCOMES)}")
        rows = [(outcome, reason, self._day(day), i) for i in ids]
        self._many(
            "UPDATE csdsl_ctas SET status = 'closed', outcome = ?, outcome_reason = ?, closed = ? "
            "WHERE id = ? AND status = 'open'",
            rows,
        )
        self._many(
            "UPDATE csdsl_tasks SET status = 'cancelled' WHERE cta_id = ? AND status = 'open'",
            [(i,) for i in ids],
        )

    def close_plans(self, ids: Sequence[int], status: str, day: date) -> None:
        """Close plans; their objectives close too (success if completed, else not valid)."""
        outcome = "success" if status == "completed" else "not_valid"
        for plan_id in ids:
            self._exec(
                "UPDATE csdsl_plans SET status = ?, closed = ? WHERE id = ?",
                (status, self._day(day), plan_id),
            )
            objective_ids = [
                row[0] for row in self._exec(
                    "SELECT id FROM csdsl_ctas WHERE plan_id = ? AND status = 'open'", (plan_id,)
                ).fetchall()
            ]
            self.close_ctas(objective_ids, outcome, day)

    def record_success(self, cta_id: int, success: bool, day: date) -> None:
        self._exec(
            "UPDATE csdsl_ctas SET success = ?, success_date = ? WHERE id = ?",
            (success, self._day(day) if success else None, cta_id),
        )

    # ------------------------------------------------------------ host operations
    def close_cta(self, cta_id: int, outcome: str, day: date, reason: str | None = None) -> None:
        """Close one open CTA by hand with `success` or `not_valid` (with a reason)."""
        if outcome not in ("success", "not_valid"):
            raise StoreError(f"outcome must be `success` or `not_valid`, not `{outcome}`")
        if outcome == "not_valid" and not (reason or "").strip():
            raise StoreError("closing a CTA as `not_valid` needs a reason (why it was not valid)")
        with self.transaction():
            row = self._exec("SELECT status FROM csdsl_ctas WHERE id = ?", (cta_id,)).fetchone()
            if row is None:
                raise StoreError(f"no CTA with id {cta_id}")
            if row[0] != "open":
                raise StoreError(f"CTA {cta_id} is already closed")
            self.close_ctas([cta_id], outcome, day, reason)

    def complete_task(self, task_id: int, day: date) -> None:
        """Mark an open task done."""
        with self.transaction():
            row = self._exec("SELECT status FROM csdsl_tasks WHERE id = ?", (task_id,)).fetchone()
            if row is None:
                raise StoreError(f"no task with id {task_id}")
            if row[0] != "open":
                raise StoreError(f"task {task_id} is {row[0]}, not open")
            self._exec(
                "UPDATE csdsl_tasks SET status = 'done', completed = ? WHERE id = ?",
                (self._day(day), task_id),
            )

    def set_plan_status(self, plan_id: int, status: str, day: date) -> None:
        """Change a plan's status; completing or cancelling closes its objectives and tasks."""
        if status not in PLAN_STATUSES:
            raise StoreError(f"unknown plan status `{status}`: use {', '.join(PLAN_STATUSES)}")
        with self.transaction():
            row = self._exec("SELECT status FROM csdsl_plans WHERE id = ?", (plan_id,)).fetchone()
            if row is None:
                raise StoreError(f"no plan with id {plan_id}")
            if row[0] not in OPEN_PLAN_STATUSES:
                raise StoreError(f"plan {plan_id} is already {row[0]}")
            if status in OPEN_PLAN_STATUSES:
                self._exec("UPDATE csdsl_plans SET status = ? WHERE id = ?", (status, plan_id))
            else:
                self.close_plans([plan_id], status, day)

    # ------------------------------------------------------------ reading
    def _cta(self, row: Sequence[Any]) -> CtaRecord:
        (rule, account_id, action, type_, title, priority, reason, owner, status, outcome,
         outcome_reason, created, due, closed, playbook, plan, plan_id, objective, spec_hash,
         success, success_date, cta_id) = row
        return CtaRecord(
            rule=rule, account_id=account_id, action=action, type=type_, title=title,
            priority=priority, reason=reason, owner=owner, status=status, outcome=outcome,
            outcome_reason=outcome_reason, created=self._read_day(created),  # type: ignore[arg-type]
            due=self._read_day(due),  # type: ignore[arg-type]
            closed=self._read_day(closed), playbook=playbook, plan=plan, plan_id=plan_id,
            objective=objective, spec_hash=spec_hash,
            success=None if success is None else bool(success),
            success_date=self._read_day(success_date), id=cta_id,
        )

    def _tasks_of(self, ctas: dict[int, CtaRecord]) -> None:
        for row in self._exec(f"SELECT {_TASK_COLUMNS} FROM csdsl_tasks ORDER BY id").fetchall():
            (key, title, owner, type_, priority, start, due, description, status, completed,
             task_id, cta_id) = row
            cta = ctas.get(cta_id)
            if cta is not None:
                cta.tasks.append(TaskRecord(
                    key=key, title=title, owner=owner, type=type_, priority=priority,
                    start=self._read_day(start), due=self._read_day(due),  # type: ignore[arg-type]
                    description=description, status=status,
                    completed=self._read_day(completed), id=task_id, cta_id=cta_id,
                ))

    def list_ctas(
        self, status: str | None = None, account_id: str | None = None, rule: str | None = None
    ) -> list[CtaRecord]:
        """Stored CTAs (objectives included) with their tasks, by id."""
        where, params = [], []
        for column, value in (("status", status), ("account_id", account_id), ("rule", rule)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._exec(
            f"SELECT {_CTA_COLUMNS} FROM csdsl_ctas{clause} ORDER BY id", params
        ).fetchall()
        ctas = {cta.id: cta for cta in map(self._cta, rows)}
        self._tasks_of(ctas)  # type: ignore[arg-type]
        return list(ctas.values())

    def list_plans(self) -> list[PlanRecord]:
        """Stored success plans with their objective CTAs."""
        plans: dict[int, PlanRecord] = {}
        for row in self._exec(f"SELECT {_PLAN_COLUMNS} FROM csdsl_plans ORDER BY id").fetchall():
            (rule, account_id, action, plan, title, owner, created, due, spec_hash, status,
             closed, plan_id) = row
            plans[plan_id] = PlanRecord(
                rule=rule, account_id=account_id, action=action, plan=plan, title=title,
                owner=owner, created=self._read_day(created),  # type: ignore[arg-type]
                due=self._read_day(due), spec_hash=spec_hash,  # type: ignore[arg-type]
                status=status, closed=self._read_day(closed), id=plan_id,
            )
        for cta in self.list_ctas():
            if cta.plan_id in plans:
                plans[cta.plan_id].objectives.append(cta)
        return list(plans.values())

    def counts(self) -> dict[str, int]:
        """Row counts, for reports and tests."""
        return {
            table: int(self._exec(f"SELECT count(*) FROM csdsl_{table}").fetchone()[0])
            for table in ("ctas", "tasks", "plans", "runs")
        }
