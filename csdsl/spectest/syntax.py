"""`.cstest` text → the nodes of `csdsl.spectest.model`, with every problem the file shows
on its own. The only module that imports lark for spec tests; no lark object escapes it.

What is checked here needs nothing but the file: the syntax, dates that are real days,
the fixed words (priorities, CTA types, task statuses, outcomes, table names), the shape
of inline tables (their columns, the number of cells, numbers and dates in cells), the
order of a test's steps. What needs the spec, the file system or the other test files
(rules, tasks, fields, metrics, fixtures, accounts) is `csdsl.spectest.check`'s.

A pipe table is one token (grammar/cstest.lark): its rows and cells are split here, each
cell with its exact span. A file with a syntax error is parsed again piece by piece: it
is cut before every line that opens a `test` or a `fixture`, and each piece is parsed
alone, so that one run reports the first syntax error of every block and keeps the
blocks without one.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import cast

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from csdsl.diagnostics import Diagnostic, Related, did_you_mean, error, warning
from csdsl.source import SourceFile, Span
from csdsl.spectest.model import (
    CLOSE_OUTCOMES,
    TABLE_COLUMNS,
    TABLE_NAMES,
    TASK_STATUSES,
    Cell,
    Check,
    CheckAttribute,
    Close,
    CompleteTask,
    Expect,
    Fixture,
    NameKind,
    NameUse,
    Row,
    Run,
    SpecTest,
    Step,
    Table,
    TableName,
    TestFile,
)
from csdsl.syntax.strings import unescape
from csdsl_runtime.vocabulary import CTA_TYPES, OBJECTIVE_CTA_TYPE, PRIORITIES

__all__ = ["parse_test_file"]

_TOKEN_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "DATE": "a date",
    "INT": "a whole number",
    "TABLE": "a table",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "COMMA": "`,`",
    "DOT": "`.`",
    "$END": "the end of the file",
}

CTA_CHECKS: tuple[CheckAttribute, ...] = (
    "owner", "due", "tasks", "title", "priority", "type", "plan",
)
"""What an expectation checks of a CTA, as keywords of the block and columns of a table."""
TASK_CHECKS: tuple[CheckAttribute, ...] = ("owner", "due", "start", "status", "title")
"""What it checks of one of the CTA's tasks: `task KEY { ... }`, or a `KEY.due` column."""

# The words a value must be one of, with what to call one of them and all of them.
_WORDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "priority": ("priority", "priorities", PRIORITIES),
    "type": ("CTA type", "CTA types", (*CTA_TYPES, OBJECTIVE_CTA_TYPE)),
    "status": ("task status", "task statuses", TASK_STATUSES),
    "outcome": ("outcome", "outcomes", CLOSE_OUTCOMES),
}

_KEY_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_WHOLE = re.compile(r"[0-9]{1,9}\Z")
# Plain decimal numbers only, as the runtime's sources read them (no `1_000`, no `inf`).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_RANGE = re.compile(r"(\S+)\s*\.\.\s*(\S+)\Z")
_ITEM_START = re.compile(r'^[^\S\n]*(?:test[^\S\n]*"|fixture[^\S\n]+[A-Za-z_])', re.MULTILINE)
_OPENING = re.compile(r'\s*(test\s*"(?:[^"\\\n]|\\.)*"|fixture\s+[A-Za-z_][A-Za-z0-9_]*)\s*\{')
_MAX_DIGITS = 9  # a count past a billion is a typo; Python refuses past 4,300 digits


# ---------------------------------------------------------------- the parser


@lru_cache(maxsize=1)
def _lark() -> Lark:
    """The parser. `strict` (a grammar conflict or a regex collision is an error, not a
    silent choice) needs the `interegular` package: without it the same tables are built
    unchecked, and tests/test_spectest_syntax.py checks the grammar for conflicts."""
    grammar = resources.files("csdsl.grammar").joinpath("cstest.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        strict=importlib.util.find_spec("interegular") is not None,
        cache=True,
    )


def parse_test_file(path: str, text: str) -> tuple[TestFile, list[Diagnostic]]:
    """Parse one `.cstest` file: its tests and fixtures (those of blocks with a syntax
    error left out) and every diagnostic, in source order. Never raises for bad input."""
    source = SourceFile.of(path, text)
    out = _Output()
    items = _parse_items(source, out)
    tests = [item for item in items if isinstance(item, SpecTest)]
    fixtures = [item for item in items if isinstance(item, Fixture)]
    first: dict[str, SpecTest] = {}
    for test in tests:
        if test.name in first:
            out.diagnostics.append(error(
                "CS0200", test.span, f"test `{test.name}` is declared twice in this file",
                "each test of a file needs a name of its own",
                related=(Related(first[test.name].span, "first declared here"),)))
        else:
            first[test.name] = test
    references = tuple(sorted(out.references, key=lambda r: r.span.start))
    parsed = TestFile(path, tuple(tests), tuple(fixtures), references)
    return parsed, sorted(out.diagnostics, key=Diagnostic.sort_key)


@dataclass(slots=True)
class _Output:
    """What the builders of one file found."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    references: list[NameUse] = field(default_factory=list)


def _parse_items(source: SourceFile, out: _Output) -> list[SpecTest | Fixture]:
    """The file's tests and fixtures: parsed whole, or piece by piece at a syntax error."""
    text = source.text
    try:
        tree = _lark().parse(text)
    except LarkError:
        pass
    else:
        return _Builder(source, 0, len(text), out).items(tree)
    cuts = sorted({0, *(m.start() for m in _ITEM_START.finditer(text)), len(text)})
    items: list[SpecTest | Fixture] = []
    for start, end in itertools.pairwise(cuts):
        items.extend(_parse_piece(source, start, end, out))
    return items


def _parse_piece(source: SourceFile, start: int, end: int, out: _Output
                 ) -> list[SpecTest | Fixture]:
    """One block (or what comes before the first): its items, or none and its first
    syntax error. A block that lacks only its last `}` is kept, with an error."""
    text = source.text[start:end]
    last = end == len(source.text)
    try:
        return _Builder(source, start, end, out).items(_lark().parse(text))
    except UnexpectedInput as exc:
        failure: UnexpectedInput = exc
    except LarkError:  # not a syntax error lark can place: the block is dropped
        out.diagnostics.append(error("CS0100", source.span(start, min(end, start + 1)),
                                     "this block does not parse"))
        return []
    if _at_end(failure):
        try:
            tree = _lark().parse(text + "\n}")
        except LarkError:
            pass
        else:
            out.diagnostics.append(_unclosed(source, start, end, last))
            return _Builder(source, start, end, out).items(tree)
    out.diagnostics.append(_syntax_error(source, start, end, failure))
    return []


def _at_end(exc: UnexpectedInput) -> bool:
    if isinstance(exc, UnexpectedEOF):
        return True
    token = getattr(exc, "token", None)
    return isinstance(token, Token) and token.type == "$END"


def _unclosed(source: SourceFile, start: int, end: int, last: bool) -> Diagnostic:
    """A block whose `}` is missing: at its `{`, with where the next one starts (CS0107)
    or where the file ends (CS0104), as the spec parser says it."""
    opening = _OPENING.match(source.text, start, end)
    what = " ".join(opening.group(1).split()) if opening else "this block"
    brace = opening.end() - 1 if opening else start
    at = source.span(brace, brace + 1)
    if last:
        size = len(source.text)
        return error("CS0104", at, f"`{what}` is not closed",
                     f"the file ends before its `}}`: add it where `{what}` ends",
                     related=(Related(source.span(max(0, size - 1), size),
                                      "the file ends here"),))
    following = _word_at(source, end)
    return error("CS0107", at, f"the `{{` of `{what}` is never closed",
                 f"close it with `}}` before line {following.line}",
                 related=(Related(following, "the next block starts here"),))


def _word_at(source: SourceFile, offset: int) -> Span:
    """The word that starts at `offset`, after blanks."""
    text = source.text
    while offset < len(text) and text[offset] in " \t\r\n":
        offset += 1
    end = offset
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return source.span(offset, max(end, min(offset + 1, len(text))))


def _syntax_error(source: SourceFile, base: int, end: int, exc: UnexpectedInput
                  ) -> Diagnostic:
    """The diagnostic of lark's error in the piece that starts at `base`."""
    if isinstance(exc, UnexpectedCharacters):
        at = base + (exc.pos_in_stream or 0)
        ch = source.text[at:at + 1]
        if ch == '"':
            return error("CS0102", source.span(at, at + 1), "unterminated string",
                         "a string ends with `\"` on the same line")
        shown = f"`{ch}`" if ch.isprintable() and ch else f"U+{ord(ch or ' '):04X}"
        return error("CS0101", source.span(at, at + 1), f"unexpected character {shown}")
    expected = _describe_expected(set(getattr(exc, "expected", None) or ()))
    if _at_end(exc):
        if end < len(source.text):  # the next block starts before this one is done
            following = _word_at(source, end)
            word = source.text[following.start:following.end]
            return error("CS0100", following, f"unexpected `{word}`", expected,
                         "the block before it is not finished")
        size = len(source.text)
        return error("CS0104", source.span(max(0, size - 1), size), "unexpected end of file",
                     expected)
    token = cast(Token, getattr(exc, "token"))  # noqa: B009 (lark's stubs lack it)
    start = base + (token.start_pos or 0)
    stop = base + (token.end_pos or token.start_pos or 0)
    allowed = set(getattr(exc, "expected", None) or ())
    if "TABLE" in allowed and str(token).startswith("{"):
        return _table_error(source, start)
    value = str(token)
    shown = value if len(value) <= 30 and "\n" not in value else value[:1]
    suggestion = None
    if "STRING" in allowed and token.type in ("NAME", "INT", "DATE"):
        suggestion = f'"{value}"'  # an account or a user written without quotes
    return error("CS0100", source.span(start, stop if shown == value else start + 1),
                 f"unexpected `{shown}`", expected, suggestion=suggestion)


def _table_error(source: SourceFile, brace: int) -> Diagnostic:
    """A table's `{` that the TABLE token cannot start: rows on the `{` line, or no `}`."""
    text = source.text
    line_end = text.find("\n", brace)
    rest = text[brace + 1:line_end if line_end != -1 else len(text)].strip()
    at = source.span(brace, brace + 1)
    if rest and not rest.startswith("#"):
        return error("CS0100", at, "a table's rows go on the lines after its `{`",
                     "write the `{` last on its line, each row on a line of its own and "
                     "the `}` on a line of its own")
    return error("CS0104", at, "this table is never closed",
                 "a table ends with a line that starts with `}`")


def _describe_expected(expected: set[str]) -> str:
    """`expected ...`: what could have come, in words, sorted."""
    lark = _lark()
    words = set()
    for name in expected:
        if name in _TOKEN_WORDS:
            words.add(_TOKEN_WORDS[name])
            continue
        try:
            pattern = lark.get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type == "str":
            words.add(f"`{pattern.value}`")
    ordered = sorted(words)
    if not ordered:
        return ""
    if len(ordered) > 8:
        ordered = [*ordered[:8], "..."]
    return "expected " + ", ".join(ordered)


# ---------------------------------------------------------------- tree → nodes


class _Builder:
    """Builds the nodes of one piece of a file (the whole file, or one block of it) from
    lark's tree. Positions in the tree are offsets into the piece, which starts at
    `base` in the file; spans never reach past `end` (a `}` added to close a block)."""

    def __init__(self, source: SourceFile, base: int, end: int, out: _Output) -> None:
        self.source = source
        self.base = base
        self.end = end
        self.out = out

    # -- spans, leaves, reports
    def span(self, start: int, end: int) -> Span:
        return self.source.span(min(self.base + start, self.end), min(self.base + end, self.end))

    def tok(self, token: Token) -> Span:
        return self.span(token.start_pos or 0, token.end_pos or 0)

    def tree(self, tree: Tree[Token]) -> Span:
        return self.span(tree.meta.start_pos, tree.meta.end_pos)

    def head(self, tree: Tree[Token]) -> Span:
        """A block statement up to its `{`: `data {`, `fixture basic {`."""
        start = self.base + tree.meta.start_pos
        brace = self.source.text.find("{", start, self.base + tree.meta.end_pos)
        return self.source.span(start, brace + 1 if brace != -1 else start + 1)

    def report(self, diagnostic: Diagnostic) -> None:
        self.out.diagnostics.append(diagnostic)

    def refer(self, kind: NameKind, name: str, span: Span, rule: str | None = None) -> None:
        self.out.references.append(NameUse(kind, name, span, rule))

    def string(self, token: Token) -> str:
        """A string token's text, its escapes (`\\"`, `\\\\`, `\\n`) resolved."""
        return self.unescape(str(token)[1:-1], self.base + (token.start_pos or 0) + 1)

    def unescape(self, raw: str, at: int) -> str:
        """`raw` starts at offset `at` of the file: an unknown escape is CS0103 there."""
        return unescape(raw, at, self.source, self.report)

    def day(self, token: Token) -> date | None:
        """A DATE token as a day; CS0105 (and None) when no such day exists."""
        try:
            return date.fromisoformat(str(token))
        except ValueError:
            self.report(error("CS0105", self.tok(token), f"`{token}` is not a valid date",
                              "dates are written YYYY-MM-DD"))
            return None

    def word(self, what: str, value: str, span: Span) -> bool:
        """`value` is one of the words of `what` (priority, type, status, outcome), or
        CS0212 with a did-you-mean."""
        label, plural, allowed = _WORDS[what]
        if value in allowed:
            return True
        self.report(error("CS0212", span, f"unknown {label} `{value}`",
                          f"{plural}: " + ", ".join(allowed),
                          suggestion=did_you_mean(value, allowed)))
        return False

    # -- the file
    def items(self, tree: Tree[Token]) -> list[SpecTest | Fixture]:
        out: list[SpecTest | Fixture] = []
        for child in _trees(tree.children):
            if child.data == "test":
                out.append(self.test(child))
            elif child.data == "fixture_dir":
                name, directory = _tokens(child.children)
                out.append(Fixture(str(name), self.string(directory), None, (), self.tree(child),
                                   self.tok(name)))
            else:  # fixture_tables
                name = cast(Token, child.children[0])
                tables = self.tables(_trees(child.children[1:]), self.head(child))
                out.append(Fixture(str(name), None, None, tables, self.tree(child),
                                   self.tok(name)))
        return out

    def test(self, tree: Tree[Token]) -> SpecTest:
        name_token = cast(Token, tree.children[0])
        name = self.string(name_token)
        header = self.span(tree.meta.start_pos, name_token.end_pos or 0)
        called = f"test `{name}`"
        data: Fixture | None = None
        fixture: str | None = None
        data_span: Span | None = None
        first_run: Span | None = None
        last: Run | None = None
        early = False  # an action or check before the first `as of` was reported
        steps: list[Step] = []
        for child in _trees(tree.children[1:]):
            kind = child.data
            span = self.tree(child)
            if kind in ("data_dir", "data_fixture", "data_tables"):
                if data_span is not None:
                    self.report(error("CS0803", span, f"{called} gives its data twice",
                                      "a test has one `data`: merge them, or split the test",
                                      related=(Related(data_span, "its first `data`"),)))
                    continue
                if first_run is not None:
                    self.report(error("CS0803", span, "`data` after the first `as of`",
                                      "a test's data is loaded once, before it runs: move "
                                      "`data` to the top of the test",
                                      related=(Related(first_run, "the first `as of`"),)))
                data_span = span
                if kind == "data_dir":
                    data = Fixture(None, self.string(cast(Token, child.children[0])), None,
                                   (), span)
                elif kind == "data_fixture":
                    token = cast(Token, child.children[0])
                    fixture = str(token)
                    self.refer("fixture", fixture, self.tok(token))
                else:
                    tables = self.tables(_trees(child.children), self.head(child))
                    data = Fixture(None, None, None, tables, span)
                continue
            if kind == "as_of":
                token = cast(Token, child.children[0])
                if first_run is None:
                    first_run = span
                day = self.day(token)
                if day is None:
                    continue
                run = Run(day, span)
                if last is not None and day < last.day:
                    self.report(error("CS0803", span,
                                      f"`as of {day}` goes back in time from {last.day}",
                                      "a test's runs go forward: each `as of` is on or after "
                                      "the one before",
                                      related=(Related(last.span, "the run before"),)))
                last = run
                steps.append(run)
                continue
            if first_run is None and not early:
                early = True
                self.report(error("CS0803", span, f"`{_first_word(kind)}` before the first "
                                                  "`as of`",
                                  "a test runs the spec with `as of DATE` first; what it "
                                  "expects, closes and completes is what that run left"))
            steps.extend(self.step(child, span))
        if data_span is None:
            self.report(error("CS0804", header, f"{called} has no data",
                              'give it `data "DIRECTORY"`, `data FIXTURE` or '
                              "`data { accounts { ... } }`"))
        if first_run is None:
            self.report(warning("CS0805", header, f"{called} runs nothing: it has no `as of`",
                                "add `as of DATE` to run the spec on that day, then `expect` "
                                "what the run should leave"))
        elif not any(str(c.data).startswith("expect") for c in _trees(tree.children[1:])):
            self.report(warning("CS0805", header, f"{called} checks nothing: it has no "
                                                  "`expect`",
                                "add `expect cta RULE for \"ACCOUNT\"` (or `expect no cta`)"))
        return SpecTest(name, data, fixture, tuple(steps), header, self.tree(tree))

    # -- steps
    def step(self, tree: Tree[Token], span: Span) -> list[Step]:
        kind = tree.data
        children = tree.children
        if kind in ("expect_cta", "expect_no"):
            rule = cast(Token, children[0])
            self.refer("rule", str(rule), self.tok(rule))
            accounts = _tokens(cast(Tree[Token], children[1]).children)
            block = children[2] if kind == "expect_cta" and len(children) > 2 else None
            checks = self.checks(cast(Tree[Token], block), str(rule)) if block else ()
            out: list[Step] = []
            for token in accounts:
                account = self.string(token)
                at = self.tok(token)
                self.refer("account", account, at)
                out.append(Expect(str(rule), account, kind == "expect_cta", checks,
                                  span if len(accounts) == 1 else at))
            return out
        if kind == "expect_table":
            rule, body = _tokens(children)
            self.refer("rule", str(rule), self.tok(rule))
            rows = self.rows(body)
            if rows is None:
                return []
            return list(self.expect_rows(str(rule), rows))
        if kind == "close":
            rule, account, outcome = (cast(Token, c) for c in children[:3])
            reason = cast(Token | None, children[3])
            on = cast(Token | None, children[4])
            self.refer("rule", str(rule), self.tok(rule))
            name = self.string(account)
            self.refer("account", name, self.tok(account))
            self.word("outcome", str(outcome), self.tok(outcome))
            day = self.day(on) if on is not None else None
            return [Close(str(rule), name, str(outcome),
                          self.string(reason) if reason is not None else None, day, span)]
        # complete
        rule, account = (cast(Token, c) for c in children[1:3])
        on = cast(Token | None, children[3])
        key = self.task_key(cast(Tree[Token], children[0]), str(rule))
        self.refer("rule", str(rule), self.tok(rule))
        name = self.string(account)
        self.refer("account", name, self.tok(account))
        day = self.day(on) if on is not None else None
        return [CompleteTask(key, str(rule), name, day, span)]

    def task_key(self, tree: Tree[Token], rule: str) -> str:
        key = ".".join(str(t) for t in _tokens(tree.children))
        self.refer("task", key, self.tree(tree), rule)
        return key

    def checks(self, tree: Tree[Token], rule: str) -> tuple[Check, ...]:
        """The checks of an `expect cta` block; a check given twice is CS0701."""
        out: list[Check] = []
        seen: dict[tuple[str, str | None], Span] = {}

        def add(check: Check | None) -> None:
            if check is None:
                return
            key = (check.attribute, check.task)
            if key in seen:
                what = f"`{check.attribute}`" + (f" of task `{check.task}`" if check.task
                                                 else "")
                self.report(error("CS0701", check.span, f"{what} is checked twice",
                                  "keep one of them",
                                  related=(Related(seen[key], "first checked here"),)))
                return
            seen[key] = check.span
            out.append(check)

        for child in _trees(tree.children):
            if child.data == "task_check":
                key = self.task_key(cast(Tree[Token], child.children[0]), rule)
                for inner in _trees(child.children[1:]):
                    add(self.check(inner, key))
            else:
                add(self.check(child, None))
        return tuple(out)

    def check(self, tree: Tree[Token], task: str | None) -> Check | None:
        attribute = cast(CheckAttribute, tree.data.removesuffix("_check"))
        token = cast(Token, tree.children[0])
        span = self.tree(tree)
        value: str | int | date
        if token.type == "STRING":
            value = self.string(token)
        elif token.type == "DATE":
            day = self.day(token)
            if day is None:
                return None
            value = day
        elif token.type == "INT":
            text = str(token)
            if len(text) > _MAX_DIGITS:
                self.report(error("CS0309", self.tok(token), "this task count is too large",
                                  "a CTA has at most a few hundred tasks"))
                return None
            value = int(text)
        else:
            value = str(token)
            if attribute in _WORDS and not self.word(attribute, value, self.tok(token)):
                return None
        return Check(attribute, value, task, span)

    # -- tables
    def tables(self, trees: Iterable[Tree[Token]], statement: Span) -> tuple[Table, ...]:
        """The tables of one `data { }` or fixture: each name once, each known, one of
        them `accounts` (CS0802, unless a table with an unknown name may be meant)."""
        found: dict[str, Table] = {}
        unknown = False
        for tree in trees:
            name, body = _tokens(tree.children)
            if str(name) not in TABLE_NAMES:
                unknown = True
                self.report(error("CS0808", self.tok(name), f"unknown table `{name}`",
                                  "tables: " + ", ".join(TABLE_NAMES),
                                  suggestion=did_you_mean(str(name), TABLE_NAMES)))
                continue
            rows = self.rows(body)
            if rows is None:
                continue
            header = rows[0].cells if rows else ()
            table = Table(cast(TableName, str(name)), header, tuple(rows[1:]), self.tree(tree))
            if table.name in found:
                self.report(error("CS0200", self.tok(name),
                                  f"table `{name}` is given twice in this data",
                                  "put all its rows in one table",
                                  related=(Related(found[table.name].span, "first given here"),)))
                continue
            found[table.name] = table
            self.table_shape(table, rows[0].span if rows else self.tok(name))
        if "accounts" not in found and not unknown:
            self.report(error("CS0802", statement, "this data has no `accounts` table",
                              "inline data needs `accounts { | id | ... | }`; `team`, "
                              "`metrics`, `events` and `pools` are optional"))
        return tuple(found.values())

    def rows(self, body: Token) -> list[Row] | None:
        """The rows of a TABLE token, the header first; None after a syntax error in one
        (reported: the table is not used)."""
        start = self.base + (body.start_pos or 0)
        text = str(body)
        first = text.index("\n") + 1
        closing = text.rindex("\n") + 1  # the line of the `}` that ends the table
        rows: list[Row] = []
        ok = True
        at = first
        while at < closing:
            line_end = text.index("\n", at)
            line = text[at:line_end]
            row = self.row(line, start + at)
            if row is False:
                ok = False
            elif row is not None:
                rows.append(row)
            at = line_end + 1
        return rows if ok else None

    def row(self, line: str, offset: int) -> Row | typing.Literal[False] | None:
        """One line of a table: a row of cells, None for a blank or comment line, False
        after a syntax error (reported)."""
        source = self.source
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return None
        lead = len(line) - len(line.lstrip())
        if not stripped.startswith("|"):
            at = offset + lead
            tail = "" if not re.match(r"[A-Za-z_]\w*\s*\{", stripped) else \
                "; is the `}` of the table before it missing?"
            self.report(error("CS0100", source.span(at, at + len(stripped.rstrip())),
                              "a table row starts with `|`",
                              f"each line of a table is a row, `| a | b |`{tail}"))
            return False
        text = line.rstrip()
        number, column = source.position(offset)
        path = source.path

        def on_line(start: int, end: int) -> Span:
            """A span of this line (`SourceFile.span` without its two look-ups)."""
            return Span(path, number, column + start, number, column + end, offset + start,
                        offset + end)

        i = lead + 1
        cells: list[Cell] = []
        while True:
            rest = text[i:].lstrip()
            if not rest or (rest.startswith("#") and "|" not in rest):
                break  # the last `|` ends the row; a comment may follow it
            j = i
            while j < len(text) and text[j] in " \t":
                j += 1
            if text[j] == '"':
                k = j + 1
                while k < len(text) and text[k] != '"':
                    k += 2 if text[k] == "\\" else 1
                if k >= len(text):
                    self.report(error("CS0102", source.span(offset + j, offset + j + 1),
                                      "unterminated string", "a quoted cell ends with `\"` "
                                      "on the same line"))
                    return False
                value = self.unescape(text[j + 1:k], offset + j + 1)
                span = on_line(j, k + 1)
                after = k + 1
                while after < len(text) and text[after] in " \t":
                    after += 1
                if after >= len(text) or text[after] != "|":
                    bad = after if after < len(text) else len(text) - 1
                    self.report(error("CS0100", source.span(offset + bad, offset + bad + 1),
                                      "a quoted cell ends at its `|`",
                                      "write the whole cell in the quotes"))
                    return False
                cells.append(Cell(value, span))
                i = after + 1
                continue
            bar = text.find("|", i)
            if bar == -1:
                self.report(error("CS0100", source.span(offset + i, offset + len(text)),
                                  "a table row ends with `|`",
                                  "close the last cell with `|`"))
                return False
            raw = text[i:bar]
            value = raw.strip()
            if value:
                begin = i + (len(raw) - len(raw.lstrip()))
                span = on_line(begin, begin + len(value))
            else:
                span = on_line(i, bar)
            cells.append(Cell(value, span))
            i = bar + 1
        return Row(tuple(cells), on_line(lead, i))

    def table_shape(self, table: Table, header_span: Span) -> None:
        """A table's columns, cell counts and the values of its fixed columns."""
        name = table.name
        required = TABLE_COLUMNS[name]
        if not table.header:
            self.report(error("CS0809", header_span, f"table `{name}` has no header row",
                              f"its first row names the columns: {_list(required)}"))
            return
        if not self.header(table, header_span):
            return
        width = len(table.header)
        index = {column: i for i, column in enumerate(table.columns)}
        seen_ids: dict[str, Span] = {}
        for row in table.rows:
            if len(row.cells) != width:
                self.report(error("CS0807", row.span,
                                  f"this row has {_cells(len(row.cells))} where the "
                                  f"header has {width}",
                                  "write an empty cell as `|  |`"))
                continue
            for column in required:
                cell = row.cells[index[column]]
                if not cell.text:
                    self.report(error("CS0810", cell.span, f"empty `{column}` cell",
                                      f"every row of `{name}` needs a `{column}`"))
            if name == "accounts":
                cell = row.cells[0]
                if cell.text in seen_ids:
                    self.report(error("CS0200", cell.span,
                                      f"account `{cell.text}` appears twice in `accounts`",
                                      "one row per account",
                                      related=(Related(seen_ids[cell.text], "first here"),)))
                elif cell.text:
                    seen_ids[cell.text] = cell.span
            elif name == "metrics":
                self.metric_day(row.cells[index["date"]])
                value = row.cells[index["value"]]
                if value.text and not _is_number(value.text):
                    self.report(error("CS0810", value.span, f"`{value.text}` is not a number",
                                      "a metric's value is a plain decimal number: `12`, "
                                      "`-3.5`"))
            elif name == "events":
                self.date_cell(row.cells[index["date"]])

    def header(self, table: Table, header_span: Span) -> bool:
        """Are the table's columns right (CS0809 where not)?"""
        name = table.name
        required = TABLE_COLUMNS[name]
        seen: dict[str, Cell] = {}
        good = True
        for cell in table.header:
            if not cell.text:
                self.report(error("CS0809", cell.span, "a column without a name",
                                  "each cell of the header row names a column"))
                good = False
            elif cell.text in seen:
                self.report(error("CS0809", cell.span, f"column `{cell.text}` appears twice",
                                  related=(Related(seen[cell.text].span, "first here"),)))
                good = False
            else:
                seen[cell.text] = cell
        if not good:
            return False
        if table.has_required_columns():
            return True
        columns = table.columns
        fixed = name in ("team", "metrics", "pools")
        shape = (f"the columns of `{name}` are {_list(required)}" if fixed else
                 f"the first column of `{name}` is `id`" if name == "accounts" else
                 f"the first columns of `{name}` are {_list(required)}")
        wrong = next((i for i, want in enumerate(required)
                      if i < len(columns) and columns[i] != want), None)
        if wrong is None and fixed and len(columns) > len(required):
            cell = table.header[len(required)]
            self.report(error("CS0809", cell.span, f"unexpected column `{cell.text}`", shape))
        elif wrong is None:
            missing = required[len(columns)]
            self.report(error("CS0809", header_span, f"no `{missing}` column in `{name}`",
                              shape))
        else:
            cell = table.header[wrong]
            want = required[wrong]
            self.report(error("CS0809", cell.span,
                              f"column `{cell.text}` where `{name}` has `{want}`", shape,
                              suggestion=want if did_you_mean(cell.text, [want]) else None))
        return False

    def date_cell(self, cell: Cell) -> date | None:
        """A cell that holds a date (empty: checked elsewhere)."""
        text = cell.text
        if not text:
            return None
        if not _DATE_SHAPE.match(text):
            self.report(error("CS0810", cell.span, f"`{text}` is not a date",
                              "dates are written YYYY-MM-DD"))
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.report(error("CS0105", cell.span, f"`{text}` is not a valid date",
                              "dates are written YYYY-MM-DD"))
            return None

    def metric_day(self, cell: Cell) -> None:
        """A metric's date: a day, or a range `D1 .. D2` whose end is not before its
        start (the runner writes one row per day of it)."""
        found = _RANGE.match(cell.text)
        if found is None:
            self.date_cell(cell)
            return
        first, last = (self.date_cell(Cell(found.group(g), self._part(cell, found, g)))
                       for g in (1, 2))
        if first is not None and last is not None and last < first:
            self.report(error("CS0811", cell.span, f"the range `{cell.text}` ends before it "
                                                   "starts",
                              "a range runs from its first day to its last, both included: "
                              f"`{first} .. {last}` is written `{last} .. {first}`"))

    def _part(self, cell: Cell, found: re.Match[str], group: int) -> Span:
        """The span of a group of a match on a cell's text (unquoted: the text is where
        the span starts; quoted: one past the quote)."""
        start = cell.span.start + (1 if self.source.text[cell.span.start:][:1] == '"' else 0)
        return self.source.span(start + found.start(group), start + found.end(group))

    # -- table-driven expectations
    def expect_rows(self, rule: str, rows: Sequence[Row]) -> Iterable[Expect]:
        """`expect RULE { table }`: one `Expect` per row, typed like the block form."""
        if not rows:
            return
        header = rows[0]
        columns: list[tuple[CheckAttribute | None, str | None] | str | None] = []
        seen: dict[str, Cell] = {}
        for cell in header.cells:
            text = cell.text
            if text in seen:
                self.report(error("CS0809", cell.span, f"column `{text}` appears twice",
                                  related=(Related(seen[text].span, "first here"),)))
                columns.append(None)
                continue
            seen[text] = cell
            columns.append(self.expect_column(cell, rule))
        if "account" not in columns:
            self.report(error("CS0809", header.span, "this expectation table has no `account` "
                                                     "column",
                              "its header names the columns: `account`, then what to check: "
                              "`cta`, `owner`, `due`, `tasks`, ..."))
            return
        width = len(header.cells)
        for row in rows[1:]:
            if len(row.cells) != width:
                self.report(error("CS0807", row.span,
                                  f"this row has {_cells(len(row.cells))} where the "
                                  f"header has {width}",
                                  "write an empty cell as `|  |`"))
                continue
            expect = self.expect_row(rule, columns, row)
            if expect is not None:
                yield expect

    def expect_column(self, cell: Cell, rule: str
                      ) -> tuple[CheckAttribute | None, str | None] | str | None:
        """What a header cell of an expectation table names: `account`, `cta`, a check
        (attribute, task key) or nothing (CS0812)."""
        text = cell.text
        if text in ("account", "cta"):
            return text
        if text in CTA_CHECKS:
            return (text, None)
        key, dot, attribute = text.rpartition(".")
        if dot and attribute in TASK_CHECKS and all(_KEY_PART.match(p) for p in key.split(".")):
            start = cell.span.start + (1 if self.source.text[cell.span.start:][:1] == '"' else 0)
            self.refer("task", key, self.source.span(start, start + len(key)), rule)
            return (attribute, key)
        if dot and key:
            self.report(error("CS0812", cell.span, f"unknown column `{text}`",
                              "a task's columns are " + ", ".join(
                                  f"`{key}.{a}`" for a in TASK_CHECKS),
                              suggestion=(f"{key}.{meant}" if (meant := did_you_mean(
                                  attribute, TASK_CHECKS)) else None)))
            return None
        known = ("account", "cta", *CTA_CHECKS)
        self.report(error("CS0812", cell.span, f"unknown column `{text}`",
                          "columns: " + ", ".join(f"`{k}`" for k in known)
                          + ", and `TASK.owner`, `TASK.due`, `TASK.start`, `TASK.status`, "
                          "`TASK.title` for a task",
                          suggestion=did_you_mean(text, known) if text else None))
        return None

    def expect_row(self, rule: str,
                   columns: Sequence[tuple[CheckAttribute | None, str | None] | str | None],
                   row: Row) -> Expect | None:
        account: Cell | None = None
        present = True
        checks: list[Check] = []
        for column, cell in zip(columns, row.cells, strict=True):
            if column == "account":
                account = cell
            elif column == "cta":
                if cell.text == "no":
                    present = False
                elif cell.text not in ("", "yes"):
                    self.report(error("CS0810", cell.span, f"`{cell.text}` is not `yes` or `no`",
                                      "`cta` says whether the row expects an open CTA: `yes` "
                                      "(the default) or `no`",
                                      suggestion=did_you_mean(cell.text, ("yes", "no"))))
            elif isinstance(column, tuple) and cell.text:
                attribute, task = column
                assert attribute is not None
                check = self.cell_check(attribute, task, cell)
                if check is not None:
                    checks.append(check)
        assert account is not None
        if not account.text:
            self.report(error("CS0810", account.span, "empty `account` cell",
                              "every row names the account it expects a CTA of"))
            return None
        self.refer("account", account.text, account.span)
        if not present and checks:
            self.report(error("CS0810", checks[0].span, "a row that expects no CTA checks "
                                                        "nothing else",
                              "leave its other cells empty, or write `yes` in `cta`"))
            checks = []
        return Expect(rule, account.text, present, tuple(checks), row.span)

    def cell_check(self, attribute: CheckAttribute, task: str | None, cell: Cell
                   ) -> Check | None:
        value: str | int | date
        if attribute in ("due", "start"):
            day = self.date_cell(cell)
            if day is None:
                return None
            value = day
        elif attribute == "tasks":
            if not _WHOLE.match(cell.text):
                self.report(error("CS0810", cell.span, f"`{cell.text}` is not a whole number",
                                  "`tasks` counts the CTA's tasks: `0`, `4`"))
                return None
            value = int(cell.text)
        else:
            value = cell.text
            if attribute in _WORDS and not self.word(attribute, value, cell.span):
                return None
        return Check(attribute, value, task, cell.span)


# ---------------------------------------------------------------- helpers


def _trees(children: Iterable[object]) -> list[Tree[Token]]:
    return [c for c in children if isinstance(c, Tree)]


def _tokens(children: Iterable[object]) -> list[Token]:
    return [c for c in children if isinstance(c, Token)]


def _first_word(kind: str) -> str:
    return kind.split("_", 1)[0]


def _list(words: Sequence[str]) -> str:
    return ", ".join(f"`{w}`" for w in words)


def _cells(n: int) -> str:
    return f"{n} cell" + ("" if n == 1 else "s")


def _is_number(text: str) -> bool:
    """A plain decimal number that is finite (`1e999` is not)."""
    return bool(_NUMBER.match(text)) and abs(float(text)) != float("inf")
