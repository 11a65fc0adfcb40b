"""The checks of a spec as a declared sequence of small passes that build the model.

`analyze` declares every name (`symbols.declare`), then runs `PASSES` in order. Each
pass reads the declarations and the model so far, appends its diagnostics, and returns
the model with what it resolved. None stops at the first problem.

- `resolve_playbooks`: tasks, their properties and `after`, schedules (cycles are errors)
- `resolve_plans`: objectives, the playbooks they bring, cross-objective `after`, overshoot
- `resolve_rules`: properties, actions, the playbook a rule applies, its limits
- `resolve_limits`: the spec-wide `limit`s
- `resolve_holidays`: the spec's `holidays` region, and whether anything counts business days
- `check_conditions`: the type of every expression, the symbol of every name, and the
  conditions that checked clean lowered to IR, each node with its span
- `check_usage`: playbooks, roles and pools that nothing uses (what a dropped duplicate
  names counts as used: it is reported once, as the duplicate; so does what any
  environment's overlay names, and what a base rule replaced by one names)

With an environment, `declare` merges that environment's overlays into the rules first
(`symbols.overlay`); the passes then check the merged rules like any other.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from csdsl import ast
from csdsl.diagnostics import Diagnostic, Related, did_you_mean, error, warning
from csdsl.semantic.lower import Unresolved, lower
from csdsl.semantic.model import (
    DEFAULT_ON_CHANGE,
    ON_CHANGE_POLICIES,
    Action,
    Condition,
    CtaAction,
    Limits,
    Objective,
    OnChange,
    Owner,
    OwnerChoice,
    Plan,
    PlanAction,
    Playbook,
    Reenrolment,
    Reference,
    Rule,
    Schedule,
    SpecModel,
    SuccessCriterion,
    Symbol,
    SymbolKind,
    Task,
)
from csdsl.semantic.regions import check_region
from csdsl.semantic.schedule import build_graph, cycle_diagnostic, find_cycles, schedule
from csdsl.semantic.symbols import Declarations, declare, reserved_name
from csdsl.semantic.templates import check_template
from csdsl.semantic.types import ConditionChecker
from csdsl.source import Span
from csdsl_runtime.vocabulary import (
    CALENDARS,
    CTA_TYPES,
    DEFAULT_CALENDAR,
    DEFAULT_PRIORITY,
    DEFAULT_TASK_TYPE,
    OBJECTIVE_CTA_TYPE,
    PRIORITIES,
    TASK_TYPES,
    Calendar,
    CtaType,
    Priority,
    TaskType,
)

Pass = Callable[[Declarations, SpecModel, list[Diagnostic]], SpecModel]


def analyze(files: Sequence[ast.File], environment: str | None = None
            ) -> tuple[SpecModel, list[Diagnostic]]:
    """Declare, then run every pass: the model of a spec and every diagnostic. With an
    `environment` (one the spec declares), the model of the spec merged with its
    overlays."""
    diagnostics: list[Diagnostic] = []
    decls = declare(files, diagnostics, environment)
    if environment is not None and environment not in decls.environments:
        raise ValueError(f"the spec declares no environment `{environment}`")
    model = SpecModel(fields=decls.fields, metrics=decls.metrics, events=decls.events,
                      roles=decls.roles, pools=decls.pools, symbols=decls.symbols,
                      environment=environment, environments=tuple(decls.environments))
    for run in PASSES:
        model = run(decls, model, diagnostics)
    return model, diagnostics


# ---------------------------------------------------------------- shared pieces


@dataclass(slots=True)
class _Scope:
    """What resolving one declaration collects: diagnostics, references, new symbols."""

    decls: Declarations
    diagnostics: list[Diagnostic]
    known: Mapping[str, Symbol] = field(default_factory=dict)  # the model's, so far
    references: list[Reference] = field(default_factory=list)
    symbols: dict[str, Symbol] = field(default_factory=dict)

    def lookup(self, name: str) -> Symbol | None:
        return self.symbols.get(name) or self.known.get(name)

    def report(self, found: Diagnostic | Iterable[Diagnostic] | None) -> None:
        if isinstance(found, Diagnostic):
            self.diagnostics.append(found)
        elif found is not None:
            self.diagnostics.extend(found)

    def refer(self, span: Span, symbol: Symbol | None) -> None:
        if symbol is not None:
            self.references.append(Reference(span, symbol))

    def declare(self, symbol: Symbol) -> None:
        self.symbols.setdefault(symbol.name, symbol)

    def model(self, model: SpecModel, **resolved: Any) -> SpecModel:
        """The model with this pass's resolutions, references and symbols added."""
        return dataclasses.replace(
            model, references=(*model.references, *self.references),
            symbols={**model.symbols, **self.symbols} if self.symbols else model.symbols,
            **resolved,
        )

    # -- properties
    def props(self, items: Iterable[object], where: str,
              free: frozenset[str] = frozenset()) -> dict[str, ast.Prop]:
        """Properties by key (each may be given once; a repeat shows both places); value
        words, owner roles and templates checked, but for the keys in `free`."""
        found: dict[str, ast.Prop] = {}
        for item in items:
            if not isinstance(item, ast.PROP_TYPES):
                continue
            if item.key in found:
                self.report(error("CS0701", item.span, f"`{item.key}` is given twice in {where}",
                                  "keep one",
                                  related=(Related(found[item.key].span, "first given here"),)))
                continue
            found[item.key] = item
            if item.key not in free:
                self.value_words(item)
        return found

    def value_words(self, prop: ast.Prop) -> None:
        match prop:
            case ast.ForProp(value=names):
                for name in names:
                    self.word(name, (*CTA_TYPES, OBJECTIVE_CTA_TYPE), "CTA type")
            case ast.OwnerProp(value=choices):
                self.owner(choices)
            case ast.TextProp(value=text):
                self.template(text)
            case ast.WordProp(key="type", value=name):
                self.word(name, TASK_TYPES, "task type")
            case ast.WordProp(key="priority", value=name):
                self.word(name, PRIORITIES, "priority")
            case ast.WordProp(key="calendar", value=name):
                self.word(name, CALENDARS, "calendar")
            case ast.DueProp(calendar=ast.Name() as name):
                self.word(name, CALENDARS, "calendar")
            case ast.WordProp(key="on change", value=name):
                self.word(name, ON_CHANGE_POLICIES, "`on change` policy")

    def word(self, name: ast.Name, allowed: Sequence[str], what: str) -> bool:
        if name.value in allowed:
            return True
        self.report(error("CS0212", name.span, f"unknown {what} `{name.value}`",
                          f"{_plural(what)}: " + ", ".join(allowed),
                          suggestion=did_you_mean(name.value, allowed)))
        return False

    def owner(self, choices: tuple[ast.OwnerChoice, ...]) -> None:
        roles = self.decls.roles
        for choice in choices:
            if choice.kind == "pool":
                self.pool(choice)
            if choice.kind != "role":
                continue
            if choice.name in roles:
                self.refer(choice.span, self.decls.symbols.get(choice.name))
            elif choice.name not in self.decls.broken:
                self.report(error("CS0204", choice.span, f"unknown role `{choice.name}`",
                                  "declare it with `role " + choice.name + "`, or write a user "
                                  "in quotes or `pool NAME`",
                                  suggestion=did_you_mean(choice.name, roles)))

    def pool(self, choice: ast.OwnerChoice) -> None:
        """`pool NAME` in an owner: a declared pool, or an error with a did-you-mean."""
        pools = self.decls.pools
        at = choice.name_span
        if choice.name in pools:
            self.refer(at, self.decls.symbols.get(choice.name))
        elif choice.name not in self.decls.broken:
            self.report(error("CS0213", at, f"unknown pool `{choice.name}`",
                              f"declare it with `pool {choice.name}` (its members come from "
                              "the data's pools)",
                              suggestion=did_you_mean(choice.name, pools)))

    def count(self, number: ast.NumberLit, what: str, help_text: str) -> int | None:
        """A count of `max`, `at most` or a limit: a whole number from 1 to MAX_COUNT,
        else an error and None (a number past a float's range was reported by the parser)."""
        if not math.isfinite(number.value):
            return None
        if not number.value.is_integer() or number.value < 1:
            self.report(error("CS0310", number.span,
                              f"{what} needs a whole number of at least 1, not `{number.text}`",
                              help_text))
            return None
        if number.value > MAX_COUNT:
            self.report(error("CS0309", number.span, f"`{number.text}` is too large" if
                              len(number.text) <= 24 else "this count is too large",
                              f"counts go up to {MAX_COUNT:,}"))
            return None
        return int(number.value)

    def template(self, text: ast.Str | None) -> None:
        if text is not None:
            self.report(check_template(text, self.decls.field_names))

    def reserved(self, name: ast.Name, kind: str) -> None:
        self.report(reserved_name(name, kind))

    def playbook_ref(self, ref: ast.Name, playbooks: Mapping[str, Playbook]) -> Playbook | None:
        """The playbook a `playbook NAME` names; an unknown one is an error."""
        found = playbooks.get(ref.value)
        if found is not None:
            self.refer(ref.span, self.decls.symbols.get(ref.value))
        elif ref.value not in self.decls.broken:  # a syntax error is reported already
            self.report(error("CS0205", ref.span, f"unknown playbook `{ref.value}`",
                              suggestion=did_you_mean(ref.value, self.decls.playbooks)))
        return found

    def playbook_for(self, playbook: Playbook, allowed: ast.ForProp | None, cta_type: str,
                     at: ast.Name) -> None:
        if allowed is None or cta_type in playbook.for_types:
            return
        if any(n.value not in _FOR_TYPES for n in allowed.value):
            return  # an unknown word in its `for` (CS0212) may be meant as this type
        self.report(error("CS0401", at.span,
                          f"playbook `{playbook.name}` is not for {cta_type} CTAs",
                          f"it is `for {', '.join(playbook.for_types)}`",
                          related=(Related(allowed.span, "its `for` is here"),)))

    def unknown_task(self, ref: ast.Ref, candidates: Iterable[str], where: str,
                     help_text: str = "") -> None:
        self.report(error("CS0207", ref.span, f"unknown task `{ref.text}` in {where}", help_text,
                          suggestion=did_you_mean(ref.text, candidates)))

    def schedule_or_cycle(self, tasks: list[Task], what: str, span_of: dict[str, Span],
                          objective_after: dict[str, tuple[str, ...]] | None
                          ) -> Schedule | None:
        graph = build_graph(tasks, objective_after)
        cycles = find_cycles(graph)
        for cycle in cycles:
            first = next(span_of[s] for s in cycle if s in span_of)
            self.report(cycle_diagnostic(cycle, first, what))
        return None if cycles else schedule(graph)


MAX_COUNT = 1_000_000_000
"""The largest count a `max`, `at most` or `limit` takes: far above any real run, and
an integer every store and host holds."""


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _text(value: ast.Str | None) -> str | None:
    return value.value if value is not None else None


def _prop_text(props: Mapping[str, ast.Prop], key: ast.TextKey) -> str | None:
    prop = props.get(key)
    return prop.value.value if isinstance(prop, ast.TextProp) else None


def _prop_word(props: Mapping[str, ast.Prop], key: ast.WordKey) -> ast.Name | None:
    prop = props.get(key)
    return prop.value if isinstance(prop, ast.WordProp) else None


def _prop_days(props: Mapping[str, ast.Prop], key: ast.DaysKey) -> int | None:
    prop = props.get(key)
    return prop.value.days if isinstance(prop, ast.DaysProp) else None


def _owner(props: Mapping[str, ast.Prop]) -> Owner | None:
    prop = props.get("owner")
    if not isinstance(prop, ast.OwnerProp):
        return None
    return tuple(OwnerChoice(c.kind, c.name) for c in prop.value)


# The words as their Literal types, for lookups that keep the type.
_PRIORITIES: dict[str, Priority] = {p: p for p in PRIORITIES}
_CALENDARS: dict[str, Calendar] = {c: c for c in CALENDARS}
_TASK_TYPES: dict[str, TaskType] = {t: t for t in TASK_TYPES}
_CTA_TYPES: dict[str, CtaType] = {t: t for t in CTA_TYPES}
_ON_CHANGE: dict[str, OnChange] = {p: p for p in ON_CHANGE_POLICIES}
_FOR_TYPES = frozenset((*CTA_TYPES, OBJECTIVE_CTA_TYPE))


def _priority(props: Mapping[str, ast.Prop]) -> Priority:
    name = _prop_word(props, "priority")
    return _PRIORITIES.get(name.value, DEFAULT_PRIORITY) if name else DEFAULT_PRIORITY


def _calendar(props: Mapping[str, ast.Prop]) -> Calendar:
    name = _prop_word(props, "calendar")
    return _CALENDARS.get(name.value, DEFAULT_CALENDAR) if name else DEFAULT_CALENDAR


def _task_type(props: Mapping[str, ast.Prop]) -> TaskType:
    name = _prop_word(props, "type")
    return _TASK_TYPES.get(name.value, DEFAULT_TASK_TYPE) if name else DEFAULT_TASK_TYPE


def _after_refs(task: ast.TaskDecl) -> tuple[ast.Ref, ...]:
    return tuple(ref for prop in task.props if isinstance(prop, ast.AfterProp)
                 for ref in prop.value)


def _after_span(items: Iterable[object], name: ast.Name) -> Span:
    """Where a cycle through this task or objective is reported: its `after`, or its name."""
    for item in items:
        if isinstance(item, ast.AfterProp):
            return item.span
    return name.span


def _task(scope: _Scope, decl: ast.TaskDecl, key: str, after: tuple[str, ...],
          objective: str | None, playbook: str | None) -> Task:
    props = scope.props(decl.props, f"task `{decl.name.value}`")
    day = props.get("day")
    return Task(
        key=key,
        title=decl.title.value if decl.title else decl.name.value,
        type=_task_type(props),
        priority=_priority(props),
        owner=_owner(props),
        description=_prop_text(props, "description"),
        day=day.value if isinstance(day, ast.DayProp) else 0,
        duration=_prop_days(props, "duration") or 0,
        after=after,
        objective=objective,
        playbook=playbook,
        span=decl.name.span,
    )


def _members(scope: _Scope, items: Iterable[object], kind: str, where: str
             ) -> dict[str, ast.TaskDecl]:
    """Tasks by name, the first of each; a repeat is an error showing both."""
    found: dict[str, ast.TaskDecl] = {}
    for task in items:
        if not isinstance(task, ast.TaskDecl):
            continue
        scope.reserved(task.name, kind)
        if task.name.value in found:
            scope.report(error("CS0200", task.name.span,
                               f"{kind} `{task.name.value}` is declared twice in {where}",
                               related=(Related(found[task.name.value].name.span,
                                                "first declared here"),)))
            continue
        found[task.name.value] = task
    return found


# ---------------------------------------------------------------- playbooks


def resolve_playbooks(decls: Declarations, model: SpecModel,
                      diagnostics: list[Diagnostic]) -> SpecModel:
    """Every playbook: its tasks with defaults, resolved `after`, and its schedule."""
    scope = _Scope(decls, diagnostics, model.symbols)
    playbooks: dict[str, Playbook] = {}
    for name, decl in decls.playbooks.items():
        playbooks[name] = _playbook(scope, decl)
    return scope.model(model, playbooks=playbooks)


def _playbook(scope: _Scope, decl: ast.PlaybookDecl) -> Playbook:
    name = decl.name.value
    partial = name in scope.decls.partial
    props = scope.props(decl.items, f"playbook `{name}`")
    scope.template(decl.title)
    keys = _members(scope, decl.items, "task", f"playbook `{name}`")
    for task in keys.values():
        scope.declare(Symbol("task", f"{name}.{task.name.value}", task.name.span, None,
                             _text(task.title)))
    tasks = []
    for task in keys.values():
        scope.template(task.title)
        after = []
        for ref in _after_refs(task):
            if ref.objective is None and ref.task.value in keys:
                after.append(ref.task.value)
                scope.refer(ref.task.span, scope.lookup(f"{name}.{ref.task.value}"))
            elif not partial:  # in a declaration cut by a syntax error it may be lost
                scope.unknown_task(
                    ref, keys, f"playbook `{name}`",
                    "`objective.task` names a task of another objective, only inside a plan"
                    if ref.objective is not None else "")
        tasks.append(_task(scope, task, task.name.value, tuple(after), None, name))
    spans = {t.name.value: _after_span(t.props, t.name) for t in keys.values()}
    sched = scope.schedule_or_cycle(tasks, f"playbook `{name}`", spans, None)
    for_prop = props.get("for")
    on_change = _prop_word(props, "on change")
    return Playbook(
        name=name,
        title=_text(decl.title),
        description=_prop_text(props, "description"),
        for_types=tuple(n.value for n in for_prop.value)
        if isinstance(for_prop, ast.ForProp) else (),
        calendar=_calendar(props),
        tasks=tuple(tasks),
        schedule=sched,
        span=decl.name.span,
        on_change=_ON_CHANGE.get(on_change.value, DEFAULT_ON_CHANGE) if on_change
        else DEFAULT_ON_CHANGE,
    )


# ---------------------------------------------------------------- plans


def resolve_plans(decls: Declarations, model: SpecModel,
                  diagnostics: list[Diagnostic]) -> SpecModel:
    """Every plan: objectives, their tasks (own and from playbooks), the schedule."""
    scope = _Scope(decls, diagnostics, model.symbols)
    plans = {name: _plan(scope, decl, model.playbooks) for name, decl in decls.plans.items()}
    return scope.model(model, plans=plans)


@dataclass(slots=True)
class _Member:
    """A task of an objective: declared there, or brought by the objective's playbook."""

    decl: ast.TaskDecl | None
    name: ast.Name
    from_playbook: Task | None


def _plan(scope: _Scope, decl: ast.PlanDecl, playbooks: Mapping[str, Playbook]) -> Plan:
    name = decl.name.value
    where = f"plan `{name}`"
    partial = name in scope.decls.partial
    props = scope.props(decl.items, where, free=frozenset({"type"}))  # plan types are free
    scope.template(decl.title)
    objective_decls: dict[str, ast.ObjectiveDecl] = {}
    for member in decl.items:
        if isinstance(member, ast.ObjectiveDecl):
            scope.reserved(member.name, "objective")
            if member.name.value in objective_decls:
                scope.report(error("CS0200", member.name.span,
                                   f"objective `{member.name.value}` is declared twice in "
                                   f"{where}",
                                   related=(Related(objective_decls[member.name.value].name.span,
                                                    "first declared here"),)))
                continue
            objective_decls[member.name.value] = member
            scope.declare(Symbol("objective", f"{name}.{member.name.value}", member.name.span,
                                 None, _text(member.title)))
    # every objective's tasks, its own and those its playbook brings
    members: dict[str, dict[str, _Member]] = {}
    objectives: list[Objective] = []
    for oname, odecl in objective_decls.items():
        oprops = scope.props(odecl.items, f"objective `{oname}`")
        scope.template(odecl.title)
        tasks: dict[str, _Member] = {}
        playbook_name = None
        ref = _prop_word(oprops, "playbook")
        if ref is not None:
            playbook = scope.playbook_ref(ref, playbooks)
            if playbook is not None:
                playbook_name = playbook.name
                for_prop = scope.decls.playbooks[playbook.name].items
                scope.playbook_for(playbook, _for_prop(for_prop), OBJECTIVE_CTA_TYPE, ref)
                for task in playbook.tasks:
                    tasks[task.key] = _Member(None, ast.Name(task.key, task.span), task)
        for item in odecl.items:
            if isinstance(item, ast.TaskDecl):
                scope.reserved(item.name, "task")
                if item.name.value in tasks:
                    first = tasks[item.name.value].name
                    scope.report(error("CS0200", item.name.span,
                                       f"task `{item.name.value}` is declared twice in "
                                       f"objective `{oname}`",
                                       related=(Related(first.span, "first declared here"),)))
                    continue
                scope.template(item.title)
                tasks[item.name.value] = _Member(item, item.name, None)
                scope.declare(Symbol("task", f"{name}.{oname}.{item.name.value}",
                                     item.name.span, None, _text(item.title)))
        members[oname] = tasks
        after: list[str] = []
        for prop in odecl.items:
            if isinstance(prop, ast.AfterProp):
                for oref in prop.value:
                    if oref.objective is None and oref.task.value in objective_decls:
                        after.append(oref.task.value)
                        scope.refer(oref.task.span, scope.lookup(f"{name}.{oref.task.value}"))
                    elif not partial:
                        scope.report(error("CS0208", oref.span,
                                           f"unknown objective `{oref.text}` in {where}",
                                           "an objective's `after` names other objectives",
                                           suggestion=did_you_mean(oref.text, objective_decls)))
        title = _text(odecl.title)
        objectives.append(Objective(
            key=oname,
            title=title or oname,
            category=(c.value if (c := _prop_word(oprops, "category")) else None),
            success=_prop_text(oprops, "success"),
            description=_prop_text(oprops, "description"),
            priority=_priority(oprops),
            owner=_owner(oprops),
            after=tuple(after),
            playbook=playbook_name,
            span=odecl.name.span,
        ))
    nodes: list[Task] = []
    spans: dict[str, Span] = {}
    all_keys = [f"{o}.{t}" for o, ts in members.items() for t in ts]
    for oname, tasks in members.items():
        for tname, task_member in tasks.items():
            key = f"{oname}.{tname}"
            if task_member.decl is None:  # from a playbook: its refs were checked with it
                brought = task_member.from_playbook
                assert brought is not None
                after_keys = tuple(f"{oname}.{a}" for a in brought.after)
                spans[key] = _after_span(objective_decls[oname].items, objective_decls[oname].name)
                nodes.append(dataclasses.replace(brought, key=key, after=after_keys,
                                                 objective=oname))
                continue
            after = []
            for task_ref in _after_refs(task_member.decl):
                other = task_ref.objective
                if other is None:
                    if task_ref.task.value in tasks:
                        after.append(f"{oname}.{task_ref.task.value}")
                        scope.refer(task_ref.task.span, _task_symbol(scope, name, oname,
                                                                     tasks[task_ref.task.value]))
                        continue
                    candidates = list(tasks)
                elif other.value in members and task_ref.task.value in members[other.value]:
                    after.append(task_ref.text)
                    target = members[other.value][task_ref.task.value]
                    scope.refer(other.span, scope.lookup(f"{name}.{other.value}"))
                    scope.refer(task_ref.task.span, _task_symbol(scope, name, other.value, target))
                    continue
                else:
                    candidates = all_keys
                if partial:
                    continue
                scope.unknown_task(
                    task_ref, candidates, f"objective `{oname}`",
                    f"{where} has no objective `{other.value}`"
                    if other is not None and other.value not in members else "")
            spans[key] = _after_span(task_member.decl.props, task_member.decl.name)
            nodes.append(_task(scope, task_member.decl, key, tuple(after), oname, None))
    for objective in objectives:
        odecl = objective_decls[objective.key]
        spans[f"objective {objective.key}"] = _after_span(odecl.items, odecl.name)
    objective_after = {o.key: o.after for o in objectives}
    sched = scope.schedule_or_cycle(nodes, where, spans, objective_after)
    due = _prop_days(props, "due")
    if sched is not None and due is not None and sched.length > due:
        path = " → ".join(f"`{k}`" for k in sched.critical_path)
        late = sched.length - due
        scope.report(warning("CS0402", props["due"].span,
                             f"the schedule of {where} ends on day {sched.length}, "
                             f"{late} day{'s' if late != 1 else ''} after its due {due}d",
                             f"critical path: {path}" if path else "",
                             "shorten a task on that path, or move the plan's `due` out"))
    plan_type = _prop_word(props, "type")
    return Plan(
        name=name,
        title=_text(decl.title),
        description=_prop_text(props, "description"),
        type=plan_type.value if plan_type is not None else None,
        owner=_owner(props),
        due=due,
        calendar=_calendar(props),
        objectives=tuple(objectives),
        tasks=tuple(nodes),
        schedule=sched,
        span=decl.name.span,
    )


def _for_prop(items: Iterable[object]) -> ast.ForProp | None:
    return next((i for i in items if isinstance(i, ast.ForProp)), None)


def _task_symbol(scope: _Scope, plan: str, objective: str, member: _Member) -> Symbol | None:
    """The symbol of a plan task: its own declaration, or the playbook task it came from."""
    if member.from_playbook is not None:
        playbook = member.from_playbook.playbook
        return scope.lookup(f"{playbook}.{member.from_playbook.key}")
    return scope.lookup(f"{plan}.{objective}.{member.name.value}")


# ---------------------------------------------------------------- rules


def resolve_rules(decls: Declarations, model: SpecModel,
                  diagnostics: list[Diagnostic]) -> SpecModel:
    """Every rule: properties with defaults, actions, the playbook it applies. Its
    conditions are typed and lowered by the next passes."""
    scope = _Scope(decls, diagnostics, model.symbols)
    rules = {name: _rule(scope, decl, model.playbooks) for name, decl in decls.rules.items()}
    return scope.model(model, rules=rules)


_CONDITION_WORDS = {"when": "when", "close": "close when", "success": "success within"}


def _rule(scope: _Scope, decl: ast.RuleDecl, playbooks: Mapping[str, Playbook]) -> Rule:
    name = decl.name.value
    where = f"rule `{name}`"
    partial = name in scope.decls.partial
    props = scope.props(decl.items, where)
    conditions: dict[str, ast.Condition] = {}
    actions: list[Action] = []
    then_items: list[ast.Then] = []
    for item in decl.items:
        if isinstance(item, ast.Condition):
            if item.key in conditions:
                scope.report(error("CS0701", item.span, f"`{_CONDITION_WORDS[item.key]}` is "
                                   f"given twice in {where}",
                                   "combine the conditions with `and` or `or`",
                                   related=(Related(conditions[item.key].span,
                                                    "first given here"),)))
                continue
            conditions[item.key] = item
            if item.within is not None and item.within.days <= 0:
                scope.report(error("CS0308", item.within.span,
                                   "a window must be at least one day long"))
        elif isinstance(item, ast.Then):
            then_items.append(item)
            if item.kind == "cta":
                cta_type = _CTA_TYPES.get(item.target.value)
                if cta_type is None:
                    scope.word(item.target, CTA_TYPES, "CTA type")
                scope.template(item.title)
                if cta_type is not None and item.title is not None:
                    actions.append(CtaAction(cta_type, item.title.value))
            elif item.target.value in scope.decls.plans:
                scope.refer(item.target.span, scope.decls.symbols.get(item.target.value))
                actions.append(PlanAction(item.target.value))
            elif item.target.value not in scope.decls.broken:
                scope.report(error("CS0206", item.target.span,
                                   f"unknown plan `{item.target.value}`",
                                   suggestion=did_you_mean(item.target.value,
                                                           scope.decls.plans)))
    if "when" not in conditions and not partial:
        scope.report(error("CS0700", decl.name.span, f"{where} has no `when` condition",
                           "add `when CONDITION`, for example `when usage drops 30% over 30d`"))
    if not then_items and not partial:
        scope.report(error("CS0702", decl.name.span, f"{where} has no `then` action",
                           'add `then cta risk "Title"` or `then plan PLAN`'))
    due, due_calendar = _rule_due(props)
    ref = _prop_word(props, "playbook")
    if ref is not None:
        playbook = scope.playbook_ref(ref, playbooks)
        if playbook is not None:
            ctas = [a for a in then_items if a.kind == "cta"]
            if then_items and not ctas:
                scope.report(error("CS0703", ref.span,
                                   f"{where} applies playbook `{ref.value}` but opens no CTA",
                                   "a playbook's tasks belong to a CTA: add `then cta TYPE "
                                   "\"Title\"`"))
            allowed = _for_prop(scope.decls.playbooks[playbook.name].items)
            for action in ctas:
                if action.target.value in _CTA_TYPES:  # an unknown one is CS0212 already
                    scope.playbook_for(playbook, allowed, action.target.value, ref)
            due_prop = props.get("due")
            if isinstance(due_prop, ast.DueProp) and (
                    due_prop.calendar is None or due_prop.calendar.value in _CALENDARS):
                # (an unknown calendar word is CS0212: not compared on top)
                scope.report(_due_before_tasks(where, due_prop, due_calendar, playbook))
    enabled = props.get("enabled")
    success = conditions.get("success")
    when = conditions.get("when")
    close = conditions.get("close")
    max_per_run, reopen, at_most = _rule_limits(scope, props)
    return Rule(
        name=name,
        title=_text(decl.title),
        description=_prop_text(props, "description"),
        enabled=enabled.value if isinstance(enabled, ast.EnabledProp) else True,
        when=Condition(when.expr.span) if when is not None else None,
        actions=tuple(actions),
        priority=_priority(props),
        reason=_prop_text(props, "reason"),
        owner=_owner(props),
        due=due,
        playbook=ref.value if ref is not None else None,
        cooldown=_prop_days(props, "cooldown") or 0,
        close_when=Condition(close.expr.span) if close is not None else None,
        success=SuccessCriterion(success.within.days, Condition(success.expr.span))
        if success is not None and success.within is not None else None,
        span=decl.name.span,
        max_per_run=max_per_run,
        reopen=reopen,
        at_most=at_most,
        due_calendar=due_calendar,
    )


def _rule_due(props: Mapping[str, ast.Prop]) -> tuple[int | None, Calendar]:
    """A rule's `due D [calendar]`: its days and the calendar they count (an unknown
    word was reported with the other value words, and counts as the default)."""
    prop = props.get("due")
    if not isinstance(prop, ast.DueProp):
        return None, DEFAULT_CALENDAR
    word = prop.calendar
    calendar = _CALENDARS.get(word.value, DEFAULT_CALENDAR) if word else DEFAULT_CALENDAR
    return prop.value.days, calendar


def _days_in(calendar: Calendar, days: int) -> str:
    return f"{'business ' if calendar == 'business' else ''}day {days}"


def _due_before_tasks(where: str, prop: ast.DueProp, calendar: Calendar,
                      playbook: Playbook) -> Diagnostic | None:
    """CS0403: a rule's CTA certainly due before the last task of its playbook is. Both
    count from the CTA's creation: in the same calendar, `due` less than the playbook's
    length is early; a `due` in calendar days less than a length in business days is
    too (N business days never take fewer than N days); a `due` in business days against
    a length in calendar days may or may not be, and is left alone."""
    schedule = playbook.schedule
    days = prop.value.days
    if schedule is None or days >= schedule.length or not schedule.critical_path:
        return None
    if calendar == "business" and playbook.calendar != "business":
        return None
    length = schedule.length
    last = schedule.critical_path[-1]
    task = next((t for t in playbook.tasks if t.key == last), None)
    if calendar == playbook.calendar:
        unit = " business" if calendar == "business" else ""
        raise_to = f"raise `due` to at least `{length}d{unit}`"
    else:
        raise_to = f"raise `due` (to `{length}d business` for the same count)"
    related = (Related(task.span, f"`{last}`, its last task, is due on "
                                  f"{_days_in(playbook.calendar, length)}"),) if task else ()
    return warning(
        "CS0403", prop.span,
        f"{where} is due on {_days_in(calendar, days)}, before the last task of playbook "
        f"`{playbook.name}` is due on {_days_in(playbook.calendar, length)}",
        f"{raise_to}, or drop it: then the CTA is due with its last task",
        related=related)


def _rule_limits(scope: _Scope, props: Mapping[str, ast.Prop]
                 ) -> tuple[int | None, bool, Reenrolment | None]:
    """A rule's `max N per run`, `reopen while true` and `at most N every D`, checked."""
    max_per_run = None
    found = props.get("max")
    if isinstance(found, ast.MaxPerRunProp):
        max_per_run = scope.count(found.value, "`max`",
                                  "`max N per run` caps the CTAs and plans the rule opens in "
                                  "one run; to keep the rule from firing, write `enabled false`")
    reopen = props.get("reopen")
    if isinstance(reopen, ast.ReopenProp) and not reopen.value:
        scope.report(error("CS0704", reopen.span, "`reopen while false` is the default",
                           "remove the line: without `reopen while true` a rule re-arms, "
                           "opening no new CTA or plan for an account until its condition "
                           "has been not true on a later run"))
    at_most = None
    found = props.get("at most")
    if isinstance(found, ast.AtMostProp):
        times = scope.count(found.times, "`at most`",
                            "`at most N every D` lets the rule open at most N CTAs or plans "
                            "per account in any D days")
        if found.every.days <= 0:
            scope.report(error("CS0308", found.every.span,
                               "a window must be at least one day long",
                               "`at most N every D` counts the CTAs and plans of the last D "
                               "days"))
        elif times is not None:
            at_most = Reenrolment(times, found.every.days)
    return max_per_run, isinstance(reopen, ast.ReopenProp) and reopen.value, at_most


# ---------------------------------------------------------------- limits


_LIMIT_HELP = "it holds for every run of the spec; to set no limit, remove the line"


def resolve_limits(decls: Declarations, model: SpecModel,
                   diagnostics: list[Diagnostic]) -> SpecModel:
    """The spec-wide `limit`s, each a whole number of at least 1 (a repeat was reported
    when it was declared); no limit at all leaves the model's `limits` None."""
    if not decls.limits:
        return model
    scope = _Scope(decls, diagnostics, model.symbols)
    counts: dict[ast.LimitKind, int | None] = {
        kind: scope.count(decl.value, f"`limit {kind}`", _LIMIT_HELP)
        for kind, decl in decls.limits.items()
    }
    limits = Limits(new_ctas_per_run=counts.get("new ctas per run"),
                    open_ctas_per_owner=counts.get("open ctas per owner"))
    return scope.model(model, limits=limits)


# ---------------------------------------------------------------- holidays


def resolve_holidays(decls: Declarations, model: SpecModel,
                     diagnostics: list[Diagnostic]) -> SpecModel:
    """The spec's `holidays` region: one the `holidays` package knows (CS0214), and a
    warning when nothing in the spec counts business days (CS0603). Without the
    declaration the package is not imported at all."""
    decl = decls.holidays
    if decl is None:
        return model
    problem = check_region(decl.region)
    if problem is not None:
        diagnostics.append(problem)
    business = (any(p.calendar == "business" for p in model.playbooks.values())
                or any(p.calendar == "business" for p in model.plans.values())
                or any(r.due_calendar == "business" for r in model.rules.values()))
    if not business and not decls.incomplete:  # a business calendar may be in lost text
        diagnostics.append(warning(
            "CS0603", decl.span,
            f"`holidays {decl.region.raw}` changes nothing: the spec counts no business days",
            "only business days skip public holidays: a playbook's or a plan's `calendar "
            "business`, and a rule's `due D business`",
            "count business days somewhere, or remove the line"))
    return dataclasses.replace(model, holidays=decl.region.value if problem is None else None)


def _rule_conditions(decl: ast.RuleDecl) -> dict[str, ast.Expr]:
    """The first `when`, `close when` and `success within` of a rule's declaration."""
    found: dict[str, ast.Expr] = {}
    for item in decl.items:
        if isinstance(item, ast.Condition):
            found.setdefault(item.key, item.expr)
    return found


def check_conditions(decls: Declarations, model: SpecModel,
                     diagnostics: list[Diagnostic]) -> SpecModel:
    """Every condition: the type of each expression and the symbol of each name; then
    the conditions that checked clean are lowered to IR, each node with its span.
    (One pass: lowering reads the names this walk resolved, while they are at hand.)"""
    checker = ConditionChecker(decls, diagnostics)

    def checked(condition: Condition | None, expr: ast.Expr | None) -> Condition | None:
        if condition is None or expr is None:
            return condition
        if not checker.check_condition(expr):
            return condition
        try:
            return Condition(condition.span, lower(expr, checker.resolved))
        except Unresolved:  # it names a declaration a syntax error dropped
            return condition

    rules = {}
    for name, rule in model.rules.items():
        exprs = _rule_conditions(decls.rules[name])
        success = rule.success
        if success is not None:
            when = checked(success.when, exprs.get("success"))
            assert when is not None
            success = SuccessCriterion(success.within, when)
        rules[name] = rule.with_conditions(checked(rule.when, exprs.get("when")),
                                           checked(rule.close_when, exprs.get("close")),
                                           success)
    return dataclasses.replace(model, rules=rules, types=checker.types,
                               references=(*model.references, *checker.references))


# ---------------------------------------------------------------- usage


def check_usage(decls: Declarations, model: SpecModel,
                diagnostics: list[Diagnostic]) -> SpecModel:
    """Warnings for playbooks, roles and pools that nothing names."""
    if decls.incomplete:  # a use may sit in a declaration that did not parse
        return model
    used = {(r.symbol.kind, r.symbol.name) for r in model.references}
    used |= _named_by(decls.dropped)
    if decls.overlays:  # used in some environment, or in the base an overlay replaced
        used |= _named_by(decls.overlays)
    for name, playbook in model.playbooks.items():
        if ("playbook", name) not in used:
            diagnostics.append(
                warning("CS0600", playbook.span, f"playbook `{name}` is never used",
                        "apply it with `playbook " + name + "` in a rule or an objective"))
    for name, role in model.roles.items():
        if ("role", name) not in used:
            diagnostics.append(warning("CS0601", role.span, f"role `{name}` is never used",
                                       "name it in an `owner`, or remove it"))
    for name, pool in model.pools.items():
        if ("pool", name) not in used:
            diagnostics.append(warning("CS0602", pool.span, f"pool `{name}` is never used",
                                       f"name it in an `owner` as `pool {name}`, or remove it"))
    return model


def _named_by(dropped: Iterable[ast.PlaybookDecl | ast.PlanDecl | ast.RuleDecl]
              ) -> set[tuple[SymbolKind, str]]:
    """The playbooks, roles and pools that declarations dropped for their name apply or
    name: used, for what the duplicate error says is to rename or remove one of them."""
    found: set[tuple[SymbolKind, str]] = set()
    stack: list[object] = list(dropped)
    while stack:
        node = stack.pop()
        match node:
            case ast.WordProp(key="playbook", value=name):
                found.add(("playbook", name.value))
            case ast.OwnerProp(value=choices):
                for choice in choices:
                    if choice.kind == "pool":
                        found.add(("pool", choice.name))
                    elif choice.kind == "role":
                        found.add(("role", choice.name))
            case ast.PlaybookDecl() | ast.PlanDecl() | ast.RuleDecl() | ast.ObjectiveDecl():
                stack.extend(node.items)
            case ast.TaskDecl():
                stack.extend(node.props)
    return found


PASSES: tuple[Pass, ...] = (
    resolve_playbooks,
    resolve_plans,
    resolve_rules,
    resolve_limits,
    resolve_holidays,
    check_conditions,
    check_usage,
)
