"""Syntax errors inside declarations: what is reported, and what survives the error.

Each row is a spec (with the shared data declarations), the diagnostic codes it must
give in source order, and declarations the parser must still have kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from csdsl import ast
from csdsl.syntax.parser import ParseStats, parse_text

from .conftest import ROOT, compile_text

CORPUS = ROOT / "tests" / "corpus"

CASES = [
    (
        "missing_brace_before_next_rule",
        """rule a {
  when usage < 10
  then cta risk "A"

rule b {
  when usage < 5
  then cta risk "B"
  owner CSMM
}
""",
        ["CS0107", "CS0204"],
        {"a", "b"},
    ),
    (
        "error_in_a_task_keeps_the_playbook",
        """playbook P {
  task one "One" { day x }
  task two "Two" { day 2  owner CSM }
}
rule r {
  when usage < 10
  then cta risk "R"
  playbook P
}
""",
        ["CS0100"],
        {"P", "r"},
    ),
    (
        "a_skipped_block_is_skipped_whole",
        """playbook P {
  task 1bad { day 1  owner CSM }
  task two "Two" { day 2  owner CSMM }
}
rule r {
  when usage < 10
  then cta risk "R"
  playbook P
}
""",
        ["CS0101", "CS0204"],
        {"P", "r"},
    ),
    (
        "a_broken_header_drops_only_that_declaration",
        """rule 123 {
  when usage < 10
  then cta risk "R"
}
rule fine {
  when usage < 10
  then cta risk "Fine"
  owner CSMM
}
""",
        ["CS0100", "CS0204"],
        {"fine"},
    ),
    (
        "end_of_file_inside_a_rule",
        """rule open {
  when usage < 10
  then cta risk "Open"
  owner CSMM
""",
        ["CS0104", "CS0204"],  # CS0104 on the `{` left open, line 1
        {"open"},
    ),
    (
        "a_stray_character_inside_a_condition",
        """rule r {
  when usage < 10 @ 3
  then cta risk "R"
  owner CSMM
}
""",
        ["CS0101", "CS0204"],
        {"r"},
    ),
    (
        "two_errors_in_one_rule_and_one_in_the_next",
        """rule a {
  when usage < < 1
  priority
  then cta risk "A"
}
rule b {
  when usage > 1
  then cta risk "B" "again"
}
""",
        ["CS0100", "CS0100", "CS0100"],
        {"a", "b"},
    ),
    (
        "an_unterminated_string_ends_at_its_line",
        """rule r {
  when usage < 10
  then cta risk "Unterminated
  owner CSMM
}
""",
        ["CS0102", "CS0204"],
        {"r"},
    ),
]


@pytest.mark.parametrize(("spec", "codes", "kept"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_recovery(tmp_path: Path, spec: str, codes: list[str], kept: set[str]) -> None:
    parsed, _ = parse_text("main.cs", spec)
    names = {d.name.value for d in parsed.decls if not isinstance(d, ast.AccountDecl)}
    assert kept <= names
    artifact, diagnostics = compile_text(tmp_path, spec)
    assert artifact is None
    found = [d.code for d in diagnostics if d.span.file.endswith("main.cs")]
    assert found == codes, [(d.code, d.span.line, d.message) for d in diagnostics]


def test_a_partial_rule_is_not_reported_as_missing_its_parts() -> None:
    parsed, diagnostics = parse_text("m.cs", 'rule r {\n  when usage < < 1\n  owner CSM\n}\n')
    assert [d.code for d in diagnostics] == ["CS0100"]
    assert parsed.partial == ("r",) and parsed.broken == ()


def test_the_clean_path_never_recovers() -> None:
    stats = ParseStats()
    parse_text("m.cs", "metric usage\n")
    from csdsl.source import SourceFile
    from csdsl.syntax.parser import parse_source

    parse_source(SourceFile.of("m.cs", 'rule r {\n  when usage > 1\n  then cta risk "x"\n}\n'),
                 stats)
    assert (stats.files, stats.recovered, stats.fallbacks) == (1, 0, [])
    parse_source(SourceFile.of("m.cs", "rule r {\n"), stats)
    assert stats.recovered == 1


# Whole files with their own declarations, kept in tests/corpus/ (the fuzz harness
# replays them too): cases a review found cascading, crashing or losing text; each
# must give exactly these codes.
STANDALONE = [
    ('eof_inside_parentheses', 'spec-01_crash_eof_in_paren.cs', ['CS0104']),
    ('eof_inside_a_call', 'spec-01b_crash_eof_in_call.cs', ['CS0104']),
    ('a_header_without_a_body_is_reported', 'spec-02_lost_error_rule_without_body.cs', ['CS0100']),
    ('a_stray_header_between_declarations', 'spec-02b_lost_error_stray_playbook.cs', ['CS0100']),
    ('an_unfinished_property_before_a_missing_brace',
     'spec-03_fmt_deletes_due.cs', ['CS0107', 'CS0100']),
    ('an_unfinished_enum_before_a_missing_brace',
     'spec-03b_fmt_deletes_enum_field.cs', ['CS0107', 'CS0100']),
    ('the_open_block_is_named_not_a_closed_one', 'spec-05_wrong_block_named.cs', ['CS0107']),
    ('the_open_block_is_named_at_the_end', 'spec-05b_wrong_block_named_eof.cs', ['CS0104']),
    ('an_unexpected_brace_skips_its_block',
     'spec-05c_unclosed_rule_then_playbook.cs', ['CS0104', 'CS0100']),
    ('a_declaration_word_ends_an_open_account',
     'spec-05d_unclosed_account_then_metric.cs', ['CS0107']),
    ('no_resync_in_the_middle_of_a_broken_line', 'spec-06a_false_when_twice.cs', ['CS0100']),
    ('top_level_junk_gives_no_never_used', 'spec-06b_false_never_used.cs', ['CS0100']),
    ('an_unterminated_string_resumes_on_the_next_line',
     'spec-06c_unterminated_string_cascade.cs', ['CS0102']),
    ('a_dropped_field_is_not_unknown', 'spec-06d_account_field_cascade.cs', ['CS0100']),
]


@pytest.mark.parametrize(("file", "codes"), [c[1:] for c in STANDALONE],
                         ids=[c[0] for c in STANDALONE])
def test_recovery_of_whole_files(tmp_path: Path, file: str, codes: list[str]) -> None:
    from csdsl.fmt import format_text

    spec = (CORPUS / file).read_text(encoding="utf-8")
    artifact, diagnostics = compile_text(tmp_path, spec, with_data=False)
    assert artifact is None
    assert [d.code for d in diagnostics] == codes, \
        [(d.code, d.span.line, d.message) for d in diagnostics]
    assert format_text("main.cs", spec)[0] is None  # never formats what did not parse


# What the issue saw go wrong: each message points at the cause, and says what to write.


def test_a_missing_brace_at_the_end_names_the_block_where_it_opens() -> None:
    """Not "unexpected end of file" 80 lines below: the `{` left open, and its line."""
    items = "".join(f'  reason "line {i}"\n' if i == 0 else f"  # note {i}\n" for i in range(80))
    text = f'rule usage_drop {{\n  when usage < 10\n  then cta risk "x"\n{items}'
    parsed, diagnostics = parse_text("m.cs", text)
    [d] = diagnostics
    assert (d.code, d.message) == ("CS0104", "rule `usage_drop` opened at line 1 is not closed")
    assert (d.span.line, d.span.column) == (1, 17)  # its `{`
    [end] = d.related
    assert end.message == "the file ends here" and end.span.line == 83
    assert [x.name.value for x in parsed.decls] == ["usage_drop"]


def test_a_file_that_ends_in_the_middle_of_an_item_says_so_at_the_end() -> None:
    _, diagnostics = parse_text("m.cs", "rule r {\n  when usage < 10\n  cooldown\n")
    [d] = diagnostics
    assert (d.code, d.message, d.span.line) == ("CS0104", "unexpected end of file", 3)
    assert d.help[0] == "the `{` of rule `r` on line 1 is never closed"


def test_a_task_left_open_is_named_and_the_playbook_kept_whole() -> None:
    text = ("playbook P {\n  task a {\n    day 1\n  task b { day 2 }\n}\n"
            "rule r { when true  then cta risk \"x\"  playbook P }\n")
    parsed, diagnostics = parse_text("m.cs", text)
    [d] = diagnostics
    assert (d.code, d.message, d.span.line) == ("CS0107", "the `{` of task `a` is never closed", 2)
    assert d.related[0].message == "the next task starts here"
    playbook = parsed.decls[0]
    assert isinstance(playbook, ast.PlaybookDecl)
    assert [t.name.value for t in playbook.items if isinstance(t, ast.TaskDecl)] == ["a", "b"]
    assert [type(x).__name__ for x in parsed.decls] == ["PlaybookDecl", "RuleDecl"]


@pytest.mark.parametrize(("text", "meant", "first"), [
    ('rule r {\n  when usage < 10\n  cta risk "x"\n}\n', "then cta", "`then`"),
    ("rule r {\n  when usage < 10\n  plan Onboarding\n}\n", "then plan", "`then`"),
    ('rule r {\n  when true\n  then cta risk "x"\n  while true\n}\n', "reopen while",
     "`reopen`"),
])
def test_a_missing_keyword_is_offered_and_listed_first(text: str, meant: str,
                                                       first: str) -> None:
    _, diagnostics = parse_text("m.cs", text)
    [d] = diagnostics
    assert d.code == "CS0100" and d.suggestion == meant
    assert d.help[0].startswith(f"expected {first}, ")


def test_a_name_where_many_words_fit_offers_none() -> None:
    _, diagnostics = parse_text("m.cs", 'rule r {\n  when usage < 10\n  risk "x"\n}\n')
    [d] = diagnostics
    assert d.code == "CS0100" and d.suggestion is None


@pytest.mark.parametrize(("condition", "meant"), [
    ('segment = "SMB"', "=="), ("arr =< 10", "<="), ("arr => 10", ">="),
])
def test_a_lone_equals_sign_in_a_condition_offers_the_comparison(condition: str,
                                                                  meant: str) -> None:
    _, diagnostics = parse_text("m.cs", f'rule r {{\n  when {condition}\n  then cta risk "x"\n}}\n')
    [d] = diagnostics
    assert (d.code, d.suggestion) == ("CS0101", meant)


def test_an_equals_sign_elsewhere_offers_no_comparison() -> None:
    _, diagnostics = parse_text("m.cs", 'rule r {\n  when true\n  due = 3d\n}\n')
    [d] = diagnostics
    assert (d.code, d.suggestion) == ("CS0101", None)


@pytest.mark.parametrize(("written", "meant"), [
    ('"100k"', "100000"), ('"1.5M"', "1500000"), ('"$1,200"', "1200"), ('"2.5"', "2.5"),
    ('"30%"', "30%"), ('"1b"', "1000000000"), ('"lots"', None),
])
def test_a_number_in_quotes_is_offered_as_the_number(tmp_path: Path, written: str,
                                                     meant: str | None) -> None:
    _, diagnostics = compile_text(
        tmp_path, f'rule r {{\n  when arr > {written}\n  then cta risk "x"\n  owner CSM\n}}\n')
    [d] = [d for d in diagnostics if d.is_error]
    assert (d.code, d.suggestion) == ("CS0300", meant)
    assert d.help[0].startswith("`arr` is a number: ")


def test_no_never_used_for_what_only_a_dropped_duplicate_names(tmp_path: Path) -> None:
    text = ("playbook P { task t { owner AE } }\n"
            'rule r { when true  then cta risk "x"  owner CSM }\n'
            'rule r { when true  then cta risk "y"  playbook P  owner CS_Leader }\n')
    _, diagnostics = compile_text(tmp_path, text)
    assert [(d.code, d.span.line) for d in diagnostics
            if d.span.file.endswith("main.cs")] == [("CS0200", 3)]
    unused = [d.message for d in diagnostics if d.code in ("CS0600", "CS0601")]
    assert not [m for m in unused if any(f"`{n}`" in m for n in ("P", "AE", "CS_Leader"))]


@pytest.mark.parametrize("text", [
    'playbook P { for risk  task t }\nrule r { when true  then cta expansion "x"  playbook P }\n',
    'playbook P { for rsk  task t }\nrule r { when true  then cta risk "x"  playbook P }\n',
])
def test_an_unknown_cta_type_is_not_checked_against_a_for_too(tmp_path: Path,
                                                              text: str) -> None:
    _, diagnostics = compile_text(tmp_path, text)
    assert [d.code for d in diagnostics if d.span.file.endswith("main.cs")] == ["CS0212"]
