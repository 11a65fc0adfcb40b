"""The semantic diff of two compiled artifacts, as data: what a spec change means.

It compares the artifacts (`csdsl_runtime.artifact`), never the text, so layout,
comments, the order of declarations and how the spec is split into files are no change;
nor are the spec hash, the format version and the signature. Records are matched by
name (tasks by key), and sets the language does not order (`after`, `for`, an `in`
list, the arguments of `and`/`or`) are compared as sets. Each property is rendered in
`.cs` source form (`diff_cs`) and compared as text; a property this module has no words
for (a field a later artifact version adds) is compared as JSON, so nothing is missed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from csdsl.review import diff_cs as cs
from csdsl_runtime import artifact as A
from csdsl_runtime.vocabulary import DEFAULT_PRIORITY, DEFAULT_TASK_TYPE

__all__ = ["ItemDiff", "PropertyChange", "SpecDiff", "compare"]

Status = Literal["added", "removed", "changed"]

KINDS = ("environment", "account field", "metric", "event", "role", "pool", "limit",
         "holidays", "playbook", "plan", "rule")
"""The order in which a diff lists its items: data first, then what reads it."""


@dataclass(frozen=True, slots=True)
class PropertyChange:
    """One property of an item, in source form; None: absent (or at its default)."""

    name: str
    before: str | None
    after: str | None

    def to_json(self) -> dict[str, Any]:
        return {"property": self.name, "before": self.before, "after": self.after}


@dataclass(frozen=True, slots=True)
class ItemDiff:
    """A declaration added, removed or changed, with its properties that differ (all
    of them, on one side, when added or removed)."""

    kind: str
    name: str
    status: Status
    title: str | None = None
    changes: tuple[PropertyChange, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "status": self.status,
                "title": self.title, "changes": [c.to_json() for c in self.changes]}


@dataclass(frozen=True, slots=True)
class SpecDiff:
    """Every item that differs, in `KINDS` order then by name."""

    items: tuple[ItemDiff, ...] = ()
    reordered_only: bool = False
    """The artifacts differ (their hashes) but only in an order that means nothing."""

    @property
    def changed(self) -> bool:
        return bool(self.items)

    def of_kind(self, kind: str) -> list[ItemDiff]:
        return [i for i in self.items if i.kind == kind]

    def rule_names(self, status: Status) -> list[str]:
        return [i.name for i in self.items if i.kind == "rule" and i.status == status]


# ---------------------------------------------------------------- normal forms


def normal(node: A.Expr) -> A.Expr:
    """The condition with its unordered parts sorted: `a and b` is `b and a` (Kleene
    `and`/`or` commute and evaluation has no side effects), `x in ("A", "B")` is
    `x in ("B", "A")`."""
    if isinstance(node, A.And | A.Or):
        args = sorted((normal(a) for a in node.args), key=_key)
        return msgspec.structs.replace(node, args=tuple(args))
    if isinstance(node, A.InList):
        values = tuple(sorted(node.values, key=_key))
        return msgspec.structs.replace(node, arg=normal(node.arg), values=values)
    if isinstance(node, A.Compare | A.Arith):
        return msgspec.structs.replace(node, left=normal(node.left), right=normal(node.right))
    if isinstance(node, A.Neg | A.Not):
        return msgspec.structs.replace(node, arg=normal(node.arg))
    if isinstance(node, A.Exists) and node.where is not None:
        return msgspec.structs.replace(node, where=normal(node.where))
    return node


def _key(value: object) -> str:
    return json.dumps(msgspec.to_builtins(value), sort_keys=True)


def _condition(node: A.Expr | None) -> str | None:
    return None if node is None else cs.condition(node)


def _same_condition(a: A.Expr | None, b: A.Expr | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or normal(a) == normal(b)


# ---------------------------------------------------------------- properties

Props = dict[str, str | None]
"""Property name -> its source form; None: absent. Insertion order is display order."""

_Render = Callable[[Any], "str | None"]


def _generic(value: Any) -> str | None:
    if value is None or value == () or value == []:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return cs.string(value)
    if isinstance(value, int | float):
        return cs.number(value)
    return cs.json_text(value)


def _text(value: str | None) -> str | None:
    return None if value is None else cs.string(value)


def _struct_props(item: msgspec.Struct, known: dict[str, tuple[str, _Render]],
                  skip: Iterable[str] = ()) -> Props:
    """The properties of a record: the `known` fields (attribute -> (word, renderer))
    in their order, then every other field of its type, generically, so that a field a
    later artifact version adds is compared too."""
    props: Props = {}
    skipped = set(skip)
    for attribute, (word, render) in known.items():
        props[word] = render(getattr(item, attribute))
    for info in msgspec.structs.fields(type(item)):
        if info.name in known or info.name in skipped:
            continue
        value = getattr(item, info.name)
        if value == info.default:
            props[info.encode_name.replace("_", " ")] = None
            continue
        props[info.encode_name.replace("_", " ")] = _generic(value)
    return props


def _owner(value: A.Owner | None) -> str | None:
    return cs.owner(value)


def _actions(actions: Sequence[A.Action]) -> str | None:
    lines = sorted(f"cta {a.type} {cs.string(a.title)}" if isinstance(a, A.CtaAction)
                   else f"plan {a.plan}" for a in actions)
    return "\n".join(lines) or None


def _rule_props(rule: A.Rule) -> Props:
    due = None
    if rule.due is not None:
        due = cs.days(rule.due) + (" business" if rule.due_calendar == "business" else "")
    return {
        "title": _text(rule.title),
        "enabled": "true" if rule.enabled else "false",
        "when": cs.condition(rule.when),
        "then": _actions(rule.actions),
        "priority": rule.priority,
        "reason": _text(rule.reason),
        "owner": _owner(rule.owner),
        "due": due,
        "playbook": rule.playbook,
        "cooldown": cs.days(rule.cooldown) if rule.cooldown else None,
        "close when": _condition(rule.close_when),
        "success": None if rule.success is None else
        f"within {cs.days(rule.success.within)} when {cs.condition(rule.success.when)}",
        "max": None if rule.max_per_run is None else f"{rule.max_per_run} per run",
        "reopen": "while true" if rule.reopen else None,
        "at most": None if rule.at_most is None else
        f"{rule.at_most.times} every {cs.days(rule.at_most.days)}",
        "description": _text(rule.description),
        **_struct_props(rule, {}, skip=_RULE_FIELDS),
    }


_RULE_FIELDS = ("name", "title", "enabled", "when", "actions", "priority", "reason", "owner",
                "due", "due_calendar", "playbook", "cooldown", "close_when", "success",
                "max_per_run", "reopen", "at_most", "description")
_RULE_DEFAULTS = {"enabled": "true", "priority": "medium"}
"""Shown for a changed rule, but not in the listing of an added or removed one."""


def _task_timing(task: A.Task, calendar: str) -> str:
    unit = "business days" if calendar == "business" else "days"
    return f"day {task.start} to {task.due} ({unit})"


def _task_props(task: A.Task, calendar: str) -> Props:
    return {
        "title": cs.string(task.title),
        "day": str(task.day) if task.day else None,
        "duration": cs.days(task.duration) if task.duration else None,
        "after": ", ".join(sorted(task.after)) or None,
        "scheduled": _task_timing(task, calendar),
        "owner": _owner(task.owner),
        "type": task.type if task.type != DEFAULT_TASK_TYPE else None,
        "priority": task.priority if task.priority != DEFAULT_PRIORITY else None,
        "description": _text(task.description),
        "critical": "yes" if task.critical else None,
        "from playbook": task.playbook,
        **_struct_props(task, {}, skip=("key", "title", "day", "duration", "after", "start",
                                       "due", "owner", "type", "priority", "description",
                                       "critical", "playbook")),
    }


def _path(keys: Sequence[str]) -> str | None:
    return " → ".join(keys) or None


def _length(length: int, calendar: str) -> str:
    return f"{length} {'business days' if calendar == 'business' else 'days'}"


def _playbook_props(book: A.Playbook) -> Props:
    return {
        "title": _text(book.title),
        "for": ", ".join(sorted(book.for_types)) or None,
        "calendar": book.calendar,
        "on change": book.on_change if book.on_change != "keep" else None,
        "description": _text(book.description),
        "length": _length(book.length, book.calendar),
        "critical path": _path(book.critical_path),
        **_struct_props(book, {}, skip=("name", "title", "for_types", "calendar",
                                       "on_change", "description", "length",
                                       "critical_path", "tasks")),
    }


def _objective_props(objective: A.Objective, calendar: str) -> Props:
    unit = "business days" if calendar == "business" else "days"
    return {
        "title": cs.string(objective.title),
        "after": ", ".join(sorted(objective.after)) or None,
        "scheduled": f"day {objective.start} to {objective.due} ({unit})",
        "category": objective.category,
        "success": _text(objective.success),
        "owner": _owner(objective.owner),
        "priority": objective.priority if objective.priority != DEFAULT_PRIORITY else None,
        "playbook": objective.playbook,
        "description": _text(objective.description),
        **_struct_props(objective, {}, skip=("key", "title", "after", "start", "due",
                                            "category", "success", "owner", "priority",
                                            "playbook", "description", "tasks")),
    }


def _plan_props(plan: A.Plan) -> Props:
    return {
        "title": _text(plan.title),
        "type": plan.type,
        "owner": _owner(plan.owner),
        "due": None if plan.due is None else cs.days(plan.due),
        "calendar": plan.calendar,
        "description": _text(plan.description),
        "length": _length(plan.length, plan.calendar),
        "critical path": _path(plan.critical_path),
        "late by": _length(plan.overshoot, plan.calendar) if plan.overshoot else None,
        **_struct_props(plan, {}, skip=("name", "title", "type", "owner", "due", "calendar",
                                       "description", "length", "critical_path",
                                       "overshoot", "objectives")),
    }


def _field_type(f: A.AccountField) -> str:
    if f.type == "enum":
        return "enum(" + ", ".join(cs.string(v) for v in sorted(f.values)) + ")"
    return f.type


def _field_props(f: A.AccountField) -> Props:
    return {"type": _field_type(f),
            **_struct_props(f, {}, skip=("name", "type", "values"))}


def _metric_props(m: A.Metric) -> Props:
    return {"label": _text(m.label),
            "missing": None if m.missing is None else cs.number(m.missing),
            **_struct_props(m, {}, skip=("name", "label", "missing"))}


def _event_props(e: A.Event) -> Props:
    props: Props = {"label": _text(e.label)}
    for f in e.fields:
        props[f"field {f.name}"] = _field_type(f)
    props.update(_struct_props(e, {}, skip=("name", "label", "fields")))
    return props


def _role_props(r: A.Role) -> Props:
    return {"label": _text(r.label), "external": "external" if r.external else None,
            **_struct_props(r, {}, skip=("name", "label", "external"))}


def _pool_props(p: A.Pool) -> Props:
    return {"title": _text(p.title), **_struct_props(p, {}, skip=("name", "title"))}


# ---------------------------------------------------------------- comparing


def _differences(before: Props, after: Props, prefix: str = "") -> list[PropertyChange]:
    out = []
    for name in dict.fromkeys([*before, *after]):
        a, b = before.get(name), after.get(name)
        if a != b:
            out.append(PropertyChange(prefix + name, a, b))
    return out


def _listing(props: Props, defaults: dict[str, str] | None = None, added: bool = True,
             prefix: str = "") -> list[PropertyChange]:
    """All the set properties of an added (or removed) item, on its side."""
    out = []
    for name, value in props.items():
        if name == "title" and not prefix:
            continue  # the item's heading shows it
        if value is None or (defaults and defaults.get(name) == value):
            continue
        out.append(PropertyChange(prefix + name, None if added else value,
                                  value if added else None))
    return out


def _by_name(items: Iterable[Any], key: str = "name") -> dict[str, Any]:
    return {getattr(i, key): i for i in items}


def _pairs(before: Iterable[Any], after: Iterable[Any], key: str = "name"
           ) -> Iterator[tuple[str, Any, Any]]:
    """(name, old or None, new or None) for every name on either side, sorted."""
    old, new = _by_name(before, key), _by_name(after, key)
    for name in sorted(set(old) | set(new)):
        yield name, old.get(name), new.get(name)


def _simple(kind: str, before: Iterable[Any], after: Iterable[Any],
            props: Callable[[Any], Props], title: Callable[[Any], str | None] = lambda _: None
            ) -> list[ItemDiff]:
    out = []
    for name, old, new in _pairs(before, after):
        if old is None:
            out.append(ItemDiff(kind, name, "added", title(new), tuple(_listing(props(new)))))
        elif new is None:
            out.append(ItemDiff(kind, name, "removed", title(old),
                                tuple(_listing(props(old), added=False))))
        else:
            changes = _differences(props(old), props(new))
            if changes:
                out.append(ItemDiff(kind, name, "changed", title(new), tuple(changes)))
    return out


def _tasks(before: Sequence[A.Task], after: Sequence[A.Task], old_calendar: str,
           new_calendar: str, prefix: str) -> list[PropertyChange]:
    """Tasks added, removed or changed: `task call: scheduled` and so on."""
    out: list[PropertyChange] = []
    for key, old, new in _pairs(before, after, "key"):
        where = f"{prefix}task {key}"
        if old is None:
            out.append(PropertyChange(where, None, _task_summary(new, new_calendar)))
        elif new is None:
            out.append(PropertyChange(where, _task_summary(old, old_calendar), None))
        else:
            out.extend(_differences(_task_props(old, old_calendar),
                                    _task_props(new, new_calendar), where + ": "))
    return out


def _task_summary(task: A.Task, calendar: str) -> str:
    """An added or removed task on one line: its title, schedule and owner."""
    owner = cs.owner(task.owner)
    after = f", after {', '.join(sorted(task.after))}" if task.after else ""
    return (f"{cs.string(task.title)}, {_task_timing(task, calendar)}{after}"
            + (f", owner {owner}" if owner else ""))


def _playbooks(before: Sequence[A.Playbook], after: Sequence[A.Playbook]) -> list[ItemDiff]:
    out = []
    for name, old, new in _pairs(before, after):
        if old is None or new is None:
            book = new or old
            listing = _listing(_playbook_props(book), added=old is None)
            side = [_task_summary(t, book.calendar) for t in book.tasks]
            listing += [PropertyChange(f"task {t.key}", None if old is None else s,
                                       s if old is None else None)
                        for t, s in zip(book.tasks, side, strict=True)]
            out.append(ItemDiff("playbook", name, "added" if old is None else "removed",
                                book.title, tuple(listing)))
            continue
        changes = _differences(_playbook_props(old), _playbook_props(new))
        changes += _tasks(old.tasks, new.tasks, old.calendar, new.calendar, "")
        if changes:
            out.append(ItemDiff("playbook", name, "changed", new.title, tuple(changes)))
    return out


def _plans(before: Sequence[A.Plan], after: Sequence[A.Plan]) -> list[ItemDiff]:
    out = []
    for name, old, new in _pairs(before, after):
        if old is None or new is None:
            plan = new or old
            added = old is None
            listing = _listing(_plan_props(plan), added=added)
            for objective in plan.objectives:
                listing += _listing(_objective_props(objective, plan.calendar), added=added,
                                    prefix=f"objective {objective.key}: ")
                listing += [PropertyChange(
                    f"objective {objective.key}: task {t.key}",
                    None if added else _task_summary(t, plan.calendar),
                    _task_summary(t, plan.calendar) if added else None)
                    for t in objective.tasks]
            out.append(ItemDiff("plan", name, "added" if added else "removed", plan.title,
                                tuple(listing)))
            continue
        changes = _differences(_plan_props(old), _plan_props(new))
        for key, o_old, o_new in _pairs(old.objectives, new.objectives, "key"):
            where = f"objective {key}: "
            if o_old is None:
                changes += _listing(_objective_props(o_new, new.calendar), prefix=where)
                changes += _tasks((), o_new.tasks, old.calendar, new.calendar, where)
            elif o_new is None:
                changes += _listing(_objective_props(o_old, old.calendar), added=False,
                                    prefix=where)
                changes += _tasks(o_old.tasks, (), old.calendar, new.calendar, where)
            else:
                changes += _differences(_objective_props(o_old, old.calendar),
                                        _objective_props(o_new, new.calendar), where)
                changes += _tasks(o_old.tasks, o_new.tasks, old.calendar, new.calendar, where)
        if changes:
            out.append(ItemDiff("plan", name, "changed", new.title, tuple(changes)))
    return out


def _rules(before: Sequence[A.Rule], after: Sequence[A.Rule]) -> list[ItemDiff]:
    out = []
    for name, old, new in _pairs(before, after):
        if old is None:
            out.append(ItemDiff("rule", name, "added", new.title,
                                tuple(_listing(_rule_props(new), _RULE_DEFAULTS))))
        elif new is None:
            out.append(ItemDiff("rule", name, "removed", old.title,
                                tuple(_listing(_rule_props(old), _RULE_DEFAULTS, added=False))))
        else:
            a, b = _rule_props(old), _rule_props(new)
            for word, attr in (("when", "when"), ("close when", "close_when")):
                if _same_condition(getattr(old, attr), getattr(new, attr)):
                    b[word] = a[word]
            if old.success is not None and new.success is not None \
                    and old.success.within == new.success.within \
                    and _same_condition(old.success.when, new.success.when):
                b["success"] = a["success"]
            changes = _differences(a, b)
            if changes:
                out.append(ItemDiff("rule", name, "changed", new.title, tuple(changes)))
    return out


def _limits(before: A.Limits | None, after: A.Limits | None) -> list[ItemDiff]:
    def props(limits: A.Limits | None) -> Props:
        if limits is None:
            return {}
        return {
            "new ctas per run": None if limits.new_ctas_per_run is None
            else str(limits.new_ctas_per_run),
            "open ctas per owner": None if limits.open_ctas_per_owner is None
            else str(limits.open_ctas_per_owner),
            **_struct_props(limits, {}, skip=("new_ctas_per_run", "open_ctas_per_owner")),
        }

    out = []
    old, new = props(before), props(after)
    for name in dict.fromkeys([*old, *new]):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        status: Status = "added" if a is None else "removed" if b is None else "changed"
        out.append(ItemDiff("limit", name, status, None, (PropertyChange("value", a, b),)))
    return out


def _value(kind: str, before: object, after: object, plain: bool = False) -> list[ItemDiff]:
    """A spec-wide setting (`holidays "US-CA"`, the environment, a later one); `plain`:
    text shown as it is, not as a string literal (`staging → production`)."""
    def shown(value: object) -> str | None:
        if plain and isinstance(value, str):
            return value
        return _generic(value)

    a, b = shown(before), shown(after)
    if a == b:
        return []
    status: Status = "added" if a is None else "removed" if b is None else "changed"
    return [ItemDiff(kind, kind, status, None, (PropertyChange("value", a, b),))]


_KNOWN_TOP = frozenset({"format_version", "spec_hash", "schema", "playbooks", "plans",
                        "rules", "limits", "holidays", "signature", "environment"})


def compare(base: A.Artifact, head: A.Artifact) -> SpecDiff:
    """Everything that differs in meaning between two artifacts."""
    items: list[ItemDiff] = []
    items += _value("environment", getattr(base, "environment", None),
                    getattr(head, "environment", None), plain=True)
    s, t = base.schema_, head.schema_
    items += _simple("account field", s.account, t.account, _field_props)
    items += _simple("metric", s.metrics, t.metrics, _metric_props, lambda m: m.label)
    items += _simple("event", s.events, t.events, _event_props, lambda e: e.label)
    items += _simple("role", s.roles, t.roles, _role_props, lambda r: r.label)
    items += _simple("pool", s.pools, t.pools, _pool_props, lambda p: p.title)
    for info in msgspec.structs.fields(A.DataSchema):  # schema parts added later
        if info.name not in ("account", "metrics", "events", "roles", "pools"):
            items += _value(f"schema {info.encode_name}", getattr(s, info.name),
                            getattr(t, info.name))
    items += _limits(base.limits, head.limits)
    items += _value("holidays", base.holidays, head.holidays)
    items += _playbooks(base.playbooks, head.playbooks)
    items += _plans(base.plans, head.plans)
    items += _rules(base.rules, head.rules)
    for info in msgspec.structs.fields(type(head)):  # top-level parts added later (sinks)
        if info.encode_name in _KNOWN_TOP:
            continue
        items += _others(info.encode_name, getattr(base, info.name, None),
                         getattr(head, info.name, None))
    order = {k: i for i, k in enumerate(KINDS)}
    items.sort(key=lambda i: (order.get(i.kind, len(KINDS)), i.kind, i.name))
    reordered = not items and base.spec_hash != head.spec_hash
    return SpecDiff(tuple(items), reordered_only=reordered)


def _others(kind: str, before: Any, after: Any) -> list[ItemDiff]:
    """A collection of named records the diff has no words for (`sinks`): by name,
    each field as JSON; anything else as one value."""
    kind = kind.rstrip("s") if kind.endswith("s") else kind
    named = all(hasattr(x, "name") for x in (*_seq(before), *_seq(after)))
    if isinstance(before or after, tuple) and named:
        def props(record: Any) -> Props:
            return _struct_props(record, {}, skip=("name",))

        return _simple(kind, _seq(before), _seq(after), props)
    return _value(kind, before, after)


def _seq(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else ()
