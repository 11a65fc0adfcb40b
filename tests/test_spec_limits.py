"""Pools, limits, a rule's `max`/`reopen`/`at most` and a metric's `missing`, end to end.

Each form parses, checks clean and fills its artifact field (tables below); each bad
input gives its code, severity, line and message; the formatter prints each form
canonically and gives back the same tree; `csdsl check` reports them as a command.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl import ast
from csdsl.diagnostics import Severity
from csdsl.driver import check_spec, compile_spec
from csdsl.fmt import format_file, format_text
from csdsl.syntax.parser import parse_text
from csdsl_runtime import artifact as A

from . import clikit
from .speckit import BASE, compile_text, meaning, parse_clean, rule_of, rule_with

# ---------------------------------------------------------------- good forms

Pick = Callable[[A.Artifact], Any]
GOOD: list[tuple[str, str, Pick, Any]] = [
    # (case, spec text, what to read from the artifact, expected)
    ("pool with a title", 'pool Support "Support engineers"\n' + rule_with().replace(
        'owner "ops@example.com"', "owner pool Support"),
     lambda a: a.schema_.pools, (A.Pool(name="Support", title="Support engineers"),)),
    ("pools sorted by name, one without a title",
     "pool Zed\npool Alpha \"A\"\n" + rule_with().replace(
         'owner "ops@example.com"', "owner pool Zed or pool Alpha"),
     lambda a: a.schema_.pools, (A.Pool(name="Alpha", title="A"), A.Pool(name="Zed"))),
    ("a pool owner in a chain", "pool Desk\n" + rule_with().replace(
        'owner "ops@example.com"', 'owner "lead@example.com" or pool Desk'),
     lambda a: rule_of(a).owner, A.Owner(chain=(
         A.OwnerChoice(kind="user", name="lead@example.com"),
         A.OwnerChoice(kind="pool", name="Desk")))),
    ("a pool owner in a playbook task, a plan and an objective",
     "pool Desk\nplaybook P { task t { owner pool Desk } }\n"
     "plan L { owner pool Desk  objective o { owner pool Desk  task u } }\n"
     + rule_with("playbook P") + 'rule s { when arr > 2  then plan L }\n',
     lambda a: (a.playbooks[0].tasks[0].owner, a.plans[0].owner, a.plans[0].objectives[0].owner),
     (A.Owner(chain=(A.OwnerChoice(kind="pool", name="Desk"),)),) * 3),
    ("no limit", rule_with(), lambda a: a.limits, None),
    ("limit new ctas per run", "limit new ctas per run 2000000\n" + rule_with(),
     lambda a: a.limits, A.Limits(new_ctas_per_run=2_000_000)),
    ("limit open ctas per owner", "limit open ctas per owner 50\n" + rule_with(),
     lambda a: a.limits, A.Limits(open_ctas_per_owner=50)),
    ("both limits", "limit open ctas per owner 1\nlimit new ctas per run 7\n" + rule_with(),
     lambda a: a.limits, A.Limits(new_ctas_per_run=7, open_ctas_per_owner=1)),
    ("max per run", rule_with("max 500 per run"), lambda a: rule_of(a).max_per_run, 500),
    ("reopen while true", rule_with("reopen while true"), lambda a: rule_of(a).reopen, True),
    ("at most", rule_with("at most 2 every 90d"), lambda a: rule_of(a).at_most,
     A.Reenrolment(times=2, days=90)),
    ("at most in weeks", rule_with("at most 1 every 4w"), lambda a: rule_of(a).at_most,
     A.Reenrolment(times=1, days=28)),
    ("all three on one rule", rule_with("max 1 per run", "reopen while true", "at most 3 every 1d"),
     lambda a: (rule_of(a).max_per_run, rule_of(a).reopen, rule_of(a).at_most),
     (1, True, A.Reenrolment(times=3, days=1))),
    ("defaults", rule_with(), lambda a: (rule_of(a).max_per_run, rule_of(a).reopen,
                                     rule_of(a).at_most), (None, False, None)),
    ("metric missing", 'metric logins "Daily logins" missing 0\n'
     + rule_with().replace("arr > 1", "logins > 1"),
     lambda a: next(m for m in a.schema_.metrics if m.name == "logins"),
     A.Metric(name="logins", label="Daily logins", missing=0.0)),
    ("metric missing without a label", "metric seats missing 2.5\n"
     + rule_with().replace("arr > 1", "seats > 1"),
     lambda a: next(m for m in a.schema_.metrics if m.name == "seats"),
     A.Metric(name="seats", missing=2.5)),
    ("metric without missing", rule_with().replace("arr > 1", "usage > 1"),
     lambda a: a.schema_.metrics, (A.Metric(name="usage"),)),
    ("the new words stay names", "account { open: number  run: number  limit: text }\n"
     "metric per missing 0\n" + rule_with("max 2 per run").replace(
         "arr > 1", 'max(usage, 7d) > open and run >= per and limit == "x"'),
     lambda a: sorted(f.name for f in a.schema_.account), ["arr", "limit", "name", "open", "run"]),
]


@pytest.mark.parametrize(("case", "text", "pick", "expected"), GOOD, ids=[c[0] for c in GOOD])
def test_each_form_compiles_to_its_artifact_field(tmp_path: Path, case: str, text: str,
                                                  pick: Pick, expected: Any) -> None:
    artifact, diagnostics = compile_text(tmp_path, text)
    assert [(d.code, d.message) for d in diagnostics] == []
    assert artifact is not None
    assert pick(artifact) == expected
    # what the JSON holds decodes to the same artifact (the 1.2 fields included)
    assert msgspec.json.decode(artifact.to_json(), type=A.Artifact) == artifact


def test_the_new_fields_leave_an_old_spec_byte_identical(tmp_path: Path) -> None:
    """A spec that uses none of the forms has none of the 1.2 keys in its JSON."""
    artifact, _ = compile_text(tmp_path, rule_with())
    assert artifact is not None
    text = artifact.to_json()
    for key in ("pools", "limits", "max_per_run", "reopen", "at_most", "missing"):
        assert f'"{key}"' not in text, key


def test_pools_join_the_symbols_and_references(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "base.cs").write_text(BASE + 'pool Desk "Support desk"\n', encoding="utf-8")
    (spec / "main.cs").write_text(rule_with().replace('owner "ops@example.com"',
                                                  "owner pool Desk"), encoding="utf-8")
    model, diagnostics = check_spec([spec])
    assert diagnostics == []
    desk = model.definition("Desk")
    assert desk is not None and (desk.kind, desk.label) == ("pool", "Support desk")
    assert desk.span.file.endswith("base.cs") and (desk.span.line, desk.span.column) == (3, 6)
    [ref] = model.references_to(desk)
    assert ref.span.file.endswith("main.cs") and (ref.span.line, ref.span.column) == (4, 14)
    assert ref.span.end_column - ref.span.column == len("Desk")
    assert model.symbol_at(ref.span.file, 4, 15) == desk  # go to definition from the use
    assert model.symbol_at(ref.span.file, 4, 9) is None  # `pool` itself names nothing


# ---------------------------------------------------------------- bad input

BAD: list[tuple[str, str, str, Severity, int, str]] = [
    # (case, main.cs, code, severity, line in main.cs, words of the message)
    ("unknown pool", 'pool Support\n' + rule_with().replace('owner "ops@example.com"',
                                                      "owner pool Suport or pool Support"),
     "CS0213", Severity.ERROR, 5, "unknown pool `Suport`"),
    ("unused pool", "pool Support\npool Idle\n" + rule_with().replace(
        'owner "ops@example.com"', "owner pool Support"),
     "CS0602", Severity.WARNING, 2, "pool `Idle` is never used"),
    ("duplicate pool", "pool Desk\npool Desk \"again\"\n" + rule_with().replace(
        'owner "ops@example.com"', "owner pool Desk"),
     "CS0200", Severity.ERROR, 2, "pool `Desk` is declared twice"),
    ("a pool named like a rule", "pool r\n" + rule_with().replace(
        'owner "ops@example.com"', "owner pool r"),
     "CS0200", Severity.ERROR, 2, "rule `r` has the same name as pool `r`"),
    ("duplicate limit", "limit new ctas per run 5\n" + rule_with() + "limit new ctas per run 6\n",
     "CS0701", Severity.ERROR, 7, "`limit new ctas per run` is given twice in the spec"),
    ("limit of 0", "limit open ctas per owner 0\n" + rule_with(),
     "CS0310", Severity.ERROR, 1, "`limit open ctas per owner` needs a whole number of at "
     "least 1, not `0`"),
    ("limit not a whole number", "limit new ctas per run 1.5\n" + rule_with(),
     "CS0310", Severity.ERROR, 1, "not `1.5`"),
    ("max 0 per run", rule_with("max 0 per run"),
     "CS0310", Severity.ERROR, 5, "`max` needs a whole number of at least 1, not `0`"),
    ("max not a whole number", rule_with("max 2.5 per run"),
     "CS0310", Severity.ERROR, 5, "not `2.5`"),
    ("max too large", rule_with("max 1000000001 per run"),
     "CS0309", Severity.ERROR, 5, "`1000000001` is too large"),
    ("at most 0 every 30d", rule_with("at most 0 every 30d"),
     "CS0310", Severity.ERROR, 5, "`at most` needs a whole number of at least 1, not `0`"),
    ("at most every 0d", rule_with("at most 2 every 0d"),
     "CS0308", Severity.ERROR, 5, "a window must be at least one day long"),
    ("at most every 100 years and a day", rule_with("at most 2 every 36501d"),
     "CS0309", Severity.ERROR, 5, "`36501d` is too many days"),
    ("reopen while false", rule_with("reopen while false"),
     "CS0704", Severity.ERROR, 5, "`reopen while false` is the default"),
    ("max twice", rule_with("max 5 per run", "cooldown 3d", "max 6 per run"),
     "CS0701", Severity.ERROR, 7, "`max` is given twice in rule `r`"),
    ("reopen twice", rule_with("reopen while true", "reopen while true"),
     "CS0701", Severity.ERROR, 6, "`reopen` is given twice in rule `r`"),
    ("at most twice", rule_with("at most 1 every 7d", "at most 2 every 7d"),
     "CS0701", Severity.ERROR, 6, "`at most` is given twice in rule `r`"),
    ("missing with a non-number", "metric logins missing none\n" + rule_with(),
     "CS0100", Severity.ERROR, 1, "unexpected `none`"),
    ("missing with a sign", "metric logins missing -1\n" + rule_with(),
     "CS0100", Severity.ERROR, 1, "unexpected `-`"),
    ("missing too large", "metric logins missing " + "9" * 400 + "\n" + rule_with(),
     "CS0309", Severity.ERROR, 1, "this number is too large"),
    ("max in a task", "playbook P { task t { max 1 per run } }\n" + rule_with("playbook P"),
     "CS0100", Severity.ERROR, 1, "unexpected `max`"),
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


def test_unknown_pool_offers_the_close_one_and_points_at_the_name(tmp_path: Path) -> None:
    text = "pool Support\n" + rule_with().replace('owner "ops@example.com"', "owner pool Suport")
    _, diagnostics = compile_text(tmp_path, text)
    errors = [d for d in diagnostics if d.code == "CS0213"]
    assert len(errors) == 1
    [d] = errors
    assert d.suggestion == "Support"
    assert (d.span.line, d.span.column, d.span.end_column) == (5, 14, 20)  # `Suport` alone
    assert any("pool Suport" in h for h in d.help)


def test_a_repeat_points_at_the_first(tmp_path: Path) -> None:
    cases = [("limit open ctas per owner 3\nlimit open ctas per owner 4\n" + rule_with(), 1),
             (rule_with("at most 1 every 7d", "at most 2 every 7d"), 5)]
    for text, first_line in cases:
        _, diagnostics = compile_text(tmp_path, text)
        [d] = diagnostics
        assert d.code == "CS0701"
        [related] = d.related
        assert related.span.line == first_line and related.message == "first given here"


def test_reopen_while_false_says_to_remove_the_line(tmp_path: Path) -> None:
    _, diagnostics = compile_text(tmp_path, rule_with("reopen while false"))
    [d] = diagnostics
    assert d.help and d.help[0].startswith("remove the line")
    assert (d.span.column, d.span.end_column) == (3, 3 + len("reopen while false"))


def test_a_limit_in_one_file_and_its_repeat_in_another(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "a.cs").write_text(BASE + "limit new ctas per run 10\n", encoding="utf-8")
    (spec / "b.cs").write_text(rule_with() + "limit new ctas per run 10\n", encoding="utf-8")
    _, diagnostics = compile_spec([spec])
    [d] = diagnostics
    assert d.code == "CS0701" and d.span.file.endswith("b.cs")
    assert d.related[0].span.file.endswith("a.cs")


def test_a_pool_dropped_by_a_syntax_error_is_not_unknown_too(tmp_path: Path) -> None:
    text = 'pool Desk "unterminated\n' + rule_with().replace('owner "ops@example.com"',
                                                      "owner pool Desk")
    _, diagnostics = compile_text(tmp_path, text)
    assert "CS0213" not in [d.code for d in diagnostics]
    assert "CS0102" in [d.code for d in diagnostics]


@pytest.mark.parametrize("text", [
    'rule r {\n  when arr > 1\n  then cta risk "x"\npool Desk\nlimit new ctas per run 3\n',
    "account {\n  arr: number\nlimit open ctas per owner 3\npool Desk\n",
    "account {\n  arr: number\npool Desk\nlimit new ctas per run 3\n",
])
def test_a_missing_brace_before_a_pool_or_a_limit_is_cs0107(text: str) -> None:
    """Both declarations start a line the parser resynchronises on; `limit` does only
    when the words of a limit follow it (in an account block it may be a field)."""
    tree, diagnostics = parse_text("t.cs", text)
    assert [d.code for d in diagnostics] == ["CS0107"]
    kinds = [type(d).__name__ for d in tree.decls]
    assert kinds[1:] in (["PoolDecl", "LimitDecl"], ["LimitDecl", "PoolDecl"])


def test_a_field_named_limit_at_the_start_of_a_line_stays_a_field() -> None:
    tree, diagnostics = parse_text("t.cs", "account {\nlimit: number\nopen: text\n}\n"
                                           "rule r { when limit > 1 and open == \"x\" oops }\n")
    assert [d.code for d in diagnostics] == ["CS0100"]  # the `oops`, recovered from
    account = tree.decls[0]
    assert isinstance(account, ast.AccountDecl)
    assert [f.name.value for f in account.fields] == ["limit", "open"]


# ---------------------------------------------------------------- the formatter

FORMS: list[tuple[str, str]] = [
    # (input, canonical text)
    ('pool   Support   "Support engineers"', 'pool Support "Support engineers"\n'),
    ("pool\nDesk", "pool Desk\n"),
    ("limit  new ctas\n  per run   2000000", "limit new ctas per run 2000000\n"),
    ("limit open ctas per owner 50  # a cap", "limit open ctas per owner 50  # a cap\n"),
    ('metric logins  "Daily logins"  missing   0', 'metric logins "Daily logins" missing 0\n'),
    ("metric seats missing 2.50", "metric seats missing 2.50\n"),
    ("rule r { max  500  per run }", "rule r {\n  max 500 per run\n}\n"),
    ("rule r { reopen\twhile true }", "rule r {\n  reopen while true\n}\n"),
    ("rule r { at most 2 every 13w }", "rule r {\n  at most 2 every 13w\n}\n"),
    ("rule r { when x  max 1 per run at most 2 every 90d reopen while true cooldown 7d }",
     "rule r {\n  when x\n  max 1 per run\n  at most 2 every 90d\n  reopen while true\n"
     "  cooldown 7d\n}\n"),
    ("rule r {\n  max 5\n  # inside\n  per run\n}", "rule r {\n  # inside\n  max 5 per run\n}\n"),
    ("pool A\npool B\nlimit new ctas per run 1\nmetric m missing 0\nrole R\n",
     "pool A\npool B\nlimit new ctas per run 1\nmetric m missing 0\nrole R\n"),
    ("pool A\nrule r { }\nlimit new ctas per run 1",
     "pool A\n\nrule r {\n}\n\nlimit new ctas per run 1\n"),
]




@pytest.mark.parametrize(("source", "expected"), FORMS)
def test_each_form_formats_canonically_and_round_trips(source: str, expected: str) -> None:
    out, diagnostics = format_text("t.cs", source)
    assert diagnostics == [] and out == expected
    assert format_text("t.cs", out)[0] == out  # idempotent
    assert meaning(parse_clean(out)) == meaning(parse_clean(source))
    assert ([c.text for c in parse_clean(out).comments]
            == [c.text for c in parse_clean(source).comments])


def _count() -> st.SearchStrategy[ast.NumberLit]:
    return st.sampled_from(["0", "1", "7", "500", "2.5", "0010"]).map(
        lambda t: ast.NumberLit(float(t), t))


def _days() -> st.SearchStrategy[ast.DurationLit]:
    return st.builds(lambda n, u: ast.DurationLit(n * 7 if u == "w" else n, f"{n}{u}"),
                     st.integers(0, 400), st.sampled_from("dw"))


_RULE_PROPS = st.one_of(
    _count().map(ast.MaxPerRunProp),
    st.booleans().map(ast.ReopenProp),
    st.builds(ast.AtMostProp, _count(), _days()),
    _days().map(lambda d: ast.DaysProp("cooldown", d)),
    st.just(ast.OwnerProp((ast.OwnerChoice("pool", "Support"), ast.OwnerChoice("role", "CSM")))),
)
_TOP = st.one_of(
    st.builds(ast.PoolDecl, st.sampled_from(["Support", "Desk", "run"]).map(ast.Name),
              st.sampled_from([None, ast.Str("Support engineers", '"Support engineers"')])),
    st.builds(ast.LimitDecl, st.sampled_from(["new ctas per run", "open ctas per owner"]),
              _count()),
    st.builds(ast.MetricDecl, st.sampled_from(["usage", "open", "max"]).map(ast.Name),
              st.sampled_from([None, ast.Str("Daily", '"Daily"')]),
              st.one_of(st.none(), _count())),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOP, max_size=4), st.lists(_RULE_PROPS, max_size=5))
def test_property_generated_forms_round_trip(top: list[ast.Decl], props: list[ast.Prop]) -> None:
    rule = ast.RuleDecl(ast.Name("r"), None, (ast.Condition("when", ast.NameRef(ast.Name("x"))),
                                              *props))
    tree = ast.File("t.cs", (*top, rule))
    text = format_file(tree)
    assert parse_clean(text) == tree, text
    assert format_text("t.cs", text)[0] == text


# ---------------------------------------------------------------- the command


def test_csdsl_check_reports_the_new_codes(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "base.cs").write_text(BASE + "pool Support\npool Idle\n", encoding="utf-8")
    (spec / "main.cs").write_text(
        rule_with("max 0 per run", "reopen while false").replace(
            'owner "ops@example.com"', "owner pool Suport or pool Support"), encoding="utf-8")
    result = clikit.csdsl("check", "--color", "never", "spec", cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "spec/main.cs:4:14: error[CS0213]: unknown pool `Suport`" in out
    assert "help: did you mean `Support`?" in out
    assert "spec/main.cs:5:7: error[CS0310]" in out
    assert "spec/main.cs:6:3: error[CS0704]" in out
    assert "spec/base.cs:4:6: warning[CS0602]: pool `Idle` is never used" in out
    assert out.rstrip().endswith("3 errors, 1 warning in 2 files")


CANONICAL = """\
account {
  arr: number
}

pool Support "Support engineers"
limit new ctas per run 100

rule r {
  when arr > 1
  then cta risk "x"
  owner pool Support
  max 10 per run
  reopen while true
  at most 2 every 90d
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
    assert data["limits"] == {"new_ctas_per_run": 100, "open_ctas_per_owner": None}
    assert data["schema"]["pools"] == [{"name": "Support", "title": "Support engineers"}]
    rule = data["rules"][0]
    assert (rule["max_per_run"], rule["reopen"], rule["at_most"]) == (
        10, True, {"times": 2, "days": 90})
