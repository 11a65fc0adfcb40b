"""Syntax errors inside declarations: what is reported, and what survives the error.

Each row is a spec (with the shared data declarations), the diagnostic codes it must
give in source order, and declarations the parser must still have kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from csdsl import ast
from csdsl.syntax.parser import ParseStats, parse_text

from .conftest import compile_text

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
        ["CS0204", "CS0104"],
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
