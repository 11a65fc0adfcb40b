"""Source text → AST. With `lexer.py`, the only module that imports lark; no lark object
escapes them.

A syntax error does not stop the file: the parser reports it, then re-parses the file
declaration by declaration so every other declaration still reaches the checker.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import typing
from datetime import date
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from csdsl import ast
from csdsl.diagnostics import Diagnostic, error
from csdsl.lexer import FastContextualLexer
from csdsl.source import SourceFile, Span

DECLARATION_WORDS = ("account", "metric", "event", "role", "playbook", "plan", "rule")

# Words that open a declaration, clause or property: reserved as names.
RESERVED = frozenset(
    {
        *DECLARATION_WORDS, "task", "objective", "for", "calendar", "day", "duration", "after",
        "owner", "type", "priority", "description", "due", "category", "success", "when",
        "then", "reason", "cooldown", "close", "enabled", "within", "where", "and", "or",
        "not", "in", "no", "over", "drops", "rises", "pool", "cta", "enum", "true", "false",
        "external",
    }
)

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
    stack: list[tuple[object, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for f in dataclasses.fields(node):  # type: ignore[arg-type]
            value = getattr(node, f.name)
            if isinstance(value, Span):
                continue
            for child in value if isinstance(value, tuple) else (value,):
                if isinstance(child, _EXPR_TYPES):
                    stack.append((child, depth + 1))
    return deepest


class _Context:
    """What the callbacks need while one text is parsed: where it came from."""

    __slots__ = ("diagnostics", "lines", "path", "shift", "source")

    def __init__(self, source: SourceFile, shift: int) -> None:
        self.source = source
        self.path = source.path
        self.shift = shift
        # A re-parsed declaration starts at the beginning of a line (or of the file), so
        # lark's own token lines need only this offset; its columns are already right.
        line, column = source.position(shift)
        assert column == 1, "declarations start at a line start"
        self.lines = line - 1
        self.diagnostics: list[Diagnostic] = []


class _Builder(Transformer):
    """Builds our AST while lark parses (an embedded LALR transformer: no lark tree).

    The grammar keeps every token (`keep_all_tokens`), so each callback sees its
    keywords and braces and can give its node a span from its first to its last token.
    Children are read by position, following the grammar rule the callback is named for.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ctx: _Context | None = None

    # -- spans and leaves
    def _span(self, children: list) -> Span:
        """From the first child's start to the last's, from lark's own token positions."""
        ctx = self.ctx
        assert ctx is not None
        first = children[0]
        last = children[-1]
        if last is None:
            last = next(c for c in reversed(children) if c is not None)
        if isinstance(first, Token):
            line, column, start = first.line + ctx.lines, first.column, first.start_pos + ctx.shift
        else:
            line, column, start = first.span.line, first.span.column, first.span.start
        if isinstance(last, Token):
            return Span(ctx.path, line, column, last.end_line + ctx.lines, last.end_column,
                        start, last.end_pos + ctx.shift)
        end = last.span
        return Span(ctx.path, line, column, end.end_line, end.end_column, start, end.end)

    def _tok_span(self, tok: Token) -> Span:
        ctx = self.ctx
        assert ctx is not None
        lines, shift = ctx.lines, ctx.shift
        return Span(ctx.path, tok.line + lines, tok.column, tok.end_line + lines,  # type: ignore[operator]
                    tok.end_column, tok.start_pos + shift, tok.end_pos + shift)  # type: ignore[operator,arg-type]

    def _name(self, tok: Token) -> ast.Name:
        return ast.Name(str(tok), self._tok_span(tok))

    def _str(self, tok: Token | None) -> ast.Str | None:
        if tok is None:
            return None
        return ast.Str(self._decode(tok), str(tok), self._tok_span(tok))

    def _decode(self, tok: Token) -> str:
        raw = str(tok)[1:-1]
        if "\\" not in raw:
            return raw
        out = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw):
                nxt = raw[i + 1]
                if nxt in "\"\\":
                    out.append(nxt)
                elif nxt == "n":
                    out.append("\n")
                else:
                    ctx = self.ctx
                    assert ctx is not None
                    at = tok.start_pos + 1 + i + ctx.shift  # type: ignore[operator]
                    ctx.diagnostics.append(
                        error("CS0103", ctx.source.span(at, at + 2),
                              f"unknown escape `\\{nxt}` in a string",
                              "strings know `\\\"`, `\\\\` and `\\n`")
                    )
                    out.append(nxt)
                i += 2
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    def _report(self, code: str, span: Span, message: str, help_text: str) -> None:
        ctx = self.ctx
        assert ctx is not None
        ctx.diagnostics.append(error(code, span, message, help_text))

    def _days(self, days: int, tok: Token) -> int:
        """A number of days, refused (CS0309) beyond MAX_DAYS: no date is that far away."""
        if days > MAX_DAYS:
            self._report("CS0309", self._tok_span(tok), f"`{tok}` is too many days",
                         f"day counts go up to {MAX_DAYS:,} (100 years)")
        return days

    def _duration(self, tok: Token) -> ast.DurationLit:
        text = str(tok)
        n = int(text[:-1])
        days = self._days(n * 7 if text.endswith("w") else n, tok)
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
    def start(self, c: list) -> tuple:
        return tuple(c)

    def account_decl(self, c: list) -> ast.AccountDecl:
        # "account" "{" field_decl* "}"
        return ast.AccountDecl(tuple(c[2:-1]), self._span(c))

    def field_decl(self, c: list) -> ast.FieldDecl:
        # NAME ":" type_ref
        return ast.FieldDecl(self._name(c[0]), c[2], self._span(c))

    def named_type(self, c: list) -> ast.TypeRef:
        return ast.TypeRef(str(c[0]), (), self._span(c))

    def enum_type(self, c: list) -> ast.TypeRef:
        # "enum" "(" STRING ("," STRING)* [","] ")"
        values = tuple(
            self._str(t) for t in c if isinstance(t, Token) and t.type == "STRING"
        )
        return ast.TypeRef("enum", values, self._span(c))  # type: ignore[arg-type]

    def metric_decl(self, c: list) -> ast.MetricDecl:
        # "metric" NAME [STRING]
        return ast.MetricDecl(self._name(c[1]), self._str(c[2]), self._span(c))

    def event_decl(self, c: list) -> ast.EventDecl:
        # "event" NAME [STRING] ["{" field_decl* "}"]: an inlined optional leaves no None
        braces = len(c) > 3
        fields = tuple(c[4:-1]) if braces else ()
        return ast.EventDecl(self._name(c[1]), self._str(c[2]), fields, braces, self._span(c))

    def role_decl(self, c: list) -> ast.RoleDecl:
        # "role" NAME [STRING] [EXTERNAL]
        return ast.RoleDecl(self._name(c[1]), self._str(c[2]), c[3] is not None, self._span(c))

    def playbook_decl(self, c: list) -> ast.PlaybookDecl:
        # "playbook" NAME [STRING] "{" item* "}"
        return ast.PlaybookDecl(self._name(c[1]), self._str(c[2]), tuple(c[4:-1]), self._span(c))

    def plan_decl(self, c: list) -> ast.PlanDecl:
        return ast.PlanDecl(self._name(c[1]), self._str(c[2]), tuple(c[4:-1]), self._span(c))

    def objective_decl(self, c: list) -> ast.ObjectiveDecl:
        return ast.ObjectiveDecl(self._name(c[1]), self._str(c[2]), tuple(c[4:-1]),
                                 self._span(c))

    def rule_decl(self, c: list) -> ast.RuleDecl:
        return ast.RuleDecl(self._name(c[1]), self._str(c[2]), tuple(c[4:-1]), self._span(c))

    def task_decl(self, c: list) -> ast.TaskDecl:
        # "task" NAME [STRING] ["{" prop* "}"]: an inlined optional leaves no None
        braces = len(c) > 3
        props = tuple(c[4:-1]) if braces else ()
        return ast.TaskDecl(self._name(c[1]), self._str(c[2]), props, braces, self._span(c))

    # -- properties: KEYWORD value
    def _prop(self, key: str, value: object, c: list) -> ast.Prop:
        return ast.Prop(key, value, self._span(c))

    def for_prop(self, c: list) -> ast.Prop:
        return self._prop("for", tuple(self._name(t) for t in c[1::2]), c)

    def calendar_prop(self, c: list) -> ast.Prop:
        return self._prop("calendar", self._name(c[1]), c)

    def description_prop(self, c: list) -> ast.Prop:
        return self._prop("description", self._str(c[1]), c)

    def day_prop(self, c: list) -> ast.Prop:
        return self._prop("day", self._days(int(c[1]), c[1]), c)

    def duration_prop(self, c: list) -> ast.Prop:
        return self._prop("duration", self._duration(c[1]), c)

    def after_prop(self, c: list) -> ast.Prop:
        return self._prop("after", tuple(c[1::2]), c)

    def ref(self, c: list) -> ast.Ref:
        # NAME ["." NAME]
        if c[2] is None:
            return ast.Ref(None, self._name(c[0]), self._span(c))
        return ast.Ref(self._name(c[0]), self._name(c[2]), self._span(c))

    def owner_prop(self, c: list) -> ast.Prop:
        return self._prop("owner", tuple(c[1::2]), c)

    def owner_role(self, c: list) -> ast.OwnerChoice:
        return ast.OwnerChoice("role", str(c[0]), self._span(c))

    def owner_user(self, c: list) -> ast.OwnerChoice:
        return ast.OwnerChoice("user", self._decode(c[0]), self._span(c))

    def owner_pool(self, c: list) -> ast.OwnerChoice:
        return ast.OwnerChoice("pool", str(c[1]), self._span(c))

    def type_prop(self, c: list) -> ast.Prop:
        return self._prop("type", self._name(c[1]), c)

    def priority_prop(self, c: list) -> ast.Prop:
        return self._prop("priority", self._name(c[1]), c)

    def category_prop(self, c: list) -> ast.Prop:
        return self._prop("category", self._name(c[1]), c)

    def playbook_prop(self, c: list) -> ast.Prop:
        return self._prop("playbook", self._name(c[1]), c)

    def due_prop(self, c: list) -> ast.Prop:
        return self._prop("due", self._duration(c[1]), c)

    def cooldown_prop(self, c: list) -> ast.Prop:
        return self._prop("cooldown", self._duration(c[1]), c)

    def success_prop(self, c: list) -> ast.Prop:
        return self._prop("success", self._str(c[1]), c)

    def reason_prop(self, c: list) -> ast.Prop:
        return self._prop("reason", self._str(c[1]), c)

    def enabled_prop(self, c: list) -> ast.Prop:
        return self._prop("enabled", str(c[1]) == "true", c)

    def when_prop(self, c: list) -> ast.Condition:
        return ast.Condition("when", self._condition(c[1]), None, self._span(c))

    def close_prop(self, c: list) -> ast.Condition:
        # "close" "when" expr
        return ast.Condition("close", self._condition(c[2]), None, self._span(c))

    def success_within_prop(self, c: list) -> ast.Condition:
        # "success" "within" DURATION "when" expr
        return ast.Condition("success", self._condition(c[4]), self._duration(c[2]),
                             self._span(c))

    def then_cta(self, c: list) -> ast.Then:
        # "then" "cta" NAME STRING
        return ast.Then("cta", self._name(c[2]), self._str(c[3]), self._span(c))

    def then_plan(self, c: list) -> ast.Then:
        return ast.Then("plan", self._name(c[2]), None, self._span(c))

    # -- expressions
    def or_op(self, c: list) -> ast.BoolOp:
        return ast.BoolOp("or", tuple(c[0::2]), self._span(c))

    def and_op(self, c: list) -> ast.BoolOp:
        return ast.BoolOp("and", tuple(c[0::2]), self._span(c))

    def not_op(self, c: list) -> ast.Not:
        return ast.Not(c[1], self._span(c))

    def compare(self, c: list) -> ast.Compare:
        return ast.Compare(str(c[1]), c[0], c[2], self._span(c))

    def in_op(self, c: list) -> ast.InList:
        # expr "in" "(" literal ("," literal)* [","] ")"
        values = tuple(v for v in c[3:-1] if v is not None and not isinstance(v, Token))
        return ast.InList(c[0], values, False, self._span(c))

    def not_in_op(self, c: list) -> ast.InList:
        values = tuple(v for v in c[4:-1] if v is not None and not isinstance(v, Token))
        return ast.InList(c[0], values, True, self._span(c))

    def trend(self, c: list) -> ast.Trend:
        # NAME (DROPS|RISES) amount "over" DURATION
        return ast.Trend(self._name(c[0]), str(c[1]), c[2], self._duration(c[4]), self._span(c))

    def no_op(self, c: list) -> ast.NoActivity:
        # "no" NAME "for" DURATION
        return ast.NoActivity(self._name(c[1]), self._duration(c[3]), self._span(c))

    def event_within(self, c: list) -> ast.EventWithin:
        # "event" NAME "within" DURATION ["where" comparison]
        where = c[5] if len(c) > 5 else None
        return ast.EventWithin(self._name(c[1]), self._duration(c[3]), where, self._span(c))

    def arith(self, c: list) -> ast.Arith:
        return ast.Arith(str(c[1]), c[0], c[2], self._span(c))

    def neg(self, c: list) -> ast.Neg:
        return ast.Neg(c[1], self._span(c))

    def name_ref(self, c: list) -> ast.NameRef:
        return ast.NameRef(self._name(c[0]), self._span(c))

    def call(self, c: list) -> ast.Call:
        # NAME "(" [expr ("," expr)*] ")"
        args = tuple(a for a in c[2:-1] if a is not None and not isinstance(a, Token))
        return ast.Call(self._name(c[0]), args, self._span(c))

    def paren(self, c: list) -> ast.Paren:
        return ast.Paren(c[1], self._span(c))

    # -- literals
    def _lit(self, kind: str, value: float | str | bool, tok: Token) -> ast.Literal:
        return ast.Literal(kind, value, str(tok), self._tok_span(tok))

    def negative_literal(self, c: list) -> ast.Literal:
        # MINUS (NUMBER | PERCENT), in an `in (...)` list: one negative literal
        tok = c[1]
        positive = self.percent([tok]) if tok.type == "PERCENT" else self.number([tok])
        span = self._span(c)
        return ast.Literal(positive.kind, -positive.value, f"-{tok}", span)  # type: ignore[operator]

    def _finite(self, value: float, tok: Token) -> float:
        if not math.isfinite(value):
            shown = f"`{tok}`" if len(tok) <= 24 else "this number"
            self._report("CS0309", self._tok_span(tok), f"{shown} is too large",
                         "numbers are 64-bit floats: up to about 1.8e308")
            return 0.0
        return value

    def number(self, c: list) -> ast.Literal:
        return self._lit("number", self._finite(float(c[0]), c[0]), c[0])

    def percent(self, c: list) -> ast.Literal:
        tok = c[0]
        return self._lit("percent", self._finite(float(str(tok)[:-1]) / 100.0, tok), tok)

    def duration(self, c: list) -> ast.Literal:
        d = self._duration(c[0])
        return ast.Literal("duration", float(d.days), d.text, d.span)

    def date(self, c: list) -> ast.Literal:
        tok = c[0]
        try:
            date.fromisoformat(str(tok))
        except ValueError:
            ctx = self.ctx
            assert ctx is not None
            ctx.diagnostics.append(
                error("CS0105", self._tok_span(tok), f"`{tok}` is not a valid date",
                      "dates are written YYYY-MM-DD")
            )
        return self._lit("date", str(tok), tok)

    def string(self, c: list) -> ast.Literal:
        tok = c[0]
        return self._lit("string", self._decode(tok), tok)

    def boolean(self, c: list) -> ast.Literal:
        tok = c[0]
        return self._lit("bool", str(tok) == "true", tok)


@lru_cache(maxsize=1)
def _builder() -> _Builder:
    return _Builder()


def _lark(lexer: str | type) -> Lark:
    grammar = resources.files("csdsl.grammar").joinpath("csdsl.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer=lexer,  # type: ignore[arg-type]
        keep_all_tokens=True,
        maybe_placeholders=True,
        transformer=_builder(),
        cache=True,
    )


@lru_cache(maxsize=1)
def _parser() -> tuple[Lark, _Builder]:
    """lark with its own contextual lexer: the reference, and the one errors come from."""
    return _lark("contextual"), _builder()


@lru_cache(maxsize=1)
def _fast_parser() -> Lark:
    """The same parser with `FastContextualLexer` (same tokens, about twice as fast)."""
    return _lark(FastContextualLexer)


def _describe_expected(expected: set[str]) -> str:
    lark = _parser()[0]
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
    ordered = sorted(words)
    if not ordered:
        return ""
    if len(ordered) > 8:
        ordered = [*ordered[:8], "..."]
    return "expected " + ", ".join(ordered)


def _parse(
    source: SourceFile, text: str, shift: int, fast: bool = True
) -> tuple[tuple, list[Diagnostic]]:
    """Parse with the fast lexer; if it gives up or the text has a syntax error, parse
    again with lark's own lexer, so that every error is reported exactly as lark sees it."""
    builder = _builder()
    if fast:
        builder.ctx = _Context(source, shift)
        try:
            return _fast_parser().parse(text), builder.ctx.diagnostics
        except Exception:  # Fallback, a syntax error, or a lark version it does not know
            pass  # lark's own lexer below raises whatever is real, as it always did
        finally:
            builder.ctx = None
    builder.ctx = _Context(source, shift)
    try:
        return _parser()[0].parse(text), builder.ctx.diagnostics
    finally:
        builder.ctx = None


_DECL_NAME = re.compile(r"(?:metric|event|role|playbook|plan|rule)\s+([A-Za-z_][A-Za-z0-9_]*)")
_DECL_START = re.compile(r"^(?:" + "|".join(DECLARATION_WORDS) + r")\b", re.MULTILINE)


def parse_source(source: SourceFile) -> tuple[ast.File, list[Diagnostic]]:
    """Parse one file. Always returns a File (possibly partial) and every diagnostic."""
    try:
        decls, diagnostics = _parse(source, source.text, 0)
    except UnexpectedInput as exc:
        return _parse_by_declaration(source, exc)
    span = source.span(0, len(source.text))
    return ast.File(source.path, decls, _comments(source), span), diagnostics


def _parse_by_declaration(
    source: SourceFile, first: UnexpectedInput
) -> tuple[ast.File, list[Diagnostic]]:
    """Recover from a syntax error: parse each top-level declaration on its own."""
    text = source.text
    starts = [m.start() for m in _DECL_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(text))
    decls: list[ast.Decl] = []
    diagnostics: list[Diagnostic] = []
    broken: list[str] = []
    for begin, end in itertools.pairwise(starts):
        chunk = text[begin:end]
        if not chunk.strip():
            continue
        try:
            parsed, found = _parse(source, chunk, begin)
        except UnexpectedInput as exc:
            diagnostics.append(_syntax_error(source, exc, begin))
            named = _DECL_NAME.match(chunk)
            if named:
                broken.append(named.group(1))
            continue
        decls.extend(parsed)
        diagnostics.extend(found)
    if not diagnostics:  # the chunks parsed alone; report the original error
        diagnostics.append(_syntax_error(source, first, 0))
    return ast.File(source.path, tuple(decls), _comments(source), broken=tuple(broken)), \
        diagnostics


def _syntax_error(source: SourceFile, exc: UnexpectedInput, shift: int) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        start = exc.pos_in_stream + shift
        ch = source.text[start : start + 1]
        if ch == '"':
            return error("CS0102", source.span(start, start + 1), "unterminated string",
                         "a string ends with `\"` on the same line")
        shown = f"`{ch}`" if ch.isprintable() else f"U+{ord(ch):04X}"  # a NUL, a tab...
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
    start = (tok.start_pos or 0) + shift
    end = (tok.end_pos or start) + shift
    expected = _describe_expected(set(exc.accepts or exc.expected))
    value = str(tok)
    if tok.type == "NAME" and value in RESERVED:
        message = f"`{value}` is a reserved word and cannot be used here"
    else:
        message = f"unexpected `{value}`"
    return error("CS0100", source.span(start, end), message, expected)


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


__all__ = ["RESERVED", "parse_source", "parse_text"]
