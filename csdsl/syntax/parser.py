"""Source text → AST. With `lexer.py`, the only module that imports lark; no lark object
escapes them.

A clean file is parsed once, with the fast lexer. A file with a syntax error is parsed
again with lark's own lexer, driving lark's interactive parser: at an error the parser
drops back to the innermost open block, skips to the next token that fits there (a
property keyword, a `}`, or a declaration at the start of a line) and goes on, so one
run reports every syntax error and the declaration with the error is kept in part.

The parser holds no mutable state of its own: what one parse needs (the file, the
diagnostics found so far) lives in a context variable, so threads can parse at once.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import re
import typing
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.parsers.lalr_analysis import Shift

from csdsl import ast
from csdsl.diagnostics import Diagnostic, Related, error
from csdsl.source import SourceFile, Span
from csdsl.syntax.keywords import CONTEXTUAL_DECLARATION_WORDS, DECLARATION_WORDS, RESERVED
from csdsl.syntax.lexer import Fallback, FastContextualLexer, NoMatch
from csdsl.syntax.strings import unescape
from csdsl_runtime.vocabulary import ArithOp, Comparison

_TOKEN_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "INT": "a whole number",
    "PERCENT": "a percentage",
    "DURATION": "a duration such as `30d`",
    "DATE": "a date",
    "BOOL": "`true` or `false`",
    "CMP_OP": "a comparison",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "COMMA": "`,`",
    "COLON": "`:`",
    "DOT": "`.`",
    "PLUS": "`+`",
    "MINUS": "`-`",
    "STAR": "`*`",
    "SLASH": "`/`",
    "EXTERNAL": "`external`",
    "DROPS": "`drops`",
    "RISES": "`rises`",
    "$END": "the end of the file",
}


MAX_DAYS = 36_500
MAX_NESTING = 100
_EXPR_TYPES = typing.get_args(ast.Expr)


def _depth(expr: ast.Expr) -> int:
    """How deeply an expression nests, counted without recursion (it may be very deep)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, Span):
                continue
            for child in value if isinstance(value, tuple) else (value,):
                if isinstance(child, _EXPR_TYPES):
                    stack.append((child, depth + 1))
    return deepest


@dataclass(slots=True)
class ParseStats:
    """What happened inside a parse, for tests and benchmarks to see: how often the fast
    lexer handed a file to lark's lexer, and why."""

    files: int = 0
    fallbacks: list[str] = field(default_factory=list)
    recovered: int = 0  # files with a syntax error, parsed with error recovery


class _Context:
    """What the callbacks need while one file is parsed: where it came from, and the
    diagnostics they found."""

    __slots__ = ("diagnostics", "path", "source")

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.path = source.path
        self.diagnostics: list[Diagnostic] = []


_CONTEXT: ContextVar[_Context] = ContextVar("csdsl_parse")


class _Positioned(Protocol):
    """A lark token as this parser sees it: lark always sets its positions here (its
    stubs call them optional)."""

    line: int
    column: int
    end_line: int
    end_column: int
    start_pos: int
    end_pos: int


class _Inline:
    """What a rule lark inlines into its parent (`_item`, and its own helper rules for
    `x*`) builds: just its children, which the parent's filter splices in. Cheaper than
    the `Tree` lark would build for it (a tenth of the tokens' parse time)."""

    __slots__ = ("children",)

    def __init__(self, children: list[Any]) -> None:
        self.children = children


class _Builder(Transformer[Token, Any]):
    """Builds our AST while lark parses (an embedded LALR transformer: no lark tree).

    The grammar keeps every token (`keep_all_tokens`), so each callback sees its
    keywords and braces and can give its node a span from its first to its last token.
    Children are read by position, following the grammar rule the callback is named for.
    """

    def __getattr__(self, name: str) -> Any:
        """lark asks for a callback per rule (and per terminal, in upper case): the rules
        it inlines, `_item` and its `__x_star_N` helpers, get `_Inline`."""
        if name.startswith("_") and not name.endswith("__") and name.lstrip("_")[:1].islower():
            return _Inline
        raise AttributeError(name)

    # -- spans and leaves
    def _span(self, children: list[Any]) -> Span:
        """From the first child's start to the last's, from lark's own token positions."""
        path = _CONTEXT.get().path
        first = children[0]
        last = children[-1]
        if last is None:
            last = next(c for c in reversed(children) if c is not None)
        if isinstance(first, Token):
            head = cast(_Positioned, first)
            line, column, start = head.line, head.column, head.start_pos
        else:
            line, column, start = first.span.line, first.span.column, first.span.start
        if isinstance(last, Token):
            tail = cast(_Positioned, last)
            return Span(path, line, column, tail.end_line, tail.end_column, start, tail.end_pos)
        end = last.span
        return Span(path, line, column, end.end_line, end.end_column, start, end.end)

    def _tok_span(self, tok: Any) -> Span:
        return Span(_CONTEXT.get().path, tok.line, tok.column, tok.end_line, tok.end_column,
                    tok.start_pos, tok.end_pos)

    def _name(self, tok: Any) -> ast.Name:
        return ast.Name(str(tok), self._tok_span(tok))

    def _str(self, tok: Any) -> ast.Str | None:
        if tok is None:
            return None
        return ast.Str(self._decode(tok), str(tok), self._tok_span(tok))

    def _decode(self, tok: Any) -> str:
        ctx = _CONTEXT.get()
        return unescape(str(tok)[1:-1], tok.start_pos + 1, ctx.source, ctx.diagnostics.append)

    def _report(self, code: str, span: Span, message: str, help_text: str) -> None:
        _CONTEXT.get().diagnostics.append(error(code, span, message, help_text))

    def _days(self, digits: str, tok: Any, scale: int = 1) -> int:
        """A number of days, refused (CS0309) beyond MAX_DAYS: no date is that far away.
        (Long digit strings are not converted at all: Python refuses past 4,300 digits.)"""
        days = int(digits) * scale if len(digits) <= 9 else MAX_DAYS + 1
        if days > MAX_DAYS:
            message = f"`{tok}` is too many days" if len(str(tok)) <= 24 \
                else "this day count is too large"
            self._report("CS0309", self._tok_span(tok), message,
                         f"day counts go up to {MAX_DAYS:,} (100 years)")
        return days

    def _duration(self, tok: Any) -> ast.DurationLit:
        text = str(tok)
        days = self._days(text[:-1], tok, 7 if text.endswith("w") else 1)
        return ast.DurationLit(days, text, self._tok_span(tok))

    def _condition(self, expr: ast.Expr) -> ast.Expr:
        """The condition itself, or `false` in its place when it nests too deeply for the
        later phases (which walk it recursively): CS0106 stops the build either way."""
        if expr.span.end - expr.span.start <= MAX_NESTING:  # each level takes a character
            return expr
        depth = _depth(expr)
        if depth <= MAX_NESTING:
            return expr
        self._report("CS0106", expr.span, f"the condition nests {depth} levels deep",
                     f"conditions nest up to {MAX_NESTING} levels; split it into simpler parts")
        return ast.Literal("bool", False, "false", expr.span)

    # -- declarations
    def start(self, c: list[Any]) -> tuple[ast.Decl, ...]:
        return tuple(c)

    def account_decl(self, c: list[Any]) -> ast.AccountDecl:
        # "account" "{" field_decl* "}"
        return ast.AccountDecl(tuple(c[2:-1]), self._span(c))

    def field_decl(self, c: list[Any]) -> ast.FieldDecl:
        # NAME ":" type_ref
        return ast.FieldDecl(self._name(c[0]), c[2], self._span(c))

    def named_type(self, c: list[Any]) -> ast.TypeRef:
        return ast.TypeRef(str(c[0]), (), self._span(c))

    def enum_type(self, c: list[Any]) -> ast.TypeRef:
        # "enum" "(" STRING ("," STRING)* [","] ")"
        values = tuple(
            self._str(t) for t in c if isinstance(t, Token) and t.type == "STRING"
        )
        return ast.TypeRef("enum", values, self._span(c))  # type: ignore[arg-type]

    def metric_decl(self, c: list[Any]) -> ast.MetricDecl:
        # "metric" NAME [STRING] ["missing" NUMBER]
        missing = self._number(c[4]) if c[4] is not None else None
        return ast.MetricDecl(self._name(c[1]), self._str(c[2]), missing, self._span(c))

    def event_decl(self, c: list[Any]) -> ast.EventDecl:
        # "event" NAME [STRING] ["{" field_decl* "}"]: an inlined optional leaves no None
        braces = len(c) > 3
        fields = tuple(c[4:-1]) if braces else ()
        return ast.EventDecl(self._name(c[1]), self._str(c[2]), fields, braces, self._span(c))

    def role_decl(self, c: list[Any]) -> ast.RoleDecl:
        # "role" NAME [STRING] [EXTERNAL]
        return ast.RoleDecl(self._name(c[1]), self._str(c[2]), c[3] is not None, self._span(c))

    def pool_decl(self, c: list[Any]) -> ast.PoolDecl:
        # "pool" NAME [STRING]
        return ast.PoolDecl(self._name(c[1]), self._str(c[2]), self._span(c))

    def limit_new_ctas(self, c: list[Any]) -> ast.LimitDecl:
        # "limit" "new" "ctas" "per" "run" NUMBER
        return ast.LimitDecl("new ctas per run", self._number(c[5]), self._span(c))

    def limit_open_ctas(self, c: list[Any]) -> ast.LimitDecl:
        # "limit" "open" "ctas" "per" "owner" NUMBER
        return ast.LimitDecl("open ctas per owner", self._number(c[5]), self._span(c))

    def holidays_decl(self, c: list[Any]) -> ast.HolidaysDecl:
        # "holidays" STRING
        region = self._str(c[1])
        assert region is not None
        return ast.HolidaysDecl(region, self._span(c))

    def playbook_decl(self, c: list[Any]) -> ast.PlaybookDecl:
        # "playbook" NAME [STRING] "{" item* "}"
        return ast.PlaybookDecl(self._name(c[1]), self._str(c[2]), tuple(c[4:-1]), self._span(c))

    def plan_decl(self, c: list[Any]) -> ast.PlanDecl:
        return ast.PlanDecl(self._name(c[1]), self._str(c[2]), tuple(c[4:-1]), self._span(c))

    def objective_decl(self, c: list[Any]) -> ast.ObjectiveDecl:
        return ast.ObjectiveDecl(self._name(c[1]), self._str(c[2]), tuple(c[4:-1]),
                                 self._span(c))

    def rule_decl(self, c: list[Any]) -> ast.RuleDecl:
        return ast.RuleDecl(self._name(c[1]), self._str(c[2]), tuple(c[4:-1]), self._span(c))

    def environment_decl(self, c: list[Any]) -> ast.EnvironmentDecl:
        # "environment" NAME "{" item* "}"
        return ast.EnvironmentDecl(self._name(c[1]), tuple(c[3:-1]), self._span(c))

    def task_decl(self, c: list[Any]) -> ast.TaskDecl:
        # "task" NAME [STRING] ["{" prop* "}"]: an inlined optional leaves no None
        braces = len(c) > 3
        props = tuple(c[4:-1]) if braces else ()
        return ast.TaskDecl(self._name(c[1]), self._str(c[2]), props, braces, self._span(c))

    # -- properties: KEYWORD value
    def for_prop(self, c: list[Any]) -> ast.ForProp:
        return ast.ForProp(tuple(self._name(t) for t in c[1::2]), self._span(c))

    def _word(self, key: ast.WordKey, c: list[Any]) -> ast.WordProp:
        return ast.WordProp(key, self._name(c[1]), self._span(c))

    def _text(self, key: ast.TextKey, c: list[Any]) -> ast.TextProp:
        text = self._str(c[1])
        assert text is not None
        return ast.TextProp(key, text, self._span(c))

    def _days_prop(self, key: ast.DaysKey, c: list[Any]) -> ast.DaysProp:
        return ast.DaysProp(key, self._duration(c[1]), self._span(c))

    def calendar_prop(self, c: list[Any]) -> ast.WordProp:
        return self._word("calendar", c)

    def on_change_prop(self, c: list[Any]) -> ast.WordProp:
        # "on" "change" NAME
        return ast.WordProp("on change", self._name(c[2]), self._span(c))

    def description_prop(self, c: list[Any]) -> ast.TextProp:
        return self._text("description", c)

    def day_prop(self, c: list[Any]) -> ast.DayProp:
        return ast.DayProp(self._days(str(c[1]), c[1]), self._span(c))

    def duration_prop(self, c: list[Any]) -> ast.DaysProp:
        return self._days_prop("duration", c)

    def after_prop(self, c: list[Any]) -> ast.AfterProp:
        return ast.AfterProp(tuple(c[1::2]), self._span(c))

    def ref(self, c: list[Any]) -> ast.Ref:
        # NAME ["." NAME]
        if c[2] is None:
            return ast.Ref(None, self._name(c[0]), self._span(c))
        return ast.Ref(self._name(c[0]), self._name(c[2]), self._span(c))

    def owner_prop(self, c: list[Any]) -> ast.OwnerProp:
        return ast.OwnerProp(tuple(c[1::2]), self._span(c))

    def owner_role(self, c: list[Any]) -> ast.OwnerChoice:
        return ast.OwnerChoice("role", str(c[0]), self._span(c))

    def owner_user(self, c: list[Any]) -> ast.OwnerChoice:
        return ast.OwnerChoice("user", self._decode(c[0]), self._span(c))

    def owner_pool(self, c: list[Any]) -> ast.OwnerChoice:
        return ast.OwnerChoice("pool", str(c[1]), self._span(c))

    def type_prop(self, c: list[Any]) -> ast.WordProp:
        return self._word("type", c)

    def priority_prop(self, c: list[Any]) -> ast.WordProp:
        return self._word("priority", c)

    def category_prop(self, c: list[Any]) -> ast.WordProp:
        return self._word("category", c)

    def playbook_prop(self, c: list[Any]) -> ast.WordProp:
        return self._word("playbook", c)

    def due_prop(self, c: list[Any]) -> ast.DaysProp:
        return self._days_prop("due", c)

    def rule_due_prop(self, c: list[Any]) -> ast.DueProp:
        # "due" DURATION [NAME]
        calendar = self._name(c[2]) if c[2] is not None else None
        return ast.DueProp(self._duration(c[1]), calendar, self._span(c))

    def cooldown_prop(self, c: list[Any]) -> ast.DaysProp:
        return self._days_prop("cooldown", c)

    def success_prop(self, c: list[Any]) -> ast.TextProp:
        return self._text("success", c)

    def reason_prop(self, c: list[Any]) -> ast.TextProp:
        return self._text("reason", c)

    def enabled_prop(self, c: list[Any]) -> ast.EnabledProp:
        return ast.EnabledProp(str(c[1]) == "true", self._span(c))

    def max_prop(self, c: list[Any]) -> ast.MaxPerRunProp:
        # "max" NUMBER "per" "run"
        return ast.MaxPerRunProp(self._number(c[1]), self._span(c))

    def reopen_prop(self, c: list[Any]) -> ast.ReopenProp:
        # "reopen" "while" BOOL
        return ast.ReopenProp(str(c[2]) == "true", self._span(c))

    def at_most_prop(self, c: list[Any]) -> ast.AtMostProp:
        # "at" "most" NUMBER "every" DURATION
        return ast.AtMostProp(self._number(c[2]), self._duration(c[4]), self._span(c))

    def when_prop(self, c: list[Any]) -> ast.Condition:
        return ast.Condition("when", self._condition(c[1]), None, self._span(c))

    def close_prop(self, c: list[Any]) -> ast.Condition:
        # "close" "when" expr
        return ast.Condition("close", self._condition(c[2]), None, self._span(c))

    def success_within_prop(self, c: list[Any]) -> ast.Condition:
        # "success" "within" DURATION "when" expr
        return ast.Condition("success", self._condition(c[4]), self._duration(c[2]),
                             self._span(c))

    def then_cta(self, c: list[Any]) -> ast.Then:
        # "then" "cta" NAME STRING
        return ast.Then("cta", self._name(c[2]), self._str(c[3]), self._span(c))

    def then_plan(self, c: list[Any]) -> ast.Then:
        return ast.Then("plan", self._name(c[2]), None, self._span(c))

    # -- expressions
    def or_op(self, c: list[Any]) -> ast.BoolOp:
        return ast.BoolOp("or", tuple(c[0::2]), self._span(c))

    def and_op(self, c: list[Any]) -> ast.BoolOp:
        return ast.BoolOp("and", tuple(c[0::2]), self._span(c))

    def not_op(self, c: list[Any]) -> ast.Not:
        return ast.Not(c[1], self._span(c))

    def compare(self, c: list[Any]) -> ast.Compare:
        return ast.Compare(cast(Comparison, str(c[1])), c[0], c[2], self._span(c))

    def in_op(self, c: list[Any]) -> ast.InList:
        # expr "in" "(" literal ("," literal)* [","] ")"
        values = tuple(v for v in c[3:-1] if v is not None and not isinstance(v, Token))
        return ast.InList(c[0], values, False, self._span(c))

    def not_in_op(self, c: list[Any]) -> ast.InList:
        values = tuple(v for v in c[4:-1] if v is not None and not isinstance(v, Token))
        return ast.InList(c[0], values, True, self._span(c))

    def trend(self, c: list[Any]) -> ast.Trend:
        # NAME (DROPS|RISES) amount "over" DURATION
        direction = cast(typing.Literal["drops", "rises"], str(c[1]))
        return ast.Trend(self._name(c[0]), direction, c[2], self._duration(c[4]), self._span(c))

    def no_op(self, c: list[Any]) -> ast.NoActivity:
        # "no" NAME "for" DURATION
        return ast.NoActivity(self._name(c[1]), self._duration(c[3]), self._span(c))

    def event_within(self, c: list[Any]) -> ast.EventWithin:
        # "event" NAME "within" DURATION ["where" comparison]
        where = c[5] if len(c) > 5 else None
        return ast.EventWithin(self._name(c[1]), self._duration(c[3]), where, self._span(c))

    def arith(self, c: list[Any]) -> ast.Arith:
        return ast.Arith(cast(ArithOp, str(c[1])), c[0], c[2], self._span(c))

    def neg(self, c: list[Any]) -> ast.Neg:
        return ast.Neg(c[1], self._span(c))

    def name_ref(self, c: list[Any]) -> ast.NameRef:
        return ast.NameRef(self._name(c[0]), self._span(c))

    def call(self, c: list[Any]) -> ast.Call:
        # NAME "(" [expr ("," expr)*] ")"
        args = tuple(a for a in c[2:-1] if a is not None and not isinstance(a, Token))
        return ast.Call(self._name(c[0]), args, self._span(c))

    def paren(self, c: list[Any]) -> ast.Paren:
        return ast.Paren(c[1], self._span(c))

    # -- literals
    def _lit(self, kind: ast.LiteralKind, value: float | str | bool, tok: Any) -> ast.Literal:
        return ast.Literal(kind, value, str(tok), self._tok_span(tok))

    def negative_literal(self, c: list[Any]) -> ast.Literal:
        # MINUS (NUMBER | PERCENT), in an `in (...)` list: one negative literal
        tok = c[1]
        positive = self.percent([tok]) if tok.type == "PERCENT" else self.number([tok])
        span = self._span(c)
        return ast.Literal(positive.kind, -positive.value, f"-{tok}", span)  # type: ignore[operator]

    def _finite(self, value: float, tok: Any) -> float:
        if not math.isfinite(value):
            shown = f"`{tok}`" if len(tok) <= 24 else "this number"
            self._report("CS0309", self._tok_span(tok), f"{shown} is too large",
                         "numbers are 64-bit floats: up to about 1.8e308")
            return 0.0
        return value

    def _number(self, tok: Any) -> ast.NumberLit:
        """A number outside a condition (a count, a metric's `missing`), as written. One
        past the range of a float is CS0309 here and stays infinite, so that the checker
        knows it was reported."""
        value = float(tok)
        self._finite(value, tok)
        return ast.NumberLit(value, str(tok), self._tok_span(tok))

    def number(self, c: list[Any]) -> ast.Literal:
        return self._lit("number", self._finite(float(c[0]), c[0]), c[0])

    def percent(self, c: list[Any]) -> ast.Literal:
        tok = c[0]
        return self._lit("percent", self._finite(float(str(tok)[:-1]) / 100.0, tok), tok)

    def duration(self, c: list[Any]) -> ast.Literal:
        d = self._duration(c[0])
        return ast.Literal("duration", float(d.days), d.text, d.span)

    def date(self, c: list[Any]) -> ast.Literal:
        tok = c[0]
        try:
            date.fromisoformat(str(tok))
        except ValueError:
            self._report("CS0105", self._tok_span(tok), f"`{tok}` is not a valid date",
                         "dates are written YYYY-MM-DD")
        return self._lit("date", str(tok), tok)

    def string(self, c: list[Any]) -> ast.Literal:
        tok = c[0]
        return self._lit("string", self._decode(tok), tok)

    def boolean(self, c: list[Any]) -> ast.Literal:
        tok = c[0]
        return self._lit("bool", str(tok) == "true", tok)


_BUILDER = _Builder()  # stateless: what a parse needs is in `_CONTEXT`


def _lark(lexer: str | type[FastContextualLexer]) -> Lark:
    grammar = resources.files("csdsl.grammar").joinpath("csdsl.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer=lexer,
        keep_all_tokens=True,
        maybe_placeholders=True,
        transformer=_BUILDER,
        cache=True,
    )


@lru_cache(maxsize=1)
def _parser() -> Lark:
    """lark with its own contextual lexer: the reference, and the one errors come from."""
    return _lark("contextual")


@lru_cache(maxsize=1)
def _fast_parser() -> Lark:
    """The same parser with `FastContextualLexer` (the same tokens, less Python per token)."""
    return _lark(FastContextualLexer)


def _describe_expected(expected: set[str], first: Sequence[str] = ()) -> str:
    """`expected ...`: what could have come, as words, sorted; those of `first` (the
    words likely left out) before the others, so that the list's cut never drops them."""
    lark = _parser()
    words = set()
    for name in expected:
        if name in _TOKEN_WORDS:
            words.add(_TOKEN_WORDS[name])
        elif name.startswith("__ANON"):
            # a keyword lark could not name after itself (`duration` is also DURATION's
            # lower case); other anonymous terminals say nothing to a user
            pattern = lark.get_terminal(name).pattern
            if pattern.type == "str" and pattern.value.isidentifier():
                words.add(f"`{pattern.value}`")
        else:
            pattern = lark.get_terminal(name).pattern
            value = getattr(pattern, "value", name)
            words.add(f"`{value}`" if pattern.type == "str" else name.lower())
    leading = [f"`{lark.get_terminal(n).pattern.value}`" for n in first]
    ordered = [*leading, *sorted(words - set(leading))]
    if not ordered:
        return ""
    if len(ordered) > 8:
        ordered = [*ordered[:8], "..."]
    return "expected " + ", ".join(ordered)


def parse_source(source: SourceFile, stats: ParseStats | None = None
                 ) -> tuple[ast.File, list[Diagnostic]]:
    """Parse one file. Always returns a File (possibly partial) and every diagnostic."""
    if stats is not None:
        stats.files += 1
    span = source.span(0, len(source.text))
    try:
        decls, diagnostics = _parse_once(source, fast=True)
    except (UnexpectedInput, NoMatch):
        pass  # a syntax error: parsed again below, with recovery, as lark sees it
    except Fallback as exc:  # the fast lexer declined: lark's lexer parses it
        if stats is not None:
            stats.fallbacks.append(str(exc))
    else:
        return ast.File(source.path, decls, _comments(source), span), diagnostics
    ctx = _Context(source)
    reset = _CONTEXT.set(ctx)
    try:
        recovery = _Recovery(source)
        decls = recovery.parse()
    finally:
        _CONTEXT.reset(reset)
    if stats is not None and recovery.errors:
        stats.recovered += 1
    offsets = sorted(recovery.offsets)
    partial = tuple(sorted({
        d.name.value for d in decls
        if not isinstance(d, ast.AccountDecl | ast.LimitDecl | ast.HolidaysDecl
                          | ast.EnvironmentDecl)
        and _has_offset(offsets, d.span)
    }))
    parsed = ast.File(source.path, decls, _comments(source), span,
                      broken=tuple(recovery.broken), partial=partial,
                      recovered=bool(recovery.errors))
    return parsed, sorted([*ctx.diagnostics, *recovery.errors], key=Diagnostic.sort_key)


def _has_offset(offsets: list[int], span: Span) -> bool:
    """Does a sorted list of offsets hold one inside the span?"""
    i = bisect.bisect_left(offsets, span.start)
    return i < len(offsets) and offsets[i] <= span.end


def _parse_once(source: SourceFile, fast: bool) -> tuple[tuple[ast.Decl, ...], list[Diagnostic]]:
    """One parse with one lexer and no recovery: raises lark's `UnexpectedInput` at a
    syntax error, and `Fallback` when the fast lexer declines."""
    ctx = _Context(source)
    reset = _CONTEXT.set(ctx)
    try:
        decls = (_fast_parser() if fast else _parser()).parse(source.text)
        return cast(tuple[ast.Decl, ...], decls), ctx.diagnostics
    finally:
        _CONTEXT.reset(reset)


# What follows a contextual declaration word when it opens a declaration: `limit new ctas`,
# `limit open ctas`, `holidays "US-CA"`.
_DECLARATION_TAILS = {
    "limit": re.compile(r"[ \t]+(?:new|open)[ \t]+ctas\b"),
    "holidays": re.compile(r'[ \t]+"'),
}

# Token types of the words that open a block, and of those that open a declaration.
_BLOCK_WORDS = {w.upper(): w for w in (*DECLARATION_WORDS, "task", "objective")}
_DECLARATION_TYPES = frozenset(w.upper() for w in (*DECLARATION_WORDS,
                                                   *CONTEXTUAL_DECLARATION_WORDS))


class _Recovery:
    """One parse of a file with a syntax error, by lark's interactive parser.

    At an error the parser state drops back to the innermost block body (a state that
    shifts `}`), or to the top level. Then tokens are skipped, with the blocks they open,
    until one that fits there starts a line (a property), or is a `}`. A declaration
    word at the start of a line inside a block closes the blocks still open (the `}`
    was forgotten), so the next declaration parses.
    """

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.text = source.text
        self.interactive = _parser().parse_interactive(source.text)
        self.state = self.interactive.parser_state
        self.table = self.state.parse_conf.parse_table.states
        self.errors: list[Diagnostic] = []
        self.offsets: list[int] = []  # where the errors are, to tell the partial declarations
        self.broken: list[str] = []  # names of declarations (and fields) dropped whole
        self._popped: object = None  # the value popped last

    # -- the token stream, lexer errors included
    def _tokens(self) -> Iterator[Token | UnexpectedCharacters]:
        thread = self.interactive.lexer_thread
        while True:
            try:
                for token in thread.lex(self.state):  # type: ignore[no-untyped-call]
                    yield self._declaration_word(token)
                return
            except UnexpectedToken as exc:  # lexed by lark's root lexer: no use here
                yield exc.token
            except UnexpectedCharacters as exc:  # no token starts here: step over it
                yield exc
                assert thread.state is not None
                line_counter = thread.state.line_ctr
                at = line_counter.char_pos
                line_counter.feed(self.text[at:at + 1])

    def _declaration_word(self, token: Token) -> Token:
        """A declaration word at the start of a line, lexed as a name because a block
        that takes names (`account {`, an event's fields) is still open: the keyword it
        is. (Declaration words are reserved, so no name is lost. `limit` and `holidays` are
        not: each is the keyword only when the rest of its declaration follows it, the words
        of a limit or a string, so a field `limit:` or `holidays:` stays one.)"""
        if token.type != "NAME" or token.column != 1:
            return token
        tail = _DECLARATION_TAILS.get(token.value)
        if token.value in DECLARATION_WORDS or (
                tail is not None and tail.match(self.text, cast(_Positioned, token).end_pos)):
            return Token.new_borrow_pos(token.value.upper(), token.value, token)
        return token

    def parse(self) -> tuple[ast.Decl, ...]:
        skipping = False
        depth = 0  # blocks opened by skipped tokens
        last: Token | None = None
        for item in self._tokens():
            if isinstance(item, UnexpectedCharacters):
                if not skipping:
                    self._report(item)
                    self._resync()
                    skipping = True
                continue
            token = item
            if skipping:
                if token.type == "LBRACE":
                    depth += 1
                    continue
                if depth and token.type == "RBRACE":
                    depth -= 1
                    continue
                if not self._starts_declaration(token) and (depth or not self._resumes(token)):
                    continue
                depth = 0
            fed = self._feed(token, report=not skipping)
            skipping = not fed
            if fed:
                last = token
            elif token.type == "LBRACE":
                depth = 1  # the block the unexpected `{` opens is skipped whole
        return self._finish(last)

    def _finish(self, last: Token | None) -> tuple[ast.Decl, ...]:
        end = len(self.text)
        line, column = self.source.position(end)
        brace = Token("RBRACE", "", end, line, column, line, column, end)
        reported = False
        while True:
            eof = Token.new_borrow_pos("$END", "", last) if last is not None else \
                Token("$END", "", 0, 1, 1)
            try:
                result: tuple[ast.Decl, ...] = self.state.feed_token(eof, True)
                return result
            except UnexpectedToken as exc:
                if not reported:
                    reported = True
                    self._report_end(exc, brace)
                    continue
                if not self._close_block(brace):
                    if len(self.state.state_stack) <= 1:
                        return ()  # nothing to keep (cannot happen: the start state ends)
                    self._pop_to_top()
                    if self._shifts(self.state.position, "RULE") and "$END" not in \
                            self.table[self.state.position]:
                        self._pop()

    def _report_end(self, exc: UnexpectedToken, brace: Token) -> None:
        """The file ends inside a declaration. When only `}`s are missing (the last item
        is whole: `brace` closes the innermost block), name the innermost block left open
        where it opens: that is where to look, not the end of the file. When the file
        ends in the middle of an item, say so at the end, with what could come next and
        the block it is in."""
        opened = self._open_block()
        closed = False
        if opened is not None and "RBRACE" in self.table[self.state.position]:
            try:  # for real, as `_close_block` would: a failed try is dropped there too
                self.state.feed_token(brace)
                closed = True
            except UnexpectedToken:
                pass  # a lookahead LALR merged in: this item cannot end here
        if opened is None or not closed:
            self._report(exc, f"the `{{` of {opened[0]} on line {opened[1].line} is never "
                              "closed" if opened else "")
            return
        what, brace = opened
        at = cast(_Positioned, brace)
        end = len(self.text)
        self.offsets.append(at.start_pos)
        self.errors.append(error(
            "CS0104", self.source.span(at.start_pos, at.end_pos),
            f"{what} opened at line {at.line} is not closed",
            f"the file ends before its `}}`: add it where {what} ends",
            related=(Related(self.source.span(max(0, end - 1), end), "the file ends here"),)))

    # -- parser state
    def _feed(self, token: Token, report: bool) -> bool:
        """Feed one token. At an error: report it (unless resynchronising), drop the
        unfinished item, and feed the token there if it resumes the parse. True when
        the token went in."""
        # (`_accepts`, not `_fits`: a rule's `}` is followed by a declaration at the top
        # level and by an overlay inside an `environment`, and LALR merges the two)
        if self._starts_declaration(token) and not self._accepts((token.type,)) \
                and self._open_block() is not None:
            self._close_blocks_before(token)
        elif self._starts_member(token):
            self._close_blocks_before(token, "task" if token.type == "TASK" else "objective")
        try:
            self.state.feed_token(token)
            return True
        except UnexpectedToken as exc:
            if report:
                self._report(exc)
        self._resync()
        if self._starts_declaration(token) or self._resumes(token):
            try:
                self.state.feed_token(token)
                return True
            except UnexpectedToken:
                self._resync()
        return False

    def _fits(self, token: Token) -> bool:
        return token.type in self.table[self.state.position]

    def _resumes(self, token: Token) -> bool:
        """May the parse go on at this token: it fits, and is a `}` or starts a line (a
        token in the middle of a broken line may belong to the broken property)."""
        if not self._fits(token):
            return False
        if token.type == "RBRACE":
            return True
        return self._starts_line(token)

    def _starts_declaration(self, token: Token) -> bool:
        return token.type in _DECLARATION_TYPES and token.column == 1

    def _starts_member(self, token: Token) -> bool:
        """A `task` or `objective` that starts a line where it cannot stand, inside a
        task (or an objective, for `objective`) whose `}` is then missing: a task never
        holds a task, an objective never an objective. (Only when the block it belongs
        in is open around it, so that closing the inner ones lets it in.)"""
        if token.type not in ("TASK", "OBJECTIVE") or not self._starts_line(token) \
                or self._accepts((token.type,)):  # not `_fits`: LALR merges lookaheads
            return False
        kinds = self._open_kinds()
        if not kinds or kinds[-1] not in ("task", "objective"):
            return False
        if token.type == "TASK":
            return kinds[-1] == "task" and len(kinds) > 1
        return "objective" in kinds and "plan" in kinds

    def _starts_line(self, token: Token) -> bool:
        start = cast(_Positioned, token).start_pos
        return self.text[self.text.rfind("\n", 0, start) + 1:start].strip() == ""

    def _shifts(self, state: int, terminal: str) -> bool:
        action = self.table[state].get(terminal)
        return action is not None and action[0] is Shift

    def _resync(self) -> None:
        """Drop the unfinished item: back to the innermost block body, or the top level.
        A block just closed by its `}` (its reduction waits for the next token) is whole:
        it stays."""
        stack = self.state.state_stack
        while len(stack) > 1 and not self._shifts(stack[-1], "RBRACE") \
                and not self._shifts(stack[-1], "RULE") and not self._after_brace():
            self._pop()

    def _after_brace(self) -> bool:
        values = self.state.value_stack
        return bool(values) and isinstance(values[-1], Token) and values[-1].type == "RBRACE"

    def _pop_to_top(self) -> None:
        # `account` opens a declaration only at the top level (`rule` opens an overlay
        # inside an `environment` too)
        while len(self.state.state_stack) > 1 and not self._shifts(self.state.position,
                                                                   "ACCOUNT"):
            self._pop()

    def _pop(self) -> None:
        """Drop the top of the parser's stacks, noting the names of what is lost whole:
        a declaration (`rule NAME`) or an account or event field (`NAME :`)."""
        self.state.state_stack.pop()
        value = self.state.value_stack.pop()
        if isinstance(value, Token) and value.type == "NAME":
            below = self.state.value_stack[-1] if self.state.value_stack else None
            above = self._popped
            if (isinstance(below, Token) and below.type in _DECLARATION_TYPES) or \
                    (isinstance(above, Token) and above.type == "COLON"):
                self.broken.append(str(value))
        self._popped = value

    def _open_kinds(self) -> list[str]:
        """The words of the blocks still open, outermost first: `playbook`, `task`."""
        kinds: list[str] = []
        closed = 0
        values = self.state.value_stack
        for i in range(len(values) - 1, -1, -1):
            brace = values[i]
            if not isinstance(brace, Token) or brace.type not in ("LBRACE", "RBRACE"):
                continue
            if brace.type == "RBRACE":
                closed += 1
                continue
            if closed:
                closed -= 1
                continue
            word = next((w for w in reversed(values[:i])
                         if isinstance(w, Token) and w.type in _BLOCK_WORDS), None)
            kinds.append(_BLOCK_WORDS[word.type] if word is not None else "")
        return kinds[::-1]

    def _open_block(self) -> tuple[str, Token] | None:
        """The innermost `{` still open, and what opened it: `rule `x``, `task `y``. A
        `{` whose `}` is on the stack too (its block not reduced yet) is closed."""
        values = self.state.value_stack
        closed = 0
        for i in range(len(values) - 1, -1, -1):
            brace = values[i]
            if not isinstance(brace, Token):
                continue
            if brace.type == "RBRACE":
                closed += 1
            elif brace.type == "LBRACE" and closed:
                closed -= 1
            elif brace.type == "LBRACE":
                for j in range(i - 1, -1, -1):
                    word = values[j]
                    if isinstance(word, Token) and word.type in _BLOCK_WORDS:
                        name = values[j + 1] if word.type != "ACCOUNT" else None
                        what = _BLOCK_WORDS[word.type]
                        return (f"{what} `{name}`" if isinstance(name, Token) else what), brace
                return None
        return None

    def _close_block(self, brace: Token) -> bool:
        """Close the innermost block with `brace`, keeping its last item if it is whole;
        False at the top level."""
        for attempt in range(2):
            if "RBRACE" in self.table[self.state.position]:
                try:
                    self.state.feed_token(brace)
                    return True
                except UnexpectedToken:
                    pass  # a lookahead LALR merged in: this item cannot end here
            if attempt == 0:
                self._resync()  # the item is unfinished: drop it whole
        return False

    def _close_blocks_before(self, token: Token, next_what: str = "declaration") -> None:
        """A declaration (or a task, an objective: `next_what`) starts inside a block it
        cannot stand in: report what is unfinished and the block, and close the open ones
        until it fits."""
        opened = self._open_block()
        if "RBRACE" not in self.table[self.state.position]:  # in the middle of an item
            expected = {t for t in self.table[self.state.position] if t.isupper()}
            self._report(UnexpectedToken(token, expected, state=self.state))  # type: ignore[no-untyped-call]
        if opened is not None:
            what, brace = opened
            at, found = cast(_Positioned, brace), cast(_Positioned, token)
            self.offsets.append(at.start_pos)
            self.errors.append(error(
                "CS0107", self.source.span(at.start_pos, at.end_pos),
                f"the `{{` of {what} is never closed",
                f"close it with `}}` before `{token}` on line {found.line}",
                related=(Related(self.source.span(found.start_pos, found.end_pos),
                                 f"the next {next_what} starts here"),)))
        synthetic = Token("RBRACE", "", token.start_pos, token.line, token.column, token.line,
                          token.column, token.start_pos)
        while not self._accepts((token.type,)) and self._close_block(synthetic):
            pass
        if not self._accepts((token.type,)):
            self._pop_to_top()

    def _report(self, exc: UnexpectedInput, *more_help: str) -> None:
        missing: list[str] = []
        if isinstance(exc, UnexpectedToken):
            exc.interactive_parser = self.interactive  # so `accepts` is what lark would say
            missing = self._missing_words(exc)
        found = _syntax_error(self.source, exc, missing)
        if more_help and more_help[0]:
            found = dataclasses.replace(found, help=(*more_help, *found.help))
        self.errors.append(found)
        self.offsets.append(found.span.start)

    def _missing_words(self, exc: UnexpectedToken) -> list[str]:
        """The expected keywords after which the unexpected keyword would fit: the words
        likely left out (`cta` where a rule's item starts fits after `then`). Tried on the
        parser's state stack alone, so no callback runs. Only for a keyword: after a name
        or a literal too many words fit to say which was meant."""
        token = exc.token
        if token.type in _TOKEN_WORDS or not str(token).isidentifier():
            return []
        lark = _parser()
        found = []
        for name in sorted(exc.expected):
            if name in _TOKEN_WORDS or not name.isupper():
                continue
            pattern = lark.get_terminal(name).pattern
            if pattern.type == "str" and pattern.value.isidentifier() \
                    and self._accepts((name, token.type)):
                found.append(name)
        return found

    def _accepts(self, types: tuple[str, ...]) -> bool:
        """Would the parser, where it stands, take tokens of these types one after the
        other? (LALR on a copy of the state stack: reductions pop, gotos push.)"""
        stack = list(self.state.state_stack)
        for type_ in types:
            while True:
                entry = self.table[stack[-1]].get(type_)
                if entry is None:
                    return False
                action, arg = entry
                if action is Shift:
                    stack.append(arg)
                    break
                size = len(arg.expansion)
                if size:
                    del stack[-size:]
                stack.append(self.table[stack[-1]][arg.origin.name][1])
        return True


def _syntax_error(source: SourceFile, exc: UnexpectedInput,
                  missing: Sequence[str] = ()) -> Diagnostic:
    """The diagnostic of lark's syntax error; `missing`: expected keywords after which
    the unexpected token would fit, listed first (and offered when there is one)."""
    if isinstance(exc, UnexpectedCharacters):
        start: int = exc.pos_in_stream or 0
        ch = source.text[start : start + 1]
        if ch == '"':
            return error("CS0102", source.span(start, start + 1), "unterminated string",
                         "a string ends with `\"` on the same line")
        shown = f"`{ch}`" if ch.isprintable() else f"U+{ord(ch):04X}"  # a NUL, a tab...
        if ch == "=" and "CMP_OP" in (exc.allowed or ()):  # where a comparison may stand
            after = source.text[start + 1:start + 2]
            meant = f"{after}=" if after in ("<", ">") else "=="
            return error("CS0101", source.span(start, start + 1 + (meant != "==")),
                         f"unexpected character {shown}",
                         "`=` alone is not an operator: equality is written `==`"
                         if meant == "==" else f"the operator is written `{meant}`, `=` last",
                         suggestion=meant)
        return error("CS0101", source.span(start, start + 1), f"unexpected character {shown}")
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        end = len(source.text)
        expected = _describe_expected(set(getattr(exc, "expected", ()) or ()))
        return error("CS0104", source.span(max(0, end - 1), end), "unexpected end of file",
                     expected)
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    start = tok.start_pos or 0
    end = tok.end_pos or start
    expected = _describe_expected(set(exc.accepts or exc.expected), missing)
    value = str(tok)
    if tok.type == "NAME" and value in RESERVED:
        message = f"`{value}` is a reserved word and cannot be used here"
    else:
        message = f"unexpected `{value}`"
    suggestion = None
    if len(missing) == 1:
        suggestion = f"{_parser().get_terminal(missing[0]).pattern.value} {value}"
    return error("CS0100", source.span(start, end), message, expected, suggestion=suggestion)


_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|(#[^\n]*)')


def _comments(source: SourceFile) -> tuple[ast.Comment, ...]:
    """Comments with positions; strings are skipped so `#` inside quotes is not one."""
    out = []
    text = source.text
    for m in _COMMENT.finditer(text):
        if m.group(1) is None:
            continue
        start = m.start(1)
        line, column = source.position(start)
        line_start = start - column + 1
        own_line = text[line_start:start].strip() == ""
        out.append(ast.Comment(m.group(1).rstrip(), line, column, own_line))
    return tuple(out)


def parse_text(path: str, text: str) -> tuple[ast.File, list[Diagnostic]]:
    """Parse text that came from `path` (for tests and the formatter)."""
    return parse_source(SourceFile.of(path, text))


__all__ = ["ParseStats", "parse_source", "parse_text"]
