"""The vectorised engine: the condition IR translated to SQL and run by DuckDB.

The data set is loaded once into columnar DuckDB tables (via NumPy arrays, no row-by-row
inserts); each `evaluate` call becomes one `SELECT` over all accounts, with one column
per condition. The translation keeps the interpreter's semantics exactly, and a test
checks the two engines agree on random conditions and data:

- SQL's NULL is *unknown*: `AND`/`OR`/`NOT` and comparisons are already Kleene's logic.
- Windows (asof - D, asof] are `day > asof - D AND day <= asof` over integer day
  ordinals; dates are ordinals everywhere, so date comparison is integer comparison.
- Aggregates over no rows are NULL (unknown); event counts are `count(*)` (0, known).
- `exists ... where` is true if any occurrence is true, else unknown if any is unknown,
  else false, spelled with `bool_or` and `count(*) > count(w)`.
- Division by zero is unknown (`NULLIF`); `change` with an earlier average of 0 too.
- A result that is not finite is unknown (`ir`'s rule), without repeating an expression:
  a window sum or average is NULL when `max(abs(value)) * count(*) > 1e308` (then no
  inf appears at all), `change` is tested with `isfinite` inside its one subquery, and
  arithmetic is left to overflow: inf and NaN go through `+ - *`, unary minus and a
  dividend unchanged (non-finite in, non-finite out), so they are turned into NULL
  only where they could be lost or misread, by `_finite`: a comparison's or an `in`'s
  operand (DuckDB orders NaN above every number) and a divisor (`x / inf` is 0). An
  expression that may be non-finite appears once in the SQL text, so nested
  arithmetic stays linear in size (DuckDB's `NULLIF` and `CASE` would copy it).

Tables (one per metric and per event, so that types never mix): `accounts(acc, f0..)`,
`m<i>(acc, day, value)`, `e<i>(acc, day, f0..)`. Account and field names never appear
in SQL text; literals are rendered by `_literal` (text quoted, numbers via `repr`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date
from typing import Any

import duckdb
import numpy as np

from csdsl_runtime import artifact as A
from csdsl_runtime.data import Dataset
from csdsl_runtime.engines import Results
from csdsl_runtime.ir import OVERFLOW_BOUND
from csdsl_runtime.vocabulary import FieldType

_BOUND = f"CAST({OVERFLOW_BOUND!r} AS DOUBLE)"
_SQL_TYPES = {"number": "DOUBLE", "text": "VARCHAR", "enum": "VARCHAR", "date": "INTEGER",
              "bool": "BOOLEAN"}


class SqlEngine:
    """Evaluates conditions in DuckDB, all accounts at once."""

    name = "duckdb"

    def __init__(self, dataset: Dataset, schema: A.DataSchema | None = None,
                 threads: int | None = None) -> None:
        self.dataset = dataset
        self.schema = schema or _infer_schema(dataset)
        self.ids = list(dataset.accounts)
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self._fields: dict[str, str] = {}
        self._metrics: dict[str, str] = {}
        self._events: dict[str, tuple[str, dict[str, str]]] = {}
        self._load()

    # ------------------------------------------------------------------ loading

    def _load(self) -> None:
        accounts = list(self.dataset.accounts.values())
        n = len(accounts)
        columns: dict[str, Any] = {"acc": np.arange(n, dtype=np.int64)}
        for i, f in enumerate(self.schema.account):
            column = f"f{i}"
            self._fields[f.name] = column
            columns[column] = _column(f.type, (a.fields.get(f.name) for a in accounts), n)
        self._create("accounts", columns, self.schema.account)

        for i, metric in enumerate(self.schema.metrics):
            table = f"m{i}"
            self._metrics[metric.name] = table
            series = [a.metrics.get(metric.name) for a in accounts]
            lengths = np.array([0 if s is None else len(s.days) for s in series], dtype=np.int64)
            present = [s for s in series if s is not None and len(s.days)]
            days = _concat([np.frombuffer(s.days, dtype=_int_dtype(s.days)) for s in present],
                           np.int64)
            values = _concat([np.frombuffer(s.values, dtype=np.float64) for s in present],
                             np.float64)
            cols = {"acc": np.repeat(np.arange(n, dtype=np.int64), lengths),
                    "day": days, "value": values}
            self.con.register("_load_src", cols)
            self.con.execute(f"CREATE TABLE {table} AS SELECT acc, CAST(day AS INTEGER) AS day,"
                             f" CAST(value AS DOUBLE) AS value FROM _load_src")
            self.con.unregister("_load_src")

        for i, event in enumerate(self.schema.events):
            table = f"e{i}"
            names = {f.name: f"f{j}" for j, f in enumerate(event.fields)}
            self._events[event.name] = (table, names)
            occurrences = [
                (k, s) for k, a in enumerate(accounts)
                if (s := a.events.get(event.name)) is not None and len(s.days)
            ]
            acc = np.concatenate([np.full(len(s.days), k, dtype=np.int64)
                                  for k, s in occurrences]) if occurrences else \
                np.zeros(0, dtype=np.int64)
            days = _concat([np.frombuffer(s.days, dtype=_int_dtype(s.days))
                            for _, s in occurrences], np.int64)
            rows = [row for _, s in occurrences for row in s.fields]
            cols = {"acc": acc, "day": days}
            for f in event.fields:
                cols[names[f.name]] = _column(f.type, (r.get(f.name) for r in rows), len(rows))
            self._create(table, cols, event.fields, extra="day")

    def _create(self, table: str, cols: dict[str, Any], fields: Iterable[A.AccountField],
                extra: str | None = None) -> None:
        select = ["acc"] + ([f"CAST({extra} AS INTEGER) AS {extra}"] if extra else [])
        select += [f"CAST(f{j} AS {_SQL_TYPES[f.type]}) AS f{j}" for j, f in enumerate(fields)]
        self.con.register("_load_src", cols)
        self.con.execute(f"CREATE TABLE {table} AS SELECT {', '.join(select)} FROM _load_src")
        self.con.unregister("_load_src")

    # ------------------------------------------------------------------ evaluation

    def evaluate(
        self,
        conditions: Mapping[str, Any],
        asof: date,
        accounts: Mapping[str, Collection[str]] | None = None,
    ) -> Results:
        results: Results = {}
        ids = self.ids
        translator = _Translator(self, asof.toordinal())
        for key, node in conditions.items():
            # One query per condition: DuckDB plans many small queries far faster than one
            # wide one. Only true and unknown rows come back; the rest are false.
            rows = self.con.execute(
                f"SELECT acc, v FROM (SELECT acc, ({translator.expr(node)}) AS v FROM accounts a)"
                " WHERE v IS NOT FALSE"
            ).fetchall()
            out: dict[str, bool | None] = dict.fromkeys(ids, False)
            for acc, value in rows:
                out[ids[acc]] = None if value is None else value is True
            results[key] = out
        if accounts is not None:
            for key, wanted in accounts.items():
                if key in results:
                    full = results[key]
                    results[key] = {a: full.get(a) for a in wanted}
        return results


class _Translator:
    """Turns IR nodes into DuckDB expressions over `accounts a` as of one day."""

    def __init__(self, engine: SqlEngine, asof: int) -> None:
        self.engine = engine
        self.asof = asof
        self.aliases = 0

    def expr(self, node: Any, event: tuple[str, dict[str, str]] | None = None) -> str:
        method: Callable[[Any, tuple[str, dict[str, str]] | None], str] = getattr(
            self, f"_{node.op}"
        )
        return method(node, event)

    def _alias(self) -> str:
        self.aliases += 1
        return f"s{self.aliases}"

    # leaves

    def _lit(self, node: A.Lit, event: Any) -> str:
        return _literal(node)

    def _field(self, node: A.FieldRef, event: Any) -> str:
        column = self.engine._fields.get(node.name)
        return "NULL" if column is None else f"a.{column}"

    def _event_field(self, node: A.EventFieldRef, event: Any) -> str:
        if event is None:
            return "NULL"
        alias, names = event
        column = names.get(node.name)
        return "NULL" if column is None else f"{alias}.{column}"

    # metrics

    def _aggregate(self, metric: str, fn: str, lo: int | None, hi: int) -> str:
        table = self.engine._metrics.get(metric)
        if table is None:
            return "CAST(NULL AS DOUBLE)"
        s = self._alias()
        low = "" if lo is None else f" AND {s}.day > {lo}"
        return (f"(SELECT {fn} FROM {table} {s} WHERE {s}.acc = a.acc"
                f" AND {s}.day <= {hi}{low})").replace("{s}", s)

    def _latest(self, node: A.Latest, event: Any) -> str:
        return self._aggregate(node.metric, "arg_max({s}.value, {s}.day)", None, self.asof)

    def _window(self, node: A.Window, event: Any) -> str:
        lo = self.asof - node.days
        if node.fn in ("min", "max"):
            return self._aggregate(node.metric, node.fn + "({s}.value)", lo, self.asof)
        return self._aggregate(node.metric, _sum_or_avg(node.fn, ""), lo, self.asof)

    def _change(self, node: A.Change, event: Any) -> str:
        if node.metric not in self.engine._metrics:
            return "CAST(NULL AS DOUBLE)"
        # Both windows in one pass over (asof - 2D, asof]; `r` and `b` are the averages.
        mid = self.asof - node.days
        recent = _sum_or_avg("avg", f" FILTER (WHERE {{s}}.day > {mid})")
        before = _sum_or_avg("avg", f" FILTER (WHERE {{s}}.day <= {mid})")
        averages = self._aggregate(node.metric, f"{recent} AS r, {before} AS b",
                                   self.asof - 2 * node.days, self.asof)
        return (f"(SELECT CASE WHEN isfinite(c) THEN c END FROM"
                f" (SELECT (r - b) / NULLIF(b, 0) AS c FROM {averages}))")

    # events

    def _occurrences(self, name: str, days: int | None) -> tuple[str, str, dict[str, str]]:
        table, names = self.engine._events[name]
        s = self._alias()
        low = "" if days is None else f" AND {s}.day > {self.asof - days}"
        return f"FROM {table} {s} WHERE {s}.acc = a.acc AND {s}.day <= {self.asof}{low}", s, names

    def _count(self, node: A.Count, event: Any) -> str:
        if node.event not in self.engine._events:
            return "CAST(0 AS DOUBLE)"
        source, _, _ = self._occurrences(node.event, node.days)
        return f"CAST(COALESCE((SELECT count(*) {source}), 0) AS DOUBLE)"

    def _exists(self, node: A.Exists, event: Any) -> str:
        if node.event not in self.engine._events:
            return "FALSE"
        source, s, names = self._occurrences(node.event, node.days)
        if node.where is None:
            return f"EXISTS (SELECT 1 {source})"
        # `AND acc IS NOT NULL` (always true) ties `w` to the occurrence row: an aggregate
        # over outer columns only would otherwise be computed by the outer query (SQL rule).
        w = f"({self.expr(node.where, (s, names))}) AND {s}.acc IS NOT NULL"
        return (f"(SELECT CASE WHEN COALESCE(bool_or({w}), FALSE) THEN TRUE"
                f" WHEN count(*) > count({w}) THEN NULL ELSE FALSE END {source})")

    # dates

    def _days_until(self, node: A.DaysUntil, event: Any) -> str:
        column = self.engine._fields.get(node.field)
        return "CAST(NULL AS DOUBLE)" if column is None else \
            f"CAST(a.{column} - {self.asof} AS DOUBLE)"

    def _days_since(self, node: A.DaysSince, event: Any) -> str:
        if node.event is not None:
            if node.event not in self.engine._events:
                return "CAST(NULL AS DOUBLE)"
            source, s, _ = self._occurrences(node.event, None)
            return f"CAST({self.asof} - (SELECT max({s}.day) {source}) AS DOUBLE)"
        column = self.engine._fields.get(node.field or "")
        return "CAST(NULL AS DOUBLE)" if column is None else \
            f"CAST({self.asof} - a.{column} AS DOUBLE)"

    # operators

    def _operand(self, node: Any, event: Any) -> str:
        """A value compared or looked up: NULL if it is not finite."""
        sql = self.expr(node, event)
        return _finite(sql) if _may_be_infinite(node) else sql

    def _cmp(self, node: A.Compare, event: Any) -> str:
        op = "=" if node.cmp == "==" else "<>" if node.cmp == "!=" else node.cmp
        return f"({self._operand(node.left, event)}) {op} ({self._operand(node.right, event)})"

    def _arith(self, node: A.Arith, event: Any) -> str:
        left, right = self.expr(node.left, event), self.expr(node.right, event)
        if node.fn == "/":
            # the divisor is NULL when 0 or not finite; one that cannot be non-finite is
            # a leaf, small enough for NULLIF to copy
            divisor = _finite(right, " AND v <> 0") if _may_be_infinite(node.right) else \
                f"NULLIF(({right}), 0)"
            return f"({left}) / {divisor}"
        return f"({left}) {node.fn} ({right})"

    def _neg(self, node: A.Neg, event: Any) -> str:
        return f"-({self.expr(node.arg, event)})"

    def _in(self, node: A.InList, event: Any) -> str:
        values = ", ".join(_literal(v) for v in node.values)
        arg = self._operand(node.arg, event)
        return f"({arg}) {'NOT IN' if node.negate else 'IN'} ({values})"

    def _and(self, node: A.And, event: Any) -> str:
        return " AND ".join(f"({self.expr(a, event)})" for a in node.args)

    def _or(self, node: A.Or, event: Any) -> str:
        return " OR ".join(f"({self.expr(a, event)})" for a in node.args)

    def _not(self, node: A.Not, event: Any) -> str:
        return f"NOT ({self.expr(node.arg, event)})"


def _sum_or_avg(fn: str, where: str) -> str:
    """A window's sum or average over the rows of `{s}` (restricted by `where`, a FILTER
    clause), NULL when it could overflow: the rule of `ir.window`, and the same IEEE
    operations (a plain sum in row order, then a division by the count)."""
    count = f"count(*){where}"
    total = f"sum({{s}}.value){where}"
    value = f"{total} / {count}" if fn == "avg" else total
    return f"CASE WHEN max(abs({{s}}.value)){where} * {count} <= {_BOUND} THEN {value} END"


def _may_be_infinite(node: Any) -> bool:
    """Whether the SQL of a number node may be inf or NaN: only arithmetic overflows
    (every other node is finite or NULL, data and literals being finite)."""
    while node.op == "neg":
        node = node.arg
    return bool(node.op == "arith")


def _finite(sql: str, test: str = "") -> str:
    """`sql`, or NULL where it is not finite (or fails `test` on `v`), with `sql` written
    once: a scalar subquery over one row, where CASE may read the value twice."""
    return f"(SELECT CASE WHEN isfinite(v){test} THEN v END FROM (SELECT ({sql}) AS v))"


def _literal(lit: A.Lit) -> str:
    """A literal as SQL: dates are day ordinals, text is quoted, numbers are doubles."""
    if lit.type == "date":
        return str(date.fromisoformat(str(lit.value)).toordinal())
    if lit.type == "bool":
        return "TRUE" if lit.value else "FALSE"
    if lit.type == "number":
        value = float(lit.value)
        if math.isnan(value):
            return "CAST('nan' AS DOUBLE)"
        if math.isinf(value):
            return f"CAST('{'-' if value < 0 else ''}inf' AS DOUBLE)"
        return f"CAST({value!r} AS DOUBLE)"
    return "'" + str(lit.value).replace("'", "''") + "'"


def _column(kind: str, values: Iterable[Any], n: int) -> Any:
    """One typed column with NULLs (masked arrays for numbers, dates and bools)."""
    if kind in ("text", "enum"):
        return np.array(list(values), dtype=object) if n else np.zeros(0, dtype=object)
    raw = list(values)
    mask = np.array([v is None for v in raw], dtype=bool)
    if kind == "number":
        data = np.array([0.0 if v is None else v for v in raw], dtype=np.float64)
    elif kind == "date":
        data = np.array([0 if v is None else v.toordinal() for v in raw], dtype=np.int64)
    else:
        data = np.array([False if v is None else v for v in raw], dtype=bool)
    return np.ma.masked_array(data, mask=mask)


def _int_dtype(values: Any) -> Any:
    return np.int64 if values.itemsize == 8 else np.int32


def _concat(parts: list[Any], dtype: Any) -> Any:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _infer_schema(dataset: Dataset) -> A.DataSchema:
    """Column types from the values, for hosts that pass a data set without its schema."""

    def kind(value: Any) -> FieldType:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, float | int):
            return "number"
        if isinstance(value, date):
            return "date"
        return "text"

    fields: dict[str, FieldType] = {}
    metrics: dict[str, None] = {}
    events: dict[str, dict[str, FieldType]] = {}
    for account in dataset.accounts.values():
        for name, value in account.fields.items():
            fields.setdefault(name, kind(value))
        metrics.update(dict.fromkeys(account.metrics))
        for name, series in account.events.items():
            found = events.setdefault(name, {})
            for row in series.fields:
                for field_name, value in row.items():
                    found.setdefault(field_name, kind(value))
    return A.DataSchema(
        account=tuple(A.AccountField(name=n, type=t) for n, t in fields.items()),
        metrics=tuple(A.Metric(name=n) for n in metrics),
        events=tuple(
            A.Event(name=n, fields=tuple(A.AccountField(name=f, type=t)
                                         for f, t in fs.items()))
            for n, fs in events.items()
        ),
    )
