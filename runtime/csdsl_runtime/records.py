"""The domain records a run creates and a host reads back: CTAs, tasks, success plans.

Plain data, no SQL: the actions build them (`actions.ActionBuilder`), the stores write
and read them (`stores.sql.SqlStore`), and `to_json` gives the objects of
`csdsl ctas --format json` and `csdsl plans --format json` (RUNTIME.md). `RunState` is
what a run needs to know about earlier runs before it acts, as the store was on its day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

PLAN_STATUSES: Final = ("active", "on_hold", "completed", "cancelled")
OPEN_PLAN_STATUSES: Final = ("active", "on_hold")
CTA_OUTCOMES: Final = ("success", "not_valid", "resolved", "retired")
RETIRED: Final = "retired"
"""The outcome of a CTA closed because its rule left the spec (`csdsl retire`)."""


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
    timing: TaskTiming | None = None
    """How the task's dates were made, so that completing a task it comes after can
    re-time it (None: not re-timed)."""

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
    category: str | None = None  # a plan objective's `category`
    criteria: str | None = None  # a plan objective's `success "..."`: what done means

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
            "category": self.category, "success_criteria": self.criteria,
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
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "rule": self.rule, "account_id": self.account_id,
            "plan": self.plan, "title": self.title, "owner": self.owner,
            "status": self.status, "created": self.created.isoformat(),
            "due": self.due.isoformat(),
            "closed": self.closed.isoformat() if self.closed else None,
            "spec_hash": self.spec_hash, "description": self.description,
            "objectives": [o.to_json() for o in self.objectives],
        }


@dataclass(slots=True, frozen=True)
class TaskTiming:
    """A task's schedule rule: it starts on `earliest` or when the tasks of its CTA in
    `after` are done (or due), whichever is later, and is due `duration` days after
    its start, counted in `calendar` (`calendar`, `business`, or `business REGION`)."""

    earliest: date
    duration: int
    after: tuple[str, ...]
    calendar: str

    def row(self) -> tuple[Any, ...]:
        """The store's columns: earliest, duration, after (keys joined by spaces), calendar."""
        return (self.earliest, self.duration, " ".join(self.after), self.calendar)


@dataclass(slots=True)
class TaskColumns:
    """One playbook task over a batch's CTAs: its dates once, a title, owner and
    description per CTA."""

    key: str
    type: str
    priority: str
    start: date
    due: date
    titles: list[str] = field(default_factory=list)
    owners: list[str | None] = field(default_factory=list)
    descriptions: list[str | None] = field(default_factory=list)
    timing: TaskTiming | None = None


@dataclass(slots=True)
class CtaColumns:
    """The CTAs one action of one rule opens, as columns: what every CTA shares once, an
    account, title and owner per CTA, and the playbook's tasks."""

    rule: str
    action: int
    type: str
    priority: str
    created: date
    due: date
    spec_hash: str
    reason: str | None
    playbook: str | None
    accounts: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    owners: list[str | None] = field(default_factory=list)
    tasks: list[TaskColumns] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.accounts)

    def records(self) -> list[CtaRecord]:
        """The same CTAs as records (a store without a bulk path, tests)."""
        return [
            CtaRecord(
                rule=self.rule, account_id=account, action=self.action, type=self.type,
                title=self.titles[k], priority=self.priority, owner=self.owners[k],
                created=self.created, due=self.due, spec_hash=self.spec_hash,
                reason=self.reason, playbook=self.playbook,
                tasks=[TaskRecord(key=t.key, title=t.titles[k], owner=t.owners[k], type=t.type,
                                  priority=t.priority, start=t.start, due=t.due,
                                  description=t.descriptions[k], timing=t.timing)
                       for t in self.tasks])
            for k, account in enumerate(self.accounts)
        ]


@dataclass(slots=True)
class RunState:
    """What the store knows before a run, for the rules being run."""

    open_ctas: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    open_plans: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    last_closed: dict[tuple[str, str], date] = field(default_factory=dict)
    # closed CTAs whose success is still undecided: (id, rule, account_id, created)
    pending_success: list[tuple[int, str, str, date]] = field(default_factory=list)
    pool_cursors: dict[str, int] = field(default_factory=dict)
    # (rule, account) with a CTA or plan that was open on the as-of day but is closed now
    # (closed later), or that was created after that day (a backfill): counted as open,
    # never closed or scored by this run
    covered: set[tuple[str, str]] = field(default_factory=set)
    # (rule, account) whose CTA or plan closed on that day, the rule not re-armed since
    disarmed: dict[tuple[str, str], date] = field(default_factory=dict)
    # (rule, account) -> the days a CTA or plan of the rule was created for it, within
    # the rule's `at most N every D d` window (rules with one only)
    enrolments: dict[tuple[str, str], list[date]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """Nothing in it: a first run's state."""
        return not (self.open_ctas or self.open_plans or self.covered or self.last_closed
                    or self.pending_success or self.disarmed or self.enrolments)

    def is_open(self, rule: str, account_id: str) -> bool:
        key = (rule, account_id)
        return key in self.open_ctas or key in self.open_plans or key in self.covered


@dataclass(slots=True, frozen=True)
class OpenWork:
    """What one rule has open in a store: CTAs (plan objectives included) and plans."""

    ctas: int = 0
    plans: int = 0

    def describe(self) -> str:
        """`3 CTAs`, `1 CTA, 1 plan`."""
        parts = [f"{self.ctas} CTA{'' if self.ctas == 1 else 's'}"]
        if self.plans:
            parts.append(f"{self.plans} plan{'' if self.plans == 1 else 's'}")
        return ", ".join(parts)
