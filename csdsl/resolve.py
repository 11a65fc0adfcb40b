"""The symbol table: every declaration of every file of a spec, by kind and name.

All files of a spec share one namespace. Account fields, metrics and events share the
names a condition can read, so a clash among them is a duplicate too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from csdsl import ast
from csdsl.diagnostics import Diagnostic, Related, error
from csdsl.parser import RESERVED
from csdsl.source import Span


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A typed field of the account or of an event."""

    name: str
    type: str  # text | number | date | bool | enum
    values: tuple[str, ...]
    span: Span


@dataclass(slots=True)
class EventInfo:
    decl: ast.EventDecl
    fields: dict[str, FieldInfo]


@dataclass(slots=True)
class SymbolTable:
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    metrics: dict[str, ast.MetricDecl] = field(default_factory=dict)
    events: dict[str, EventInfo] = field(default_factory=dict)
    roles: dict[str, ast.RoleDecl] = field(default_factory=dict)
    playbooks: dict[str, ast.PlaybookDecl] = field(default_factory=dict)
    plans: dict[str, ast.PlanDecl] = field(default_factory=dict)
    rules: dict[str, ast.RuleDecl] = field(default_factory=dict)
    # declared, but dropped (a syntax error, or a clash with a name of another kind):
    # uses of these names are not reported again
    broken: frozenset[str] = frozenset()

    def data_kind(self, name: str) -> str | None:
        """What a bare name in a condition is: field, metric, event, or None."""
        if name in self.fields:
            return "field"
        if name in self.metrics:
            return "metric"
        if name in self.events:
            return "event"
        return None


TYPE_NAMES = ("text", "number", "date", "bool")


def reserved_name(name: ast.Name, kind: str) -> Diagnostic | None:
    """A declared name that is a reserved word (the contextual lexer lets some through)."""
    if name.value not in RESERVED:
        return None
    return error(
        "CS0100", name.span,
        f"`{name.value}` is a reserved word and cannot be used as the name of "
        f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}",
        "words that open a declaration, clause or property are reserved; rename it",
    )


def build_symbols(files: list[ast.File]) -> tuple[SymbolTable, list[Diagnostic]]:
    """Collect declarations across files; report duplicates with both places."""
    table = SymbolTable(broken=frozenset(n for f in files for n in f.broken))
    diagnostics: list[Diagnostic] = []
    data_spans: dict[str, tuple[str, Span]] = {}

    def duplicate(kind: str, name: ast.Name, first: Span,
                  help_text: str = "names are shared by every file of a spec; "
                  "rename one of them") -> None:
        diagnostics.append(
            error(
                "CS0200",
                name.span,
                f"{kind} `{name.value}` is declared twice",
                help_text,
                related=(Related(first, "first declared here"),),
            )
        )

    declared: dict[str, tuple[str, Span]] = {}
    clashed: set[str] = set()

    def claimer(names: dict[str, tuple[str, Span]], shared: str):  # type: ignore[no-untyped-def]
        """A claim on one namespace: the first of a name wins; any other is a diagnostic."""

        def claim(kind: str, name: ast.Name) -> bool:
            previous = names.get(name.value)
            if previous is None:
                names[name.value] = (kind, name.span)
                return True
            prev_kind, prev_span = previous
            if prev_kind == kind:
                duplicate(kind, name, prev_span)
            else:
                clashed.add(name.value)  # the second one is dropped: do not cascade
                first = Related(prev_span, f"{prev_kind} `{name.value}` is declared here")
                diagnostics.append(
                    error("CS0200", name.span,
                          f"{kind} `{name.value}` has the same name as {prev_kind} `{name.value}`",
                          shared, related=(first,))
                )
            return False

        return claim

    # Every top-level declaration shares one namespace, whatever its kind; account
    # fields, metrics and events also share the names a condition reads.
    claim = claimer(declared,
                    "every declaration of a spec shares one namespace; rename one of them")
    claim_data = claimer(data_spans, "account fields, metrics and events share the names "
                                     "conditions read")

    def check_reserved(name: ast.Name, kind: str) -> None:
        found = reserved_name(name, kind)
        if found is not None:
            diagnostics.append(found)

    for file in files:
        for decl in file.decls:
            if isinstance(decl, ast.AccountDecl):
                for f in decl.fields:
                    check_reserved(f.name, "field")
                    info = _field_info(f, diagnostics)
                    if claim_data("account field", f.name):
                        table.fields[f.name.value] = info
            elif isinstance(decl, ast.MetricDecl):
                check_reserved(decl.name, "metric")
                if claim_data("metric", decl.name) and claim("metric", decl.name):
                    table.metrics[decl.name.value] = decl
            elif isinstance(decl, ast.EventDecl):
                check_reserved(decl.name, "event")
                for f in decl.fields:
                    check_reserved(f.name, "field")
                if claim_data("event", decl.name) and claim("event", decl.name):
                    fields: dict[str, FieldInfo] = {}
                    for f in decl.fields:
                        info = _field_info(f, diagnostics)
                        if f.name.value in fields:
                            duplicate("event field", f.name, fields[f.name.value].span,
                                      f"the fields of event `{decl.name.value}` need "
                                      "distinct names")
                        else:
                            fields[f.name.value] = info
                    table.events[decl.name.value] = EventInfo(decl, fields)
            else:
                kind, bucket = {
                    ast.RoleDecl: ("role", table.roles),
                    ast.PlaybookDecl: ("playbook", table.playbooks),
                    ast.PlanDecl: ("plan", table.plans),
                    ast.RuleDecl: ("rule", table.rules),
                }[type(decl)]
                name = decl.name  # type: ignore[union-attr]
                check_reserved(name, kind)
                if claim(kind, name):
                    bucket[name.value] = decl
    table.broken = table.broken | clashed
    return table, diagnostics


def _field_info(f: ast.FieldDecl, diagnostics: list[Diagnostic]) -> FieldInfo:
    kind = f.type.kind
    if kind == "enum":
        values = tuple(v.value for v in f.type.values)
        seen: dict[str, Span] = {}
        for v in f.type.values:
            if v.value in seen:
                diagnostics.append(
                    error("CS0200", v.span, f"enum value `\"{v.value}\"` is listed twice",
                          "remove one of them",
                          related=(Related(seen[v.value], "first listed here"),))
                )
            else:
                seen[v.value] = v.span
        return FieldInfo(f.name.value, "enum", values, f.name.span)
    if kind not in TYPE_NAMES:
        from csdsl.diagnostics import did_you_mean

        diagnostics.append(
            error(
                "CS0211",
                f.type.span,
                f"unknown type `{kind}`",
                "field types are text, number, date, bool and enum(...)",
                suggestion=did_you_mean(kind, (*TYPE_NAMES, "enum")),
            )
        )
        kind = "text"
    return FieldInfo(f.name.value, kind, (), f.name.span)
