"""Semantic checks of a whole spec: names, types, values, graphs, templates, usage.

Takes the parsed files, returns a `CheckedSpec` (what `emit` needs: symbols, resolved
tasks and schedules) plus every diagnostic. It never stops at the first problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from csdsl import ast
from csdsl.diagnostics import Diagnostic, Related, did_you_mean, error, warning
from csdsl.graph import Schedule, TaskNode, build_graph, cycle_diagnostic, find_cycles, schedule
from csdsl.resolve import SymbolTable, build_symbols, reserved_name
from csdsl.templates import check_template
from csdsl.types import ConditionChecker
from csdsl_runtime.vocabulary import (
    CALENDARS,
    CTA_TYPES,
    OBJECTIVE_CTA_TYPE,
    PRIORITIES,
    TASK_TYPES,
)

SINGLE_PROPS = frozenset(
    {"calendar", "description", "day", "duration", "owner", "type", "priority", "due",
     "category", "success", "playbook", "reason", "cooldown", "enabled", "for", "after"}
)


@dataclass(slots=True)
class PlaybookInfo:
    decl: ast.PlaybookDecl
    props: dict[str, ast.Prop]
    tasks: list[TaskNode]
    schedule: Schedule | None


@dataclass(slots=True)
class ObjectiveInfo:
    decl: ast.ObjectiveDecl
    props: dict[str, ast.Prop]
    after: tuple[str, ...]
    playbook: str | None


@dataclass(slots=True)
class PlanInfo:
    decl: ast.PlanDecl
    props: dict[str, ast.Prop]
    objectives: list[ObjectiveInfo]
    tasks: list[TaskNode]
    schedule: Schedule | None


@dataclass(slots=True)
class RuleInfo:
    decl: ast.RuleDecl
    props: dict[str, ast.Prop]
    conditions: dict[str, ast.Condition]
    actions: list[ast.Then]


@dataclass(slots=True)
class CheckedSpec:
    symbols: SymbolTable
    playbooks: dict[str, PlaybookInfo] = field(default_factory=dict)
    plans: dict[str, PlanInfo] = field(default_factory=dict)
    rules: dict[str, RuleInfo] = field(default_factory=dict)


def check(files: Sequence[ast.File]) -> tuple[CheckedSpec, list[Diagnostic]]:
    """Resolve and check every declaration of a spec."""
    symbols, diagnostics = build_symbols(list(files))
    checker = _Checker(symbols, diagnostics)
    spec = CheckedSpec(symbols)
    for name, decl in symbols.playbooks.items():
        spec.playbooks[name] = checker.playbook(decl)
    for name, decl in symbols.plans.items():
        spec.plans[name] = checker.plan(decl, spec.playbooks)
    for name, decl in symbols.rules.items():
        spec.rules[name] = checker.rule(decl, spec.playbooks)
    checker.unused(spec)
    return spec, diagnostics


class _Checker:
    def __init__(self, symbols: SymbolTable, diagnostics: list[Diagnostic]) -> None:
        self.symbols = symbols
        self.diagnostics = diagnostics
        self.conditions = ConditionChecker(symbols, diagnostics)
        self.used_roles: set[str] = set()
        self.used_playbooks: set[str] = set()

    # ------------------------------------------------------------ shared pieces
    def props(self, items: Iterable[object], where: str,
              free: frozenset[str] = frozenset()) -> dict[str, ast.Prop]:
        """Single-valued properties by key; a repeated one is an error showing both."""
        found: dict[str, ast.Prop] = {}
        for item in items:
            if not isinstance(item, ast.Prop):
                continue
            if item.key in found and item.key in SINGLE_PROPS:
                self.diagnostics.append(
                    error("CS0701", item.span, f"`{item.key}` is given twice in {where}",
                          "keep one",
                          related=(Related(found[item.key].span, "first given here"),))
                )
                continue
            found[item.key] = item
            if item.key not in free:
                self.value_words(item)
        return found

    def reserved(self, name: ast.Name, kind: str) -> None:
        found = reserved_name(name, kind)
        if found is not None:
            self.diagnostics.append(found)

    def value_words(self, prop: ast.Prop) -> None:
        allowed = {
            "type": TASK_TYPES, "priority": PRIORITIES, "calendar": CALENDARS,
        }.get(prop.key)
        if prop.key == "for":
            for name in prop.value:  # type: ignore[attr-defined]
                self.word(name, (*CTA_TYPES, OBJECTIVE_CTA_TYPE), "CTA type")
        elif prop.key == "owner":
            self.owner(prop.value)  # type: ignore[arg-type]
        elif prop.key in ("description", "reason", "success") and isinstance(prop.value, ast.Str):
            self.template(prop.value)
        elif allowed is not None and isinstance(prop.value, ast.Name):
            self.word(prop.value, allowed, {"type": "task type"}.get(prop.key, prop.key))

    def word(self, name: ast.Name, allowed: Sequence[str], what: str) -> bool:
        if name.value in allowed:
            return True
        self.diagnostics.append(
            error("CS0212", name.span, f"unknown {what} `{name.value}`",
                  f"{_plural(what)}: " + ", ".join(allowed),
                  suggestion=did_you_mean(name.value, allowed))
        )
        return False

    def owner(self, choices: tuple[ast.OwnerChoice, ...]) -> None:
        for choice in choices:
            if choice.kind != "role":
                continue
            if choice.name in self.symbols.roles:
                self.used_roles.add(choice.name)
            elif choice.name not in self.symbols.broken:
                self.diagnostics.append(
                    error("CS0204", choice.span, f"unknown role `{choice.name}`",
                          "declare it with `role " + choice.name + "`, or write a user "
                          "in quotes or `pool NAME`",
                          suggestion=did_you_mean(choice.name, self.symbols.roles))
                )

    def template(self, text: ast.Str | None) -> None:
        if text is not None:
            self.diagnostics.extend(check_template(text, self.symbols.fields))

    def task_node(self, task: ast.TaskDecl, key: str, after: tuple[str, ...],
                  objective: str | None, playbook: str | None) -> TaskNode:
        props = self.props(task.props, f"task `{task.name.value}`")
        day = props.get("day")
        duration = props.get("duration")
        return TaskNode(
            key=key,
            decl=task,
            objective=objective,
            playbook=playbook,
            day=int(day.value) if day else 0,  # type: ignore[call-overload]
            duration=duration.value.days if duration else 0,  # type: ignore[union-attr]
            after=after,
        )

    def after_refs(self, task: ast.TaskDecl) -> tuple[ast.Ref, ...]:
        refs: list[ast.Ref] = []
        for prop in task.props:
            if prop.key == "after":
                refs.extend(prop.value)  # type: ignore[arg-type]
        return tuple(refs)

    def unknown_task(self, ref: ast.Ref, candidates: Iterable[str], where: str,
                     help_text: str = "") -> None:
        self.diagnostics.append(
            error("CS0207", ref.span, f"unknown task `{ref.text}` in {where}", help_text,
                  suggestion=did_you_mean(ref.text, candidates))
        )

    def schedule_or_cycle(self, tasks: list[TaskNode], what: str, span_of: dict[str, object],
                          objective_after: dict[str, tuple[str, ...]] | None) -> Schedule | None:
        graph = build_graph(tasks, objective_after)
        cycles = find_cycles(graph)
        for cycle in cycles:
            first = next((span_of[s] for s in cycle if s in span_of), None)
            self.diagnostics.append(cycle_diagnostic(cycle, first.span, what))  # type: ignore[union-attr]
        return None if cycles else schedule(graph)

    # ------------------------------------------------------------ playbooks
    def playbook(self, decl: ast.PlaybookDecl) -> PlaybookInfo:
        name = decl.name.value
        props = self.props(decl.items, f"playbook `{name}`")
        self.template(decl.title)
        tasks = [i for i in decl.items if isinstance(i, ast.TaskDecl)]
        keys: dict[str, ast.TaskDecl] = {}
        for task in tasks:
            self.reserved(task.name, "task")
            if task.name.value in keys:
                self.diagnostics.append(
                    error("CS0200", task.name.span, f"task `{task.name.value}` is declared twice "
                          f"in playbook `{name}`",
                          related=(Related(keys[task.name.value].name.span,
                                           "first declared here"),))
                )
                continue
            keys[task.name.value] = task
        nodes = []
        for task in keys.values():
            self.template(task.title)
            after = []
            for ref in self.after_refs(task):
                if ref.objective is None and ref.task.value in keys:
                    after.append(ref.task.value)
                else:
                    self.unknown_task(
                        ref, keys, f"playbook `{name}`",
                        "`objective.task` names a task of another objective, only inside a plan"
                        if ref.objective is not None else "")
            nodes.append(self.task_node(task, task.name.value, tuple(after), None, name))
        spans = {t.name.value: _after_prop(t) for t in keys.values()}
        sched = self.schedule_or_cycle(nodes, f"playbook `{name}`", spans, None)
        return PlaybookInfo(decl, props, nodes, sched)

    # ------------------------------------------------------------ plans
    def plan(self, decl: ast.PlanDecl, playbooks: dict[str, PlaybookInfo]) -> PlanInfo:
        name = decl.name.value
        where = f"plan `{name}`"
        props = self.props(decl.items, where, free=frozenset({"type"}))  # plan types are free
        self.template(decl.title)
        objective_decls: dict[str, ast.ObjectiveDecl] = {}
        for item in decl.items:
            if isinstance(item, ast.ObjectiveDecl):
                self.reserved(item.name, "objective")
                if item.name.value in objective_decls:
                    self.diagnostics.append(
                        error("CS0200", item.name.span,
                              f"objective `{item.name.value}` is declared twice in {where}",
                              related=(Related(objective_decls[item.name.value].name.span,
                                               "first declared here"),))
                    )
                    continue
                objective_decls[item.name.value] = item
        # every objective's tasks, its own and those its playbook brings
        members: dict[str, dict[str, tuple[ast.TaskDecl, TaskNode | None]]] = {}
        objectives: list[ObjectiveInfo] = []
        for oname, odecl in objective_decls.items():
            oprops = self.props(odecl.items, f"objective `{oname}`")
            self.template(odecl.title)
            tasks: dict[str, tuple[ast.TaskDecl, TaskNode | None]] = {}
            playbook_name = None
            if "playbook" in oprops:
                ref = oprops["playbook"].value
                assert isinstance(ref, ast.Name)
                if ref.value in playbooks:
                    playbook_name = ref.value
                    self.used_playbooks.add(ref.value)
                    info = playbooks[ref.value]
                    self.playbook_for(info, OBJECTIVE_CTA_TYPE, ref)
                    for node in info.tasks:
                        tasks[node.decl.name.value] = (node.decl, node)
                else:
                    self.unknown_playbook(ref)
            for item in odecl.items:
                if isinstance(item, ast.TaskDecl):
                    self.reserved(item.name, "task")
                    if item.name.value in tasks:
                        first = tasks[item.name.value][0]
                        self.diagnostics.append(
                            error("CS0200", item.name.span,
                                  f"task `{item.name.value}` is declared twice in objective "
                                  f"`{oname}`",
                                  related=(Related(first.name.span, "first declared here"),))
                        )
                        continue
                    self.template(item.title)
                    tasks[item.name.value] = (item, None)
            members[oname] = tasks
            after: list[str] = []
            for prop in odecl.items:
                if isinstance(prop, ast.Prop) and prop.key == "after":
                    for ref in prop.value:  # type: ignore[attr-defined]
                        if ref.objective is None and ref.task.value in objective_decls:
                            after.append(ref.task.value)
                        else:
                            self.diagnostics.append(
                                error("CS0208", ref.span,
                                      f"unknown objective `{ref.text}` in {where}",
                                      "an objective's `after` names other objectives",
                                      suggestion=did_you_mean(ref.text, objective_decls))
                            )
            objectives.append(ObjectiveInfo(odecl, oprops, tuple(after), playbook_name))
        nodes: list[TaskNode] = []
        spans: dict[str, object] = {}
        all_keys = [f"{o}.{t}" for o, ts in members.items() for t in ts]
        for oname, tasks in members.items():
            for tname, (task, from_playbook) in tasks.items():
                after = []
                for ref in self.after_refs(task):
                    if ref.objective is None:
                        if ref.task.value in tasks:
                            after.append(f"{oname}.{ref.task.value}")
                            continue
                        candidates = list(tasks)
                    elif ref.objective.value in members and ref.task.value in members[
                        ref.objective.value
                    ]:
                        after.append(ref.text)
                        continue
                    else:
                        candidates = all_keys
                    if from_playbook is None:  # playbook refs were checked with the playbook
                        missing = ref.objective is not None and ref.objective.value not in members
                        self.unknown_task(
                            ref, candidates, f"objective `{oname}`",
                            f"{where} has no objective `{ref.objective.value}`"  # type: ignore[union-attr]
                            if missing else "")
                key = f"{oname}.{tname}"
                if from_playbook is None:
                    spans[key] = _after_prop(task)
                    nodes.append(self.task_node(task, key, tuple(after), oname, None))
                else:
                    spans[key] = _objective_after(objective_decls[oname])
                    nodes.append(TaskNode(key, task, oname, from_playbook.playbook,
                                          from_playbook.day, from_playbook.duration,
                                          tuple(after)))
        for info in objectives:
            spans[f"objective {info.decl.name.value}"] = _objective_after(info.decl)
        objective_after = {o.decl.name.value: o.after for o in objectives}
        sched = self.schedule_or_cycle(nodes, where, spans, objective_after)
        if sched is not None and "due" in props:
            due = props["due"].value.days  # type: ignore[union-attr]
            if sched.length > due:
                path = " → ".join(f"`{k}`" for k in sched.critical_path)
                self.diagnostics.append(
                    warning("CS0402", props["due"].span,
                            f"the schedule of {where} ends on day {sched.length}, "
                            f"{sched.length - due} day{'s' if sched.length - due != 1 else ''} "
                            f"after its due {due}d",
                            f"critical path: {path}" if path else "",
                            "shorten a task on that path, or move the plan's `due` out")
                )
        return PlanInfo(decl, props, objectives, nodes, sched)

    def unknown_playbook(self, ref: ast.Name) -> None:
        if ref.value in self.symbols.broken:  # its syntax error is reported already
            return
        self.diagnostics.append(
            error("CS0205", ref.span, f"unknown playbook `{ref.value}`",
                  suggestion=did_you_mean(ref.value, self.symbols.playbooks))
        )

    def playbook_for(self, info: PlaybookInfo, cta_type: str, at: ast.Name) -> None:
        allowed = info.props.get("for")
        if allowed is None:
            return
        names = [n.value for n in allowed.value]  # type: ignore[attr-defined]
        if cta_type not in names:
            self.diagnostics.append(
                error("CS0401", at.span,
                      f"playbook `{info.decl.name.value}` is not for {cta_type} CTAs",
                      f"it is `for {', '.join(names)}`",
                      related=(Related(allowed.span, "its `for` is here"),))
            )

    # ------------------------------------------------------------ rules
    def rule(self, decl: ast.RuleDecl, playbooks: dict[str, PlaybookInfo]) -> RuleInfo:
        name = decl.name.value
        where = f"rule `{name}`"
        props = self.props(decl.items, where)
        conditions: dict[str, ast.Condition] = {}
        actions: list[ast.Then] = []
        for item in decl.items:
            if isinstance(item, ast.Condition):
                if item.key in conditions:
                    label = {"when": "when", "close": "close when", "success": "success within"}
                    self.diagnostics.append(
                        error("CS0701", item.span, f"`{label[item.key]}` is given twice in "
                              f"{where}", "combine the conditions with `and` or `or`",
                              related=(Related(conditions[item.key].span, "first given here"),))
                    )
                    continue
                conditions[item.key] = item
                self.conditions.check_condition(item.expr)
                if item.within is not None and item.within.days <= 0:
                    self.diagnostics.append(
                        error("CS0308", item.within.span, "a window must be at least one day long")
                    )
            elif isinstance(item, ast.Then):
                actions.append(item)
                if item.kind == "cta":
                    self.word(item.target, CTA_TYPES, "CTA type")
                    self.template(item.title)
                elif item.target.value not in (*self.symbols.plans, *self.symbols.broken):
                    self.diagnostics.append(
                        error("CS0206", item.target.span, f"unknown plan `{item.target.value}`",
                              suggestion=did_you_mean(item.target.value, self.symbols.plans))
                    )
        if "when" not in conditions:
            self.diagnostics.append(
                error("CS0700", decl.name.span, f"{where} has no `when` condition",
                      "add `when CONDITION`, for example `when usage drops 30% over 30d`")
            )
        if not actions:
            self.diagnostics.append(
                error("CS0702", decl.name.span, f"{where} has no `then` action",
                      'add `then cta risk "Title"` or `then plan PLAN`')
            )
        if "playbook" in props:
            ref = props["playbook"].value
            assert isinstance(ref, ast.Name)
            if ref.value in playbooks:
                self.used_playbooks.add(ref.value)
                cta_actions = [a for a in actions if a.kind == "cta"]
                if actions and not cta_actions:
                    self.diagnostics.append(
                        error("CS0703", ref.span,
                              f"{where} applies playbook `{ref.value}` but opens no CTA",
                              "a playbook's tasks belong to a CTA: add `then cta TYPE \"Title\"`")
                    )
                for action in cta_actions:
                    self.playbook_for(playbooks[ref.value], action.target.value, ref)
            else:
                self.unknown_playbook(ref)
        return RuleInfo(decl, props, conditions, actions)

    # ------------------------------------------------------------ usage
    def unused(self, spec: CheckedSpec) -> None:
        if self.symbols.broken:  # a use may sit in a declaration that did not parse
            return
        for name, info in spec.playbooks.items():
            if name not in self.used_playbooks:
                self.diagnostics.append(
                    warning("CS0600", info.decl.name.span, f"playbook `{name}` is never used",
                            "apply it with `playbook " + name + "` in a rule or an objective")
                )
        for name, decl in self.symbols.roles.items():
            if name not in self.used_roles:
                self.diagnostics.append(
                    warning("CS0601", decl.name.span, f"role `{name}` is never used",
                            "name it in an `owner`, or remove it")
                )


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _after_prop(task: ast.TaskDecl) -> object:
    for prop in task.props:
        if prop.key == "after":
            return prop
    return task.name


def _objective_after(objective: ast.ObjectiveDecl) -> object:
    for item in objective.items:
        if isinstance(item, ast.Prop) and item.key == "after":
            return item
    return objective.name
