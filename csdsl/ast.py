"""The syntax tree: immutable, typed, one class per construct, each with a span.

Spans are left out of equality (`compare=False`), so tests and the formatter's
round-trip check compare trees by meaning and layout-free content. Items inside blocks
keep their source order, so the formatter can print them back with their comments.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Any, Union

from csdsl.source import NO_SPAN, Span
from csdsl_runtime.vocabulary import ArithOp, Comparison, OwnerKind

LiteralKind = typing.Literal["number", "percent", "duration", "date", "string", "bool"]


def _span() -> Any:
    """A span field: given by the parser, left out of equality and repr."""
    return field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Name:
    """An identifier where it is written, so diagnostics can point at it."""

    value: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Str:
    """A string literal: `value` decoded, `raw` as written (with quotes)."""

    value: str
    raw: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DurationLit:
    """`30d` or `4w`; `days` is the meaning, `text` the spelling the formatter keeps."""

    days: int
    text: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class NumberLit:
    """A number outside a condition: a metric's `missing 0`, the counts of `max 500 per
    run`, `at most 2 every 90d` and the limits. `value` is the meaning, `text` the spelling
    the formatter keeps; a count that is not a whole number of at least 1 is refused by
    the checker, not by the parser."""

    value: float
    text: str
    span: Span = _span()


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Literal:
    """`value` is the meaning: a float (percents as fractions, durations as days), the
    decoded text, a date as YYYY-MM-DD text, or a bool; `text` is as written."""

    kind: LiteralKind
    value: float | str | bool
    text: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class NameRef:
    name: Name
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Call:
    func: Name
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Compare:
    op: Comparison
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class InList:
    arg: Expr
    values: tuple[Literal, ...]
    negated: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Trend:
    """`m drops P over D` / `m rises P over D`."""

    metric: Name
    direction: typing.Literal["drops", "rises"]
    amount: Literal
    window: DurationLit
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class NoActivity:
    """`no X for D`: X is an event (none occurred) or a metric (summed to 0)."""

    name: Name
    window: DurationLit
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class EventWithin:
    event: Name
    window: DurationLit
    where: Expr | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: typing.Literal["and", "or"]
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    arg: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Arith:
    op: ArithOp
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Neg:
    arg: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Paren:
    """Kept so the formatter prints the user's parentheses back."""

    expr: Expr
    span: Span = _span()


Expr = Union[
    Literal, NameRef, Call, Compare, InList, Trend, NoActivity, EventWithin, BoolOp, Not,
    Arith, Neg, Paren,
]


# ---------------------------------------------------------------- properties
# One class per shape of value; `key` is the keyword as written, a closed `Literal` per
# class, so every phase after the parser matches on typed nodes and never casts.


@dataclass(frozen=True, slots=True)
class OwnerChoice:
    kind: OwnerKind
    name: str
    span: Span = _span()

    @property
    def name_span(self) -> Span:
        """Where the name is written: the whole choice, but the name at the end of
        `pool NAME` (a name is one token, so it ends the span on its last line)."""
        if self.kind != "pool" or self.span == NO_SPAN:
            return self.span
        span = self.span
        return Span(span.file, span.end_line, span.end_column - len(self.name), span.end_line,
                    span.end_column, span.end - len(self.name), span.end)


@dataclass(frozen=True, slots=True)
class Ref:
    """A task reference: `task` or `objective.task` (objective is None for a bare name)."""

    objective: Name | None
    task: Name
    span: Span = _span()

    @property
    def text(self) -> str:
        return f"{self.objective.value}.{self.task.value}" if self.objective else self.task.value


WordKey = typing.Literal["calendar", "type", "priority", "category", "playbook", "on change"]
TextKey = typing.Literal["description", "success", "reason"]
DaysKey = typing.Literal["duration", "due", "cooldown"]


@dataclass(frozen=True, slots=True)
class WordProp:
    """`calendar business`, `type call`, `priority high`, `category adoption`,
    `playbook UsageDrop`, a playbook's `on change append`: keywords and one word."""

    key: WordKey
    value: Name
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class TextProp:
    """`description "..."`, `success "..."` (an objective's criteria), `reason "..."`."""

    key: TextKey
    value: Str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DaysProp:
    """`duration 2d`, `due 90d`, `cooldown 60d`."""

    key: DaysKey
    value: DurationLit
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DueProp:
    """A rule's `due 14d` or `due 10d business`: its CTA is due D days after it opens,
    counted in the calendar the word names (`business` or `calendar`; None when no word
    is written, which means `calendar`). A plan's `due` is a `DaysProp`."""

    value: DurationLit
    calendar: Name | None = None
    span: Span = _span()
    key: typing.Literal["due"] = field(default="due", init=False, repr=False)


@dataclass(frozen=True, slots=True)
class DayProp:
    """`day N`: a task's earliest start, N days after its anchor."""

    value: int
    span: Span = _span()
    key: typing.Literal["day"] = field(default="day", init=False, repr=False)


@dataclass(frozen=True, slots=True)
class EnabledProp:
    value: bool
    span: Span = _span()
    key: typing.Literal["enabled"] = field(default="enabled", init=False, repr=False)


@dataclass(frozen=True, slots=True)
class ForProp:
    """`for risk, lifecycle`: the CTA types a playbook may be applied to."""

    value: tuple[Name, ...]
    span: Span = _span()
    key: typing.Literal["for"] = field(default="for", init=False, repr=False)


@dataclass(frozen=True, slots=True)
class AfterProp:
    value: tuple[Ref, ...]
    span: Span = _span()
    key: typing.Literal["after"] = field(default="after", init=False, repr=False)


@dataclass(frozen=True, slots=True)
class OwnerProp:
    """`owner AE or CSM`: alternatives tried in order."""

    value: tuple[OwnerChoice, ...]
    span: Span = _span()
    key: typing.Literal["owner"] = field(default="owner", init=False, repr=False)


@dataclass(frozen=True, slots=True)
class MaxPerRunProp:
    """`max N per run`: a rule opens at most N CTAs or plans in one run."""

    value: NumberLit
    span: Span = _span()
    key: typing.Literal["max"] = field(default="max", init=False, repr=False)


@dataclass(frozen=True, slots=True)
class ReopenProp:
    """`reopen while true`: the rule opens a new CTA while its condition holds, without
    re-arming first (`reopen while false`, the default written out, is refused)."""

    value: bool
    span: Span = _span()
    key: typing.Literal["reopen"] = field(default="reopen", init=False, repr=False)


@dataclass(frozen=True, slots=True)
class AtMostProp:
    """`at most N every D`: at most N CTAs or plans of the rule per account in any D days."""

    times: NumberLit
    every: DurationLit
    span: Span = _span()
    key: typing.Literal["at most"] = field(default="at most", init=False, repr=False)


Prop = Union[WordProp, TextProp, DaysProp, DueProp, DayProp, EnabledProp, ForProp, AfterProp,
             OwnerProp, MaxPerRunProp, ReopenProp, AtMostProp]
PROP_TYPES = (WordProp, TextProp, DaysProp, DueProp, DayProp, EnabledProp, ForProp, AfterProp,
              OwnerProp, MaxPerRunProp, ReopenProp, AtMostProp)


@dataclass(frozen=True, slots=True)
class Condition:
    """`when EXPR`, `close when EXPR`, `success within D when EXPR`."""

    key: typing.Literal["when", "close", "success"]
    expr: Expr
    within: DurationLit | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Then:
    """`then cta TYPE "title"` or `then plan NAME`."""

    kind: typing.Literal["cta", "plan"]
    target: Name
    title: Str | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class TaskDecl:
    name: Name
    title: Str | None
    props: tuple[Prop, ...]
    braces: bool = field(default=False, compare=False)  # layout only: `x {}` is `x`
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ObjectiveDecl:
    name: Name
    title: Str | None
    items: tuple[Prop | TaskDecl, ...]
    span: Span = _span()


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class TypeRef:
    kind: str  # text | number | date | bool | enum | the unknown word as written
    values: tuple[Str, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class FieldDecl:
    name: Name
    type: TypeRef
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AccountDecl:
    fields: tuple[FieldDecl, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class MetricDecl:
    name: Name
    label: Str | None
    missing: NumberLit | None = None  # `missing 0`: the value of a day without a row
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class EventDecl:
    name: Name
    label: Str | None
    fields: tuple[FieldDecl, ...]
    braces: bool = field(default=False, compare=False)  # layout only: `x {}` is `x`
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class RoleDecl:
    name: Name
    label: Str | None
    external: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class PoolDecl:
    """`pool Support "Support engineers"`: a team pool; its members come from the data."""

    name: Name
    title: Str | None
    span: Span = _span()


LimitKind = typing.Literal["new ctas per run", "open ctas per owner"]


@dataclass(frozen=True, slots=True)
class LimitDecl:
    """`limit new ctas per run N`, `limit open ctas per owner N`: a spec-wide budget.
    `kind` is the words between `limit` and the number, as the formatter prints them."""

    kind: LimitKind
    value: NumberLit
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class HolidaysDecl:
    """`holidays "US-CA"`: business days skip the public holidays of this region (a
    country code, then optionally `-` and a subdivision, as the `holidays` package names
    them). Once per spec."""

    region: Str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class PlaybookDecl:
    name: Name
    title: Str | None
    items: tuple[Prop | TaskDecl, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class PlanDecl:
    name: Name
    title: Str | None
    items: tuple[Prop | ObjectiveDecl, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class RuleDecl:
    name: Name
    title: Str | None
    items: tuple[Prop | Condition | Then, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class EnvironmentDecl:
    """`environment NAME { rule NAME { ... } }`: overlays that replace, property by
    property, the rules of the same names when this environment is compiled
    (`csdsl compile --env NAME`), so that one reviewed spec is promoted without copies.
    `items` may hold an environment only so that the checker can refuse the nesting."""

    name: Name
    items: tuple[RuleDecl | EnvironmentDecl, ...]
    span: Span = _span()


Decl = Union[AccountDecl, MetricDecl, EventDecl, RoleDecl, PoolDecl, LimitDecl, HolidaysDecl,
             PlaybookDecl, PlanDecl, RuleDecl, EnvironmentDecl]


@dataclass(frozen=True, slots=True)
class Comment:
    text: str  # with the leading `#`
    line: int
    column: int
    own_line: bool  # nothing but white space before it on its line


@dataclass(frozen=True, slots=True)
class File:
    path: str
    decls: tuple[Decl, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = _span()
    # names of top-level declarations dropped for a syntax error: known to exist, so
    # that their uses elsewhere are not reported as unknown on top of that error
    broken: tuple[str, ...] = field(default=(), compare=False)
    # names of declarations kept in part around a syntax error: what is missing from
    # them (a `when`, a `then`) is not reported on top of that error
    partial: tuple[str, ...] = field(default=(), compare=False)
    # the file had a syntax error (a use may sit in text that did not parse)
    recovered: bool = field(default=False, compare=False)
