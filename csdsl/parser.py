"""Source text → AST. The only module that imports lark; no lark object escapes it.

A syntax error does not stop the file: the parser reports it, then re-parses the file
declaration by declaration so every other declaration still reaches the checker.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from csdsl import ast
from csdsl.diagnostics import Diagnostic, error
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


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files("csdsl.grammar").joinpath("csdsl.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        strict=False,
        cache=True,
    )


def _describe_expected(expected: set[str]) -> str:
    words = set()
    for name in expected:
        if name in _TOKEN_WORDS:
            words.add(_TOKEN_WORDS[name])
        elif name.startswith("__ANON"):
            continue
        else:
            pattern = _parser().get_terminal(name).pattern
            value = getattr(pattern, "value", name)
            words.add(f"`{value}`" if pattern.type == "str" else name.lower())
    ordered = sorted(words)
    if not ordered:
        return ""
    if len(ordered) > 8:
        ordered = [*ordered[:8], "..."]
    return "expected " + ", ".join(ordered)


class _Builder(Transformer):
    """lark tree → our AST, in one pass."""

    def __init__(self, source: SourceFile, line_shift: int, offset_shift: int) -> None:
        super().__init__()
        self.source = source
        self.line_shift = line_shift
        self.offset_shift = offset_shift
        self.diagnostics: list[Diagnostic] = []

    # -- spans
    def _span_tok(self, tok: Token) -> Span:
        return self.source.span(tok.start_pos + self.offset_shift, tok.end_pos + self.offset_shift)

    def _span_meta(self, meta: object) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.source.path, 1, 1, 1, 1)
        return self.source.span(
            meta.start_pos + self.offset_shift,  # type: ignore[attr-defined]
            meta.end_pos + self.offset_shift,  # type: ignore[attr-defined]
        )

    def _name(self, tok: Token) -> ast.Name:
        return ast.Name(str(tok), self._span_tok(tok))

    def _str(self, tok: Token | None) -> ast.Str | None:
        if tok is None:
            return None
        return ast.Str(self._decode(tok), str(tok), self._span_tok(tok))

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
                    start = tok.start_pos + 1 + i + self.offset_shift
                    self.diagnostics.append(
                        error(
                            "CS0103",
                            self.source.span(start, start + 2),
                            f"unknown escape `\\{nxt}` in a string",
                            "strings know `\\\"`, `\\\\` and `\\n`",
                        )
                    )
                    out.append(nxt)
                i += 2
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    def _duration(self, tok: Token) -> ast.DurationLit:
        text = str(tok)
        n = int(text[:-1])
        return ast.DurationLit(n * 7 if text.endswith("w") else n, text, self._span_tok(tok))

    # -- declarations
    @v_args(meta=True)
    def start(self, meta: object, children: list) -> tuple:
        return tuple(children)

    @v_args(meta=True)
    def account_decl(self, meta: object, children: list) -> ast.AccountDecl:
        return ast.AccountDecl(tuple(children), self._span_meta(meta))

    @v_args(meta=True)
    def field_decl(self, meta: object, children: list) -> ast.FieldDecl:
        name, type_ref = children
        return ast.FieldDecl(self._name(name), type_ref, self._span_meta(meta))

    @v_args(meta=True)
    def named_type(self, meta: object, children: list) -> ast.TypeRef:
        return ast.TypeRef(str(children[0]), (), self._span_meta(meta))

    @v_args(meta=True)
    def enum_type(self, meta: object, children: list) -> ast.TypeRef:
        values = tuple(self._str(c) for c in children if c is not None)
        return ast.TypeRef("enum", values, self._span_meta(meta))  # type: ignore[arg-type]

    @v_args(meta=True)
    def metric_decl(self, meta: object, children: list) -> ast.MetricDecl:
        name, label = children
        return ast.MetricDecl(self._name(name), self._str(label), self._span_meta(meta))

    @v_args(meta=True)
    def event_decl(self, meta: object, children: list) -> ast.EventDecl:
        name, label, *fields = children
        braces = bool(fields) and fields != [None]
        fields = [f for f in fields if f is not None]
        return ast.EventDecl(
            self._name(name), self._str(label), tuple(fields), braces, self._span_meta(meta)
        )

    @v_args(meta=True)
    def role_decl(self, meta: object, children: list) -> ast.RoleDecl:
        name, label, external = children
        return ast.RoleDecl(
            self._name(name), self._str(label), external is not None, self._span_meta(meta)
        )

    @v_args(meta=True)
    def playbook_decl(self, meta: object, children: list) -> ast.PlaybookDecl:
        name, title, *items = children
        return ast.PlaybookDecl(
            self._name(name), self._str(title), tuple(items), self._span_meta(meta)
        )

    @v_args(meta=True)
    def plan_decl(self, meta: object, children: list) -> ast.PlanDecl:
        name, title, *items = children
        return ast.PlanDecl(self._name(name), self._str(title), tuple(items), self._span_meta(meta))

    @v_args(meta=True)
    def objective_decl(self, meta: object, children: list) -> ast.ObjectiveDecl:
        name, title, *items = children
        return ast.ObjectiveDecl(
            self._name(name), self._str(title), tuple(items), self._span_meta(meta)
        )

    @v_args(meta=True)
    def rule_decl(self, meta: object, children: list) -> ast.RuleDecl:
        name, title, *items = children
        return ast.RuleDecl(self._name(name), self._str(title), tuple(items), self._span_meta(meta))

    @v_args(meta=True)
    def task_decl(self, meta: object, children: list) -> ast.TaskDecl:
        name, title, *props = children
        text = self.source.text
        end = meta.end_pos + self.offset_shift  # type: ignore[attr-defined]
        braces = text[end - 1 : end] == "}"
        return ast.TaskDecl(
            self._name(name), self._str(title), tuple(props), braces, self._span_meta(meta)
        )

    # -- properties
    def _prop(self, key: str, value: object, meta: object) -> ast.Prop:
        return ast.Prop(key, value, self._span_meta(meta))

    @v_args(meta=True)
    def for_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("for", tuple(self._name(c) for c in children), meta)

    @v_args(meta=True)
    def calendar_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("calendar", self._name(children[0]), meta)

    @v_args(meta=True)
    def description_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("description", self._str(children[0]), meta)

    @v_args(meta=True)
    def day_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("day", int(children[0]), meta)

    @v_args(meta=True)
    def duration_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("duration", self._duration(children[0]), meta)

    @v_args(meta=True)
    def after_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("after", tuple(children), meta)

    @v_args(meta=True)
    def ref(self, meta: object, children: list) -> ast.Ref:
        first, second = children
        span = self._span_meta(meta)
        if second is None:
            return ast.Ref(None, self._name(first), span)
        return ast.Ref(self._name(first), self._name(second), span)

    @v_args(meta=True)
    def owner_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("owner", tuple(children), meta)

    @v_args(meta=True)
    def owner_role(self, meta: object, children: list) -> ast.OwnerChoice:
        return ast.OwnerChoice("role", str(children[0]), self._span_meta(meta))

    @v_args(meta=True)
    def owner_user(self, meta: object, children: list) -> ast.OwnerChoice:
        value = self._decode(children[0])
        return ast.OwnerChoice("user", value, self._span_meta(meta))

    @v_args(meta=True)
    def owner_pool(self, meta: object, children: list) -> ast.OwnerChoice:
        return ast.OwnerChoice("pool", str(children[0]), self._span_meta(meta))

    def _named_prop(key: str):  # type: ignore[no-untyped-def]
        @v_args(meta=True)
        def build(self: _Builder, meta: object, children: list) -> ast.Prop:
            return self._prop(key, self._name(children[0]), meta)

        return build

    type_prop = _named_prop("type")
    priority_prop = _named_prop("priority")
    category_prop = _named_prop("category")
    playbook_prop = _named_prop("playbook")

    @v_args(meta=True)
    def due_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("due", self._duration(children[0]), meta)

    @v_args(meta=True)
    def cooldown_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("cooldown", self._duration(children[0]), meta)

    @v_args(meta=True)
    def success_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("success", self._str(children[0]), meta)

    @v_args(meta=True)
    def reason_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("reason", self._str(children[0]), meta)

    @v_args(meta=True)
    def enabled_prop(self, meta: object, children: list) -> ast.Prop:
        return self._prop("enabled", str(children[0]) == "true", meta)

    @v_args(meta=True)
    def when_prop(self, meta: object, children: list) -> ast.Condition:
        return ast.Condition("when", children[0], None, self._span_meta(meta))

    @v_args(meta=True)
    def close_prop(self, meta: object, children: list) -> ast.Condition:
        return ast.Condition("close", children[0], None, self._span_meta(meta))

    @v_args(meta=True)
    def success_within_prop(self, meta: object, children: list) -> ast.Condition:
        within, expr = children
        return ast.Condition("success", expr, self._duration(within), self._span_meta(meta))

    @v_args(meta=True)
    def then_cta(self, meta: object, children: list) -> ast.Then:
        kind, title = children
        return ast.Then("cta", self._name(kind), self._str(title), self._span_meta(meta))

    @v_args(meta=True)
    def then_plan(self, meta: object, children: list) -> ast.Then:
        return ast.Then("plan", self._name(children[0]), None, self._span_meta(meta))

    # -- expressions
    @v_args(meta=True)
    def or_op(self, meta: object, children: list) -> ast.BoolOp:
        return ast.BoolOp("or", tuple(children), self._span_meta(meta))

    @v_args(meta=True)
    def and_op(self, meta: object, children: list) -> ast.BoolOp:
        return ast.BoolOp("and", tuple(children), self._span_meta(meta))

    @v_args(meta=True)
    def not_op(self, meta: object, children: list) -> ast.Not:
        return ast.Not(children[0], self._span_meta(meta))

    @v_args(meta=True)
    def compare(self, meta: object, children: list) -> ast.Compare:
        left, op, right = children
        return ast.Compare(str(op), left, right, self._span_meta(meta))

    @v_args(meta=True)
    def in_op(self, meta: object, children: list) -> ast.InList:
        arg, *values = children
        values = [v for v in values if v is not None]
        return ast.InList(arg, tuple(values), False, self._span_meta(meta))

    @v_args(meta=True)
    def not_in_op(self, meta: object, children: list) -> ast.InList:
        arg, *values = children
        values = [v for v in values if v is not None]
        return ast.InList(arg, tuple(values), True, self._span_meta(meta))

    @v_args(meta=True)
    def trend(self, meta: object, children: list) -> ast.Trend:
        metric, direction, amount, window = children
        return ast.Trend(
            self._name(metric), str(direction), amount, self._duration(window),
            self._span_meta(meta),
        )

    @v_args(meta=True)
    def no_op(self, meta: object, children: list) -> ast.NoActivity:
        name, window = children
        return ast.NoActivity(self._name(name), self._duration(window), self._span_meta(meta))

    @v_args(meta=True)
    def event_within(self, meta: object, children: list) -> ast.EventWithin:
        name, window, where = children
        return ast.EventWithin(
            self._name(name), self._duration(window), where, self._span_meta(meta)
        )

    @v_args(meta=True)
    def arith(self, meta: object, children: list) -> ast.Arith:
        left, op, right = children
        return ast.Arith(str(op), left, right, self._span_meta(meta))

    @v_args(meta=True)
    def neg(self, meta: object, children: list) -> ast.Neg:
        return ast.Neg(children[1], self._span_meta(meta))

    @v_args(meta=True)
    def name_ref(self, meta: object, children: list) -> ast.NameRef:
        return ast.NameRef(self._name(children[0]), self._span_meta(meta))

    @v_args(meta=True)
    def call(self, meta: object, children: list) -> ast.Call:
        func, *args = children
        args = [a for a in args if a is not None]
        return ast.Call(self._name(func), tuple(args), self._span_meta(meta))

    @v_args(meta=True)
    def paren(self, meta: object, children: list) -> ast.Paren:
        return ast.Paren(children[0], self._span_meta(meta))

    # -- literals
    def _lit(self, kind: str, value: float | str | bool, tok: Token) -> ast.Literal:
        return ast.Literal(kind, value, str(tok), self._span_tok(tok))

    def number(self, children: list) -> ast.Literal:
        return self._lit("number", float(children[0]), children[0])

    def percent(self, children: list) -> ast.Literal:
        tok = children[0]
        return self._lit("percent", float(str(tok)[:-1]) / 100.0, tok)

    def duration(self, children: list) -> ast.Literal:
        d = self._duration(children[0])
        return ast.Literal("duration", float(d.days), d.text, d.span)

    def date(self, children: list) -> ast.Literal:
        tok = children[0]
        try:
            date.fromisoformat(str(tok))
        except ValueError:
            self.diagnostics.append(
                error("CS0105", self._span_tok(tok), f"`{tok}` is not a valid date",
                      "dates are written YYYY-MM-DD")
            )
        return self._lit("date", str(tok), tok)

    def string(self, children: list) -> ast.Literal:
        tok = children[0]
        return self._lit("string", self._decode(tok), tok)

    def boolean(self, children: list) -> ast.Literal:
        tok = children[0]
        return self._lit("bool", str(tok) == "true", tok)


_DECL_START = re.compile(r"^(?:" + "|".join(DECLARATION_WORDS) + r")\b", re.MULTILINE)


def parse_source(source: SourceFile) -> tuple[ast.File, list[Diagnostic]]:
    """Parse one file. Always returns a File (possibly partial) and every diagnostic."""
    try:
        tree = _parser().parse(source.text)
    except UnexpectedInput as exc:
        return _parse_by_declaration(source, exc)
    builder = _Builder(source, 0, 0)
    decls = builder.transform(tree)
    return ast.File(source.path, decls, _comments(source), source.span(0, len(source.text))), [
        *builder.diagnostics
    ]


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
    for begin, end in itertools.pairwise(starts):
        chunk = text[begin:end]
        if not chunk.strip():
            continue
        try:
            tree = _parser().parse(chunk)
        except UnexpectedInput as exc:
            diagnostics.append(_syntax_error(source, exc, begin))
            continue
        line_shift = source.position(begin)[0] - 1
        builder = _Builder(source, line_shift, begin)
        decls.extend(builder.transform(tree))
        diagnostics.extend(builder.diagnostics)
    if not diagnostics:  # the chunks parsed alone; report the original error
        diagnostics.append(_syntax_error(source, first, 0))
    return ast.File(source.path, tuple(decls), _comments(source)), diagnostics


def _syntax_error(source: SourceFile, exc: UnexpectedInput, shift: int) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        start = exc.pos_in_stream + shift
        ch = source.text[start : start + 1]
        if ch == '"':
            return error("CS0102", source.span(start, start + 1), "unterminated string",
                         "a string ends with `\"` on the same line")
        return error("CS0101", source.span(start, start + 1), f"unexpected character `{ch}`")
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
