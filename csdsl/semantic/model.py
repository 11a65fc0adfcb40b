"""The semantic model: what the checker learned about a spec, kept for every tool.

`SpecModel` holds the resolved declarations (defaults applied, references resolved,
schedules computed, conditions lowered), every declared name as a `Symbol`, every
reference from a place in the source to the symbol it names, and the type of every
expression. `emit` maps it onto the artifact; spec tests, diff, explain and the editor
read it. Nothing here points back into the syntax tree.
"""

from __future__ import annotations

import bisect
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field

from csdsl.semantic.conditions import Cond, walk
from csdsl.source import Span
from csdsl_runtime.vocabulary import (
    DEFAULT_CALENDAR,
    Calendar,
    CtaType,
    FieldType,
    OwnerKind,
    Priority,
    TaskType,
)

# ---------------------------------------------------------------- types and symbols


@dataclass(frozen=True, slots=True)
class Type:
    """The type of an expression: number, text, date, bool, or enum with its values."""

    name: FieldType
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.name


NUMBER = Type("number")
TEXT = Type("text")
DATE = Type("date")
BOOL = Type("bool")

SymbolKind = typing.Literal[
    "field", "metric", "event", "event_field", "role", "pool", "playbook", "plan", "rule",
    "task", "objective",
]


@dataclass(frozen=True, slots=True)
class Symbol:
    """A declared name. `name` is unique in the spec: members are qualified by their
    container (`nps_response.score`, `UsageDrop.call`, `Onboarding.kickoff.handoff`)."""

    kind: SymbolKind
    name: str
    span: Span  # the name where it is declared
    type: Type | None = None  # of a field, an event field or a metric
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """A place in the source that names a symbol."""

    span: Span
    symbol: Symbol


# ---------------------------------------------------------------- data declarations


@dataclass(frozen=True, slots=True)
class Field:
    """A typed field of the account or of an event."""

    name: str
    type: FieldType
    values: tuple[str, ...] = ()
    span: Span = field(default=Span("<none>", 1, 1, 1, 1), compare=False)

    @property
    def value_type(self) -> Type:
        return Type(self.type, self.values)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    label: str | None
    span: Span
    missing: float | None = None  # `missing 0`: the value of a day without a row


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    label: str | None
    fields: Mapping[str, Field]
    span: Span


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    label: str | None
    external: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Pool:
    """A declared team pool (`owner pool NAME` must name one); members come from the data."""

    name: str
    title: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Limits:
    """The spec-wide budgets; None where the spec sets none."""

    new_ctas_per_run: int | None = None
    open_ctas_per_owner: int | None = None


# ---------------------------------------------------------------- playbooks and plans

OnChange = typing.Literal["keep", "append", "replace"]
"""A playbook's `on change`: what a run does to the open CTAs an earlier spec version
opened with it, once its tasks changed (the artifact's `Playbook.on_change`)."""
ON_CHANGE_POLICIES: tuple[OnChange, ...] = typing.get_args(OnChange)
DEFAULT_ON_CHANGE: OnChange = "keep"


@dataclass(frozen=True, slots=True)
class OwnerChoice:
    kind: OwnerKind
    name: str


Owner = tuple[OwnerChoice, ...]
"""An owner chain: tried in order, the first that resolves for the account wins."""


@dataclass(frozen=True, slots=True)
class Task:
    """A task with its defaults applied; `key` is unique in its playbook or plan
    (`call`, or `kickoff.handoff` in a plan) and `after` holds resolved keys."""

    key: str
    title: str
    type: TaskType
    priority: Priority
    owner: Owner | None
    description: str | None
    day: int
    duration: int
    after: tuple[str, ...]
    objective: str | None  # in a plan: the objective it belongs to
    playbook: str | None  # the playbook that brought it, or that declares it
    span: Span


@dataclass(frozen=True, slots=True)
class TaskSchedule:
    start: int
    due: int
    critical: bool


@dataclass(frozen=True, slots=True)
class Schedule:
    """Offsets in whole days from the anchor, in the playbook's or plan's calendar."""

    tasks: Mapping[str, TaskSchedule] = field(default_factory=dict)
    objectives: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # start, due
    length: int = 0
    critical_path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str
    title: str | None
    description: str | None
    for_types: tuple[str, ...]  # empty: any CTA type
    calendar: Calendar
    tasks: tuple[Task, ...]
    schedule: Schedule | None  # None when its tasks form a cycle
    span: Span
    on_change: OnChange = DEFAULT_ON_CHANGE  # `on change append`


@dataclass(frozen=True, slots=True)
class Objective:
    key: str
    title: str
    category: str | None
    success: str | None
    description: str | None
    priority: Priority
    owner: Owner | None
    after: tuple[str, ...]  # objectives
    playbook: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    title: str | None
    description: str | None
    type: str | None
    owner: Owner | None
    due: int | None
    calendar: Calendar
    objectives: tuple[Objective, ...]
    tasks: tuple[Task, ...]
    schedule: Schedule | None
    span: Span


# ---------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class CtaAction:
    type: CtaType
    title: str


@dataclass(frozen=True, slots=True)
class PlanAction:
    plan: str


Action = CtaAction | PlanAction


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition and the IR it lowers to (None while it has errors). Each IR node
    carries the span of the source it came from."""

    span: Span
    ir: Cond | None = None

    def spans(self) -> dict[tuple[int, ...], Span]:
        """The source span of every IR node, by its path from the root (see `walk`)."""
        if self.ir is None:
            return {}
        return {path: node.span for path, node in walk(self.ir)}


@dataclass(frozen=True, slots=True)
class SuccessCriterion:
    within: int
    when: Condition


@dataclass(frozen=True, slots=True)
class Reenrolment:
    """`at most TIMES every DAYS`: per account, at most `times` CTAs or plans of the rule
    in any `days` days."""

    times: int
    days: int


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    title: str | None
    description: str | None
    enabled: bool
    when: Condition | None
    actions: tuple[Action, ...]
    priority: Priority
    reason: str | None
    owner: Owner | None
    due: int | None
    playbook: str | None
    cooldown: int
    close_when: Condition | None
    success: SuccessCriterion | None
    span: Span
    max_per_run: int | None = None  # `max N per run`
    reopen: bool = False  # `reopen while true`: level-triggered, no re-arming
    at_most: Reenrolment | None = None  # `at most N every D`
    due_calendar: Calendar = DEFAULT_CALENDAR  # `due 10d business`: how `due` counts

    def with_conditions(self, when: Condition | None, close_when: Condition | None,
                        success: SuccessCriterion | None) -> Rule:
        """The rule with its conditions replaced (`dataclasses.replace`, but cheaper)."""
        return Rule(self.name, self.title, self.description, self.enabled, when,
                    self.actions, self.priority, self.reason, self.owner, self.due,
                    self.playbook, self.cooldown, close_when, success, self.span,
                    self.max_per_run, self.reopen, self.at_most, self.due_calendar)

    def conditions(self) -> dict[str, Condition]:
        """`when`, `close` and `success` conditions, those the rule has."""
        found = {"when": self.when, "close": self.close_when,
                 "success": self.success.when if self.success else None}
        return {key: c for key, c in found.items() if c is not None}


# ---------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class SpecModel:
    """Everything the checker knows about a spec. Built by the passes of
    `csdsl.semantic.passes`; complete when they ran without errors."""

    fields: Mapping[str, Field] = field(default_factory=dict)
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    events: Mapping[str, Event] = field(default_factory=dict)
    roles: Mapping[str, Role] = field(default_factory=dict)
    pools: Mapping[str, Pool] = field(default_factory=dict)
    limits: Limits | None = None  # None: the spec sets no limit
    holidays: str | None = None  # `holidays "US-CA"`: the region business days skip
    playbooks: Mapping[str, Playbook] = field(default_factory=dict)
    plans: Mapping[str, Plan] = field(default_factory=dict)
    rules: Mapping[str, Rule] = field(default_factory=dict)
    symbols: Mapping[str, Symbol] = field(default_factory=dict)
    references: tuple[Reference, ...] = ()
    types: Mapping[Span, Type] = field(default_factory=dict)
    environment: str | None = None  # the environment merged in; None: the base spec
    environments: tuple[str, ...] = ()  # every environment the spec declares

    def definition(self, name: str) -> Symbol | None:
        """The symbol of a (qualified) name: `usage`, `UsageDrop.call`."""
        return self.symbols.get(name)

    def type_of(self, span: Span) -> Type | None:
        """The type of the expression written at `span`."""
        return self.types.get(span)

    def symbol_at(self, file: str, line: int, column: int) -> Symbol | None:
        """The symbol named or declared at a position (1-based). Builds the index each
        time: a caller that asks often keeps `positions()` instead."""
        return self.positions().find(file, line, column)

    def positions(self) -> PositionIndex:
        """An index from source positions to the symbols named or declared there."""
        return PositionIndex.of(self)

    def references_to(self, symbol: Symbol) -> list[Reference]:
        """Every place that names `symbol`, in source order."""
        return sorted((r for r in self.references if r.symbol == symbol),
                      key=lambda r: (r.span.file, r.span.start))


@dataclass(frozen=True, slots=True)
class PositionIndex:
    """Spans of references and declarations per file, sorted for bisection."""

    by_file: dict[str, tuple[list[tuple[int, int]], list[tuple[Span, Symbol]]]]

    @classmethod
    def of(cls, model: SpecModel) -> PositionIndex:
        entries: dict[str, list[tuple[Span, Symbol]]] = {}
        for symbol in model.symbols.values():
            entries.setdefault(symbol.span.file, []).append((symbol.span, symbol))
        for ref in model.references:
            entries.setdefault(ref.span.file, []).append((ref.span, ref.symbol))
        by_file = {}
        for file, items in entries.items():
            items.sort(key=lambda e: ((e[0].line, e[0].column), (e[0].end_line, e[0].end_column)))
            by_file[file] = ([(s.line, s.column) for s, _ in items], items)
        return cls(by_file)

    def find(self, file: str, line: int, column: int) -> Symbol | None:
        found = self.by_file.get(file)
        if found is None:
            return None
        starts, items = found
        i = bisect.bisect_right(starts, (line, column)) - 1
        if i < 0:
            return None
        span, symbol = items[i]  # names do not overlap: only the last one before can hold it
        return symbol if (span.end_line, span.end_column) > (line, column) else None

