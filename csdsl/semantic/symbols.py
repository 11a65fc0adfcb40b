"""The first pass: every declaration of every file of a spec, by kind and name.

All files of a spec share one namespace. Account fields, metrics and events share the
names a condition can read, so a clash among them is a duplicate too. The data
declarations become model records here; playbooks, plans and rules are indexed for the
passes that resolve them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from csdsl import ast
from csdsl.diagnostics import Diagnostic, Related, did_you_mean, error
from csdsl.semantic.model import NUMBER, Event, Field, Metric, Pool, Role, Symbol, SymbolKind
from csdsl.source import Span
from csdsl.syntax.keywords import RESERVED
from csdsl_runtime.vocabulary import ACCOUNT_ID_ATTRIBUTE, FIELD_TYPES, FieldType


@dataclass(slots=True)
class Declarations:
    """The declarations of a spec, first of each name, for the passes to resolve."""

    fields: dict[str, Field] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)
    # the first `limit` of each kind (a second is reported here); checked by a pass
    limits: dict[ast.LimitKind, ast.LimitDecl] = field(default_factory=dict)
    # the first `holidays` (a second is reported here); checked by a pass
    holidays: ast.HolidaysDecl | None = None
    playbooks: dict[str, ast.PlaybookDecl] = field(default_factory=dict)
    plans: dict[str, ast.PlanDecl] = field(default_factory=dict)
    rules: dict[str, ast.RuleDecl] = field(default_factory=dict)
    symbols: dict[str, Symbol] = field(default_factory=dict)
    # declared, but dropped (a syntax error, or a clash with a name of another kind):
    # uses of these names are not reported again
    broken: frozenset[str] = frozenset()
    # kept in part around a syntax error: what is missing from them is not reported
    partial: frozenset[str] = frozenset()
    # a file had a syntax error: a use may sit in text that did not parse
    recovered: bool = False
    # playbooks, plans and rules dropped for their name (declared twice, or clashing with
    # another kind): what they name is still used, so not reported as never used
    dropped: list[ast.PlaybookDecl | ast.PlanDecl | ast.RuleDecl] = field(default_factory=list)
    # the account fields a template may read (built once: a cache key of template checks)
    field_names: frozenset[str] = frozenset()
    # the first `environment` of each name, in source order, and the one compiled (None:
    # the base spec); `rules` then holds that environment's merged rules
    environments: dict[str, ast.EnvironmentDecl] = field(default_factory=dict)
    environment: str | None = None
    # every overlay of every environment, and the base rules the compiled environment
    # replaced: what they name is used somewhere in the spec (not "never used")
    overlays: list[ast.RuleDecl] = field(default_factory=list)

    def data_kind(self, name: str) -> str | None:
        """What a bare name in a condition is: field, metric, event, or None."""
        if name in self.fields:
            return "field"
        if name in self.metrics:
            return "metric"
        if name in self.events:
            return "event"
        return None

    @property
    def incomplete(self) -> bool:
        """Did a syntax error drop or cut anything?"""
        return bool(self.broken or self.partial or self.recovered)


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


def _label(label: ast.Str | None) -> str | None:
    return label.value if label is not None else None


def declare(files: Sequence[ast.File], diagnostics: list[Diagnostic],
            environment: str | None = None) -> Declarations:
    """Collect declarations across files; report duplicates with both places. With an
    `environment`, its overlays are merged into the rules they name."""
    table = Declarations(broken=frozenset(n for f in files for n in f.broken),
                         partial=frozenset(n for f in files for n in f.partial),
                         recovered=any(f.recovered for f in files))
    clashed: set[str] = set()

    def duplicate(kind: str, name: ast.Name, first: Span,
                  help_text: str = "names are shared by every file of a spec; "
                  "rename one of them") -> None:
        diagnostics.append(
            error("CS0200", name.span, f"{kind} `{name.value}` is declared twice", help_text,
                  related=(Related(first, "first declared here"),))
        )

    def claimer(shared: str) -> Callable[[str, ast.Name], bool]:
        """A claim on one namespace: the first of a name wins; any other is a diagnostic."""
        names: dict[str, tuple[str, Span]] = {}

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
    claim = claimer("every declaration of a spec shares one namespace; rename one of them")
    claim_data = claimer("account fields, metrics and events share the names conditions read")
    # environments have a namespace of their own (only one kind in it: no clash message)
    claim_environment = claimer("")

    def check_reserved(name: ast.Name, kind: str) -> None:
        found = reserved_name(name, kind)
        if found is not None:
            diagnostics.append(found)

    def add(symbol: Symbol) -> None:
        table.symbols.setdefault(symbol.name, symbol)

    for file in files:
        for decl in file.decls:
            match decl:
                case ast.AccountDecl():
                    for f in decl.fields:
                        check_reserved(f.name, "field")
                        info = _field(f, diagnostics)
                        if f.name.value == ACCOUNT_ID_ATTRIBUTE:
                            diagnostics.append(error(
                                "CS0200", f.name.span,
                                "`id` is the account's key, declared by the data model: "
                                "a field cannot take that name",
                                "every account has `id` (the first column of accounts, "
                                "`account.id` in templates); name the field otherwise"))
                            continue
                        if claim_data("account field", f.name):
                            table.fields[f.name.value] = info
                            add(Symbol("field", info.name, info.span, info.value_type))
                case ast.MetricDecl():
                    check_reserved(decl.name, "metric")
                    if claim_data("metric", decl.name) and claim("metric", decl.name):
                        missing = decl.missing.value if decl.missing is not None else None
                        metric = Metric(decl.name.value, _label(decl.label), decl.name.span,
                                        missing)
                        table.metrics[metric.name] = metric
                        add(Symbol("metric", metric.name, metric.span, NUMBER, metric.label))
                case ast.EventDecl():
                    check_reserved(decl.name, "event")
                    for f in decl.fields:
                        check_reserved(f.name, "field")
                    if claim_data("event", decl.name) and claim("event", decl.name):
                        fields: dict[str, Field] = {}
                        for f in decl.fields:
                            info = _field(f, diagnostics)
                            if f.name.value in fields:
                                duplicate("event field", f.name, fields[f.name.value].span,
                                          f"the fields of event `{decl.name.value}` need "
                                          "distinct names")
                            else:
                                fields[f.name.value] = info
                                add(Symbol("event_field", f"{decl.name.value}.{info.name}",
                                           info.span, info.value_type))
                        event = Event(decl.name.value, _label(decl.label), fields,
                                      decl.name.span)
                        table.events[event.name] = event
                        add(Symbol("event", event.name, event.span, None, event.label))
                case ast.RoleDecl():
                    check_reserved(decl.name, "role")
                    if claim("role", decl.name):
                        role = Role(decl.name.value, _label(decl.label), decl.external,
                                    decl.name.span)
                        table.roles[role.name] = role
                        add(Symbol("role", role.name, role.span, None, role.label))
                case ast.PoolDecl():
                    check_reserved(decl.name, "pool")
                    if claim("pool", decl.name):
                        pool = Pool(decl.name.value, _label(decl.title), decl.name.span)
                        table.pools[pool.name] = pool
                        add(Symbol("pool", pool.name, pool.span, None, pool.title))
                case ast.LimitDecl():
                    first_limit = table.limits.get(decl.kind)
                    if first_limit is None:
                        table.limits[decl.kind] = decl
                    else:
                        diagnostics.append(error(
                            "CS0701", decl.span, f"`limit {decl.kind}` is given twice in the spec",
                            "keep one: a limit holds for the whole spec, whatever file it is in",
                            related=(Related(first_limit.span, "first given here"),)))
                case ast.HolidaysDecl():
                    if table.holidays is None:
                        table.holidays = decl
                    else:
                        diagnostics.append(error(
                            "CS0701", decl.span, "`holidays` is given twice in the spec",
                            "keep one: the region holds for the whole spec, whatever file it "
                            "is in",
                            related=(Related(table.holidays.span, "first given here"),)))
                case ast.PlaybookDecl() | ast.PlanDecl() | ast.RuleDecl():
                    kind: SymbolKind = ("playbook" if isinstance(decl, ast.PlaybookDecl)
                                        else "plan" if isinstance(decl, ast.PlanDecl)
                                        else "rule")
                    check_reserved(decl.name, kind)
                    if claim(kind, decl.name):
                        bucket: dict[str, Any] = getattr(table, kind + "s")
                        bucket[decl.name.value] = decl
                        add(Symbol(kind, decl.name.value, decl.name.span, None,
                                   _label(decl.title)))
                    else:
                        table.dropped.append(decl)
                case ast.EnvironmentDecl():
                    check_reserved(decl.name, "environment")
                    if claim_environment("environment", decl.name):
                        table.environments[decl.name.value] = decl
    table.broken = table.broken | clashed
    if table.environments:
        _merge_environments(table, diagnostics, environment)
    # a field a syntax error dropped is still known to templates: no cascade
    table.field_names = frozenset(table.fields) | table.broken
    return table


def _merge_environments(table: Declarations, diagnostics: list[Diagnostic],
                        environment: str | None) -> None:
    """Check every environment's overlays (the same diagnostics whichever is compiled, so
    that `csdsl check` reports each once), then merge the compiled one into the rules."""
    chosen: dict[str, ast.RuleDecl] = {}
    for name, env in table.environments.items():
        seen: dict[str, ast.RuleDecl] = {}
        for item in env.items:
            if isinstance(item, ast.EnvironmentDecl):
                diagnostics.append(error(
                    "CS0705", item.name.span,
                    f"environment `{item.name.value}` is declared inside environment `{name}`",
                    "environments do not nest: declare it at the top level of a file",
                    related=(Related(env.name.span, f"environment `{name}` opens here"),)))
                continue
            table.overlays.append(item)
            rule = item.name.value
            if rule in seen:
                diagnostics.append(error(
                    "CS0200", item.name.span,
                    f"rule `{rule}` is overlaid twice in environment `{name}`",
                    "give each property once, in one overlay",
                    related=(Related(seen[rule].name.span, "first overlaid here"),)))
                continue
            seen[rule] = item
            if rule not in table.rules:
                if rule not in table.broken:
                    diagnostics.append(error(
                        "CS0215", item.name.span,
                        f"environment `{name}` overlays rule `{rule}`, which is not declared",
                        "an overlay replaces properties of a rule of the spec; it cannot add "
                        "a rule: declare the rule, with `enabled false` if it should run "
                        "only in some environments",
                        suggestion=did_you_mean(rule, table.rules)))
                continue
            if name == environment:
                chosen[rule] = item
    for rule, item in chosen.items():
        base = table.rules[rule]
        table.overlays.append(base)  # what it names stays used
        table.rules[rule] = overlay(base, item)
    table.environment = environment


def _overlay_key(item: object) -> str:
    """What an overlay item replaces: a property by its keyword, a condition by its kind
    (`when`, `close`, `success`), and every action at once (`then`)."""
    if isinstance(item, ast.Then):
        return "then"
    if isinstance(item, ast.Condition):
        return f"condition {item.key}"
    assert isinstance(item, ast.PROP_TYPES)
    return f"property {item.key}"


def overlay(base: ast.RuleDecl, over: ast.RuleDecl) -> ast.RuleDecl:
    """The base rule with each property the overlay gives replaced by the overlay's (a
    `then` replaces every action): in the base's place, the others after. The name and
    span stay the base's; the overlay's items keep their own spans, so that a problem in
    one points at the environment."""
    given: dict[str, list[ast.Prop | ast.Condition | ast.Then]] = {}
    for item in over.items:
        given.setdefault(_overlay_key(item), []).append(item)
    items: list[ast.Prop | ast.Condition | ast.Then] = []
    placed: set[str] = set()
    for item in base.items:
        key = _overlay_key(item)
        if key not in given:
            items.append(item)
        elif key not in placed:
            placed.add(key)
            items.extend(given[key])
    items.extend(i for key, found in given.items() if key not in placed for i in found)
    return ast.RuleDecl(base.name, over.title or base.title, tuple(items), base.span)


def _field(f: ast.FieldDecl, diagnostics: list[Diagnostic]) -> Field:
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
        return Field(f.name.value, "enum", values, f.name.span)
    scalar = _SCALAR_TYPES.get(kind)
    if scalar is None:
        diagnostics.append(
            error(
                "CS0211",
                f.type.span,
                f"unknown type `{kind}`",
                "field types are text, number, date, bool and enum(...)",
                suggestion=did_you_mean(kind, FIELD_TYPES),
            )
        )
        scalar = "text"
    return Field(f.name.value, scalar, (), f.name.span)


_SCALAR_TYPES: dict[str, FieldType] = {t: t for t in FIELD_TYPES if t != "enum"}
