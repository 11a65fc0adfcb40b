"""The semantic model: every name finds its declaration and type through one API, the
IR keeps its source spans, and the contract between model and artifact is checked."""

from __future__ import annotations

import ast as pyast
import dataclasses
import inspect
import threading
import typing
from pathlib import Path

import pytest

import csdsl
from csdsl.ast import Expr as _AST_EXPR
from csdsl.semantic import PASSES
from csdsl.semantic import conditions as C
from csdsl.semantic.conditions import walk
from csdsl.source import SourceFile
from csdsl.syntax.keywords import CONTEXTUAL, RESERVED
from csdsl.syntax.parser import parse_source
from csdsl_runtime import artifact as A

from .conftest import DATA, EXAMPLES, ROOT

SPEC = """
pool Desk "Support desk"

playbook Call {
  for risk, objective
  task prep "Prepare" { day 1  owner CSM }
  task call "Call" { day 3  owner AE or CSM  after prep }
}

plan Onboarding {
  due 30d
  objective kickoff {
    task hello "Say hello" { owner CSM }
  }
  objective live {
    after kickoff
    playbook Call
    task launch "Launch" { after prep, kickoff.hello }
  }
}

rule low "Low usage" {
  when usage < 10 and segment == "Enterprise" and event nps_response within 30d where score < 7
  then cta risk "Low usage at {{ account.name }}"
  owner CSM
  playbook Call
}

rule signed {
  when event contract_signed within 1d
  then plan Onboarding
  owner AE or pool Desk
}
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> csdsl.SpecModel:
    spec = tmp_path_factory.mktemp("model") / "spec"
    spec.mkdir()
    (spec / "data.cs").write_text(DATA, encoding="utf-8")
    (spec / "main.cs").write_text(SPEC, encoding="utf-8")
    found, diagnostics = csdsl.check_spec([spec])
    assert [d.code for d in diagnostics if d.is_error] == []
    return found


def _at(model: csdsl.SpecModel, word: str, nth: int = 0) -> csdsl.Symbol | None:
    """The symbol at the `nth` occurrence (0-based) of `word` in main.cs."""
    lines = SPEC.split("\n")
    seen = 0
    for number, line in enumerate(lines, 1):
        start = 0
        while (column := line.find(word, start)) >= 0:
            if seen == nth:
                file = next(s.span.file for s in model.symbols.values()
                            if s.span.file.endswith("main.cs"))
                return model.symbol_at(file, number, column + 1)
            seen += 1
            start = column + 1
    raise AssertionError(f"no {word!r} #{nth}")


# (word, occurrence in main.cs, expected kind, expected qualified name, expected type)
WHERE = [
    ("usage", 1, "metric", "usage", "number"),  # #0 is in the rule's title
    ("segment", 0, "field", "segment", "enum"),
    ("nps_response", 0, "event", "nps_response", None),
    ("score", 0, "event_field", "nps_response.score", "number"),
    ("CSM", 0, "role", "CSM", None),  # owner CSM in a task
    ("AE", 0, "role", "AE", None),
    ("prep", 1, "task", "Call.prep", None),  # `after prep` in the playbook
    ("kickoff", 1, "objective", "Onboarding.kickoff", None),  # `after kickoff`
    ("Call", 2, "playbook", "Call", None),  # the objective's `playbook Call`
    ("prep", 2, "task", "Call.prep", None),  # a plan task after a playbook's task
    ("kickoff.hello", 0, "objective", "Onboarding.kickoff", None),  # `objective.task`
    ("hello", 2, "task", "Onboarding.kickoff.hello", None),  # #1 is in its title
    ("Onboarding", 1, "plan", "Onboarding", None),  # `then plan Onboarding`
    ("low", 0, "rule", "low", None),  # a declaration is its own symbol
    ("launch", 0, "task", "Onboarding.live.launch", None),
    ("Desk", 0, "pool", "Desk", None),  # a pool's declaration
    ("Desk", 1, "pool", "Desk", None),  # `owner AE or pool Desk`
]


@pytest.mark.parametrize(("word", "nth", "kind", "name", "type_name"), WHERE,
                         ids=[f"{w[0]}#{w[1]}" for w in WHERE])
def test_every_name_finds_its_declaration(model: csdsl.SpecModel, word: str, nth: int,
                                          kind: str, name: str, type_name: str | None) -> None:
    symbol = _at(model, word, nth)
    assert symbol is not None
    assert (symbol.kind, symbol.name) == (kind, name)
    assert (symbol.type.name if symbol.type else None) == type_name
    assert model.definition(name) == symbol


def test_positions_between_names_find_nothing(model: csdsl.SpecModel) -> None:
    file = next(s.span.file for s in model.symbols.values() if s.span.file.endswith("main.cs"))
    assert model.symbol_at(file, 1, 1) is None
    assert model.symbol_at("elsewhere.cs", 3, 5) is None


def test_references_to_a_symbol(model: csdsl.SpecModel) -> None:
    csm = model.definition("CSM")
    assert csm is not None
    lines = [r.span.line for r in model.references_to(csm)]
    assert lines == sorted(lines) and len(lines) == 4  # prep, call, hello, rule low


def test_references_to_a_pool_are_its_name(model: csdsl.SpecModel) -> None:
    """Find-references on a pool gives the name in `owner pool NAME`, not `pool` with it."""
    desk = model.definition("Desk")
    assert desk is not None and desk.kind == "pool" and desk.label == "Support desk"
    [ref] = model.references_to(desk)
    line = SPEC.split("\n")[ref.span.line - 1]
    assert line[ref.span.column - 1:ref.span.end_column - 1] == "Desk"
    assert line.strip() == "owner AE or pool Desk"
    assert model.pools["Desk"].title == "Support desk"


def test_every_expression_has_its_type(model: csdsl.SpecModel) -> None:
    condition = model.rules["low"].when
    assert condition is not None and condition.ir is not None
    types = {model.type_of(node.span) for _, node in walk(condition.ir)}
    assert {t.name for t in types if t} >= {"bool", "number"}
    assert model.type_of(condition.span) == csdsl.semantic.model.BOOL  # type: ignore[attr-defined]


def test_every_expression_of_the_examples_has_a_type() -> None:
    """Every expression node, function arguments, windows, amounts and list items
    included, has a type (event names alone are no values)."""
    from csdsl import ast
    from csdsl.driver import check_paths

    result = check_paths([EXAMPLES])
    assert result.model is not None
    untyped = []
    for file in result.files:
        for decl in file.decls:
            if not isinstance(decl, ast.RuleDecl):
                continue
            for item in decl.items:
                if isinstance(item, ast.Condition):
                    for node in _expressions(item.expr):
                        if result.model.type_of(node.span) is None and not (
                                isinstance(node, ast.NameRef)
                                and node.name.value in result.model.events):
                            untyped.append((decl.name.value, node))
    assert untyped == []


def _expressions(expr: object) -> list[object]:
    found = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, typing.get_args(_AST_EXPR)):
            found.append(node)
        if dataclasses.is_dataclass(node):
            for f in dataclasses.fields(node):
                value = getattr(node, f.name)
                stack.extend(value if isinstance(value, tuple) else (value,))
    return found


def test_defaults_come_from_the_vocabulary(model: csdsl.SpecModel) -> None:
    call = model.playbooks["Call"]
    assert {t.type for t in call.tasks} == {"todo"} and {t.priority for t in call.tasks} == \
        {"medium"}
    assert call.calendar == "calendar" and model.rules["signed"].priority == "medium"


def test_every_ir_node_points_into_its_condition(model: csdsl.SpecModel) -> None:
    checked, _ = csdsl.check_spec([EXAMPLES])
    count = 0
    for rule in checked.rules.values():
        for condition in rule.conditions().values():
            assert condition.ir is not None
            for path, span in condition.spans().items():
                count += 1
                assert span.file == condition.span.file, path
                assert condition.span.start <= span.start <= span.end <= condition.span.end
    assert count > 100


def test_the_model_ir_mirrors_the_artifact_ir() -> None:
    """Each model node has the artifact node's `op` and fields: emit maps, decides nothing."""
    artifact_nodes = typing.get_args(A.Expr)
    by_op = {cls.op: cls for cls in artifact_nodes}
    assert sorted(by_op) == sorted(cls.op for cls in C.NODE_TYPES)
    for cls in C.NODE_TYPES:
        mine = [f.name for f in dataclasses.fields(cls) if f.name not in ("span", "op")]
        theirs = list(by_op[cls.op].__struct_fields__)
        assert mine == theirs, cls.__name__


def test_emit_reads_only_the_model() -> None:
    """The AST and the parser stay out of emit: it maps the model, nothing else."""
    tree = pyast.parse((ROOT / "csdsl" / "emit.py").read_text(encoding="utf-8"))
    imported = {n.module for n in pyast.walk(tree) if isinstance(n, pyast.ImportFrom)}
    imported |= {a.name for n in pyast.walk(tree) if isinstance(n, pyast.Import) for a in n.names}
    assert not {m for m in imported if m and (m.startswith("csdsl.syntax") or m == "csdsl.ast")}
    assert "ast" not in {a.name for n in pyast.walk(tree) if isinstance(n, pyast.ImportFrom)
                         and n.module == "csdsl" for a in n.names}


def test_the_passes_are_small_documented_functions() -> None:
    assert len(PASSES) >= 5
    for run in PASSES:
        assert inspect.isfunction(run) and run.__doc__, run
        assert list(inspect.signature(run).parameters) == ["decls", "model", "diagnostics"]


def test_every_grammar_keyword_is_reserved_or_contextual() -> None:
    from csdsl.syntax.parser import _parser

    keywords = {t.pattern.value for t in _parser().terminals
                if t.pattern.type == "str" and t.pattern.value.isidentifier()}
    assert keywords, "no keywords found in the grammar"
    assert keywords - RESERVED - CONTEXTUAL == set()
    assert not RESERVED & CONTEXTUAL


def test_threads_parse_at_once() -> None:
    """The parser keeps no state between calls: eight threads give what one gives."""
    files = sorted([*EXAMPLES.glob("*.cs"), *(ROOT / "tests" / "golden").glob("*/*.cs")])
    sources = [SourceFile.of(p.name, p.read_bytes().decode("utf-8", "replace")) for p in files]

    def outcome(source: SourceFile) -> tuple[object, ...]:
        parsed, diagnostics = parse_source(source)
        return parsed.decls, [(d.code, d.span) for d in diagnostics], parsed.broken

    expected = [outcome(s) for s in sources]
    results: dict[int, list[tuple[object, ...]]] = {}
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            results[k] = [outcome(s) for s in sources[k % 3:] + sources[:k % 3]]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k, got in results.items():
        assert got == expected[k % 3:] + expected[:k % 3]


def test_main_changes_no_global_state(tmp_path: Path) -> None:
    import gc

    from csdsl.cli import main

    before = (gc.get_threshold(), gc.get_freeze_count())
    assert main(["check", str(EXAMPLES)]) == 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
