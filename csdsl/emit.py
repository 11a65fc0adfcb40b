"""Checked spec → artifact: conditions lowered to the IR, schedules attached, hashed.

Collections are sorted by name and the JSON is canonical, so the same spec gives the
same bytes on every run and machine, and the hash ignores layout, comments, order of
declarations and how the spec is split into files.
"""

from __future__ import annotations

from csdsl import ast
from csdsl.check import CheckedSpec, PlanInfo, RuleInfo
from csdsl.graph import Schedule, TaskNode
from csdsl.resolve import FieldInfo, SymbolTable
from csdsl_runtime import artifact as A


def emit(spec: CheckedSpec) -> A.Artifact:
    """Build the artifact of a spec that checked without errors."""
    symbols = spec.symbols
    schema = A.DataSchema(
        account=tuple(_field(f) for _, f in sorted(symbols.fields.items())),
        metrics=tuple(
            A.Metric(name=n, label=_text(d.label)) for n, d in sorted(symbols.metrics.items())
        ),
        events=tuple(
            A.Event(
                name=n,
                label=_text(e.decl.label),
                fields=tuple(_field(f) for _, f in sorted(e.fields.items())),
            )
            for n, e in sorted(symbols.events.items())
        ),
        roles=tuple(
            A.Role(name=n, label=_text(d.label), external=d.external)
            for n, d in sorted(symbols.roles.items())
        ),
    )
    playbooks = []
    for name, info in sorted(spec.playbooks.items()):
        sched = info.schedule or Schedule()
        playbooks.append(
            A.Playbook(
                name=name,
                title=_text(info.decl.title),
                description=_prop_text(info.props, "description"),
                for_types=tuple(n.value for n in info.props["for"].value)  # type: ignore[attr-defined]
                if "for" in info.props else (),
                calendar=_name(info.props, "calendar") or "calendar",  # type: ignore[arg-type]
                tasks=_tasks(info.tasks, sched, strip=None),
                length=sched.length,
                critical_path=sched.critical_path,
            )
        )
    plans = [_plan(name, info) for name, info in sorted(spec.plans.items())]
    rules = [_rule(name, info, symbols) for name, info in sorted(spec.rules.items())]
    draft = A.Artifact(
        spec_hash="", schema=schema, playbooks=tuple(playbooks), plans=tuple(plans),
        rules=tuple(rules),
    )
    return draft.model_copy(update={"spec_hash": draft.compute_hash()})


def _field(info: FieldInfo) -> A.AccountField:
    return A.AccountField(name=info.name, type=info.type, values=info.values)  # type: ignore[arg-type]


def _text(value: ast.Str | None) -> str | None:
    return value.value if value is not None else None


def _prop_text(props: dict[str, ast.Prop], key: str) -> str | None:
    prop = props.get(key)
    return prop.value.value if prop is not None else None  # type: ignore[attr-defined]


def _name(props: dict[str, ast.Prop], key: str) -> str | None:
    prop = props.get(key)
    return prop.value.value if prop is not None else None  # type: ignore[attr-defined]


def _days(props: dict[str, ast.Prop], key: str) -> int | None:
    prop = props.get(key)
    return prop.value.days if prop is not None else None  # type: ignore[attr-defined]


def _owner(props: dict[str, ast.Prop]) -> A.Owner | None:
    prop = props.get("owner")
    if prop is None:
        return None
    return A.Owner(
        chain=tuple(A.OwnerChoice(kind=c.kind, name=c.name) for c in prop.value)  # type: ignore[attr-defined]
    )


def _task_props(task: ast.TaskDecl) -> dict[str, ast.Prop]:
    found: dict[str, ast.Prop] = {}
    for prop in task.props:
        found.setdefault(prop.key, prop)
    return found


def _tasks(nodes: list[TaskNode], sched: Schedule, strip: str | None) -> tuple[A.Task, ...]:
    """Tasks ordered by due, then start, then key: the order a CSM works them."""
    out = []
    for node in nodes:
        props = _task_props(node.decl)
        timing = sched.tasks.get(node.key)
        key = node.key.removeprefix(f"{strip}.") if strip else node.key
        title = node.decl.title.value if node.decl.title else node.decl.name.value
        out.append(
            A.Task(
                key=key,
                title=title,
                type=_name(props, "type") or "todo",  # type: ignore[arg-type]
                priority=_name(props, "priority") or "medium",  # type: ignore[arg-type]
                owner=_owner(props),
                description=_prop_text(props, "description"),
                day=node.day,
                duration=node.duration,
                after=node.after,
                start=timing.start if timing else node.day,
                due=timing.due if timing else node.day + node.duration,
                critical=timing.critical if timing else False,
                playbook=node.playbook if strip else None,
            )
        )
    out.sort(key=lambda t: (t.due, t.start, t.key))
    return tuple(out)


def _plan(name: str, info: PlanInfo) -> A.Plan:
    sched = info.schedule or Schedule()
    objectives = []
    for objective in info.objectives:
        oname = objective.decl.name.value
        members = [n for n in info.tasks if n.objective == oname]
        start, due = sched.objectives.get(oname, (0, 0))
        objectives.append(
            A.Objective(
                key=oname,
                title=_text(objective.decl.title) or oname,
                category=_name(objective.props, "category"),
                success=_prop_text(objective.props, "success"),
                description=_prop_text(objective.props, "description"),
                priority=_name(objective.props, "priority") or "medium",  # type: ignore[arg-type]
                owner=_owner(objective.props),
                after=objective.after,
                playbook=objective.playbook,
                start=start,
                due=due,
                tasks=_tasks(members, sched, strip=oname),
            )
        )
    objectives.sort(key=lambda o: (o.due, o.start, o.key))
    due = _days(info.props, "due")
    return A.Plan(
        name=name,
        title=_text(info.decl.title),
        description=_prop_text(info.props, "description"),
        type=_name(info.props, "type"),
        owner=_owner(info.props),
        due=due,
        calendar=_name(info.props, "calendar") or "calendar",  # type: ignore[arg-type]
        objectives=tuple(objectives),
        length=sched.length,
        critical_path=sched.critical_path,
        overshoot=max(0, sched.length - due) if due is not None else 0,
    )


def _rule(name: str, info: RuleInfo, symbols: SymbolTable) -> A.Rule:
    props = info.props
    actions: list[A.CtaAction | A.PlanAction] = []
    for action in info.actions:
        if action.kind == "cta":
            actions.append(A.CtaAction(type=action.target.value, title=action.title.value))  # type: ignore[arg-type, union-attr]
        else:
            actions.append(A.PlanAction(plan=action.target.value))
    success = info.conditions.get("success")
    close = info.conditions.get("close")
    enabled = props.get("enabled")
    return A.Rule(
        name=name,
        title=_text(info.decl.title),
        description=_prop_text(props, "description"),
        enabled=bool(enabled.value) if enabled else True,
        when=lower(info.conditions["when"].expr, symbols),
        actions=tuple(actions),
        priority=_name(props, "priority") or "medium",  # type: ignore[arg-type]
        reason=_prop_text(props, "reason"),
        owner=_owner(props),
        due=_days(props, "due"),
        playbook=_name(props, "playbook"),
        cooldown=_days(props, "cooldown") or 0,
        close_when=lower(close.expr, symbols) if close else None,
        success=A.SuccessCriterion(within=success.within.days, when=lower(success.expr, symbols))  # type: ignore[union-attr]
        if success else None,
    )


# ---------------------------------------------------------------- condition IR


def lower(expr: ast.Expr, symbols: SymbolTable,
          event_fields: frozenset[str] = frozenset()) -> A.Expr:
    """A checked condition → IR. Sugar (`drops`, `no`, `event within`) becomes core nodes."""
    match expr:
        case ast.Paren(expr=inner):
            return lower(inner, symbols, event_fields)
        case ast.Literal(kind=kind, value=value):
            if kind == "date":
                return A.Lit(type="date", value=str(value))
            if kind == "string":
                return A.Lit(type="text", value=str(value))
            if kind == "bool":
                return A.Lit(type="bool", value=bool(value))
            return A.Lit(type="number", value=float(value))
        case ast.NameRef(name=name):
            if name.value in event_fields:
                return A.EventFieldRef(name=name.value)
            if name.value in symbols.metrics:
                return A.Latest(metric=name.value)
            return A.FieldRef(name=name.value)
        case ast.Call(func=func, args=args):
            target = args[0].name.value  # type: ignore[union-attr]
            if func.value in ("avg", "sum", "min", "max"):
                return A.Window(fn=func.value, metric=target, days=_window(args[1]))  # type: ignore[arg-type]
            if func.value == "count":
                return A.Count(event=target, days=_window(args[1]))
            if func.value == "change":
                return A.Change(metric=target, days=_window(args[1]))
            if func.value == "days_until":
                return A.DaysUntil(field=target)
            if target in symbols.events:
                return A.DaysSince(event=target)
            return A.DaysSince(field=target)
        case ast.Compare(op=op, left=left, right=right):
            return A.Compare(cmp=op, left=lower(left, symbols, event_fields),  # type: ignore[arg-type]
                             right=lower(right, symbols, event_fields))
        case ast.InList(arg=arg, values=values, negated=negated):
            lits = tuple(lower(v, symbols) for v in values)
            return A.InList(arg=lower(arg, symbols, event_fields), values=lits, negate=negated)  # type: ignore[arg-type]
        case ast.Trend(metric=metric, direction=direction, amount=amount, window=window):
            change = A.Change(metric=metric.value, days=window.days)
            if direction == "drops":
                return A.Compare(cmp="<=", left=change,
                                 right=A.Lit(type="number", value=-float(amount.value)))
            return A.Compare(cmp=">=", left=change,
                             right=A.Lit(type="number", value=float(amount.value)))
        case ast.NoActivity(name=name, window=window):
            zero = A.Lit(type="number", value=0.0)
            if name.value in symbols.events:
                return A.Compare(cmp="==", left=A.Count(event=name.value, days=window.days),
                                 right=zero)
            return A.Compare(cmp="==", left=A.Window(fn="sum", metric=name.value,
                                                     days=window.days), right=zero)
        case ast.EventWithin(event=event, window=window, where=where):
            fields = frozenset(symbols.events[event.value].fields)
            return A.Exists(event=event.value, days=window.days,
                            where=lower(where, symbols, fields) if where is not None else None)
        case ast.BoolOp(op=op, args=args):
            lowered: list[A.Expr] = []
            for arg in args:
                node = lower(arg, symbols, event_fields)
                # flatten nested and/or of the same kind: one n-ary node
                if node.op == op:  # type: ignore[union-attr]
                    lowered.extend(node.args)  # type: ignore[union-attr]
                else:
                    lowered.append(node)
            return A.And(args=tuple(lowered)) if op == "and" else A.Or(args=tuple(lowered))
        case ast.Not(arg=arg):
            return A.Not(arg=lower(arg, symbols, event_fields))
        case ast.Arith(op=op, left=left, right=right):
            return A.Arith(fn=op, left=lower(left, symbols, event_fields),  # type: ignore[arg-type]
                           right=lower(right, symbols, event_fields))
        case ast.Neg(arg=arg):
            inner = lower(arg, symbols, event_fields)
            if isinstance(inner, A.Lit) and inner.type == "number":
                return A.Lit(type="number", value=-float(inner.value))
            return A.Neg(arg=inner)
    raise AssertionError(f"cannot lower {type(expr).__name__}")


def _window(arg: ast.Expr) -> int:
    assert isinstance(arg, ast.Literal)
    return int(arg.value)
