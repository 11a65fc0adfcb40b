"""Semantic model → artifact: a mapping that decides nothing, then the hash.

Everything was resolved by the checker: defaults, schedules, lowered conditions. Here the
model's records become the artifact's records (msgspec structs). Collections are sorted by name
and the JSON is canonical, so the same spec gives the same bytes on every run and
machine, and the hash ignores layout, comments, order of declarations and how the spec
is split into files. Source spans stay in the model: they are not part of the meaning.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import msgspec

from csdsl.semantic import conditions as C
from csdsl.semantic import model as M
from csdsl_runtime import artifact as A


def emit(model: M.SpecModel) -> A.Artifact:
    """Build the artifact of a spec that checked without errors."""
    schema = A.DataSchema(
        account=tuple(_field(f) for _, f in sorted(model.fields.items())),
        metrics=tuple(A.Metric(name=n, label=m.label, missing=m.missing)
                      for n, m in sorted(model.metrics.items())),
        events=tuple(
            A.Event(name=n, label=e.label,
                    fields=tuple(_field(f) for _, f in sorted(e.fields.items())))
            for n, e in sorted(model.events.items())
        ),
        roles=tuple(
            A.Role(name=n, label=r.label, external=r.external)
            for n, r in sorted(model.roles.items())
        ),
        pools=tuple(A.Pool(name=n, title=p.title) for n, p in sorted(model.pools.items())),
    )
    playbooks = tuple(_playbook(p) for _, p in sorted(model.playbooks.items()))
    plans = tuple(_plan(p) for _, p in sorted(model.plans.items()))
    rules = tuple(_rule(r) for _, r in sorted(model.rules.items()))
    limits = model.limits
    draft = A.Artifact(spec_hash="", schema_=schema, playbooks=playbooks, plans=plans,
                       rules=rules,
                       limits=A.Limits(new_ctas_per_run=limits.new_ctas_per_run,
                                       open_ctas_per_owner=limits.open_ctas_per_owner)
                       if limits is not None else None,
                       holidays=model.holidays, environment=model.environment)
    return msgspec.structs.replace(draft, spec_hash=draft.compute_hash())


def _field(field: M.Field) -> A.AccountField:
    return A.AccountField(name=field.name, type=field.type, values=field.values)


def _owner(owner: M.Owner | None) -> A.Owner | None:
    if owner is None:
        return None
    return A.Owner(chain=tuple(A.OwnerChoice(kind=c.kind, name=c.name) for c in owner))


def _tasks(tasks: tuple[M.Task, ...], schedule: M.Schedule, objective: str | None
           ) -> tuple[A.Task, ...]:
    """Tasks ordered by due, then start, then key: the order a CSM works them. In a plan
    (`objective` given) keys lose the objective's prefix and name the playbook they
    came from."""
    out = []
    for task in tasks:
        timing = schedule.tasks.get(task.key)
        out.append(A.Task(
            key=task.key.removeprefix(f"{objective}.") if objective else task.key,
            title=task.title,
            type=task.type,
            priority=task.priority,
            owner=_owner(task.owner),
            description=task.description,
            day=task.day,
            duration=task.duration,
            after=task.after,
            start=timing.start if timing else task.day,
            due=timing.due if timing else task.day + task.duration,
            critical=timing.critical if timing else False,
            playbook=task.playbook if objective else None,
        ))
    out.sort(key=lambda t: (t.due, t.start, t.key))
    return tuple(out)


def _playbook(playbook: M.Playbook) -> A.Playbook:
    schedule = playbook.schedule or M.Schedule()
    return A.Playbook(
        name=playbook.name,
        title=playbook.title,
        description=playbook.description,
        for_types=playbook.for_types,
        calendar=playbook.calendar,
        tasks=_tasks(playbook.tasks, schedule, None),
        length=schedule.length,
        critical_path=schedule.critical_path,
        on_change=playbook.on_change,
    )


def _plan(plan: M.Plan) -> A.Plan:
    schedule = plan.schedule or M.Schedule()
    objectives = []
    for objective in plan.objectives:
        start, due = schedule.objectives.get(objective.key, (0, 0))
        members = tuple(t for t in plan.tasks if t.objective == objective.key)
        objectives.append(A.Objective(
            key=objective.key,
            title=objective.title,
            category=objective.category,
            success=objective.success,
            description=objective.description,
            priority=objective.priority,
            owner=_owner(objective.owner),
            after=objective.after,
            playbook=objective.playbook,
            start=start,
            due=due,
            tasks=_tasks(members, schedule, objective.key),
        ))
    objectives.sort(key=lambda o: (o.due, o.start, o.key))
    return A.Plan(
        name=plan.name,
        title=plan.title,
        description=plan.description,
        type=plan.type,
        owner=_owner(plan.owner),
        due=plan.due,
        calendar=plan.calendar,
        objectives=tuple(objectives),
        length=schedule.length,
        critical_path=schedule.critical_path,
        overshoot=max(0, schedule.length - plan.due) if plan.due is not None else 0,
    )


def _rule(rule: M.Rule) -> A.Rule:
    actions = tuple(
        A.CtaAction(type=a.type, title=a.title) if isinstance(a, M.CtaAction)
        else A.PlanAction(plan=a.plan)
        for a in rule.actions
    )
    assert rule.when is not None
    return A.Rule(
        name=rule.name,
        title=rule.title,
        description=rule.description,
        enabled=rule.enabled,
        when=_condition(rule.when),
        actions=actions,
        priority=rule.priority,
        reason=rule.reason,
        owner=_owner(rule.owner),
        due=rule.due,
        playbook=rule.playbook,
        cooldown=rule.cooldown,
        close_when=_condition(rule.close_when) if rule.close_when else None,
        success=A.SuccessCriterion(within=rule.success.within,
                                   when=_condition(rule.success.when))
        if rule.success else None,
        max_per_run=rule.max_per_run,
        reopen=rule.reopen,
        at_most=A.Reenrolment(times=rule.at_most.times, days=rule.at_most.days)
        if rule.at_most else None,
        due_calendar=rule.due_calendar,
    )


# ---------------------------------------------------------------- condition IR

_IR_MODELS: dict[str, type[Any]] = {
    cls.op: cls for cls in typing.get_args(A.Expr)
}
_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("span", "op"))
           for cls in C.NODE_TYPES}


def _condition(condition: M.Condition) -> A.Expr:
    assert condition.ir is not None, "emit runs on a spec that checked without errors"
    return ir(condition.ir)


def ir(node: C.Cond) -> A.Expr:
    """The artifact node of a model node: the same `op`, the same fields."""
    values: dict[str, Any] = {}
    for name in _FIELDS[type(node)]:
        value = getattr(node, name)
        if isinstance(value, C.NODE_TYPES):
            value = ir(value)
        elif isinstance(value, tuple):
            value = tuple(ir(v) for v in value)
        values[name] = value
    result: A.Expr = _IR_MODELS[node.op](**values)
    return result
