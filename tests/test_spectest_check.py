"""Spec tests held against the spec: what `load_suite` finds, resolves and reports.

Each check is a row: test files, and the code (with words of its message) they must
give, or nothing. The rendered diagnostics are golden files
(tests/golden/diagnostics/CS08xx/); Hypothesis checks that no parse result makes the
checker raise.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from csdsl.diagnostics import Diagnostic, render_text
from csdsl.semantic import SpecModel, analyze
from csdsl.source import UsageError
from csdsl.spectest.check import check_files, collect_test_files, load_suite
from csdsl.spectest.model import Expect, Suite
from csdsl.spectest.syntax import parse_test_file
from csdsl.syntax.parser import parse_text

from .test_spectest_syntax import EVERY_FORM, _mutated

SPEC = """\
account { name: text  segment: enum("SMB", "Enterprise")  arr: number  renewal_date: date
          is_strategic: bool }
metric usage
metric logins
event nps_response { score: number  comment: text }
event contract_signed
role CSM
role AE
pool Support

playbook UsageDrop {
  task miss_you "Miss you" { day 1  owner CSM }
  task call "Call" { day 3  owner CSM  after miss_you }
}

plan Onboarding {
  objective kickoff "Kickoff" {
    task handoff "Hand-off" { owner AE }
  }
}

rule usage_drop {
  when usage drops 30% over 30d
  then cta risk "Usage dropped"
  owner CSM
  playbook UsageDrop
}

rule new_customer {
  when event contract_signed within 1d
  then plan Onboarding
  owner CSM
}

rule low_nps {
  when count(nps_response, 30d) >= 3
  then cta risk "Detractors"
  owner pool Support
}
"""


@pytest.fixture(scope="module")
def model() -> SpecModel:
    parsed, diagnostics = parse_text("spec.cs", SPEC)
    checked, more = analyze([parsed])
    assert diagnostics == [] and more == []
    return checked


Files = dict[str, str | bytes]


def _write(root: Path, files: Files) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: SpecModel, files: Files,
          paths: list[str] | None = None) -> tuple[Suite, list[Diagnostic], bool]:
    _write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    return load_suite(paths or ["."], model)


ACCOUNTS = "fixture basic {\n  accounts {\n    | id  | name |\n    | A01 | Acme |\n  }\n}\n"


def _test(steps: str, data: str = "data basic", name: str = "t") -> str:
    return f'test "{name}" {{\n  {data}\n  as of 2026-11-01\n{steps}\n}}\n'


def _inline(*tables: str) -> str:
    """`data { ... }` with the given tables, each `name\\n| row |\\n| row |`."""
    out = ["data {"]
    for table in tables:
        name, *rows = table.split("\n")
        out.append(f"    {name} {{")
        out.extend(f"      {row}" for row in rows)
        out.append("    }")
    out.append("  }")
    return "\n".join(out)


ACCOUNT_TABLE = "accounts\n| id | name |\n| A01 | Acme |"


# ---------------------------------------------------------------- collecting files


def test_collects_every_test_file_sorted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, {"spec/b.cstest": "", "spec/a.cstest": "", "spec/sub/c.cstest": "",
                      "spec/rules.cs": "", "spec/notes.txt": "", "other/d.cstest": ""})
    monkeypatch.chdir(tmp_path)
    found = collect_test_files(["spec", "other/d.cstest", "spec/rules.cs", "spec/a.cstest"])
    assert [p.as_posix() for p in found] == [
        "spec/a.cstest", "spec/b.cstest", "spec/sub/c.cstest", "other/d.cstest"]


def test_a_missing_path_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="`nowhere`"):
        collect_test_files(["nowhere"])


@pytest.mark.parametrize(("content", "words"), [
    (b"test \"t\" {\n  data \xff\n}\n", "it is not UTF-8 text"),
    (b'test "t" {\x00}\n', "it holds a NUL character"),
])
def test_an_unreadable_file_is_cs0001(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      model: SpecModel, content: bytes, words: str) -> None:
    suite, diagnostics, unreadable = _load(tmp_path, monkeypatch, model, {
        "bad.cstest": content,
        "good.cstest": ACCOUNTS + _test('  expect no cta usage_drop for "A01"')})
    assert unreadable
    [d] = diagnostics
    assert (d.code, d.span.file) == ("CS0001", "bad.cstest") and words in d.message
    assert [t.name for t in suite.tests] == ["t"]  # the other files are still read
    assert set(suite.sources) == {"good.cstest"}


def test_a_byte_order_mark_is_not_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       model: SpecModel) -> None:
    text = ACCOUNTS + _test('  expect no cta usage_drop for "A01"')
    suite, diagnostics, _ = _load(tmp_path, monkeypatch, model,
                                  {"a.cstest": "\ufeff".encode() + text.encode()})
    assert diagnostics == [] and len(suite.tests) == 1


# ---------------------------------------------------------------- resolving data


def test_data_directories_resolve_against_the_test_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: SpecModel) -> None:
    suite, diagnostics, _ = _load(tmp_path, monkeypatch, model, {
        "tests/data/basic/accounts.csv": "id,name\nA01,Acme\n",
        "tests/a.cstest": _test('  expect no cta usage_drop for "A01"', 'data "data/basic"'),
        "tests/deeper/b.cstest": 'fixture shared "../data/basic"\n',
        "c.cstest": _test('  expect no cta usage_drop for "A01"', "data shared", "c"),
    })
    assert diagnostics == []
    by_name = {t.name: t for t in suite.tests}
    expected = str((tmp_path / "tests" / "data" / "basic").resolve())
    own = by_name["t"].data
    assert own is not None and (own.directory, own.path, own.name) == ("data/basic", expected, None)
    shared = by_name["c"].data
    assert shared is not None and (shared.name, shared.path) == ("shared", expected)
    assert suite.fixtures["shared"] == shared
    assert Path(expected).is_absolute()


def test_a_fixture_of_another_file_is_the_tests_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: SpecModel) -> None:
    suite, diagnostics, _ = _load(tmp_path, monkeypatch, model, {
        "fixtures.cstest": ACCOUNTS,
        "tests.cstest": _test('  expect no cta usage_drop for "A01"')})
    assert diagnostics == []
    [test] = suite.tests
    assert test.data is not None and test.data.name == "basic"
    assert [t.name for t in test.data.tables] == ["accounts"]
    assert test.data.path is None and test.fixture == "basic"


def test_every_form_checks_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 model: SpecModel) -> None:
    files: Files = {"all.cstest": EVERY_FORM.replace("plan Onboarding", "plan Onboarding"),
                    "fixtures/basic/accounts.csv": "id\nA01\n"}
    suite, diagnostics, unreadable = _load(tmp_path, monkeypatch, model, files)
    assert not unreadable
    # EVERY_FORM names accounts A03 and A04 that its fixture does not have
    assert {(d.code, d.message) for d in diagnostics} == {
        ("CS0813", "account `A03` is not in the data of test `everything`"),
        ("CS0813", "account `A04` is not in the data of test `everything`")}
    assert [t.name for t in suite.tests] == ["inline data"]
    assert [t.name for t in suite.rejected] == ["everything"]


# ---------------------------------------------------------------- held back


def test_only_tests_without_errors_are_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             model: SpecModel) -> None:
    broken = "fixture broken {\n  accounts {\n    | id | nope |\n    | A01 | x |\n  }\n}\n"
    suite, diagnostics, _ = _load(tmp_path, monkeypatch, model, {"a.cstest": (
        ACCOUNTS + broken
        + _test('  expect no cta usage_drop for "A01"', name="fine")
        + _test('  expect no cta usage_dorp for "A01"', name="unknown rule")
        + _test('  expect no cta usage_drop for "A01"', "data broken", "broken fixture")
        + _test("", name="warned")  # CS0805, a warning: it still runs
        + _test('  expect cta usage_drop for A01', name="syntax")  # dropped by the parser
        + _test('  as of 2026-02-30\n  expect no cta usage_drop for "A01"', name="bad date"))})
    assert sorted({d.code for d in diagnostics}) == ["CS0100", "CS0105", "CS0201", "CS0800",
                                                     "CS0805"]
    assert [t.name for t in suite.tests] == ["fine", "warned"]
    assert [t.name for t in suite.rejected] == ["unknown rule", "broken fixture", "bad date"]


def test_check_files_with_known_diagnostics(model: SpecModel) -> None:
    """The parser's diagnostics, given as `known`, hold a test back too."""
    text = ACCOUNTS + _test('  expect cta usage_drop for "A01" { priority urgent }')
    parsed, found = parse_test_file("a.cstest", text)
    suite, more = check_files([parsed], model, {"a.cstest": text}, found)
    assert [d.code for d in found] == ["CS0212"] and more == []
    assert suite.tests == () and [t.name for t in suite.rejected] == ["t"]
    alone, _ = check_files([parsed], model)
    assert [t.name for t in alone.tests] == ["t"]


# ---------------------------------------------------------------- checks, as a table

CHECKS: list[tuple[Files, str | None, str]] = [
    # rules and tasks
    ({"a.cstest": ACCOUNTS + _test('  expect cta usage_dorp for "A01"')}, "CS0800",
     "unknown rule `usage_dorp`"),
    ({"a.cstest": ACCOUNTS + _test('  close cta usag for "A01" as success\n'
                                   '  expect no cta usage_drop for "A01"')}, "CS0800",
     "unknown rule `usag`"),
    ({"a.cstest": ACCOUNTS + _test("  expect nope {\n    | account |\n    | A01 |\n  }")},
     "CS0800", "unknown rule `nope`"),
    ({"a.cstest": ACCOUNTS + _test('  complete task call of usage_drop for "A01"\n'
                                   '  expect cta usage_drop for "A01" { task miss_you '
                                   '{ status done } }')}, None, ""),
    ({"a.cstest": ACCOUNTS + _test('  complete task cal of usage_drop for "A01"\n'
                                   '  expect no cta usage_drop for "A01"')}, "CS0806",
     "rule `usage_drop` has no task `cal`"),
    ({"a.cstest": ACCOUNTS + _test('  expect cta usage_drop for "A01" { task callz '
                                   "{ status done } }")}, "CS0806", "no task `callz`"),
    ({"a.cstest": ACCOUNTS + _test("  expect usage_drop {\n    | account | cal.due |\n"
                                   "    | A01 | 2026-11-05 |\n  }")}, "CS0806",
     "no task `cal`"),
    ({"a.cstest": ACCOUNTS + _test('  expect cta new_customer for "A01" {\n'
                                   "    task kickoff.handoff { status open }\n"
                                   "    task handoff { status open }\n  }")}, None, ""),
    ({"a.cstest": ACCOUNTS + _test('  expect cta low_nps for "A01" { task call '
                                   "{ status open } }")}, "CS0806",
     "rule `low_nps` has no task `call`"),
    ({"a.cstest": ACCOUNTS + _test('  expect cta new_customer for "A01" { plan Onboardin }')},
     "CS0206", "unknown plan `Onboardin`"),
    # fixtures and data
    ({"a.cstest": ACCOUNTS + _test('  expect no cta usage_drop for "A01"', "data basics")},
     "CS0801", "unknown fixture `basics`"),
    ({"a.cstest": ACCOUNTS, "b.cstest": "fixture basic {\n  accounts {\n    | id |\n  }\n}\n"},
     "CS0200", "fixture `basic` is declared twice"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', 'data "nowhere"')}, "CS0802",
     "data directory `nowhere` does not exist"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', 'data "d"'),
      "d/team.csv": "account_id,role,user\n"}, "CS0802",
     "data directory `d` has no accounts table"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', 'data "d"'),
      "d/accounts.parquet": b"PAR1"}, None, ""),  # ids unknown: no account is checked
    ({"a.cstest": 'fixture f "nowhere"\n'}, "CS0802", "does not exist"),
    # accounts
    ({"a.cstest": ACCOUNTS + _test('  expect no cta usage_drop for "A02"')}, "CS0813",
     "account `A02` is not in the data of test `t`"),
    ({"a.cstest": ACCOUNTS + _test('  close cta usage_drop for "B" as success\n'
                                   '  expect no cta usage_drop for "A01"')}, "CS0813",
     "account `B` is not"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A2"', 'data "d"'),
      "d/accounts.csv": "id,name\nA1,x\n A2 ,y\n"}, None, ""),  # ids trimmed, as the source does
    ({"a.cstest": _test('  expect no cta usage_drop for "A3"', 'data "d"'),
      "d/accounts.csv": "id,name\nA1,x\n"}, "CS0813", "account `A3` is not"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A3"', 'data "d"'),
      "d/accounts.csv": "name,id\nx,A1\n"}, None, ""),  # no `id` first: the run says so
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        ACCOUNT_TABLE, "team\n| account_id | role | user |\n| A09 | CSM | u |"))},
     "CS0813", "account `A09` is not in this data's `accounts`"),
    # inline tables against the spec
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        "accounts\n| id | segmnt |\n| A01 | SMB |"))}, "CS0201", "unknown account field `segmnt`"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        ACCOUNT_TABLE, "metrics\n| account_id | metric | date | value |\n"
                       "| A01 | usage | 2026-10-01 .. 2026-10-31 | 1 |\n"
                       "| A01 | usge | 2026-10-01 | 1 |\n| A01 | usge | 2026-10-02 | 1 |"))},
     "CS0202", "unknown metric `usge`"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        ACCOUNT_TABLE, "events\n| account_id | event | date | score |\n"
                       "| A01 | nps | 2026-10-01 | 1 |"))}, "CS0203", "unknown event `nps`"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        ACCOUNT_TABLE, "events\n| account_id | event | date | scor |\n"
                       "| A01 | nps_response | 2026-10-01 | 1 |"))}, "CS0203",
     "no declared event has a field `scor`"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        ACCOUNT_TABLE, "team\n| account_id | role | user |\n| A01 | CMS | u |"))}, "CS0204",
     "unknown role `CMS`"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        ACCOUNT_TABLE, "pools\n| pool | user |\n| Suport | u |"))}, "CS0213",
     "unknown pool `Suport`"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        "accounts\n| id | arr |\n| A01 | 12k |"))}, "CS0810", "`12k` is not a number"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        "accounts\n| id | is_strategic |\n| A01 | yes |"))}, "CS0810",
     "`yes` is not `true` or `false`"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        "accounts\n| id | is_strategic |\n| A01 | TRUE |"))}, None, ""),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        "accounts\n| id | renewal_date |\n| A01 | 10/01/2027 |"))}, "CS0810",
     "`10/01/2027` is not a date"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        "accounts\n| id | renewal_date |\n| A01 | 2027-02-29 |"))}, "CS0105",
     "`2027-02-29` is not a valid date"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        "accounts\n| id | segment |\n| A01 | Enterprize |"))}, "CS0810",
     "`Enterprize` is not a value of `segment`"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        ACCOUNT_TABLE, "events\n| account_id | event | date | score |\n"
                       "| A01 | nps_response | 2026-10-01 | high |"))}, "CS0810",
     "`high` is not a number"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        ACCOUNT_TABLE, "events\n| account_id | event | date | score |\n"
                       "| A01 | contract_signed | 2026-10-01 | 3 |"))}, "CS0810",
     "`score` is not a field of event `contract_signed`"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        "accounts\n| id | name | segment | arr | renewal_date | is_strategic |\n"
        "| A01 | \"Acme | Co\" | Enterprise | -1.5e3 | 2027-01-31 | false |\n"
        "| A02 | | | | | |",
        "team\n| account_id | role | user |\n| A01 | CSM | u |",
        "events\n| account_id | event | date | score | comment |\n"
        "| A01 | nps_response | 2026-10-01 | 3 | \"so | so\" |\n"
        "| A02 | contract_signed | 2026-10-01 | | |",
        "pools\n| pool | user |\n| Support | u |"))}, None, ""),
]


@pytest.mark.parametrize(("files", "code", "words"), CHECKS,
                         ids=[f"{c or 'clean'}-{i}" for i, (_, c, _) in enumerate(CHECKS)])
def test_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: SpecModel,
                files: Files, code: str | None, words: str) -> None:
    suite, diagnostics, _ = _load(tmp_path, monkeypatch, model, files)
    found = [(d.code, d.message) for d in diagnostics]
    if code is None:
        assert found == [], render_text(diagnostics, suite.sources)
        return
    assert any(c == code and words in m for c, m in found), found


@pytest.mark.parametrize(("files", "suggestion"), [
    ({"a.cstest": ACCOUNTS + _test('  expect cta usage_dorp for "A01"')}, "usage_drop"),
    ({"a.cstest": ACCOUNTS + _test('  expect no cta usage_drop for "A01"', "data basik")},
     "basic"),
    ({"a.cstest": ACCOUNTS + _test('  expect no cta usage_drop for "A0l"')}, "A01"),
    ({"a.cstest": ACCOUNTS + _test('  complete task miss_yu of usage_drop for "A01"\n'
                                   '  expect no cta usage_drop for "A01"')}, "miss_you"),
    ({"a.cstest": _test('  expect no cta usage_drop for "A01"', _inline(
        "accounts\n| id | renewal_dat |\n| A01 | |"))}, "renewal_date"),
])
def test_did_you_mean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: SpecModel,
                      files: Files, suggestion: str) -> None:
    _, diagnostics, _ = _load(tmp_path, monkeypatch, model, files)
    assert suggestion in [d.suggestion for d in diagnostics], diagnostics


def test_an_unknown_name_in_a_table_is_reported_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: SpecModel) -> None:
    rows = "\n".join(f"| A01 | usge | 2026-10-{d:02} | 1 |" for d in range(1, 11))
    _, diagnostics, _ = _load(tmp_path, monkeypatch, model, {"a.cstest": _test(
        '  expect no cta usage_drop for "A01"', _inline(
            ACCOUNT_TABLE, f"metrics\n| account_id | metric | date | value |\n{rows}"))})
    assert [d.code for d in diagnostics] == ["CS0202"]


def test_the_checks_of_several_accounts_are_checked_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: SpecModel) -> None:
    suite, diagnostics, _ = _load(tmp_path, monkeypatch, model, {"a.cstest": (
        "fixture two {\n  accounts {\n    | id |\n    | A01 |\n    | A02 |\n  }\n}\n"
        + _test('  expect cta new_customer for "A01", "A02" { plan Onboardin }', "data two"))})
    assert [d.code for d in diagnostics] == ["CS0206"]
    [test] = suite.rejected
    assert [e.account for e in test.steps if isinstance(e, Expect)] == ["A01", "A02"]


def test_a_data_directory_that_cannot_be_a_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: SpecModel) -> None:
    _, diagnostics, _ = _load(tmp_path, monkeypatch, model, {
        "a.cstest": _test('  expect no cta usage_drop for "A01"', 'data "' + "x" * 5000 + '"')})
    assert [d.code for d in diagnostics] == ["CS0802"]


# ---------------------------------------------------------------- no input raises


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(_mutated())
def test_checking_any_parse_result_never_raises(model: SpecModel, text: str) -> None:
    parsed, found = parse_test_file("t.cstest", text)
    suite, more = check_files([parsed, parsed], model, {"t.cstest": text}, found)
    render_text([*found, *more], suite.sources)
    assert len(suite.tests) + len(suite.rejected) == 2 * len(parsed.tests)
