"""The canonical formatter: golden files, tricky cases, and round-trip properties.

Every check ends in the same two promises: formatting is idempotent, and it changes only
layout (the re-parsed tree is the same, and so is the compiled spec's hash).
Regenerate the golden outputs with `CSDSL_UPDATE_GOLDEN=1` and read the diff by eye.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl import ast
from csdsl.fmt import MAX_WIDTH, format_expr, format_file, format_text
from csdsl.syntax.parser import parse_text
from tests.conftest import compile_text

GOLDEN = Path(__file__).parent / "golden" / "fmt"
CASES = sorted(p.name.removesuffix(".in.cs") for p in GOLDEN.glob("*.in.cs"))
UPDATE = bool(os.environ.get("CSDSL_UPDATE_GOLDEN"))


def _examples() -> int:
    """Hypothesis examples per property: the profile's (tests/conftest.py), or
    `CSDSL_FMT_EXAMPLES=5000` for a long local run."""
    return int(os.environ.get("CSDSL_FMT_EXAMPLES", settings.default.max_examples))


# ---------------------------------------------------------------- helpers


def _meaning(node: object) -> object:
    """A tree as plain data, for comparing parses: spans and comments are already left out
    of AST equality; `braces` is too, since `task t {}` is written `task t`."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__, *(
            (f.name, _meaning(getattr(node, f.name)))
            for f in dataclasses.fields(node)
            if f.compare and f.name != "braces"
        ))
    if isinstance(node, tuple | list):
        return tuple(_meaning(n) for n in node)
    return node


def _parse(text: str) -> ast.File:
    tree, diagnostics = parse_text("t.cs", text)
    syntax = [d for d in diagnostics if d.code in {"CS0100", "CS0101", "CS0102", "CS0104"}]
    assert not syntax, (syntax, text)
    return tree


def _fmt(text: str) -> str:
    out, diagnostics = format_text("t.cs", text)
    assert out is not None, diagnostics
    return out


def _assert_layout_only(before: str, after: str) -> None:
    """`after` is canonical, stable, and means what `before` meant."""
    assert _fmt(after) == after, "formatting is not idempotent"
    before = before.removeprefix("\ufeff").replace("\r\n", "\n")  # as the driver reads it
    assert _meaning(_parse(after)) == _meaning(_parse(before))
    comments = [c.text for c in _parse(before).comments]
    assert [c.text for c in _parse(after).comments] == comments, "a comment moved or was lost"


# ---------------------------------------------------------------- golden files


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    source = (GOLDEN / f"{name}.in.cs").read_bytes().decode("utf-8")
    expected_path = GOLDEN / f"{name}.out.cs"
    formatted = _fmt(source)
    if UPDATE:
        expected_path.write_bytes(formatted.encode("utf-8"))
    assert formatted == expected_path.read_bytes().decode("utf-8")
    _assert_layout_only(source, formatted)


def test_golden_outputs_are_canonical_text() -> None:
    for name in CASES:
        out = (GOLDEN / f"{name}.out.cs").read_bytes().decode("utf-8")
        assert "\r" not in out and out.endswith("\n") and not out.endswith("\n\n"), name
        assert "\t" not in out and not re.search(r" +\n", out), name
        assert "\n\n\n" not in out, name


# Goldens that compile: name -> whether the shared data declarations are added.
COMPILES = {"data": False, "playbook": True, "plan": True, "rule": True, "conditions": True,
            "long_conditions": True, "blank_lines": False}


def _spec_hash(directory: Path, text: str, with_data: bool = True) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    artifact, diagnostics = compile_text(directory, text, with_data)
    assert artifact is not None, [d.message for d in diagnostics if d.is_error]
    return artifact.spec_hash


@pytest.mark.parametrize("name", sorted(COMPILES))
def test_golden_keeps_spec_hash(name: str, tmp_path: Path) -> None:
    source = (GOLDEN / f"{name}.in.cs").read_text(encoding="utf-8")
    before = _spec_hash(tmp_path / "before", source, COMPILES[name])
    assert _spec_hash(tmp_path / "after", _fmt(source), COMPILES[name]) == before


# ---------------------------------------------------------------- tricky cases

HEAD = "rule r {\n  when arr > 1\n"
TRICKY = [
    # (input, expected output)
    ("metric usage", "metric usage\n"),
    ("metric usage\r\nmetric logins\r\n", "metric usage\nmetric logins\n"),
    ("\ufeffmetric usage\n\n\n", "metric usage\n"),
    ("", ""),
    ("# only a comment", "# only a comment\n"),
    ("metric a\n\n\n\nmetric b\n", "metric a\n\nmetric b\n"),
    ("role a\nrule r { }\nrole b\n", "role a\n\nrule r {\n}\n\nrole b\n"),
    ("event e {}", "event e\n"),
    ('event e "E" { }  # c', 'event e "E"  # c\n'),
    ("event e { a: text b: number }",
     "event e {\n  a: text\n  b: number\n}\n"),
    ("playbook P { task t {} }", "playbook P {\n  task t\n}\n"),
    ("playbook P { task t { after a, b } }",
     "playbook P {\n  task t {\n    after a, b\n  }\n}\n"),
    ("playbook P { task t { owner AE or CSM } }",
     "playbook P {\n  task t {\n    owner AE or CSM\n  }\n}\n"),
    ("playbook P { task t { owner pool Support or  \"a@b.c\" } }",
     "playbook P {\n  task t {\n    owner pool Support or \"a@b.c\"\n  }\n}\n"),
    ("plan P { objective o { task t { after other.x,y } } }",
     "plan P {\n  objective o {\n    task t {\n      after other.x, y\n    }\n  }\n}\n"),
    ("rule r { enabled   false }", "rule r {\n  enabled false\n}\n"),
    ("rule r { success within 60d when usage rises 10% over 30d }",
     "rule r {\n  success within 60d when usage rises 10% over 30d\n}\n"),
    ("rule r { then cta risk \"a\" then plan P then cta lifecycle \"b\" }",
     "rule r {\n  then cta risk \"a\"\n  then plan P\n  then cta lifecycle \"b\"\n}\n"),
    ("rule r { when x in(\"a\",\"b\",) }", "rule r {\n  when x in (\"a\", \"b\")\n}\n"),
    ("rule r { when not(x) and not  y }", "rule r {\n  when not (x) and not y\n}\n"),
    ("rule r { when a-(b-c)*-d }", "rule r {\n  when a - (b - c) * -d\n}\n"),
    ("rule r { due 4w cooldown 30d }", "rule r {\n  due 4w\n  cooldown 30d\n}\n"),
    ("rule r { when x in (-1, - 2.5, -30%) }", "rule r {\n  when x in (-1, -2.5, -30%)\n}\n"),
    ("rule r { when x > 1.50 and y == 030% }",
     "rule r {\n  when x > 1.50 and y == 030%\n}\n"),
    ('rule r { reason "a\\"b\\\\c\\n" }', 'rule r {\n  reason "a\\"b\\\\c\\n"\n}\n'),
    ('rule r { when name == "# not a comment" }',
     'rule r {\n  when name == "# not a comment"\n}\n'),
    # comments
    ("metric a # c\n", "metric a  # c\n"),
    ("rule r { # c\n}", "rule r {  # c\n}\n"),
    ("rule r {\n}# c", "rule r {\n}  # c\n"),
    ("rule r {\n  # end\n}", "rule r {\n  # end\n}\n"),
    ("rule r\n{  # after a brace on its own line\n}",
     "rule r {\n  # after a brace on its own line\n}\n"),
    ("rule r {\n  owner\n  # inside\n  CSM\n}", "rule r {\n  # inside\n  owner CSM\n}\n"),
    ("rule r {\n    # indented oddly\n        when x\n}",
     "rule r {\n  # indented oddly\n  when x\n}\n"),
    (HEAD + "  # c1\n\n  # c2\n  then plan P\n}",
     HEAD + "  # c1\n\n  # c2\n  then plan P\n}\n"),
    ("rule r {\n  when a  # on a\n    and b\n}",
     "rule r {\n  when a  # on a\n      and b\n}\n"),
    ("rule r {\n  when a\n    and b  # on b\n}", "rule r {\n  when a and b  # on b\n}\n"),
    ("rule r {\n  when (a  # inside\n    and b)\n}", "rule r {\n  # inside\n  when (a and b)\n}\n"),
    ("playbook P {\n  task t { day 1 }  # c\n}",
     "playbook P {\n  task t {  # c\n    day 1\n  }\n}\n"),
    ("playbook P {\n  task t {\n    # keep the braces\n  }\n}",
     "playbook P {\n  task t {\n    # keep the braces\n  }\n}\n"),
]


def test_empty_braces_are_layout_not_meaning() -> None:
    """`event e {}` and `event e` are one AST, so parse(format(x)) == x holds for both."""
    for braced, bare in (("event e {}\n", "event e\n"),
                         ("playbook P {\n  task t {}\n}\n", "playbook P {\n  task t\n}\n")):
        assert _fmt(braced) == bare
        assert _parse(braced).decls == _parse(bare).decls


@pytest.mark.parametrize(("source", "expected"), TRICKY)
def test_tricky(source: str, expected: str) -> None:
    assert _fmt(source) == expected
    _assert_layout_only(source, expected)


def _long(n: int) -> str:
    return " and ".join(f"arr > {i}" for i in range(n))


@pytest.mark.parametrize("key", ["when", "close when", "success within 60d when"])
def test_long_conditions_break_before_top_level_operators(key: str) -> None:
    out = _fmt(f"rule r {{ {key} {_long(6)} or {_long(3)} }}")
    lines = out.splitlines()
    assert lines[1].startswith(f"  {key} arr > 0 and arr > 1")
    assert lines[2].startswith("      or arr > 0 and")
    assert all(len(line) <= MAX_WIDTH for line in lines)
    _assert_layout_only(f"rule r {{ {key} {_long(12)} }}", _fmt(f"rule r {{ {key} {_long(12)} }}"))


def test_a_line_of_exactly_the_limit_stays_whole() -> None:
    cond = _long(6)
    head = "  when "
    pad = MAX_WIDTH - len(head) - len(cond) - len(" and x == ")
    fits = f"{cond} and x == {'1' * pad}"
    assert len(head + fits) == MAX_WIDTH
    assert _fmt(f"rule r {{ when {fits} }}").count("\n") == 3
    assert _fmt(f"rule r {{ when {fits}1 }}").count("\n") > 3


def test_syntax_error_returns_diagnostics_and_no_text() -> None:
    out, diagnostics = format_text("bad.cs", "rule r { when }\nmetric m\n")
    assert out is None
    assert diagnostics and all(d.code.startswith("CS01") for d in diagnostics)


def test_a_too_deep_condition_is_left_alone() -> None:
    """CS0106 puts `false` in the AST for the condition: formatting would lose it."""
    from csdsl.fmt import format_text

    text = "rule r {\n  when " + "(" * 150 + "x" + ")" * 150 + "\n}\n"
    formatted, diagnostics = format_text("a.cs", text)
    assert formatted is None and [d.code for d in diagnostics] == ["CS0106"]


def test_a_bad_escape_is_not_a_syntax_error() -> None:
    out, diagnostics = format_text("t.cs", 'rule r { reason  "a\\tb" }')
    assert out == 'rule r {\n  reason "a\\tb"\n}\n' and diagnostics == []


def test_format_file_without_source_text() -> None:
    tree = _parse('rule r { owner "x\\"y" or CSM  when a and (b or c) }')
    out = format_file(tree)
    assert out == 'rule r {\n  owner "x\\"y" or CSM\n  when a and (b or c)\n}\n'


# ---------------------------------------------------------------- properties

_INPUTS = [(GOLDEN / f"{n}.in.cs").read_text(encoding="utf-8") for n in CASES]
# Split points between tokens: white space runs outside strings and comments.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\s+|[^\s"#]+')


def _pieces(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _respace(draw: st.DrawFn, text: str, comments: bool) -> str:
    """Change the white space between tokens at random; maybe add comments and CRLF."""
    out: list[str] = []
    for piece in _pieces(text):
        if piece.isspace():
            if "\n" in piece:  # it may end a comment: keep a line break
                piece = draw(st.sampled_from(["\n", "\n\n", "\n  \n\t", " \n    "]))
            else:
                piece = draw(st.sampled_from([" ", "  ", "\t", "\n", "\n\n", " \n  "]))
            if comments and draw(st.integers(0, 9)) == 0:
                where = draw(st.sampled_from(["  # after {}\n", "\n    # own line {}\n"]))
                piece = where.format(len(out)) + piece
        out.append(piece)
    text = "".join(out)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text.rstrip("\r\n") if draw(st.booleans()) else text


@st.composite
def _mangled(draw: st.DrawFn) -> str:
    """A golden input with its white space changed at random and comments added."""
    return _respace(draw, draw(st.sampled_from(_INPUTS)), comments=True)


@settings(max_examples=_examples(), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_mangled())
def test_property_mangled_inputs_round_trip(text: str) -> None:
    formatted = _fmt(text)
    _assert_layout_only(text, formatted)


_NAMES = ["arr", "usage", "logins", "segment", "x"]
_EVENTS = ["nps_response", "contract_signed"]


def _dur() -> st.SearchStrategy[ast.DurationLit]:
    return st.builds(lambda n, u: ast.DurationLit(n * 7 if u == "w" else n, f"{n}{u}"),
                     st.integers(0, 120), st.sampled_from("dw"))


def _literal() -> st.SearchStrategy[ast.Literal]:
    number = st.sampled_from(["0", "1", "12", "12.5", "100000"]).map(
        lambda t: ast.Literal("number", float(t), t))
    percent = st.sampled_from(["30%", "0.5%", "100%"]).map(
        lambda t: ast.Literal("percent", float(t[:-1]) / 100, t))
    duration = _dur().map(lambda d: ast.Literal("duration", float(d.days), d.text))
    date = st.just(ast.Literal("date", "2026-11-22", "2026-11-22"))
    string = st.sampled_from(['"SMB"', '"a \\"b\\""', '""']).map(
        lambda t: ast.Literal("string", t[1:-1].replace('\\"', '"'), t))
    boolean = st.sampled_from(["true", "false"]).map(
        lambda t: ast.Literal("bool", t == "true", t))
    return st.one_of(number, percent, duration, date, string, boolean)


def _name() -> st.SearchStrategy[ast.Name]:
    return st.sampled_from(_NAMES).map(ast.Name)


class _Conditions:
    """Draws condition trees level by level, as the grammar builds them: a lower level
    holds a higher one only inside parentheses, so every tree prints and parses back."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def pick(self, n: int) -> int:
        return self.draw(st.integers(0, n - 1))

    def or_expr(self, depth: int) -> ast.Expr:
        args = [self.and_expr(depth) for _ in range(1 + self.pick(3 if depth > 0 else 1))]
        return args[0] if len(args) == 1 else ast.BoolOp("or", tuple(args))

    def and_expr(self, depth: int) -> ast.Expr:
        args = [self.not_expr(depth) for _ in range(1 + self.pick(4 if depth > 0 else 1))]
        return args[0] if len(args) == 1 else ast.BoolOp("and", tuple(args))

    def not_expr(self, depth: int) -> ast.Expr:
        if depth > 0 and self.pick(4) == 0:
            return ast.Not(self.not_expr(depth - 1))
        return self.comparison(depth)

    def comparison(self, depth: int) -> ast.Expr:
        draw = self.draw
        match self.pick(7):
            case 0:
                return self.sum_expr(depth)
            case 1:
                return ast.InList(self.sum_expr(depth), tuple(
                    draw(_literal()) for _ in range(1 + self.pick(3))), draw(st.booleans()))
            case 2:
                amount = draw(_literal().filter(lambda v: v.kind in ("number", "percent")))
                return ast.Trend(draw(_name()), draw(st.sampled_from(["drops", "rises"])),
                                 amount, draw(_dur()))
            case 3:
                return ast.NoActivity(draw(_name()), draw(_dur()))
            case 4:
                where = self.comparison(depth - 1) if depth > 0 and self.pick(2) else None
                return ast.EventWithin(ast.Name(draw(st.sampled_from(_EVENTS))),
                                       draw(_dur()), where)
            case _:
                op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
                return ast.Compare(op, self.sum_expr(depth), self.sum_expr(depth))

    def sum_expr(self, depth: int) -> ast.Expr:
        if depth > 0 and self.pick(3) == 0:
            op = self.draw(st.sampled_from("+-"))
            return ast.Arith(op, self.sum_expr(depth - 1), self.product(depth - 1))
        return self.product(depth)

    def product(self, depth: int) -> ast.Expr:
        if depth > 0 and self.pick(3) == 0:
            op = self.draw(st.sampled_from("*/"))
            return ast.Arith(op, self.product(depth - 1), self.unary(depth - 1))
        return self.unary(depth)

    def unary(self, depth: int) -> ast.Expr:
        if depth > 0 and self.pick(5) == 0:
            return ast.Neg(self.unary(depth - 1))
        return self.atom(depth)

    def atom(self, depth: int) -> ast.Expr:
        choice = self.pick(5 if depth > 0 else 2)
        if choice == 0:
            return self.draw(_literal())
        if choice == 1:
            return ast.NameRef(self.draw(_name()))
        if choice == 2:
            func = ast.Name(self.draw(st.sampled_from(["avg", "change", "days_until", "f"])))
            return ast.Call(func, tuple(self.or_expr(depth - 2) for _ in range(self.pick(3))))
        return ast.Paren(self.or_expr(depth - 1))


@st.composite
def _conditions(draw: st.DrawFn) -> ast.Expr:
    return _Conditions(draw).or_expr(draw(st.integers(0, 4)))


@settings(max_examples=_examples(), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_conditions(), st.sampled_from(["when", "close", "success"]))
def test_property_generated_conditions_round_trip(expr: ast.Expr, key: str) -> None:
    within = ast.DurationLit(60, "60d") if key == "success" else None
    tree = ast.File("t.cs", (ast.RuleDecl(ast.Name("r"), None,
                                          (ast.Condition(key, expr, within),)),))
    text = format_file(tree)
    assert _parse(text) == tree, text
    assert _fmt(text) == text
    one_line = _parse(f"rule r {{ when {format_expr(expr)} }}")
    assert one_line.decls[0].items[0].expr == expr  # type: ignore[union-attr]


_SPEC_RULE = """rule r {{
  when {cond}
  then cta risk "x"
}}
"""
_SPEC_CONDITIONS = [
    "usage drops 30% over 30d and segment == \"Enterprise\"",
    "(arr > 1 or not is_strategic) and days_until(renewal_date) <= 120",
    "event nps_response within 30d where score <= 6 or no logins for 2w",
    "avg(usage, 4w) * 2 - -1 >= sum(logins, 7d) / 3 and segment not in (\"SMB\")",
    "change(usage, 30d) <= -30% and count(nps_response, 90d) > 0 and logins rises 10% over 1w",
]


@st.composite
def _spec_texts(draw: st.DrawFn) -> str:
    rule = _SPEC_RULE.format(cond=draw(st.sampled_from(_SPEC_CONDITIONS)))
    return _respace(draw, rule, comments=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_spec_texts())
def test_property_spec_hash_is_kept(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        before = _spec_hash(Path(tmp) / "before", text)
        assert _spec_hash(Path(tmp) / "after", _fmt(text)) == before
