"""A spec's rules as one SQL query over a warehouse's own tables, in any dialect sqlglot
writes (`csdsl sql`, and the Spark and PostgreSQL engines).

The query is the SQL engine's translation (`sql._Plan`), unchanged but for where its
tables and its as-of day come from:

- The data are the user's tables in the layout of a data directory: `accounts(id,
  <fields>)`, `metrics(account_id, metric, date, value)` and `events(account_id, event,
  date, <event fields>)` (names given by `Tables`). Common table expressions turn them
  into the plan's tables (`csdsl_accounts`, `csdsl_m<i>`, `csdsl_e<i>`), with days as
  proleptic ordinals (`date - 0001-01-01 + 1`, as Python's `date.toordinal`): every
  window, comparison and difference of days stays integer arithmetic, which every
  dialect spells alike.
- The as-of day is the column `p.asof` of a one-row table `csdsl_asof`, joined where
  the plan reads the day: a date the caller fixes, or `CURRENT_DATE` for a scheduler.

Everything else a dialect spells differently (`FILTER`, `arg_max`, `bool_or`, the
finiteness filter, `VALUES`, date differences) is sqlglot's to write, from the same
trees: no engine has its own copy of the rule logic. One thing sqlglot cannot say in
every dialect: a sum in day order (`sum(v ORDER BY day)`), which the reference adds so
that sums of non-integer values match it to the last bit. DuckDB and PostgreSQL get it;
elsewhere, a metric whose sums the caller does not know to be exact (integer values)
is summed in the warehouse's order, and `notes` says so.

The result: a row per rule and account, `(rule, account_id, truth)`, `truth` a BOOLEAN
that is NULL when the condition is unknown.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from sqlglot import exp

from csdsl_runtime import artifact as A
from csdsl_runtime.engines import sql as S
from csdsl_runtime.ir import missing_values

__all__ = ["DIALECTS", "Tables", "WarehouseQuery", "rule_query"]

DIALECTS = ("duckdb", "spark", "postgres", "snowflake", "bigquery")
ORDERED_SUMS = frozenset({"duckdb", "postgres"})
"""Dialects in which an aggregate takes an `ORDER BY` (a sum in day order)."""

_ASOF = "csdsl_asof"
_EPOCH = "0001-01-01"
_TYPES = {"number": "DOUBLE", "text": "VARCHAR", "enum": "VARCHAR", "bool": "BOOLEAN"}


@dataclass(frozen=True, slots=True)
class Tables:
    """The warehouse tables the query reads (names as the dialect spells them, a schema
    or catalog prefix allowed: `crm.accounts`)."""

    accounts: str = "accounts"
    metrics: str = "metrics"
    events: str = "events"


class _Names:
    """What `_Plan` reads of an engine: the plan's table and column names for a schema,
    and the metrics whose sums may be added in any order."""

    def __init__(self, schema: A.DataSchema, exact: Collection[str]) -> None:
        self.schema = schema
        self._fields = {f.name: f"f{i}" for i, f in enumerate(schema.account)}
        self._metrics = {m.name: f"csdsl_m{i}" for i, m in enumerate(schema.metrics)}
        self._events = {e.name: (f"csdsl_e{i}", {f.name: f"f{j}" for j, f in enumerate(e.fields)})
                        for i, e in enumerate(schema.events)}
        self.missing = {self._metrics[name]: value
                        for name, value in missing_values(schema).items()
                        if name in self._metrics}
        self.exact_sums = frozenset(self._metrics[m] for m in exact if m in self._metrics)


class _WarehousePlan(S._Plan):
    """The SQL engine's plan with its as-of day read from `p.asof`."""

    accounts = "csdsl_accounts"

    def __init__(self, names: _Names, ordered: bool) -> None:
        super().__init__(names, 0)  # type: ignore[arg-type]
        self.ordered = ordered

    def _day(self, back: int = 0) -> exp.Expr:
        asof = exp.column("asof", "p")
        return asof if back == 0 else exp.Sub(this=asof, expression=S._int(back))

    def _since(self, days: int) -> exp.Expr:
        return exp.GT(this=exp.column("day", "s"), expression=self._day(days))

    def _until(self, days: int) -> exp.Expr:
        return exp.LTE(this=exp.column("day", "s"), expression=self._day(days))

    def _on_asof(self) -> exp.Expr:
        return exp.EQ(this=exp.column("day", "s"), expression=self._day())

    def _total(self, table: str, where: exp.Expr) -> exp.Expr:
        if self.ordered or table in self.engine.exact_sums:
            return super()._total(table, where)
        return S._filtered(exp.Sum(this=exp.column("value", "s")), where)  # see the module doc

    def grouped(self, table: str) -> exp.Select:
        query = super().grouped(table)
        return query.join(exp.to_table(_ASOF).as_("p"), join_type="cross", copy=False
                          ).group_by(exp.column("asof", "p"), copy=False)


@dataclass(slots=True)
class WarehouseQuery:
    """The query's tree, and what a reader of its text should know."""

    tree: exp.Select
    dialect: str
    notes: list[str]

    def sql(self, pretty: bool = True) -> str:
        return S._sql(self.tree, self.dialect, pretty)


def rule_query(schema: A.DataSchema, conditions: Mapping[str, A.Expr], dialect: str,
               tables: Tables = Tables(), asof: date | None = None,
               exact: Collection[str] = ()) -> WarehouseQuery:
    """The query of `conditions` (key -> condition: the key is the row's `rule`) as of
    `asof` (None: the day it runs, `CURRENT_DATE`). `exact`: metrics whose values are
    known to be integers small enough to add in any order."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect `{dialect}`: use one of {', '.join(DIALECTS)}")
    names = _Names(schema, exact)
    plan = _WarehousePlan(names, dialect in ORDERED_SUMS)
    keys = list(conditions)
    truths = {k: exp.cast(S._p(plan.expr(conditions[k], None)), "BOOLEAN", copy=False)
              for k in keys}
    # the tables the query reads: grouped passes, and the occurrences an `exists ...
    # where` reads in a correlated subquery
    read = set(plan.aggregates) | {t.name for truth in truths.values()
                                   for t in truth.find_all(exp.Table)}
    ctes: list[tuple[str, exp.Expr]] = [(_ASOF, _asof(asof)),
                                        (plan.accounts, _accounts(schema, tables))]
    for metric in schema.metrics:
        table = names._metrics[metric.name]
        if table in read:
            ctes.append((table, _metric(metric, tables)))
    for event in schema.events:
        table = names._events[event.name][0]
        if table in read:
            ctes.append((table, _event(event, tables)))
    ctes += [(f"_g_{table}", plan.grouped(table)) for table in plan.aggregates]
    ctes.append(("csdsl_features", plan.joined()))
    wide = exp.select(exp.alias_(exp.column("acc", "a"), "acc"), *(
        exp.alias_(truths[k], f"c{i}", copy=False) for i, k in enumerate(keys)), copy=False
    ).from_(exp.to_table("csdsl_features").as_("a"), copy=False).join(
        exp.to_table(_ASOF).as_("p"), join_type="cross", copy=False)
    ctes.append(("csdsl_truth", wide))
    pick = exp.case(exp.column("k", "r"), copy=False)
    for i in range(len(keys)):
        pick = pick.when(S._int(i), exp.column(f"c{i}", "t"), copy=False)
    rules = exp.Values(expressions=[exp.tuple_(S._int(i), exp.Literal.string(k), copy=False)
                                    for i, k in enumerate(keys)],
                       alias=exp.TableAlias(this=exp.to_identifier("r"), columns=[
                           exp.to_identifier("k"), exp.to_identifier("rule")]))
    query = exp.select(exp.column("rule", "r"), exp.alias_(exp.column("acc", "t"),
                                                           "account_id"),
                       exp.alias_(pick, "truth", copy=False), copy=False).from_(
        exp.to_table("csdsl_truth").as_("t"), copy=False).join(rules, join_type="cross",
                                                               copy=False)
    for name, body in ctes:
        query = query.with_(name, as_=body, copy=False)
    notes = []
    loose = [m.name for m in schema.metrics if names._metrics[m.name] in read
             and names._metrics[m.name] not in names.exact_sums]
    if dialect not in ORDERED_SUMS and loose:
        notes.append(f"{dialect} has no sum in a given order: the sums of "
                     f"{', '.join(loose)} are added in the warehouse's order, so a sum of "
                     "non-integer values may differ from csdsl's in its last bits")
    return WarehouseQuery(query, dialect, notes)


def _ordinal(day: exp.Expr) -> exp.Expr:
    """A date as its proleptic ordinal (0001-01-01 is 1)."""
    epoch = exp.cast(exp.Literal.string(_EPOCH), "DATE", copy=False)
    return exp.Add(this=exp.DateDiff(this=day, expression=epoch, unit=exp.var("DAY")),
                   expression=S._int(1))


def _date(column: str, table: str | None = None) -> exp.Expr:
    return exp.cast(exp.column(column, table, quoted=True), "DATE", copy=False)


def _asof(asof: date | None) -> exp.Select:
    day = exp.CurrentDate() if asof is None else exp.cast(
        exp.Literal.string(asof.isoformat()), "DATE", copy=False)
    return exp.select(exp.alias_(exp.cast(_ordinal(day), "INT", copy=False), "asof"),
                      copy=False)


def _typed(column: exp.Expr, kind: str) -> exp.Expr:
    if kind == "date":
        return exp.cast(_ordinal(exp.cast(column, "DATE", copy=False)), "INT", copy=False)
    return exp.cast(column, _TYPES[kind], copy=False)


def _accounts(schema: A.DataSchema, tables: Tables) -> exp.Select:
    fields = [exp.alias_(_typed(exp.column(f.name, quoted=True), f.type), f"f{i}", copy=False)
              for i, f in enumerate(schema.account)]
    return exp.select(exp.alias_(exp.cast(exp.column("id", quoted=True), "VARCHAR"), "acc"),
                      *fields, copy=False).from_(exp.to_table(tables.accounts), copy=False)


def _rows(table: str, kind: str, name: str) -> exp.Select:
    """A table's rows of one metric or event, keyed by account and day ordinal."""
    return exp.select(
        exp.alias_(exp.cast(exp.column("account_id", quoted=True), "VARCHAR"), "acc"),
        exp.alias_(exp.cast(_ordinal(_date("date")), "INT", copy=False), "day"),
        copy=False).from_(exp.to_table(table), copy=False).where(
        exp.EQ(this=exp.column(kind, quoted=True), expression=exp.Literal.string(name)),
        copy=False)


def _metric(metric: A.Metric, tables: Tables) -> exp.Select:
    return _rows(tables.metrics, "metric", metric.name).select(exp.alias_(exp.cast(
        exp.column("value", quoted=True), "DOUBLE"), "value"), copy=False)


def _event(event: A.Event, tables: Tables) -> exp.Select:
    return _rows(tables.events, "event", event.name).select(*(
        exp.alias_(_typed(exp.column(f.name, quoted=True), f.type), f"f{j}", copy=False)
        for j, f in enumerate(event.fields)), copy=False)


def positions_query(query: WarehouseQuery) -> exp.Select:
    """Per rule, the accounts where it is true and those where it is unknown, as two
    arrays: what an engine brings back from the warehouse instead of every row."""
    rows = query.tree.copy()
    truth = exp.column("truth")
    return exp.select(exp.column("rule"), exp.alias_(S._filtered(
        exp.ArrayAgg(this=exp.column("account_id")), exp.column("truth")), "fired"),
        exp.alias_(S._filtered(exp.ArrayAgg(this=exp.column("account_id")), exp.Is(
            this=truth, expression=exp.null())), "unknown"), copy=False).from_(
        rows.subquery("q", copy=False), copy=False).group_by(exp.column("rule"), copy=False)
