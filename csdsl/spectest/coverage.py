"""Coverage of a spec by its tests, on the compiled IR: formatting cannot change it.

Before each run of each test, every enabled rule's `when` is traced for every account
of the test's data, its `close when` for the accounts with an open CTA of the rule, and
its `success` condition for the CTAs whose success is still undecided: what the run is
about to evaluate, with the reference interpreter's values (`csdsl_runtime.explain`).
An *atomic condition* (a comparison, `in`, `event within`, a `no ... for` window test,
a true-or-false field) is covered when it was seen both true and false; whether it was
ever unknown is reported too, but not required (a count is never unknown). A rule is
covered when it fired for at least one account. The percentage counts both: each
enabled rule's firing, and each atomic condition's true and false.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from csdsl.semantic.model import SpecModel
from csdsl.source import NO_SPAN, Span
from csdsl_runtime import artifact as A
from csdsl_runtime.data import Dataset

__all__ = ["Atom", "Coverage", "CoverageCollector"]


@dataclass(slots=True)
class Atom:
    """One atomic condition of a rule and the truth values the tests saw it take."""

    rule: str
    part: str  # `when`, `close` or `success`
    path: tuple[int, ...]
    span: Span
    text: str
    seen: set[bool | None] = field(default_factory=set)

    @property
    def covered(self) -> bool:
        return True in self.seen and False in self.seen

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "part": self.part, "file": self.span.file,
                "line": self.span.line, "column": self.span.column,
                "end_line": self.span.end_line, "end_column": self.span.end_column,
                "text": self.text, "true": True in self.seen, "false": False in self.seen,
                "unknown": None in self.seen, "covered": self.covered}


@dataclass(slots=True)
class Coverage:
    rules: dict[str, bool]  # enabled rule -> fired in at least one test
    spans: dict[str, Span]  # rule -> where it is declared
    atoms: list[Atom]
    disabled: list[str]

    @property
    def total(self) -> int:
        return len(self.rules) + 2 * len(self.atoms)

    @property
    def covered(self) -> int:
        seen = sum((True in a.seen) + (False in a.seen) for a in self.atoms)
        return sum(self.rules.values()) + seen

    @property
    def percent(self) -> float:
        return 100.0 if not self.total else 100.0 * self.covered / self.total

    def to_json(self) -> dict[str, Any]:
        return {
            "percent": round(self.percent, 1), "covered": self.covered, "total": self.total,
            "rules": {name: {"fired": fired, "file": self.spans[name].file,
                             "line": self.spans[name].line}
                      for name, fired in self.rules.items()},
            "disabled_rules": self.disabled,
            "conditions": [a.to_json() for a in self.atoms],
        }


class CoverageCollector:
    """A test-run observer (`run.Observer`) that records what each atom was seen to be."""

    def __init__(self, artifact: A.Artifact, model: SpecModel,
                 sources: Mapping[str, str]) -> None:
        from csdsl_runtime.explain import atomic_paths
        from csdsl_runtime.ir import missing_values

        self.missing = missing_values(artifact.schema_)
        self.fired: dict[str, bool] = {r.name: False for r in artifact.rules if r.enabled}
        self.disabled = [r.name for r in artifact.rules if not r.enabled]
        self.spans = {r.name: model.rules[r.name].span if r.name in model.rules else NO_SPAN
                      for r in artifact.rules}
        self.atoms: dict[tuple[str, str, tuple[int, ...]], Atom] = {}
        self.conditions: dict[tuple[str, str], A.Expr] = {}
        for rule in artifact.rules:
            if not rule.enabled:
                continue
            checked = model.rules.get(rule.name)
            parts = {"when": rule.when, "close": rule.close_when,
                     "success": rule.success.when if rule.success else None}
            source = checked.conditions() if checked is not None else {}
            for part, node in parts.items():
                if node is None:
                    continue
                self.conditions[(rule.name, part)] = node
                spans = source[part].spans() if part in source else {}
                for path in atomic_paths(node):
                    span = spans.get(path, NO_SPAN)
                    text = _text(sources, span)
                    self.atoms[(rule.name, part, path)] = Atom(rule.name, part, path, span, text)

    def __call__(self, artifact: A.Artifact, dataset: Dataset, store: Any, day: date) -> None:
        from csdsl_runtime.explain import trace

        rules = [r for r in artifact.rules if r.enabled]
        state = store.load_state([r.name for r in rules], day,
                                 scored=[r.name for r in rules if r.success is not None],
                                 windows={})
        accounts = dataset.accounts
        for rule in rules:
            when = self.conditions[(rule.name, "when")]
            observe = self._observer(rule.name, "when")
            for account in accounts.values():
                if trace(when, account, day, self.missing, observe).value is True:
                    self.fired[rule.name] = True
        for (name, account_id) in state.open_ctas:
            node = self.conditions.get((name, "close"))
            if node is not None and account_id in accounts:
                trace(node, accounts[account_id], day, self.missing,
                      self._observer(name, "close"))
        within = {r.name: r.success.within for r in rules if r.success is not None}
        for _, name, account_id, created in state.pending_success:
            node = self.conditions.get((name, "success"))
            # past its window a CTA's success is missed without evaluating the condition
            if node is None or (day - created).days > within.get(name, -1):
                continue
            if account_id in accounts:
                trace(node, accounts[account_id], day, self.missing,
                      self._observer(name, "success"))

    def _observer(self, rule: str, part: str) -> Any:
        atoms = self.atoms

        def observe(path: tuple[int, ...], value: Any) -> None:
            atom = atoms.get((rule, part, path))
            if atom is not None:
                atom.seen.add(value if value is None else value is True)

        return observe

    def result(self) -> Coverage:
        atoms = sorted(self.atoms.values(), key=lambda a: (
            a.span.file, a.span.line, a.span.column, a.rule, a.part, a.path))
        return Coverage(dict(self.fired), self.spans, atoms, self.disabled)


def _text(sources: Mapping[str, str], span: Span) -> str:
    """The source text of a span on one line (a long one cut), for the report."""
    text = sources.get(span.file)
    if text is None or span.end <= span.start:
        return ""
    snippet = " ".join(text[span.start:span.end].split())
    return snippet if len(snippet) <= 80 else snippet[:77] + "..."
