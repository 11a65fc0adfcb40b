"""The `.cstest` parser: each form gives its nodes, each file-level mistake its code.

The rendered diagnostics of the new codes are golden files (tests/golden/diagnostics/
CS08xx/); here the forms are tables of text and the nodes or codes they give, and
Hypothesis checks that no text makes the parser raise.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import date
from importlib import resources
from importlib.util import find_spec

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark, Token, Tree

from csdsl.diagnostics import Diagnostic, render_text
from csdsl.source import Span
from csdsl.spectest import model as M
from csdsl.spectest.model import (
    Check,
    Close,
    Expect,
    Fixture,
    Run,
    SpecTest,
    Table,
)
from csdsl.spectest.syntax import parse_test_file
from tests.fuzzkit import mutations

CONTRACT = """\
test "usage drop opens a risk CTA for Enterprise accounts" {
  data "fixtures/basic"                 # a data directory, relative to this file
  as of 2026-11-19
  expect cta usage_drop for "A01" { owner "csm1@example.com"  due 2026-11-26  tasks 4 }
  expect no cta usage_drop for "A03"
  close cta golive_slipped for "A06" as not_valid "go-live date is wrong in the CRM"
}

test "a CTA closed as not valid stays closed" {
  data "fixtures/basic"
  as of 2026-11-19
  expect cta golive_slipped for "A06"
  close cta golive_slipped for "A06" as not_valid "go-live date is wrong in the CRM"
  as of 2026-11-20
  expect no cta golive_slipped for "A06"
}
"""

EVERY_FORM = """\
# every form of the test-file language
fixture basic "fixtures/basic"
fixture two_accounts {
  accounts {
    | id  | name | segment    | arr    | renewal_date |
    | A01 | Acme | Enterprise | 120000 | 2027-01-10   |
    | A02 | Bolt | SMB        |        |              |
  }
  metrics {
    | account_id | metric | date                     | value |
    | A01        | usage  | 2026-09-21 .. 2026-10-20 | 100   |
    | A01        | usage  | 2026-10-21 .. 2026-11-19 | 60    |
  }
  team {
    | account_id | role | user             |
    | A01        | CSM  | csm1@example.com |
  }
  events {
    | account_id | event        | date       | score |
    | A01        | nps_response | 2026-11-02 | 3     |
  }
  pools {
    | pool    | user                 |
    | Support | support1@example.com |
  }
}

test "everything" {
  data two_accounts
  as of 2026-11-19
  expect cta usage_drop for "A01", "A02" {
    owner "csm1@example.com"  due 2026-11-26  tasks 2  title "Usage dropped for Acme"
    priority high  type risk  plan Onboarding
    task call { owner "csm1@example.com"  due 2026-11-22  start 2026-11-20  status open
                title "Call" }
  }
  expect no cta usage_drop for "A03", "A04"
  expect usage_drop {
    | account | cta | owner            | due        | tasks | call.due   | call.status |
    | A01     | yes | csm1@example.com | 2026-11-26 | 2     | 2026-11-22 | open        |
    | A02     | no  |                  |            |       |            |             |
  }
  complete task call of usage_drop for "A01" on 2026-11-21
  close cta usage_drop for "A01" as success
  close cta usage_drop for "A02" as not_valid "wrong" on 2026-11-22
  as of 2026-11-23
  expect no cta usage_drop for "A01"
}

test "inline data" {
  data {
    accounts {
      | id  |
      | A01 |
    }
  }
  as of 2026-11-19
  expect no cta usage_drop for "A01"
}
"""


def _parse(text: str, path: str = "t.cstest") -> tuple[M.TestFile, list[Diagnostic]]:
    return parse_test_file(path, text)


def _clean(text: str, allowed: tuple[str, ...] = ()) -> M.TestFile:
    parsed, diagnostics = _parse(text)
    shown = [d for d in diagnostics if d.code not in allowed]
    assert shown == [], render_text(shown, {"t.cstest": text})
    return parsed


def _test(steps: str, data: str = 'data "d"') -> SpecTest:
    """One test with `steps` (a run first, so that order is not what is tested; one that
    expects nothing is a warning here)."""
    text = f'test "t" {{\n  {data}\n  as of 2026-11-01\n{steps}\n}}\n'
    [test] = _clean(text, allowed=("CS0805",)).tests
    return test


def _plain(node: object) -> object:
    """A node without its spans, as nested tuples: what tests compare."""
    if isinstance(node, Span):
        return None
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__, *(
            _plain(getattr(node, f.name)) for f in dataclasses.fields(node)
            if f.name not in ("span", "block", "name_span")))
    if isinstance(node, tuple):
        return tuple(_plain(n) for n in node)
    return node


def _text_at(text: str, span: Span) -> str:
    return text[span.start:span.end]


# ---------------------------------------------------------------- the contract


def test_the_contract_forms_parse_exactly() -> None:
    parsed = _clean(CONTRACT)
    first, second = parsed.tests
    assert first.name == "usage drop opens a risk CTA for Enterprise accounts"
    assert first.data is not None and first.data.directory == "fixtures/basic"
    assert first.fixture is None
    d = date.fromisoformat
    assert first.steps == (
        Run(d("2026-11-19"), first.steps[0].span),
        Expect("usage_drop", "A01", True, (
            Check("owner", "csm1@example.com", None, first.steps[1].checks[0].span),  # type: ignore[union-attr]
            Check("due", d("2026-11-26"), None, first.steps[1].checks[1].span),  # type: ignore[union-attr]
            Check("tasks", 4, None, first.steps[1].checks[2].span),  # type: ignore[union-attr]
        ), first.steps[1].span),
        Expect("usage_drop", "A03", False, (), first.steps[2].span),
        Close("golive_slipped", "A06", "not_valid", "go-live date is wrong in the CRM", None,
              first.steps[3].span),
    )
    assert [type(s).__name__ for s in second.steps] == ["Run", "Expect", "Close", "Run", "Expect"]


def test_spans_point_at_what_was_written() -> None:
    parsed = _clean(CONTRACT)
    test = parsed.tests[0]
    assert _text_at(CONTRACT, test.span) == (
        'test "usage drop opens a risk CTA for Enterprise accounts"')
    assert test.block is not None and CONTRACT[test.block.start:test.block.end].endswith("}")
    assert _text_at(CONTRACT, test.steps[0].span) == "as of 2026-11-19"
    expect = test.steps[1]
    assert isinstance(expect, Expect)
    assert [_text_at(CONTRACT, c.span) for c in expect.checks] == [
        'owner "csm1@example.com"', "due 2026-11-26", "tasks 4"]
    assert (expect.span.line, expect.span.column) == (4, 3)


# ---------------------------------------------------------------- forms, as tables

D = date.fromisoformat


@pytest.mark.parametrize(("steps", "expected"), [
    ('expect cta r for "A"', [("Expect", "r", "A", True, ())]),
    ('expect cta r for "A" {}', [("Expect", "r", "A", True, ())]),
    ('expect cta r for "A", "B" { tasks 0 }', [
        ("Expect", "r", "A", True, (("Check", "tasks", 0, None),)),
        ("Expect", "r", "B", True, (("Check", "tasks", 0, None),))]),
    ('expect no cta r for "A", "B", "C"', [
        ("Expect", "r", "A", False, ()), ("Expect", "r", "B", False, ()),
        ("Expect", "r", "C", False, ())]),
    ('expect cta r for "A" { title "Hi \\"you\\"" priority low type opportunity plan P }', [
        ("Expect", "r", "A", True, (("Check", "title", 'Hi "you"', None),
                                    ("Check", "priority", "low", None),
                                    ("Check", "type", "opportunity", None),
                                    ("Check", "plan", "P", None)))]),
    ('expect cta r for "A" { task call { owner "u" due 2026-11-05 start 2026-11-02\n'
     '  status done title "T" } task kickoff.handoff { status cancelled } }', [
        ("Expect", "r", "A", True, (("Check", "owner", "u", "call"),
                                    ("Check", "due", D("2026-11-05"), "call"),
                                    ("Check", "start", D("2026-11-02"), "call"),
                                    ("Check", "status", "done", "call"),
                                    ("Check", "title", "T", "call"),
                                    ("Check", "status", "cancelled", "kickoff.handoff")))]),
    ('close cta r for "A" as success', [("Close", "r", "A", "success", None, None)]),
    ('close cta r for "A" as not_valid "why"', [("Close", "r", "A", "not_valid", "why", None)]),
    ('close cta r for "A" as success on 2026-11-03',
     [("Close", "r", "A", "success", None, D("2026-11-03"))]),
    ('complete task call of r for "A"', [("CompleteTask", "call", "r", "A", None)]),
    ('complete task kickoff.handoff of r for "A" on 2026-11-02',
     [("CompleteTask", "kickoff.handoff", "r", "A", D("2026-11-02"))]),
    # keywords are keywords only where they are expected
    ('expect cta data for "A"\ncomplete task task of close for "A"', [
        ("Expect", "data", "A", True, ()), ("CompleteTask", "task", "close", "A", None)]),
    ("as of 2026-11-01\nas of 2026-11-02", [("Run", D("2026-11-01")), ("Run", D("2026-11-02"))]),
])
def test_steps(steps: str, expected: list[tuple[object, ...]]) -> None:
    assert [_plain(s) for s in _test(steps).steps[1:]] == expected


@pytest.mark.parametrize(("table", "expected"), [
    ("| account |\n| A01 |\n| A02 |", [("A01", True, ()), ("A02", True, ())]),
    ("| account | cta |\n| A01 | yes |\n| A02 | no |\n| A03 | |",
     [("A01", True, ()), ("A02", False, ()), ("A03", True, ())]),
    ("| account | owner | due | tasks | title | priority | type | plan |\n"
     "| A01 | u | 2026-11-26 | 4 | T | high | risk | P |",
     [("A01", True, (("Check", "owner", "u", None), ("Check", "due", D("2026-11-26"), None),
                     ("Check", "tasks", 4, None), ("Check", "title", "T", None),
                     ("Check", "priority", "high", None), ("Check", "type", "risk", None),
                     ("Check", "plan", "P", None)))]),
    ("| call.owner | call.due | call.start | call.status | call.title | account |\n"
     "| u | 2026-11-05 | 2026-11-02 | open | T | A01 |",
     [("A01", True, (("Check", "owner", "u", "call"), ("Check", "due", D("2026-11-05"), "call"),
                     ("Check", "start", D("2026-11-02"), "call"),
                     ("Check", "status", "open", "call"), ("Check", "title", "T", "call")))]),
    ("| account | kickoff.handoff.status |\n| A01 | done |",
     [("A01", True, (("Check", "status", "done", "kickoff.handoff"),))]),
    ("| account | owner |\n| A01 |  |", [("A01", True, ())]),  # an empty cell checks nothing
])
def test_table_driven_expectations(table: str, expected: list[tuple[object, ...]]) -> None:
    rows = "\n".join(f"    {line}" for line in table.split("\n"))
    test = _test(f"  expect r {{\n{rows}\n  }}")
    got = [(e.account, e.present, _plain(e.checks)) for e in test.steps[1:]
           if isinstance(e, Expect)]
    assert got == expected
    assert all(e.rule == "r" for e in test.steps[1:] if isinstance(e, Expect))


def test_a_table_row_is_one_expectation_with_the_row_span() -> None:
    text = ('test "t" {\n  data "d"\n  as of 2026-11-01\n  expect r {\n'
            "    | account | due        |\n    | A01     | 2026-11-05 |\n  }\n}\n")
    [test] = _clean(text).tests
    expect = test.steps[1]
    assert isinstance(expect, Expect)
    assert _text_at(text, expect.span) == "| A01     | 2026-11-05 |"
    assert _text_at(text, expect.checks[0].span) == "2026-11-05"


@pytest.mark.parametrize(("data", "expected"), [
    ('data "fixtures/basic"', (("Fixture", None, "fixtures/basic", None, ()), None)),
    ("data two_accounts", (None, "two_accounts")),
    ("data {\n  accounts {\n    | id |\n    | A01 |\n  }\n}",
     (("Fixture", None, None, None, (("Table", "accounts", (("Cell", "id"),),
                                      (("Row", (("Cell", "A01"),)),)),)), None)),
])
def test_data_forms(data: str, expected: tuple[object, object]) -> None:
    test = _test("", data=data)
    assert (_plain(test.data), test.fixture) == expected


def test_every_form_parses_clean() -> None:
    parsed = _clean(EVERY_FORM)
    assert [f.name for f in parsed.fixtures] == ["basic", "two_accounts"]
    basic, inline = parsed.fixtures
    assert (basic.directory, basic.tables) == ("fixtures/basic", ())
    assert [t.name for t in inline.tables] == ["accounts", "metrics", "team", "events", "pools"]
    assert inline.tables[1].rows[0].cells[2].text == "2026-09-21 .. 2026-10-20"
    assert [t.name for t in parsed.tests] == ["everything", "inline data"]
    kinds = [type(s).__name__ for s in parsed.tests[0].steps]
    assert kinds == ["Run", "Expect", "Expect", "Expect", "Expect", "Expect", "Expect",
                     "CompleteTask", "Close", "Close", "Run", "Expect"]


def test_fixture_spans() -> None:
    parsed = _clean(EVERY_FORM)
    basic, inline = parsed.fixtures
    assert _text_at(EVERY_FORM, basic.span) == 'fixture basic "fixtures/basic"'
    assert basic.name_span is not None and _text_at(EVERY_FORM, basic.name_span) == "basic"
    assert EVERY_FORM[inline.span.start:inline.span.end].startswith("fixture two_accounts {")


def test_references_name_every_rule_task_account_and_fixture() -> None:
    parsed = _clean(EVERY_FORM)
    uses = [(u.kind, u.name, u.rule) for u in parsed.references]
    assert ("fixture", "two_accounts", None) in uses
    assert uses.count(("rule", "usage_drop", None)) == 8  # one per statement
    assert ("task", "call", "usage_drop") in uses
    assert {n for k, n, _ in uses if k == "account"} == {"A01", "A02", "A03", "A04"}
    for use in parsed.references:  # each where it is written
        written = _text_at(EVERY_FORM, use.span)
        assert written.strip('"') == use.name, (use, written)


# ---------------------------------------------------------------- tables, cell by cell


@pytest.mark.parametrize(("line", "cells"), [
    ("| a | b |", ["a", "b"]),
    ("|a|b|", ["a", "b"]),
    ("|   spaced out   |  x  |", ["spaced out", "x"]),
    ("| a |  | c |", ["a", "", "c"]),
    ('| "a | b" | c |', ["a | b", "c"]),
    ('| "say \\"hi\\"" | c |', ['say "hi"', "c"]),
    ('|  ""  |', [""]),
    ("| Call #1 | x |", ["Call #1", "x"]),  # `#` inside a cell is text
    ("| a | b |   # a comment after the row", ["a", "b"]),
    ("| a | b |\r", ["a", "b"]),
])
def test_cells(line: str, cells: list[str]) -> None:
    text = f"fixture f {{\n  accounts {{\n    | id |\n    {line}\n  }}\n}}\n"
    parsed, _ = _parse(text)  # the header has one column: a row width error is fine here
    [table] = parsed.fixtures[0].tables
    [row] = table.rows
    assert [c.text for c in row.cells] == cells
    for cell in row.cells:
        if cell.text and '"' not in line:
            assert _text_at(text, cell.span) == cell.text


def test_blank_and_comment_lines_in_a_table_are_not_rows() -> None:
    text = ("fixture f {\n  accounts {   # the accounts\n\n    # a comment\n    | id |\n"
            "\n    | A01 |\n  }\n}\n")
    [table] = _clean(text).fixtures[0].tables
    assert [c.text for c in table.header] == ["id"]
    assert [[c.text for c in r.cells] for r in table.rows] == [["A01"]]
    assert (table.rows[0].span.line, table.rows[0].span.column) == (7, 5)


def test_crlf_line_endings() -> None:
    text = EVERY_FORM.replace("\n", "\r\n")
    parsed = _clean(text)
    assert [t.name for t in parsed.tests] == ["everything", "inline data"]
    assert parsed.fixtures[1].tables[0].rows[1].cells[1].text == "Bolt"


def test_tables_know_their_columns() -> None:
    parsed = _clean(EVERY_FORM)
    tables = {t.name: t for t in parsed.fixtures[1].tables}
    assert tables["metrics"].columns == ("account_id", "metric", "date", "value")
    assert all(t.has_required_columns() for t in tables.values())


# ---------------------------------------------------------------- errors, as a table


def _wrap(steps: str) -> str:
    return f'test "t" {{\n  data "d"\n  as of 2026-11-01\n{steps}\n}}\n'


def _table(name: str, rows: str) -> str:
    body = "\n".join(f"    {r}" for r in rows.split("\n"))
    accounts = "  accounts {\n    | id |\n    | A |\n  }\n"
    return f"fixture f {{\n{accounts}  {name} {{\n{body}\n  }}\n}}\n"


ERRORS = [
    # syntax
    (_wrap('  expect cta r for A01'), "CS0100", 4, 'unexpected `A01`'),
    (_wrap("  expect cta r"), "CS0100", 5, "unexpected `}`"),
    (_wrap('  expect cta r for "A" { colour "red" }'), "CS0100", 4, "unexpected `colour`"),
    (_wrap("  as of tomorrow"), "CS0100", 4, "unexpected `tomorrow`"),
    (_wrap("  as of 2026-11-01 @"), "CS0101", 4, "unexpected character `@`"),
    (_wrap('  expect cta r for "A'), "CS0102", 4, "unterminated string"),
    (_wrap('  close cta r for "A" as success "a\\qb"'), "CS0103", 4, "unknown escape"),
    ('test "t" {\n  data "d"\n  as of 2026-11-01\n', "CS0104", 1, "`test \"t\"` is not closed"),
    ('test "t" {\n  data "d"\n  as of', "CS0104", 3, "unexpected end of file"),
    ('test "a" {\n  data "d"\n\ntest "b" {\n  data "d"\n}\n', "CS0107", 1,
     "the `{` of `test \"a\"` is never closed"),
    ("fixture f {\n  accounts { | id | }\n}\n", "CS0100", 2, "rows go on the lines after"),
    ("fixture f {\n  accounts {\n    | id |\n", "CS0104", 2, "this table is never closed"),
    ("fixture f {\n  accounts {\n    | id |\n  metrics {\n    | a |\n  }\n}\n", "CS0100", 4,
     "a table row starts with `|`"),
    ("fixture f {\n  accounts {\n    | id | name\n  }\n}\n", "CS0100", 3,
     "a table row ends with `|`"),
    ('fixture f {\n  accounts {\n    | id | "A |\n  }\n}\n', "CS0102", 3, "unterminated string"),
    ('fixture f {\n  accounts {\n    | id | "A" B |\n  }\n}\n', "CS0100", 3,
     "a quoted cell ends at its `|`"),
    # dates and words
    (_wrap("  as of 2026-02-30"), "CS0105", 4, "`2026-02-30` is not a valid date"),
    (_wrap('  expect cta r for "A" { due 2026-13-01 }'), "CS0105", 4, "not a valid date"),
    (_wrap('  close cta r for "A" as success on 2026-04-31'), "CS0105", 4, "not a valid date"),
    (_wrap('  expect cta r for "A" { tasks 12345678901 }'), "CS0309", 4, "too large"),
    (_wrap('  expect cta r for "A" { priority urgent }'), "CS0212", 4, "unknown priority"),
    (_wrap('  expect cta r for "A" { type rsk }'), "CS0212", 4, "unknown CTA type `rsk`"),
    (_wrap('  expect cta r for "A" { task t { status finished } }'), "CS0212", 4,
     "unknown task status"),
    (_wrap('  close cta r for "A" as resolved'), "CS0212", 4, "unknown outcome `resolved`"),
    (_wrap('  expect r {\n    | account | priority |\n    | A | urgent |\n  }'), "CS0212", 6,
     "unknown priority"),
    # names twice
    ('test "t" {\n  data "d"\n  as of 2026-11-01\n  expect no cta r for "A"\n}\n'
     'test "t" {\n  data "d"\n  as of 2026-11-01\n  expect no cta r for "A"\n}\n',
     "CS0200", 6, "test `t` is declared twice"),
    ("fixture f {\n  accounts {\n    | id |\n    | A |\n    | A |\n  }\n}\n", "CS0200", 5,
     "account `A` appears twice"),
    ("fixture f {\n  accounts {\n    | id |\n  }\n  accounts {\n    | id |\n  }\n}\n",
     "CS0200", 5, "table `accounts` is given twice"),
    (_wrap('  expect cta r for "A" { owner "a"  owner "b" }'), "CS0701", 4,
     "`owner` is checked twice"),
    # order of steps
    ('test "t" {\n  data "d"\n  data "e"\n  as of 2026-11-01\n  expect no cta r for "A"\n}\n',
     "CS0803", 3, "gives its data twice"),
    ('test "t" {\n  as of 2026-11-01\n  data "d"\n  expect no cta r for "A"\n}\n',
     "CS0803", 3, "`data` after the first `as of`"),
    ('test "t" {\n  data "d"\n  close cta r for "A" as success\n  as of 2026-11-01\n'
     '  expect no cta r for "A"\n}\n', "CS0803", 3, "`close` before the first `as of`"),
    (_wrap("  as of 2026-10-01"), "CS0803", 4, "goes back in time"),
    ('test "t" {\n  as of 2026-11-01\n  expect no cta r for "A"\n}\n', "CS0804", 1,
     "has no data"),
    ('test "t" {\n  data "d"\n}\n', "CS0805", 1, "runs nothing"),
    ('test "t" {\n  data "d"\n  as of 2026-11-01\n}\n', "CS0805", 1, "checks nothing"),
    # tables
    (_table("metrics", "| account_id | metric | date | value |\n| A | usage | 2026-11-01 |"),
     "CS0807", 8, "this row has 3 cells where the header has 4"),
    ("fixture f {\n  acounts {\n    | id |\n  }\n}\n", "CS0808", 2, "unknown table `acounts`"),
    (_table("team", "| account_id | role |"), "CS0809", 7, "no `user` column in `team`"),
    (_table("team", "| account_id | role | user | extra |"), "CS0809", 7,
     "unexpected column `extra`"),
    (_table("pools", "| name | user |"), "CS0809", 7, "column `name` where `pools` has `pool`"),
    (_table("events", "| account_id | event | when |"), "CS0809", 7,
     "column `when` where `events` has `date`"),
    (_table("events", "| account_id | event | date | score | score |"), "CS0809", 7,
     "column `score` appears twice"),
    ("fixture f {\n  accounts {\n    | name |\n  }\n}\n", "CS0809", 3,
     "column `name` where `accounts` has `id`"),
    ("fixture f {\n  accounts {\n  }\n}\n", "CS0809", 2, "table `accounts` has no header row"),
    (_wrap("  expect r {\n    | owner |\n    | u |\n  }"), "CS0809", 5, "no `account` column"),
    (_table("metrics", "| account_id | metric | date | value |\n| A | usage | 2026-11-01 | lots |"),
     "CS0810", 8, "`lots` is not a number"),
    (_table("metrics", "| account_id | metric | date | value |\n| A | usage | 2026-11-01 | inf |"),
     "CS0810", 8, "`inf` is not a number"),
    (_table("metrics", "| account_id | metric | date | value |\n| A | usage | 11/01/2026 | 1 |"),
     "CS0810", 8, "`11/01/2026` is not a date"),
    (_table("metrics", "| account_id | metric | date | value |\n| A | | 2026-11-01 | 1 |"),
     "CS0810", 8, "empty `metric` cell"),
    (_table("events", "| account_id | event | date |\n| A | e | 2026-11-31 |"),
     "CS0105", 8, "not a valid date"),
    (_wrap("  expect r {\n    | account | tasks |\n    | A | four |\n  }"), "CS0810", 6,
     "`four` is not a whole number"),
    (_wrap("  expect r {\n    | account | cta |\n    | A | maybe |\n  }"), "CS0810", 6,
     "`maybe` is not `yes` or `no`"),
    (_wrap("  expect r {\n    | account | cta | owner |\n    | A | no | u |\n  }"), "CS0810", 6,
     "a row that expects no CTA checks nothing else"),
    (_wrap("  expect r {\n    | account | owner |\n    |  | u |\n  }"), "CS0810", 6,
     "empty `account` cell"),
    (_table("metrics", "| account_id | metric | date | value |\n"
                       "| A | usage | 2026-11-05 .. 2026-11-01 | 1 |"),
     "CS0811", 8, "ends before it starts"),
    (_table("metrics", "| account_id | metric | date | value |\n"
                       "| A | usage | 2026-11-01 .. 2026-11-31 | 1 |"),
     "CS0105", 8, "`2026-11-31` is not a valid date"),
    (_wrap("  expect r {\n    | account | ownr |\n    | A | u |\n  }"), "CS0812", 5,
     "unknown column `ownr`"),
    (_wrap("  expect r {\n    | account | call.when |\n    | A | u |\n  }"), "CS0812", 5,
     "unknown column `call.when`"),
]


@pytest.mark.parametrize(("text", "code", "line", "words"), ERRORS,
                         ids=[f"{c}-{i}" for i, (_, c, _, _) in enumerate(ERRORS)])
def test_errors(text: str, code: str, line: int, words: str) -> None:
    _, diagnostics = _parse(text)
    found = [(d.code, d.span.line, d.message) for d in diagnostics]
    assert any(c == code and n == line and words in m for c, n, m in found), found


@pytest.mark.parametrize(("text", "suggestion"), [
    (_wrap('  expect cta r for A01'), '"A01"'),
    (_wrap('  expect cta r for "A" { priority hihg }'), "high"),
    (_wrap('  close cta r for "A" as notvalid'), "not_valid"),
    ("fixture f {\n  acounts {\n    | id |\n  }\n}\n", "accounts"),
    (_table("team", "| account | role | user |"), "account_id"),
    (_wrap("  expect r {\n    | acount |\n    | A |\n  }"), "account"),
    (_wrap("  expect r {\n    | account | call.statu |\n    | A | u |\n  }"), "call.status"),
])
def test_did_you_mean(text: str, suggestion: str) -> None:
    _, diagnostics = _parse(text)
    assert suggestion in [d.suggestion for d in diagnostics], diagnostics


def test_an_unknown_table_does_not_also_say_accounts_is_missing() -> None:
    _, diagnostics = _parse("fixture f {\n  acounts {\n    | id |\n  }\n}\n")
    assert [d.code for d in diagnostics] == ["CS0808"]


def test_a_bad_expectation_table_gives_no_cascade() -> None:
    _, diagnostics = _parse(_wrap("  expect r {\n    | owner |\n    | u |\n  }"))
    assert [d.code for d in diagnostics] == ["CS0809"]


def test_one_early_step_is_reported_once() -> None:
    text = ('test "t" {\n  data "d"\n  expect no cta r for "A"\n  expect no cta r for "B"\n'
            "  as of 2026-11-01\n}\n")
    _, diagnostics = _parse(text)
    assert [d.code for d in diagnostics] == ["CS0803"]


# ---------------------------------------------------------------- recovery


def test_one_syntax_error_per_block_and_the_others_kept() -> None:
    text = (
        'test "a" {\n  data "d"\n  as of 2026-11-01\n  expect cta r for A\n}\n\n'
        'fixture f {\n  accounts {\n    | id |\n    | A |\n  }\n}\n\n'
        'test "b" {\n  data f\n  as of\n  expect no cta r for "A"\n}\n\n'
        'test "c" {\n  data f\n  as of 2026-11-01\n  expect no cta r for "A"\n}\n'
    )
    parsed, diagnostics = _parse(text)
    assert [(d.code, d.span.line) for d in diagnostics] == [("CS0100", 4), ("CS0100", 17)]
    assert [t.name for t in parsed.tests] == ["c"]
    assert [f.name for f in parsed.fixtures] == ["f"]


def test_a_block_that_lacks_only_its_brace_is_kept() -> None:
    text = ('test "a" {\n  data "d"\n  as of 2026-11-01\n  expect no cta r for "A"\n\n'
            'test "b" {\n  data "d"\n  as of 2026-11-01\n  expect no cta r for "A"\n}\n')
    parsed, diagnostics = _parse(text)
    assert [(d.code, d.span.line) for d in diagnostics] == [("CS0107", 1)]
    a, b = parsed.tests
    assert (a.name, b.name) == ("a", "b")
    assert a.block is not None and a.block.end <= text.index('test "b"')


def test_junk_before_the_first_block() -> None:
    parsed, diagnostics = _parse('tset "a" {\n}\n\ntest "b" {\n  data "d"\n  as of 2026-11-01\n'
                                 '  expect no cta r for "A"\n}\n')
    assert [(d.code, d.span.line) for d in diagnostics] == [("CS0100", 1)]
    assert [t.name for t in parsed.tests] == ["b"]


# ---------------------------------------------------------------- the grammar


def _grammar() -> str:
    return resources.files("csdsl.grammar").joinpath("cstest.lark").read_text("utf-8")


def test_the_grammar_ships_in_the_package() -> None:
    assert resources.files("csdsl.grammar").joinpath("cstest.lark").is_file()


def test_the_grammar_has_no_conflicts(caplog: pytest.LogCaptureFixture) -> None:
    """LALR resolves a shift/reduce conflict silently (a reduce/reduce one raises): lark
    logs each in debug mode, and there must be none. (With `interegular` installed,
    `strict=True` checks this and regex collisions too, below.)"""
    with caplog.at_level(logging.DEBUG, logger="lark"):
        Lark(_grammar(), parser="lalr", lexer="contextual", debug=True)
    assert not [r for r in caplog.records if "conflict" in r.getMessage().lower()]


@pytest.mark.skipif(find_spec("interegular") is None, reason="strict mode needs interegular")
def test_the_grammar_is_strict() -> None:
    Lark(_grammar(), parser="lalr", lexer="contextual", strict=True)


def _walk(node: object) -> Iterator[object]:
    stack = [node]
    while stack:
        item = stack.pop()
        yield item
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, tuple | list):
            stack.extend(item)


def test_no_lark_object_escapes() -> None:
    parsed, diagnostics = _parse(EVERY_FORM + "\ntest broken {")
    for item in [*_walk(parsed), *_walk(diagnostics)]:
        assert not type(item).__module__.startswith("lark"), type(item)
        assert not isinstance(item, Token | Tree), item  # a Token is a str: not caught above


# ---------------------------------------------------------------- no input raises

PIECES = [
    "{", "}", '"', "#", ",", ".", "..", "|", "\n", " ", "\t", "\r", "\\", "\x00", "é",
    "test", "fixture", "data", "as of", "expect", "no", "cta", "for", "close", "complete",
    "task", "of", "on", "owner", "due", "tasks", "title", "priority", "type", "plan",
    "start", "status", "accounts", "metrics", "team", "events", "pools", "2026-13-45",
    "2026-11-19", "9" * 40, '"A01"', "| a |", "| id |", "}\n", "{\n",
]


def _mutated() -> object:
    return mutations(EVERY_FORM, PIECES)


def _never_raises(text: str) -> None:
    parsed, diagnostics = _parse(text)
    render_text(diagnostics, {"t.cstest": text})
    lines = text.count("\n") + 1
    for d in diagnostics:
        assert d.code.startswith("CS") and 1 <= d.span.line <= lines and d.span.column >= 1
    for node in _walk(parsed):
        if isinstance(node, Fixture | Table | SpecTest):
            assert node.span.start <= node.span.end <= len(text)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutations_never_raise(text: str) -> None:
    _never_raises(text)


@settings(deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60).map("".join))
def test_piece_soup_never_raises(text: str) -> None:
    _never_raises(text)


@settings(deadline=None)
@given(st.text(max_size=300))
def test_any_text_never_raises(text: str) -> None:
    _never_raises(text)
