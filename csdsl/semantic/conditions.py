"""Conditions as the checker resolved them: the artifact's IR, with a span on every node.

Each class mirrors the artifact node of the same `op` field for field (plus `span`), so
`emit` maps one onto the other without deciding anything, and coverage, explain and diff
can point from any IR node back to the source text it came from. These are plain frozen
dataclasses, not the artifact's structs: `csdsl check` builds them without importing
the runtime's models. `tests/test_model.py` holds the two node sets to the same fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from csdsl.source import NO_SPAN, Span
from csdsl_runtime.vocabulary import ArithOp, Comparison, LitType, WindowFn


def _span() -> Any:
    return field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Lit:
    op: ClassVar[str] = "lit"
    type: LitType
    value: float | str | bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class FieldRef:
    op: ClassVar[str] = "field"
    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class EventFieldRef:
    op: ClassVar[str] = "event_field"
    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Latest:
    op: ClassVar[str] = "latest"
    metric: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Window:
    op: ClassVar[str] = "window"
    fn: WindowFn
    metric: str
    days: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Change:
    op: ClassVar[str] = "change"
    metric: str
    days: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Count:
    op: ClassVar[str] = "count"
    event: str
    days: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Exists:
    op: ClassVar[str] = "exists"
    event: str
    days: int
    where: Cond | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DaysUntil:
    op: ClassVar[str] = "days_until"
    field: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DaysSince:
    op: ClassVar[str] = "days_since"
    field: str | None = None
    event: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Compare:
    op: ClassVar[str] = "cmp"
    cmp: Comparison
    left: Cond
    right: Cond
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Arith:
    op: ClassVar[str] = "arith"
    fn: ArithOp
    left: Cond
    right: Cond
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Neg:
    op: ClassVar[str] = "neg"
    arg: Cond
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class InList:
    op: ClassVar[str] = "in"
    arg: Cond
    values: tuple[Lit, ...]
    negate: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class And:
    op: ClassVar[str] = "and"
    args: tuple[Cond, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Or:
    op: ClassVar[str] = "or"
    args: tuple[Cond, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    op: ClassVar[str] = "not"
    arg: Cond
    span: Span = _span()


Cond = Union[
    Lit, FieldRef, EventFieldRef, Latest, Window, Change, Count, Exists, DaysUntil, DaysSince,
    Compare, Arith, Neg, InList, And, Or, Not,
]
NODE_TYPES: tuple[type[Cond], ...] = (
    Lit, FieldRef, EventFieldRef, Latest, Window, Change, Count, Exists, DaysUntil, DaysSince,
    Compare, Arith, Neg, InList, And, Or, Not,
)


def children(node: Cond) -> tuple[Cond, ...]:
    """The sub-conditions of a node in the artifact's field order (`where` of `exists`,
    `left` then `right`, `arg` then the `in` values, `args`)."""
    match node:
        case Exists(where=where):
            return (where,) if where is not None else ()
        case Compare(left=left, right=right) | Arith(left=left, right=right):
            return (left, right)
        case InList(arg=arg, values=values):
            return (arg, *values)
        case Neg(arg=arg) | Not(arg=arg):
            return (arg,)
        case And(args=args) | Or(args=args):
            return args
    return ()


def walk(node: Cond, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Cond]]:
    """Every node with its path: the indices of `children` from the root down."""
    stack = [(path, node)]
    while stack:
        at, current = stack.pop()
        yield at, current
        kids = children(current)
        stack.extend(((*at, i), kid) for i, kid in reversed(list(enumerate(kids))))
