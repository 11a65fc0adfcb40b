"""Helpers shared by the table tests of language forms (test_spec_limits, test_spec_dates):
a small base spec, a rule with properties, compiling a spec text, and a tree's meaning."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from csdsl import ast
from csdsl.diagnostics import Diagnostic
from csdsl.driver import compile_spec
from csdsl.syntax.parser import parse_text
from csdsl_runtime import artifact as A

# What every case may read; no roles, so that nothing is left unused.
BASE = """\
account { name: text  arr: number }
metric usage
"""

RULE = 'rule r {{\n  when arr > 1\n  then cta risk "x"\n  owner "ops@example.com"\n{props}}}\n'


def rule_with(*props: str) -> str:
    """Rule `r` with these property lines."""
    return RULE.format(props="".join(f"  {p}\n" for p in props))


def compile_text(tmp_path: Path, text: str, base: str = BASE
                 ) -> tuple[A.Artifact | None, list[Diagnostic]]:
    """`text` compiled beside `base` in a spec directory under `tmp_path`."""
    spec = tmp_path / "spec"
    spec.mkdir(exist_ok=True)
    (spec / "base.cs").write_text(base, encoding="utf-8")
    (spec / "main.cs").write_text(text, encoding="utf-8")
    return compile_spec([spec])


def rule_of(artifact: A.Artifact, name: str = "r") -> A.Rule:
    return next(r for r in artifact.rules if r.name == name)


def meaning(node: object) -> object:
    """A syntax tree without spans or layout: what the formatter must give back."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__, *((f.name, meaning(getattr(node, f.name)))
                                       for f in dataclasses.fields(node) if f.compare))
    if isinstance(node, tuple | list):
        return tuple(meaning(n) for n in node)
    return node


def parse_clean(text: str) -> ast.File:
    """The tree of a text that has no syntax error."""
    tree, diagnostics = parse_text("t.cs", text)
    assert [d for d in diagnostics if d.code.startswith("CS01")] == [], text
    return tree
