"""From a firing rule to the records to store: CTAs, tasks, plans, owners, due dates.

Pure functions of the artifact, the account and the as-of day (plus the round-robin
position of each pool), so that a dry run and a real run decide exactly the same.

- A CTA is due on its rule's `due` (calendar days); without it, on its latest task's
  due date; without tasks, 7 days after creation.
- Task dates come from the compiled offsets; business-day playbooks skip weekends.
- Owners: a chain is tried in order (role from the account team, named user, pool
  member round-robin); a task whose owner does not resolve falls back to the CTA's
  owner and is counted as a fallback.
- `then plan` opens a plan whose objectives are CTAs of type `objective`; when the
  schedule overshoots the plan's `due`, the plan is due with its last objective.
- Titles render within 500 characters, descriptions and the reason within 10,000
  (`csdsl_runtime.templates`): a template that fails keeps its text as written, a text
  too long is cut, and the record is still opened.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from csdsl_runtime import artifact as A
from csdsl_runtime.data import AccountData, Dataset
from csdsl_runtime.dates import add_days
from csdsl_runtime.records import CtaRecord, PlanRecord, TaskRecord, TaskTiming
from csdsl_runtime.templates import DESCRIPTION_LIMIT, Renderer

if TYPE_CHECKING:
    from csdsl_runtime.frame import Frame

from csdsl_runtime.vocabulary import (
    ACCOUNT_ID_ATTRIBUTE,
    OBJECTIVE_CTA_TYPE,
    RULE_TEMPLATE_ATTRIBUTES,
    TEMPLATE_ROOTS,
)

DEFAULT_CTA_DAYS = 7

# The template roots and `rule.` attributes, named once in the vocabulary (the compiler's
# template checker reads the same tuples); unpacked here so that a change there fails
# at import instead of building a different context.
_ACCOUNT_ROOT, _RULE_ROOT, _ASOF_ROOT = TEMPLATE_ROOTS
_RULE_NAME, _RULE_TITLE = RULE_TEMPLATE_ATTRIBUTES


class Team(Protocol):
    """An account's team as an owner chain reads it: the user in a role, if any."""

    def get(self, role: str, /) -> str | None: ...


@dataclass(slots=True)
class OwnerResolver:
    """Resolves owner chains for accounts; pools rotate in a stable order across runs."""

    pools: dict[str, list[str]]
    cursors: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0
    unassigned: int = 0
    gaps: dict[tuple[str, str, str, str], OwnerGap] = field(default_factory=dict)
    """Every fallback and unassigned owner by (rule, where, chain, outcome): the counts
    and the first accounts, for the run report."""

    def note(self, rule: str, where: str, owner: A.Owner | None, outcome: str,
             accounts: Sequence[str], count: int | None = None) -> None:
        """Count owners that fell back (`fallback`) or stayed empty (`unassigned`):
        `count` of them (default: one per account given), `accounts` the first ones."""
        count = len(accounts) if count is None else count
        if not count:
            return
        if outcome == "fallback":
            self.fallbacks += count
        else:
            self.unassigned += count
        chain = describe_owner(owner)
        gap = self.gaps.get((rule, where, chain, outcome))
        if gap is None:
            gap = self.gaps[(rule, where, chain, outcome)] = OwnerGap(rule, where, chain,
                                                                      outcome)
        gap.count += count
        gap.accounts.extend(accounts[:GAP_ACCOUNTS - len(gap.accounts)])

    def resolve(self, owner: A.Owner | None, team: Team) -> str | None:
        """The first choice of the chain that names somebody for an account (`team`: its
        team, role -> user)."""
        if owner is None:
            return None
        for choice in owner.chain:
            if choice.kind == "user":
                return choice.name
            if choice.kind == "role":
                user = team.get(choice.name)
                if user:
                    return user
            else:
                members = self.pools.get(choice.name)
                if members:
                    position = self.cursors.get(choice.name, 0)
                    self.cursors[choice.name] = position + 1
                    return members[position % len(members)]
        return None

    def task_owner(
        self, owner: A.Owner | None, team: Team, default: str | None,
        rule: str = "", where: str = "", account: str = "",
    ) -> str | None:
        """A task's owner: its own chain, else the CTA's owner (a fallback if it had one)."""
        if owner is None:
            return default
        user = self.resolve(owner, team)
        if user is None:  # it takes its CTA's owner, when there is one
            self.note(rule, where, owner, "fallback" if default else "unassigned", [account])
            return default
        return user


GAP_ACCOUNTS = 100
"""Accounts a run report names per owner gap (the text shows the first 5; the count
covers them all)."""


@dataclass(slots=True)
class OwnerGap:
    """Owners a chain did not find, in one place of one rule: `fallback` (a task or
    objective took its CTA's or plan's owner) or `unassigned` (nobody)."""

    rule: str
    where: str  # `CTA`, `plan`, "task `call`", "objective `kickoff`"
    chain: str  # `CSM or AE or pool Support`, `(none)`
    outcome: str
    count: int = 0
    accounts: list[str] = field(default_factory=list)

    def line(self) -> str:
        then = ("took its CTA's (or plan's) owner" if self.outcome == "fallback"
                else "left unassigned")
        more = ", ..." if self.count > 5 else ""
        return (f"{self.rule} / {self.where}: `owner {self.chain}` found nobody for "
                f"{self.count} account{'s' if self.count != 1 else ''} "
                f"({', '.join(self.accounts[:5])}{more}): {then}")


def task_timing(task: A.Task, anchor: date, calendar: str, region: str | None,
                keys: Collection[str]) -> TaskTiming | None:
    """How a task's dates follow from its anchor and the tasks before it in its CTA (an
    `after` on another objective's task stays out: only tasks of one CTA re-time); None
    for a calendar-day task after none of them, which no completion moves and a due-date
    move shifts by calendar days (its row then stores four NULLs: they cost SQLite 60%
    more per insert, over 1.75M tasks at a million accounts)."""
    after = tuple(k for k in task.after if k in keys)
    if not after and calendar != "business":
        return None  # nothing re-times it, and a due-date move counts calendar days
    counted = calendar if calendar != "business" or region is None else f"business {region}"
    return TaskTiming(add_days(anchor, task.day, calendar, region), task.due - task.start,
                      after, counted)


def place(rule: A.Rule, index: int, what: str) -> str:
    """Where in a rule an owner is looked for: `CTA`, "task `call`", with the action's
    number when the rule has several (`CTA of action 2`)."""
    return what if len(rule.actions) == 1 else f"{what} of action {index + 1}"


def describe_owner(owner: A.Owner | None) -> str:
    """An owner chain as the spec writes it: `CSM or "x@y" or pool Support`."""
    if owner is None:
        return "(none)"
    return " or ".join(c.name if c.kind == "role" else f'"{c.name}"' if c.kind == "user"
                       else f"pool {c.name}" for c in owner.chain)


def template_context(
    rule: A.Rule, account: AccountData, schema: A.DataSchema, asof: date
) -> dict[str, Any]:
    """The names a template may use: account.<field>, account.id, rule.name/title, asof."""
    values: dict[str, Any] = {f.name: account.fields.get(f.name) for f in schema.account}
    values[ACCOUNT_ID_ATTRIBUTE] = account.id
    return {
        _ACCOUNT_ROOT: values,
        _RULE_ROOT: {_RULE_NAME: rule.name, _RULE_TITLE: rule.title or rule.name},
        _ASOF_ROOT: asof.isoformat(),
    }


class ActionBuilder:
    """Builds the records a firing rule opens for an account."""

    def __init__(self, artifact: A.Artifact, dataset: Dataset | Frame,
                 cursors: dict[str, int]) -> None:
        self.artifact = artifact
        self.playbooks = {p.name: p for p in artifact.playbooks}
        self.plans = {p.name: p for p in artifact.plans}
        self.owners = OwnerResolver(dataset.pools, dict(cursors))
        self.renderer = Renderer()

    def _reason(self, rule: A.Rule, context: dict[str, Any]) -> str | None:
        """The rule's `reason`, as written, cut to DESCRIPTION_LIMIT characters."""
        if rule.reason is None:
            return None
        return self.renderer.plain(rule.reason, context, "reason", DESCRIPTION_LIMIT)

    def _tasks(
        self, rule: A.Rule, index: int, tasks: tuple[A.Task, ...], calendar: str,
        account: AccountData, asof: date, default_owner: str | None, context: dict[str, Any],
    ) -> list[TaskRecord]:
        render = self.renderer.render
        region = self.artifact.holidays
        keys = {t.key for t in tasks}
        return [
            TaskRecord(
                timing=task_timing(t, asof, calendar, region, keys),
                key=t.key,
                title=render(t.title, context, f"task `{t.key}` title"),
                owner=self.owners.task_owner(t.owner, account.team, default_owner,
                                             rule.name, place(rule, index, f"task `{t.key}`"),
                                             account.id),
                type=t.type,
                priority=t.priority,
                start=add_days(asof, t.start, calendar, self.artifact.holidays),
                due=add_days(asof, t.due, calendar, self.artifact.holidays),
                description=render(t.description, context, f"task `{t.key}` description",
                                   DESCRIPTION_LIMIT) if t.description else None,
            )
            for t in tasks
        ]

    def playbook_tasks(self, rule: A.Rule, index: int, playbook: A.Playbook,
                       account: AccountData, anchor: date, owner: str | None
                       ) -> list[TaskRecord]:
        """A playbook's tasks for one CTA of `rule` created on `anchor` (the dates it
        would have had), owners resolved as for a new CTA."""
        context = template_context(rule, account, self.artifact.schema_, anchor)
        return self._tasks(rule, index, playbook.tasks, playbook.calendar, account, anchor,
                           owner, context)

    def cta(
        self, rule: A.Rule, index: int, action: A.CtaAction, account: AccountData, asof: date
    ) -> CtaRecord:
        """A CTA for a firing rule, with its playbook's tasks."""
        context = template_context(rule, account, self.artifact.schema_, asof)
        owner = self.owners.resolve(rule.owner, account.team)
        if owner is None:
            self.owners.note(rule.name, place(rule, index, "CTA"), rule.owner, "unassigned",
                             [account.id])
        playbook = self.playbooks.get(rule.playbook) if rule.playbook else None
        tasks = (
            self._tasks(rule, index, playbook.tasks, playbook.calendar, account, asof, owner,
                        context)
            if playbook else []
        )
        if rule.due is not None:
            due = add_days(asof, rule.due, rule.due_calendar, self.artifact.holidays)
        elif tasks:
            due = max(t.due for t in tasks)
        else:
            due = asof + timedelta(days=DEFAULT_CTA_DAYS)
        return CtaRecord(
            rule=rule.name, account_id=account.id, action=index, type=action.type,
            title=self.renderer.render(action.title, context, "CTA title"),
            priority=rule.priority, owner=owner, created=asof, due=due,
            spec_hash=self.artifact.spec_hash, reason=self._reason(rule, context),
            playbook=playbook.name if playbook else None, tasks=tasks,
        )

    def plan(
        self, rule: A.Rule, index: int, action: A.PlanAction, account: AccountData, asof: date
    ) -> PlanRecord:
        """A success plan with one `objective` CTA per objective, tasks scheduled."""
        template = self.plans[action.plan]
        context = template_context(rule, account, self.artifact.schema_, asof)
        render = self.renderer.render
        owner = self.owners.resolve(rule.owner, account.team) or self.owners.resolve(
            template.owner, account.team
        )
        if owner is None:
            self.owners.note(rule.name, place(rule, index, "plan"),
                             rule.owner or template.owner, "unassigned", [account.id])
        calendar = template.calendar
        objectives: list[CtaRecord] = []
        for objective in template.objectives:
            objective_owner = (
                self.owners.task_owner(objective.owner, account.team, owner, rule.name,
                                       place(rule, index, f"objective `{objective.key}`"),
                                       account.id)
                if objective.owner else owner
            )
            tasks = self._tasks(
                rule, index, objective.tasks, calendar, account, asof, objective_owner, context
            )
            objectives.append(CtaRecord(
                rule=rule.name, account_id=account.id, action=index,
                type=OBJECTIVE_CTA_TYPE,
                title=render(objective.title, context, f"objective `{objective.key}` title"),
                priority=objective.priority, owner=objective_owner, created=asof,
                due=add_days(asof, objective.due, calendar, self.artifact.holidays),
                spec_hash=self.artifact.spec_hash,
                reason=self._reason(rule, context), playbook=objective.playbook,
                plan=template.name,
                objective=objective.key, tasks=tasks, category=objective.category,
                criteria=(render(objective.success, context,
                                 f"objective `{objective.key}` success", DESCRIPTION_LIMIT)
                          if objective.success else None),
            ))
        last = max((o.due for o in objectives), default=asof)
        due = (add_days(asof, template.due, calendar, self.artifact.holidays)
               if template.due is not None else last)
        due = max(due, last)  # an overshooting schedule moves the plan's due date out
        return PlanRecord(
            rule=rule.name, account_id=account.id, action=index, plan=template.name,
            title=render(template.title or template.name, context, "plan title"), owner=owner,
            created=asof, due=due, spec_hash=self.artifact.spec_hash, objectives=objectives,
            description=(render(template.description, context, "plan description",
                                DESCRIPTION_LIMIT) if template.description else None),
        )
