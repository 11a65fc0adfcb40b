"""The artifact verifier: what the compiler proved, proved again before a host runs it.

`spec_hash` only says that an artifact was not edited *by accident*: anyone can
recompute it. So, like a bytecode verifier, the runtime checks at load time everything
it relies on, and refuses (`ArtifactError`) an artifact the compiler would not have
written:

- every reference resolves: a rule's playbook and plans, an objective's playbook, the
  tasks of an `after` (in the same playbook; in a plan `objective.task` keys of the same
  plan), the objectives of an objective's `after`, the critical paths, the owners' roles
  (pools are read from the data at run time: a pool name is only checked to be a name),
  and in conditions the metrics, events, account fields and event fields (an
  `event_field` only inside `exists.where`, naming a field of that event);
- names are names (`[A-Za-z_][A-Za-z0-9_]*`) and unique where the compiler makes them
  unique: one namespace for metrics, events, roles, playbooks, plans and rules; one for
  account fields, metrics and events (the names conditions read); the fields of an
  event, the values of an enum, the tasks of a playbook or an objective, the objectives
  of a plan;
- every condition types as the compiler's checker types it (`csdsl/semantic/types.py`):
  numbers with numbers, text and enums compared only with `==` / `!=` (a text literal
  against an enum must be one of its values), dates with dates, booleans only with
  `==` / `!=`, arithmetic and `-` on numbers, `and` / `or` (two arguments or more) and
  `not` on booleans, `in` with literals of the argument's type, `days_until` /
  `days_since` of a date field, and `when`, `close_when`, `success.when` and
  `exists.where` true or false; a literal's value is of its type (a `date` literal is a
  real YYYY-MM-DD date, a number is finite);
- day counts are in range: windows 1 to 36,500 days (`MAX_DAYS`, as the parser's);
  a task's `day` and `duration`, a rule's `due` and `cooldown`, `success.within` (at
  least 1) and a plan's `due` 0 to 36,500; the precomputed schedules (`start`, `due`,
  objective windows, `length`, `overshoot`) are the ones the compiler computes from them
  and the `after` graph, which has no cycle, so every offset is bounded by the artifact;
- and the rest of what the compiler refuses: a rule without an action, a playbook on a
  rule that opens no CTA or for CTA types its `for_types` excludes (objectives are CTAs
  of type `objective`), an owner chain without a choice, values on a field that is no
  enum.

Not checked here: templates (the compiler checks their syntax and names; at run time
they render in a sandbox, and one that fails is counted, never fatal) and the reserved
words of the language (harmless to a host).

One pass over the artifact, linear in its size; the path of a place is only built when
something is wrong there. Conditions are walked recursively: the loader refuses JSON
nested deeper than about 250 levels, far within Python's recursion limit.

A message names the place as a path of names, then what is wrong there:
"rules/usage_drop/when/left: metric `usag` is not declared".
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from csdsl_runtime import artifact as A
from csdsl_runtime.ir import literal_value
from csdsl_runtime.loader import ArtifactError
from csdsl_runtime.vocabulary import ACCOUNT_ID_ATTRIBUTE, CTA_TYPES, OBJECTIVE_CTA_TYPE

MAX_DAYS: Final = 36_500
MAX_DEPTH: Final = 128
"""Condition nodes, root to leaf. The compiler refuses nesting past 100 levels (CS0106),
and lowering flattens `and`/`or` chains, so it writes at most about 102. The verifier and
the engines recurse up to four frames per level: 128 levels stay well inside Python's
default limit of 1,000 frames."""
"""The largest day count a spec can write (the parser's `MAX_DAYS`, 100 years)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEEP = 20
"""Messages kept (the first is shown; the rest are counted)."""


@dataclass(frozen=True, slots=True)
class _Type:
    kind: str  # number, text, date, bool, enum
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        return {"number": "a number", "date": "a date", "bool": "a boolean",
                "enum": "an enum value", "text": "text"}[self.kind]


_NUMBER = _Type("number")
_TEXT = _Type("text")
_DATE = _Type("date")
_BOOL = _Type("bool")
_LIT_TYPES = {"number": _NUMBER, "text": _TEXT, "date": _DATE, "bool": _BOOL}
_TEXTUAL = ("text", "enum")
_ORDERED = ("<", "<=", ">", ">=")


class VerifyError(ArtifactError):
    """An artifact that reads and matches its hash, but that the compiler could not have
    written (an `ArtifactError`: hosts need not tell the two apart)."""


_verified: dict[int, weakref.ref[A.Artifact]] = {}
"""Artifacts that passed, by identity: a host that loads and then runs one verifies it once."""


_MAX_COUNT = 1_000_000_000
"""The largest count of a limit, `max` or `at most` (the compiler's bound too)."""


def verify(artifact: A.Artifact, origin: str | None = None) -> None:
    """Refuse (`VerifyError`, an `ArtifactError`) an artifact that the compiler could not
    have written; `origin` (a file name) prefixes the message."""
    key = id(artifact)
    known = _verified.get(key)
    if known is not None and known() is artifact:
        return
    checker = _Verifier(artifact)
    checker.run()
    if checker.errors:
        more = f" (and {checker.count - 1} more)" if checker.count > 1 else ""
        prefix = f"{origin}: " if origin else ""
        raise VerifyError(f"{prefix}{checker.errors[0]}{more}")

    def forget(_: object) -> None:
        _verified.pop(key, None)

    _verified[key] = weakref.ref(artifact, forget)


def _q(value: object) -> str:
    return f"`{value}`"


class _Verifier:
    """Collects what is wrong, with where; `run` walks the artifact once."""

    def __init__(self, artifact: A.Artifact) -> None:
        self.artifact = artifact
        self.errors: list[str] = []
        self.count = 0
        self.stack: list[str] = []  # the path of the condition node being checked
        self.depth = 0  # of that node
        self.fields: dict[str, _Type] = {}
        self.metrics: set[str] = set()
        self.events: dict[str, dict[str, _Type]] = {}
        self.roles: set[str] = set()
        self.playbooks: dict[str, A.Playbook] = {}
        self.plans: dict[str, A.Plan] = {}
        self.starts: dict[str, int] = {}  # of the tasks of the schedule last computed

    def error(self, where: str, message: str) -> None:
        self.count += 1
        if len(self.errors) < _KEEP:
            self.errors.append(f"{where}: {message}")

    def here(self) -> str:
        return "/".join(self.stack)

    def run(self) -> None:
        self.declarations()
        self.limits()
        for playbook in self.artifact.playbooks:
            self.playbook(playbook, f"playbooks/{playbook.name}")
        for plan in self.artifact.plans:
            self.plan(plan, f"plans/{plan.name}")
        for rule in self.artifact.rules:
            self.rule(rule, f"rules/{rule.name}")

    def limits(self) -> None:
        """The 1.2 spec-wide fields: limits at least 1, a holiday region the `holidays`
        package knows on this host (the compiler checked it on its own), finite missing
        values, pools named once."""
        art = self.artifact
        if art.limits is not None:
            for name in ("new_ctas_per_run", "open_ctas_per_owner"):
                value = getattr(art.limits, name)
                if value is not None and not 1 <= value <= _MAX_COUNT:
                    self.error(f"limits/{name}", f"{value} is out of range (1 to "
                                                 f"{_MAX_COUNT:,})")
        if art.holidays is not None:
            from csdsl_runtime.dates import public_holidays

            try:
                public_holidays(art.holidays)
            except (ValueError, ImportError) as exc:
                self.error("holidays", f"{exc} (the holidays package on this host)")
        for metric in art.schema_.metrics:
            if metric.missing is not None and not math.isfinite(metric.missing):
                self.error(f"schema/metrics/{metric.name}/missing",
                           f"{metric.missing} is not a finite number")
        self.unique((p.name for p in art.schema_.pools), "pool", "schema/pools")

    # ------------------------------------------------------------ names

    def declarations(self) -> None:
        """Names, their namespaces and the data schema's types."""
        art = self.artifact
        schema = art.schema_
        top: dict[str, str] = {}  # metrics, events, roles, playbooks, plans, rules
        data: dict[str, str] = {}  # account fields, metrics, events

        def claim(space: dict[str, str], kind: str, name: str, where: str) -> bool:
            first = space.get(name)
            if first is None:
                space[name] = kind
                return True
            if first == kind:
                self.error(where, f"{kind} {_q(name)} is declared twice")
            else:
                self.error(where, f"{kind} {_q(name)} has the same name as {first} {_q(name)}")
            return False

        for i, f in enumerate(schema.account):
            where = f"schema/account/{f.name}"
            if f.name == ACCOUNT_ID_ATTRIBUTE:
                self.error(where, "`id` is the account's key: no field takes that name")
                continue
            if self.name(f.name, f"schema/account/{i}/name") and claim(
                data, "account field", f.name, where
            ):
                self.fields[f.name] = self.field_type(f, where)
        for i, m in enumerate(schema.metrics):
            where = f"schema/metrics/{m.name}"
            if self.name(m.name, f"schema/metrics/{i}/name"):
                claim(data, "metric", m.name, where)
                claim(top, "metric", m.name, where)
                self.metrics.add(m.name)
        for i, e in enumerate(schema.events):
            where = f"schema/events/{e.name}"
            if not self.name(e.name, f"schema/events/{i}/name"):
                continue
            fresh = claim(data, "event", e.name, where)
            fresh = claim(top, "event", e.name, where) and fresh
            fields: dict[str, _Type] = {}
            for j, f in enumerate(e.fields):
                at = f"{where}/fields/{f.name}"
                if not self.name(f.name, f"{where}/fields/{j}/name"):
                    continue
                if f.name in fields:
                    self.error(at, f"field {_q(f.name)} of event {_q(e.name)} is declared twice")
                    continue
                fields[f.name] = self.field_type(f, at)
            if fresh:
                self.events[e.name] = fields
        for i, r in enumerate(schema.roles):
            if self.name(r.name, f"schema/roles/{i}/name") and claim(
                top, "role", r.name, f"schema/roles/{r.name}"
            ):
                self.roles.add(r.name)
        for i, p in enumerate(art.playbooks):
            if self.name(p.name, f"playbooks/{i}/name") and claim(
                top, "playbook", p.name, f"playbooks/{p.name}"
            ):
                self.playbooks[p.name] = p
        for i, q in enumerate(art.plans):
            if self.name(q.name, f"plans/{i}/name") and claim(
                top, "plan", q.name, f"plans/{q.name}"
            ):
                self.plans[q.name] = q
        for i, rule in enumerate(art.rules):
            if self.name(rule.name, f"rules/{i}/name"):
                claim(top, "rule", rule.name, f"rules/{rule.name}")

    def name(self, name: str, where: str) -> bool:
        if _NAME.fullmatch(name):
            return True
        self.error(where, f"{_q(name)} is not a name (letters, digits and `_`, "
                          "not starting with a digit)")
        return False

    def field_type(self, f: A.AccountField, where: str) -> _Type:
        if f.type != "enum":
            if f.values:
                self.error(f"{where}/values", f"only an enum field has values; this is a "
                                              f"{f.type} field")
            return _LIT_TYPES[f.type]
        if not f.values:
            self.error(f"{where}/values", "an enum needs at least one value")
        seen: set[str] = set()
        for value in f.values:
            if value in seen:
                self.error(f"{where}/values", f"enum value {_q(value)} is listed twice")
            seen.add(value)
        return _Type("enum", f.values)

    def unique(self, keys: Iterable[str], what: str, where: str) -> set[str]:
        """Keys of `what` (tasks, objectives) that are names, each once."""
        seen: set[str] = set()
        for i, key in enumerate(keys):
            if not self.name(key, f"{where}/{i}/key"):
                continue
            if key in seen:
                self.error(f"{where}/{key}", f"{what} {_q(key)} is declared twice")
            seen.add(key)
        return seen

    # ------------------------------------------------------------ shared parts

    def days(self, value: int, where: str, what: str, low: int = 0) -> None:
        if not low <= value <= MAX_DAYS:
            self.error(where, f"{what} {value} is out of range ({low} to {MAX_DAYS:,} days)")

    def owner(self, owner: A.Owner | None, where: str) -> None:
        if owner is None:
            return
        if not owner.chain:
            self.error(f"{where}/chain", "an owner needs at least one choice")
        for i, choice in enumerate(owner.chain):
            if choice.kind == "role":
                if choice.name not in self.roles:
                    self.error(f"{where}/chain/{i}/name",
                               f"role {_q(choice.name)} is not declared")
            elif choice.kind == "pool" and not _NAME.fullmatch(choice.name):
                self.error(f"{where}/chain/{i}/name", f"pool {_q(choice.name)} is not a name")

    def playbook_ref(self, name: str, where: str, cta_types: Sequence[str]) -> None:
        playbook = self.playbooks.get(name)
        if playbook is None:
            self.error(where, f"playbook {_q(name)} is not declared")
            return
        for cta_type in cta_types:
            if playbook.for_types and cta_type not in playbook.for_types:
                self.error(where, f"playbook {_q(name)} is not for {cta_type} CTAs (it is "
                                  f"for {', '.join(playbook.for_types)})")

    def task(self, task: A.Task, where: str, keys: set[str], prefix: str) -> None:
        """A task's own fields; `keys`: the task keys its `after` may name."""
        self.owner(task.owner, f"{where}/owner")
        self.days(task.day, f"{where}/day", "day")
        self.days(task.duration, f"{where}/duration", "duration")
        for i, key in enumerate(task.after):
            if key not in keys:
                self.error(f"{where}/after/{i}", f"task {_q(key)} is not a task of {prefix}")

    def path(self, path: Sequence[str], keys: set[str], where: str, of: str) -> None:
        for i, key in enumerate(path):
            if key not in keys:
                self.error(f"{where}/critical_path/{i}", f"task {_q(key)} is not a task of {of}")

    # ------------------------------------------------------------ playbooks, plans

    def playbook(self, playbook: A.Playbook, where: str) -> None:
        allowed = (*CTA_TYPES, OBJECTIVE_CTA_TYPE)
        for i, cta_type in enumerate(playbook.for_types):
            if cta_type not in allowed:
                self.error(f"{where}/for_types/{i}", f"{_q(cta_type)} is not a CTA type")
        before = self.count
        keys = self.unique((t.key for t in playbook.tasks), "task", f"{where}/tasks")
        of = f"playbook {_q(playbook.name)}"
        nodes: list[_Node] = []
        for task in playbook.tasks:
            at = f"{where}/tasks/{task.key}"
            self.task(task, at, keys, of)
            if task.playbook is not None:
                self.error(f"{at}/playbook", "only a task of a plan names the playbook that "
                                             "brought it")
            nodes.append(_Node(task.key, at, task, task.after))
        self.path(playbook.critical_path, keys, where, of)
        if self.count > before:
            return  # a schedule over broken references says nothing more
        finish = self.schedule(nodes, where, of)
        if finish is not None:
            length = max(finish.values(), default=0)
            if playbook.length != length:
                self.error(f"{where}/length", f"is {playbook.length}, the schedule ends on "
                                              f"day {length}")

    def plan(self, plan: A.Plan, where: str) -> None:
        before = self.count
        self.owner(plan.owner, f"{where}/owner")
        if plan.due is not None:
            self.days(plan.due, f"{where}/due", "due")
        objectives = self.unique((o.key for o in plan.objectives), "objective",
                                 f"{where}/objectives")
        of = f"plan {_q(plan.name)}"
        keys: set[str] = set()
        for objective in plan.objectives:
            tasks = self.unique((t.key for t in objective.tasks), "task",
                                f"{where}/objectives/{objective.key}/tasks")
            keys.update(f"{objective.key}.{key}" for key in tasks)
        nodes: list[_Node] = []
        for objective in plan.objectives:
            at = f"{where}/objectives/{objective.key}"
            self.owner(objective.owner, f"{at}/owner")
            for i, other in enumerate(objective.after):
                if other not in objectives:
                    self.error(f"{at}/after/{i}", f"objective {_q(other)} is not an "
                                                  f"objective of {of}")
            if objective.playbook is not None:
                self.playbook_ref(objective.playbook, f"{at}/playbook", (OBJECTIVE_CTA_TYPE,))
            members: list[str] = []
            for task in objective.tasks:
                task_at = f"{at}/tasks/{task.key}"
                self.task(task, task_at, keys, of)
                if task.playbook is not None and task.playbook != objective.playbook:
                    self.error(f"{task_at}/playbook",
                               f"playbook {_q(task.playbook)} is not the objective's playbook")
                key = f"{objective.key}.{task.key}"
                members.append(key)
                waits = (*task.after, *(_objective_node(o) for o in objective.after))
                nodes.append(_Node(key, task_at, task, waits))
            nodes.append(_Node(_objective_node(objective.key), at, None,
                               (*members, *(_objective_node(o) for o in objective.after))))
        self.path(plan.critical_path, keys, where, of)
        if self.count > before:
            return
        finish = self.schedule(nodes, where, of)
        if finish is None:
            return
        for objective in plan.objectives:
            at = f"{where}/objectives/{objective.key}"
            due = finish[_objective_node(objective.key)]
            start = min((self.starts[f"{objective.key}.{t.key}"] for t in objective.tasks),
                        default=due)
            for name, stored, computed in (("start", objective.start, start),
                                           ("due", objective.due, due)):
                if stored != computed:
                    self.error(f"{at}/{name}", f"is {stored}, the schedule says {computed}")
        length = max(finish.values(), default=0)
        if plan.length != length:
            self.error(f"{where}/length", f"is {plan.length}, the schedule ends on day {length}")
        overshoot = max(0, length - plan.due) if plan.due is not None else 0
        if plan.overshoot != overshoot:
            self.error(f"{where}/overshoot", f"is {plan.overshoot}, the schedule says "
                                             f"{overshoot}")

    def schedule(self, nodes: list[_Node], where: str, of: str) -> dict[str, int] | None:
        """The compiler's schedule (csdsl/semantic/schedule.py) in topological order:
        `start = max(day, due of what it waits for)`, `due = start + duration`; the
        stored offsets must be those. None (and an error) on a cycle."""
        by_key = {n.key: n for n in nodes}
        waiting: dict[str, int] = {}
        successors: dict[str, list[str]] = {n.key: [] for n in nodes}
        for n in nodes:
            preds = dict.fromkeys(n.waits)  # `after a, a` is one edge
            waiting[n.key] = len(preds)
            for p in preds:
                successors[p].append(n.key)
        ready = [k for k, count in waiting.items() if count == 0]
        finish: dict[str, int] = {}
        self.starts = {}
        while ready:
            key = ready.pop()
            node = by_key[key]
            at = max((finish[p] for p in node.waits), default=0)
            task = node.task
            if task is None:
                finish[key] = at
            else:
                start = max(task.day, at)
                self.starts[key] = start
                finish[key] = start + task.duration
                for name, stored, computed in (("start", task.start, start),
                                               ("due", task.due, finish[key])):
                    if stored != computed:
                        self.error(f"{node.where}/{name}",
                                   f"is {stored}, the schedule says {computed}")
            for child in successors[key]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        if len(finish) < len(nodes):
            stuck = sorted(k for k in by_key if k not in finish)
            shown = ", ".join(_q(k.removeprefix("objective ")) for k in stuck[:5])
            self.error(f"{where}", f"the tasks of {of} wait for each other in a cycle "
                                   f"(through {shown})")
            return None
        return finish

    # ------------------------------------------------------------ rules

    def rule(self, rule: A.Rule, where: str) -> None:
        if not rule.actions:
            self.error(f"{where}/actions", "a rule needs at least one action")
        cta_types: list[str] = []
        for i, action in enumerate(rule.actions):
            if isinstance(action, A.PlanAction):
                if action.plan not in self.plans:
                    self.error(f"{where}/actions/{i}/plan", f"plan {_q(action.plan)} is not "
                                                            "declared")
            else:
                cta_types.append(action.type)
        if rule.playbook is not None:
            if rule.actions and not cta_types:
                self.error(f"{where}/playbook", f"applies playbook {_q(rule.playbook)} but "
                                                "opens no CTA")
            self.playbook_ref(rule.playbook, f"{where}/playbook", cta_types)
        self.owner(rule.owner, f"{where}/owner")
        if rule.due is not None:
            self.days(rule.due, f"{where}/due", "due")
        self.days(rule.cooldown, f"{where}/cooldown", "cooldown")
        if rule.max_per_run is not None and not 1 <= rule.max_per_run <= _MAX_COUNT:
            self.error(f"{where}/max_per_run", f"max {rule.max_per_run} per run is out of "
                                               f"range (1 to {_MAX_COUNT:,})")
        if rule.at_most is not None:
            if not 1 <= rule.at_most.times <= _MAX_COUNT:
                self.error(f"{where}/at_most/times", f"at most {rule.at_most.times} is out of "
                                                     f"range (1 to {_MAX_COUNT:,})")
            self.days(rule.at_most.days, f"{where}/at_most/days", "re-enrolment window", low=1)
        self.condition(rule.when, f"{where}/when")
        if rule.close_when is not None:
            self.condition(rule.close_when, f"{where}/close_when")
        if rule.success is not None:
            self.days(rule.success.within, f"{where}/success/within", "success window", low=1)
            self.condition(rule.success.when, f"{where}/success/when")

    # ------------------------------------------------------------ conditions

    def condition(self, node: Any, where: str) -> None:
        self.stack = [where]
        self.truth(node, None, "a condition")

    def truth(self, node: Any, event: _Scope | None, what: str) -> None:
        """`node` must be true or false."""
        found = self.expr(node, event)
        if found is not None and found.kind != "bool":
            self.error(self.here(), f"{what} must be true or false, found {found}")

    def expr(self, node: Any, event: _Scope | None) -> _Type | None:
        """The node's type, or None when it is wrong (and said so)."""
        if self.depth >= MAX_DEPTH:  # refused before the engines recurse that deep
            self.error(self.here(), f"nests too deeply (over {MAX_DEPTH} levels): not a "
                                    "condition the compiler wrote")
            return None
        self.depth += 1
        try:
            return _RULES[node.op](self, node, event)
        finally:
            self.depth -= 1

    def at(self, part: str, node: Any, event: _Scope | None) -> _Type | None:
        self.stack.append(part)
        found = self.expr(node, event)
        self.stack.pop()
        return found

    def window_days(self, days: int) -> None:
        if not 1 <= days <= MAX_DAYS:
            self.error(self.here(), f"window {days} is out of range (1 to {MAX_DAYS:,} days)")

    def metric(self, name: str) -> None:
        if name not in self.metrics:
            self.error(self.here(), f"metric {_q(name)} is not declared")

    def event(self, name: str) -> bool:
        if name in self.events:
            return True
        self.error(self.here(), f"event {_q(name)} is not declared")
        return False

    def date_field(self, name: str, func: str) -> None:
        found = self.fields.get(name)
        if found is None:
            self.error(self.here(), f"account field {_q(name)} is not declared")
        elif found.kind != "date":
            self.error(self.here(), f"`{func}` needs a date field; {_q(name)} is "
                                               f"a {found.kind} field")

    # leaves

    def _lit(self, node: A.Lit, event: _Scope | None) -> _Type | None:
        value, kind = node.value, node.type
        iso = ""
        if kind == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif kind == "bool":
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, str)
        if ok:
            try:
                read = literal_value(node)
            except (ValueError, OverflowError):
                ok = False
            else:
                if isinstance(read, float):
                    ok = math.isfinite(read)
                elif isinstance(read, date):  # fromisoformat also reads `2026-W47-5`
                    ok = read.isoformat() == value
                    iso = " (YYYY-MM-DD)"
        if not ok:
            self.error(self.here(), f"{_q(value)} is not a {kind}{iso}")
            return None
        return _LIT_TYPES[kind]

    def _field(self, node: A.FieldRef, event: _Scope | None) -> _Type | None:
        found = self.fields.get(node.name)
        if found is None:
            self.error(self.here(), f"account field {_q(node.name)} is not declared")
        return found

    def _event_field(self, node: A.EventFieldRef, event: _Scope | None) -> _Type | None:
        if event is None:
            self.error(self.here(), f"event field {_q(node.name)} is read outside "
                                              "`exists.where`")
            return None
        found = event.fields.get(node.name)
        if found is None and event.declared:
            self.error(self.here(), f"event {_q(event.name)} has no field "
                                              f"{_q(node.name)}")
        return found

    def _latest(self, node: A.Latest, event: _Scope | None) -> _Type | None:
        self.metric(node.metric)
        return _NUMBER

    def _window(self, node: A.Window, event: _Scope | None) -> _Type | None:
        self.metric(node.metric)
        self.window_days(node.days)
        return _NUMBER

    def _change(self, node: A.Change, event: _Scope | None) -> _Type | None:
        self.metric(node.metric)
        self.window_days(node.days)
        return _NUMBER

    def _count(self, node: A.Count, event: _Scope | None) -> _Type | None:
        self.event(node.event)
        self.window_days(node.days)
        return _NUMBER

    def _exists(self, node: A.Exists, event: _Scope | None) -> _Type | None:
        declared = self.event(node.event)
        self.window_days(node.days)
        if node.where is not None:
            scope = _Scope(node.event, self.events.get(node.event, {}), declared)
            self.stack.append("where")
            self.truth(node.where, scope, "`where`")
            self.stack.pop()
        return _BOOL

    def _days_until(self, node: A.DaysUntil, event: _Scope | None) -> _Type | None:
        self.date_field(node.field, "days_until")
        return _NUMBER

    def _days_since(self, node: A.DaysSince, event: _Scope | None) -> _Type | None:
        if (node.field is None) == (node.event is None):
            self.error(self.here(), "`days_since` reads one date field or one event")
        elif node.event is not None:
            self.event(node.event)
        elif node.field is not None:
            self.date_field(node.field, "days_since")
        return _NUMBER

    # operators

    def _cmp(self, node: A.Compare, event: _Scope | None) -> _Type | None:
        left = self.at("left", node.left, event)
        right = self.at("right", node.right, event)
        if left is not None and right is not None:
            self.compatible(node.cmp, left, node.left, "left", right, node.right, "right")
        return _BOOL

    def compatible(self, op: str, left: _Type, left_node: Any, left_part: str,
                   right: _Type, right_node: Any, right_part: str) -> None:
        """`left op right` as the checker allows it (`_compatible` in types.py)."""
        if left.kind in _TEXTUAL and right.kind in _TEXTUAL:
            for enum, other, part in ((left, right_node, right_part),
                                      (right, left_node, left_part)):
                if (enum.kind == "enum" and isinstance(other, A.Lit) and other.type == "text"
                        and other.value not in enum.values):
                    listed = ", ".join(f'"{v}"' for v in enum.values)
                    self.error(f"{self.here()}/{part}",
                               f"{_q(other.value)} is not a value of the enum ({listed})")
            if op in _ORDERED:
                self.error(self.here(), f"`{op}` does not order text; use `==` or `!=`")
        elif left.kind != right.kind:
            self.error(self.here(), f"cannot compare {left} with {right}")
        elif left.kind == "bool" and op in _ORDERED:
            self.error(self.here(), f"`{op}` does not order true and false")

    def _arith(self, node: A.Arith, event: _Scope | None) -> _Type | None:
        ok = True
        for side, child in (("left", node.left), ("right", node.right)):
            found = self.at(side, child, event)
            if found is None:
                ok = False
            elif found.kind != "number":
                self.error(f"{self.here()}/{side}", f"`{node.fn}` needs numbers; this is "
                                                    f"{found}")
                ok = False
        return _NUMBER if ok else None

    def _neg(self, node: A.Neg, event: _Scope | None) -> _Type | None:
        found = self.at("arg", node.arg, event)
        if found is not None and found.kind != "number":
            self.error(f"{self.here()}/arg", f"cannot negate {found}: only numbers have a sign")
            return None
        return None if found is None else _NUMBER

    def _in(self, node: A.InList, event: _Scope | None) -> _Type | None:
        found = self.at("arg", node.arg, event)
        if not node.values:
            self.error(self.here(), "`in` needs at least one value")
        for i, value in enumerate(node.values):
            part = f"values/{i}"
            literal = self.at(part, value, event)
            if found is not None and literal is not None:
                self.compatible("==", found, node.arg, "arg", literal, value, part)
        return _BOOL

    def _bool_args(self, op: str, args: Sequence[Any], event: _Scope | None) -> _Type:
        if len(args) < 2:
            self.error(self.here(), f"`{op}` needs two arguments or more")
        for i, arg in enumerate(args):
            self.stack.append(f"args/{i}")
            self.truth(arg, event, f"an argument of `{op}`")
            self.stack.pop()
        return _BOOL

    def _and(self, node: A.And, event: _Scope | None) -> _Type | None:
        return self._bool_args("and", node.args, event)

    def _or(self, node: A.Or, event: _Scope | None) -> _Type | None:
        return self._bool_args("or", node.args, event)

    def _not(self, node: A.Not, event: _Scope | None) -> _Type | None:
        self.stack.append("arg")
        self.truth(node.arg, event, "the argument of `not`")
        self.stack.pop()
        return _BOOL


@dataclass(frozen=True, slots=True)
class _Scope:
    """The event whose occurrence an `exists.where` tests: its fields' types."""

    name: str
    fields: dict[str, _Type]
    declared: bool


@dataclass(frozen=True, slots=True)
class _Node:
    """A node of a schedule: a task (with its offsets), or an objective's completion."""

    key: str
    where: str
    task: A.Task | None
    waits: Sequence[str]


def _objective_node(key: str) -> str:
    return f"objective {key}"  # a space: never a task key


_RULES: dict[str, Callable[[_Verifier, Any, _Scope | None], _Type | None]] = {
    op: getattr(_Verifier, "_" + op)
    for op in ("lit", "field", "event_field", "latest", "window", "change", "count",
               "exists", "days_until", "days_since", "cmp", "arith", "neg", "in", "and",
               "or", "not")
}
