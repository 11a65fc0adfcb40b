"""Dates: a rule's `due D business`, the spec's `holidays "US-CA"`, a `due` before the
playbook's last task (CS0403), and a playbook's `on change` policy, end to end.

Each form parses, checks clean and fills its artifact field (tables below); each bad
input gives its code, severity, line and message; the formatter prints each form
canonically and gives back the same tree; `csdsl check` reports them as a command.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import typing
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl import ast
from csdsl.diagnostics import Severity
from csdsl.driver import compile_spec
from csdsl.fmt import format_file, format_text
from csdsl.graph import mermaid
from csdsl.semantic.model import ON_CHANGE_POLICIES
from csdsl.semantic.regions import check_region, countries
from csdsl.syntax import parser as P
from csdsl.syntax.keywords import CONTEXTUAL, CONTEXTUAL_DECLARATION_WORDS
from csdsl.syntax.parser import parse_text
from csdsl_runtime import artifact as A
from csdsl_runtime.dates import public_holidays

from . import clikit
from .conftest import ROOT
from .speckit import BASE, compile_text, meaning, parse_clean, rule_of, rule_with

# A playbook of 9 business days, and one of 9 calendar days, each applied by a rule.
PLAYBOOKS = """\
playbook Biz {
  calendar business
  task email { day 1 }
  task call { day 9  after email }
}
playbook Cal {
  task call { day 9 }
}
rule uses_biz { when arr > 2  then cta risk "b"  playbook Biz }
rule uses_cal { when arr > 3  then cta risk "c"  playbook Cal }
"""






def _playbook_of(artifact: A.Artifact, name: str) -> A.Playbook:
    return next(p for p in artifact.playbooks if p.name == name)


def _due(artifact: A.Artifact) -> tuple[int | None, str]:
    rule = rule_of(artifact)
    return rule.due, rule.due_calendar


# ---------------------------------------------------------------- good forms

Pick = Callable[[A.Artifact], Any]
GOOD: list[tuple[str, str, Pick, Any]] = [
    # (case, spec text, what to read from the artifact, expected)
    ("due in business days", rule_with("due 10d business"), _due, (10, "business")),
    ("due in calendar days, written out", rule_with("due 10d calendar"), _due, (10, "calendar")),
    ("due in calendar days by default", rule_with("due 10d"), _due, (10, "calendar")),
    ("due in weeks of business days", rule_with("due 2w business"), _due, (14, "business")),
    ("no due", rule_with(), _due, (None, "calendar")),
    ("holidays with a subdivision", 'holidays "US-CA"\n' + rule_with("due 10d business"),
     lambda a: a.holidays, "US-CA"),
    ("holidays of a country", 'holidays "DE"\n' + PLAYBOOKS + rule_with("playbook Biz"),
     lambda a: a.holidays, "DE"),
    ("holidays of an alias of the package", 'holidays "UK"\n' + rule_with("due 3d business"),
     lambda a: a.holidays, "UK"),
    ("holidays of a subdivision with a space", 'holidays "FR-Zone A"\n'
     + rule_with("due 3d business"), lambda a: a.holidays, "FR-Zone A"),
    ("holidays with a business plan",
     'holidays "GB-SCT"\nplan L { calendar business  objective o { task t } }\n'
     'rule r { when arr > 1  then plan L }\n', lambda a: a.holidays, "GB-SCT"),
    ("no holidays", rule_with("due 3d business"), lambda a: a.holidays, None),
    ("on change keep by default", PLAYBOOKS + rule_with("playbook Cal"),
     lambda a: _playbook_of(a, "Cal").on_change, "keep"),
    ("on change append", PLAYBOOKS.replace("  task call { day 9 }", "  on change append\n"
                                           "  task call { day 9 }") + rule_with("playbook Cal"),
     lambda a: _playbook_of(a, "Cal").on_change, "append"),
    ("on change replace, after the tasks",
     PLAYBOOKS.replace("  task call { day 9 }\n", "  task call { day 9 }\n  on change replace\n")
     + rule_with("playbook Cal"), lambda a: _playbook_of(a, "Cal").on_change, "replace"),
    ("on change keep written out",
     "playbook K { on change keep  task t }\n" + rule_with("playbook K"),
     lambda a: _playbook_of(a, "K").on_change, "keep"),
    ("due as long as the playbook", PLAYBOOKS + rule_with("playbook Biz", "due 9d business"),
     _due, (9, "business")),
    ("due business against calendar days: not certainly early",
     PLAYBOOKS + rule_with("playbook Cal", "due 7d business"), _due, (7, "business")),
    ("due calendar days past a business length", PLAYBOOKS + rule_with("playbook Biz", "due 9d"),
     _due, (9, "calendar")),
    ("the new words stay names",
     "account { holidays: text  on: number  change: number  business: text }\n"
     + rule_with("due 1d business").replace(
         "arr > 1", 'on > change and holidays == "x" and business == "y"'),
     lambda a: sorted(f.name for f in a.schema_.account),
     ["arr", "business", "change", "holidays", "name", "on"]),
]


@pytest.mark.parametrize(("case", "text", "pick", "expected"), GOOD, ids=[c[0] for c in GOOD])
def test_each_form_compiles_to_its_artifact_field(tmp_path: Path, case: str, text: str,
                                                  pick: Pick, expected: Any) -> None:
    artifact, diagnostics = compile_text(tmp_path, text)
    assert [(d.code, d.message) for d in diagnostics] == []
    assert artifact is not None
    assert pick(artifact) == expected
    assert msgspec.json.decode(artifact.to_json(), type=A.Artifact) == artifact


def test_the_new_fields_are_in_the_json_only_when_set(tmp_path: Path) -> None:
    artifact, _ = compile_text(tmp_path, PLAYBOOKS + rule_with("playbook Cal", "due 10d calendar"))
    assert artifact is not None
    text = artifact.to_json()
    for key in ("holidays", "on_change", "due_calendar"):
        assert f'"{key}"' not in text, key  # a spec without the forms keeps its bytes
    artifact, _ = compile_text(tmp_path, 'holidays "US-CA"\n' + PLAYBOOKS.replace(
        "playbook Cal {", "playbook Cal {\n  on change replace")
        + rule_with("playbook Cal", "due 10d business"))
    assert artifact is not None
    data = json.loads(artifact.to_json())
    assert data["holidays"] == "US-CA"
    assert data["rules"][0]["due_calendar"] == "business"
    assert {p["name"]: p.get("on_change") for p in data["playbooks"]} == {
        "Biz": None, "Cal": "replace"}


def test_due_calendar_word_changes_the_hash_only_when_it_means_something(
        tmp_path: Path) -> None:
    def hash_of(*props: str) -> str:
        artifact, diagnostics = compile_text(tmp_path, rule_with(*props))
        assert artifact is not None, diagnostics
        return artifact.spec_hash

    assert hash_of("due 10d") == hash_of("due 10d calendar")
    assert hash_of("due 10d") != hash_of("due 10d business")


def test_the_policies_are_the_artifacts() -> None:
    hints = typing.get_type_hints(A.Playbook)
    assert typing.get_args(hints["on_change"]) == ON_CHANGE_POLICIES


# ---------------------------------------------------------------- bad input

BAD: list[tuple[str, str, str, Severity, int, str]] = [
    # (case, main.cs, code, severity, line in main.cs, words of the message)
    ("an unknown calendar after due", rule_with("due 10d busines"),
     "CS0212", Severity.ERROR, 5, "unknown calendar `busines`"),
    ("an unknown on change policy", "playbook K { on change apend  task t }\n"
     + rule_with("playbook K"), "CS0212", Severity.ERROR, 1, "unknown `on change` policy `apend`"),
    ("on change twice", "playbook K {\n  on change keep\n  task t\n  on change append\n}\n"
     + rule_with("playbook K"), "CS0701", Severity.ERROR, 4, "`on change` is given twice"),
    ("due twice", rule_with("due 3d business", "due 4d"),
     "CS0701", Severity.ERROR, 6, "`due` is given twice in rule `r`"),
    ("on change without a policy", "playbook K { on change }\n" + rule_with("playbook K"),
     "CS0100", Severity.ERROR, 1, "unexpected `}`"),
    ("on change in a plan", "plan L { on change keep  objective o { task t } }\n",
     "CS0100", Severity.ERROR, 1, "unexpected `on`"),
    ("a business due in a plan", "plan L { due 30d business  objective o { task t } }\n",
     "CS0100", Severity.ERROR, 1, "unexpected `business`"),
    ("due without a duration", rule_with("due business"),
     "CS0100", Severity.ERROR, 5, "unexpected `business`"),
    ("holidays without quotes", "holidays US\n" + rule_with("due 1d business"),
     "CS0100", Severity.ERROR, 1, "unexpected `US`"),
    ("an unknown country", 'holidays "XX"\n' + rule_with("due 1d business"),
     "CS0214", Severity.ERROR, 1, "unknown country `XX` in `holidays`"),
    ("an unknown subdivision", 'holidays "US-XX"\n' + rule_with("due 1d business"),
     "CS0214", Severity.ERROR, 1, "unknown subdivision `XX` of `US` in `holidays`"),
    ("a country without subdivisions", 'holidays "AF-KB"\n' + rule_with("due 1d business"),
     "CS0214", Severity.ERROR, 1, "`AF` has no subdivisions"),
    ("an empty region", 'holidays ""\n' + rule_with("due 1d business"),
     "CS0214", Severity.ERROR, 1, "`holidays` names no country"),
    ("a region in lower case", 'holidays "us-ca"\n' + rule_with("due 1d business"),
     "CS0214", Severity.ERROR, 1, "unknown country `us`"),
    ("holidays twice", 'holidays "US"\n' + rule_with("due 1d business") + 'holidays "US"\n',
     "CS0701", Severity.ERROR, 8, "`holidays` is given twice in the spec"),
    ("holidays that change nothing", 'holidays "US-CA"\n' + rule_with("due 3d"),
     "CS0603", Severity.WARNING, 1, '`holidays "US-CA"` changes nothing'),
    ("due before the last task, both business",
     PLAYBOOKS + rule_with("playbook Biz", "due 7d business"),
     "CS0403", Severity.WARNING, 16, "rule `r` is due on business day 7, before the last task "
     "of playbook `Biz` is due on business day 9"),
    ("due before the last task, both calendar", PLAYBOOKS + rule_with("playbook Cal", "due 8d"),
     "CS0403", Severity.WARNING, 16, "is due on day 8, before the last task of playbook `Cal` "
     "is due on day 9"),
    ("due in calendar days before a business length",
     PLAYBOOKS + rule_with("playbook Biz", "due 8d calendar"),
     "CS0403", Severity.WARNING, 16, "is due on day 8, before the last task of playbook `Biz` "
     "is due on business day 9"),
]


@pytest.mark.parametrize(("case", "text", "code", "severity", "line", "words"), BAD,
                         ids=[c[0] for c in BAD])
def test_each_bad_input_gives_its_diagnostic(tmp_path: Path, case: str, text: str, code: str,
                                             severity: Severity, line: int, words: str) -> None:
    artifact, diagnostics = compile_text(tmp_path, text)
    found = [(d.code, d.severity, d.span.line, d.message) for d in diagnostics]
    assert len(diagnostics) == 1, found  # one problem, one diagnostic: no cascade
    [d] = diagnostics
    assert (d.code, d.severity, d.span.line) == (code, severity, line), found
    assert d.span.file.endswith("main.cs")
    assert words in d.message, d.message
    assert (artifact is None) == (severity is Severity.ERROR)


SUGGESTIONS = [
    # (region, did you mean, the columns of the caret in `holidays "..."`)
    ("US-CAL", "US-CA", (14, 17)),
    ("US-ca", "US-CA", (14, 16)),
    ("US-California", "US-CA", (14, 24)),
    ("DE-Bayern", "DE-BY", (14, 20)),
    ("UX-CA", "US-CA", (11, 13)),
    ("us", "US", (11, 13)),
    ("Germany", "DE", (11, 18)),
    ("AF-KB", "AF", (14, 16)),
]


@pytest.mark.parametrize(("region", "meant", "columns"), SUGGESTIONS)
def test_an_unknown_region_offers_the_one_meant_at_the_wrong_part(
        region: str, meant: str, columns: tuple[int, int]) -> None:
    tree, _ = parse_text("t.cs", f'holidays "{region}"\n')
    decl = tree.decls[0]
    assert isinstance(decl, ast.HolidaysDecl)
    found = check_region(decl.region)
    assert found is not None and found.code == "CS0214"
    assert found.suggestion == meant
    assert (found.span.line, found.span.column, found.span.end_column) == (1, *columns)


def test_every_region_the_compiler_takes_the_runtime_takes() -> None:
    """A sample of the package's countries and subdivisions: the compiler accepts each,
    and `csdsl_runtime.dates.public_holidays` (which hosts call) finds its holidays."""
    rng = random.Random(7)
    known = countries()
    regions = [*rng.sample(sorted(known), 15)]
    regions += [f"{c}-{rng.choice(subs)}" for c, subs in rng.sample(
        sorted((c, s) for c, s in known.items() if s), 15)]
    for region in [*regions, "US-CA", "DE-BY", "GB-SCT", "FR-Zone A"]:
        text = ast.Str(region, f'"{region}"')
        assert check_region(text) is None, region
        public_holidays(region)  # raises for a region it does not know


def test_the_due_warning_shows_the_last_task_and_the_fix(tmp_path: Path) -> None:
    _, diagnostics = compile_text(tmp_path,
                                  PLAYBOOKS + rule_with("playbook Biz", "due 7d business"))
    [d] = diagnostics
    assert (d.span.column, d.span.end_column) == (3, 3 + len("due 7d business"))
    [related] = d.related
    assert related.span.line == 4 and related.message == (
        "`call`, its last task, is due on business day 9")
    assert d.help == ("raise `due` to at least `9d business`, or drop it: then the CTA is due "
                      "with its last task",)
    _, diagnostics = compile_text(tmp_path, PLAYBOOKS + rule_with("playbook Biz", "due 7d"))
    [d] = diagnostics
    assert d.help[0].startswith("raise `due` (to `9d business` for the same count)")


def test_the_due_warning_needs_a_schedule(tmp_path: Path) -> None:
    """A playbook whose tasks form a cycle has no length: its cycle is the one error."""
    text = "playbook C { task a { after b } task b { after a } }\n" + rule_with(
        "playbook C", "due 1d")
    _, diagnostics = compile_text(tmp_path, text)
    assert [d.code for d in diagnostics] == ["CS0400"]


def test_holidays_in_one_file_and_its_repeat_in_another(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "a.cs").write_text(BASE + 'holidays "US"\n', encoding="utf-8")
    (spec / "b.cs").write_text(rule_with("due 2d business") + 'holidays "US-NY"\n',
                               encoding="utf-8")
    _, diagnostics = compile_spec([spec])
    [d] = diagnostics
    assert d.code == "CS0701" and d.span.file.endswith("b.cs")
    assert d.related[0].span.file.endswith("a.cs")
    assert d.related[0].message == "first given here"


def test_no_holidays_warning_when_a_syntax_error_may_hide_the_business_days(
        tmp_path: Path) -> None:
    text = 'holidays "US"\nplaybook P {\n  calendar business\n  task t { day x }\n}\n' + rule_with()
    _, diagnostics = compile_text(tmp_path, text)
    assert [d.code for d in diagnostics] == ["CS0100"]


def test_a_missing_brace_before_holidays_is_cs0107() -> None:
    tree, diagnostics = parse_text("t.cs", 'account {\n  arr: number\nholidays "US"\n')
    assert [d.code for d in diagnostics] == ["CS0107"]
    assert [type(d).__name__ for d in tree.decls] == ["AccountDecl", "HolidaysDecl"]


def test_a_field_named_holidays_at_the_start_of_a_line_stays_a_field() -> None:
    tree, diagnostics = parse_text("t.cs", "account {\nholidays: text\non: number\n}\n"
                                           "rule r { when on > 1 oops }\n")
    assert [d.code for d in diagnostics] == ["CS0100"]  # the `oops`, recovered from
    account = tree.decls[0]
    assert isinstance(account, ast.AccountDecl)
    assert [f.name.value for f in account.fields] == ["holidays", "on"]


def test_each_contextual_declaration_word_says_what_follows_it() -> None:
    assert set(P._DECLARATION_TAILS) == set(CONTEXTUAL_DECLARATION_WORDS)
    assert {"holidays", "on", "change"} <= CONTEXTUAL
    assert "business" not in CONTEXTUAL  # a name, as in `calendar business`


def _modules_after_check(tmp_path: Path, text: str) -> bool:
    """Is `holidays` imported by `csdsl check` of this spec, in a fresh process?"""
    (tmp_path / "spec.cs").write_text(text, encoding="utf-8")
    code = ("import sys; from pathlib import Path; from csdsl.driver import check_spec; "
            f"check_spec([Path({str(tmp_path / 'spec.cs')!r})]); "
            "print('holidays' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT, check=True)
    return out.stdout.strip() == "True"


def test_the_holidays_package_is_imported_only_for_a_spec_that_names_a_region(
        tmp_path: Path) -> None:
    assert not _modules_after_check(tmp_path, BASE + PLAYBOOKS + rule_with("due 2d business"))
    assert _modules_after_check(tmp_path, BASE + 'holidays "US"\n' + rule_with("due 2d business"))


def test_charts_skip_the_regions_holidays(tmp_path: Path) -> None:
    """2026-07-03, a Friday, is a US federal holiday (July 4 falls on a Saturday)."""
    text = PLAYBOOKS + rule_with("playbook Biz")
    plain, _ = compile_text(tmp_path, text)
    with_region, _ = compile_text(tmp_path, 'holidays "US"\n' + text)
    assert plain is not None and with_region is not None
    start = date(2026, 7, 2)
    chart = mermaid(_playbook_of(with_region, "Biz"), start, with_region.holidays)
    assert "email :milestone, email, 2026-07-06, 0d" in chart
    assert "email :milestone, email, 2026-07-03, 0d" in mermaid(_playbook_of(plain, "Biz"), start)


# ---------------------------------------------------------------- the formatter

FORMS: list[tuple[str, str]] = [
    # (input, canonical text)
    ('holidays   "US-CA"', 'holidays "US-CA"\n'),
    ('holidays\n"DE"  # Germany', 'holidays "DE"  # Germany\n'),
    ("rule r { due  10d   business }", "rule r {\n  due 10d business\n}\n"),
    ("rule r { due 2w\n  calendar }", "rule r {\n  due 2w calendar\n}\n"),
    ("rule r { due 3d owner CSM }", "rule r {\n  due 3d\n  owner CSM\n}\n"),
    ("playbook P { on   change\tappend }", "playbook P {\n  on change append\n}\n"),
    ("playbook P { task t on change replace calendar business }",
     "playbook P {\n  task t\n  on change replace\n  calendar business\n}\n"),
    ('pool A\nholidays "US"\nlimit new ctas per run 1\n',
     'pool A\nholidays "US"\nlimit new ctas per run 1\n'),
    ('holidays "US"\nrule r { }', 'holidays "US"\n\nrule r {\n}\n'),
]




@pytest.mark.parametrize(("source", "expected"), FORMS)
def test_each_form_formats_canonically_and_round_trips(source: str, expected: str) -> None:
    out, diagnostics = format_text("t.cs", source)
    assert diagnostics == [] and out == expected
    assert format_text("t.cs", out)[0] == out  # idempotent
    assert meaning(parse_clean(out)) == meaning(parse_clean(source))
    assert ([c.text for c in parse_clean(out).comments]
            == [c.text for c in parse_clean(source).comments])


def _days() -> st.SearchStrategy[ast.DurationLit]:
    return st.builds(lambda n, u: ast.DurationLit(n * 7 if u == "w" else n, f"{n}{u}"),
                     st.integers(0, 400), st.sampled_from("dw"))


_WORDS = st.sampled_from(["business", "calendar", "busines", "on", "change", "holidays"])
_RULE_PROPS = st.one_of(
    st.builds(ast.DueProp, _days(), st.one_of(st.none(), _WORDS.map(ast.Name))),
    _days().map(lambda d: ast.DaysProp("cooldown", d)),
)
_PLAYBOOK_ITEMS = st.one_of(
    st.sampled_from(["keep", "append", "replace", "apend", "on"]).map(
        lambda w: ast.WordProp("on change", ast.Name(w))),
    st.just(ast.WordProp("calendar", ast.Name("business"))),
    st.sampled_from(["on", "change", "t"]).map(lambda n: ast.TaskDecl(ast.Name(n), None, ())),
)
_REGIONS = st.sampled_from(["US", "US-CA", "DE-BY", "FR-Zone A", ""]).map(
    lambda r: ast.HolidaysDecl(ast.Str(r, f'"{r}"')))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_REGIONS, max_size=2), st.lists(_PLAYBOOK_ITEMS, max_size=4),
       st.lists(_RULE_PROPS, max_size=3))
def test_property_generated_forms_round_trip(top: list[ast.Decl],
                                             items: list[ast.Prop | ast.TaskDecl],
                                             props: list[ast.Prop]) -> None:
    playbook = ast.PlaybookDecl(ast.Name("P"), None, tuple(items))
    rule = ast.RuleDecl(ast.Name("r"), None, (ast.Condition("when", ast.NameRef(ast.Name("x"))),
                                              *props))
    tree = ast.File("t.cs", (*top, playbook, rule))
    text = format_file(tree)
    assert parse_clean(text) == tree, text
    assert format_text("t.cs", text)[0] == text


# ---------------------------------------------------------------- the command


def test_csdsl_check_reports_the_new_codes(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "base.cs").write_text(BASE + 'holidays "US-CAL"\n' + PLAYBOOKS, encoding="utf-8")
    (spec / "main.cs").write_text(
        rule_with("playbook Biz", "due 7d busines") + rule_with("playbook Biz", "due 7d").replace(
            "rule r", "rule s"), encoding="utf-8")
    result = clikit.csdsl("check", "--color", "never", "spec", cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "spec/base.cs:3:14: error[CS0214]: unknown subdivision `CAL` of `US`" in out
    assert "help: did you mean `US-CA`?" in out
    assert "spec/main.cs:6:10: error[CS0212]: unknown calendar `busines`" in out
    assert "help: did you mean `business`?" in out
    assert "spec/main.cs:13:3: warning[CS0403]: rule `s` is due on day 7" in out
    assert out.rstrip().endswith("2 errors, 1 warning in 2 files")


CANONICAL = """\
account {
  arr: number
}

holidays "US-CA"

playbook UsageDrop {
  calendar business
  on change append
  task call {
    day 9
  }
}

rule r {
  when arr > 1
  then cta risk "x"
  playbook UsageDrop
  due 10d business
}
"""


def test_csdsl_check_and_compile_clean_spec(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "main.cs").write_text(CANONICAL, encoding="utf-8")
    check = clikit.csdsl("check", "--color", "never", "spec", cwd=tmp_path)
    assert (check.returncode, check.stdout + check.stderr) == (0, "no problems in 1 file\n")
    fmt = clikit.csdsl("fmt", "--check", "spec", cwd=tmp_path)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    compiled = clikit.csdsl("compile", "-o", "out.json", "spec", cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["holidays"] == "US-CA"
    assert data["playbooks"][0]["on_change"] == "append"
    rule = data["rules"][0]
    assert (rule["due"], rule["due_calendar"]) == (10, "business")
