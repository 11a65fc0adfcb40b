"""An engine that evaluates where the data live: Spark, or a PostgreSQL database.

It sends the warehouse query (`engines.warehouse`: the SQL engine's translation, in
the system's dialect) and brings back, per condition, only the accounts where it is
true and those where it is unknown, as two arrays (`positions_query`): the firing and
closing sets, never a row per account and rule. Everything after the evaluation (the
store, the CTAs, their tasks and owners) is the runtime's, as with every engine.

Sums: the reference adds a window's values in day order. Spark cannot order an
aggregate's input, so the engine first asks which metrics are exact in any order
(whole numbers small enough, `frame.exact_sum`, one grouped query): their sums are
exact everywhere; another metric's sums are added in Spark's order, and `notes` says
so. PostgreSQL sums in day order, like DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlglot import exp

from csdsl_runtime import artifact as A
from csdsl_runtime.engines import TRUTH_OF_CODE, Results
from csdsl_runtime.engines import sql as S
from csdsl_runtime.engines.warehouse import Tables, positions_query, rule_query

__all__ = ["RemoteError", "WarehouseEngine", "exact_metrics"]

class RemoteError(Exception):
    """The system refused or failed the query: said in one line, as a data error."""


Execute = Callable[[str], Iterable[Sequence[Any]]]
"""Runs one query in the system, its rows as sequences."""


class WarehouseEngine:
    """Evaluates conditions with one query in another SQL system, for the accounts
    `ids` (the runtime's order: results come back by account id and are placed)."""

    def __init__(self, name: str, dialect: str, execute: Execute, schema: A.DataSchema,
                 ids: Sequence[str], tables: Tables, exact: Collection[str] = (),
                 close: Callable[[], None] | None = None) -> None:
        self.name = name
        self._close = close
        self.dialect = dialect
        self._execute = execute
        self.schema = schema
        self.ids = list(ids)
        self._index = {account: i for i, account in enumerate(self.ids)}
        self.tables = tables
        self.exact = frozenset(exact)
        self.notes: list[str] = []
        self.last_sql = ""

    def close(self) -> None:
        """Let go of the system (the Spark session, the database connection)."""
        if self._close is not None:
            self._close()
            self._close = None

    def evaluate_columns(self, conditions: Mapping[str, Any], asof: date
                         ) -> dict[str, npt.NDArray[np.int8]]:
        """A truth column per condition, aligned with `ids`: 1, 0, -1 for unknown."""
        out = {key: np.zeros(len(self.ids), dtype=np.int8) for key in conditions}
        if not conditions:
            return out
        query = rule_query(self.schema, conditions, self.dialect, self.tables, asof,
                           self.exact)
        self.notes = query.notes
        self.last_sql = S._sql(positions_query(query), self.dialect)
        for key, fired, unknown in self._execute(self.last_sql):
            column = out[str(key)]
            for accounts, code in ((unknown, -1), (fired, 1)):
                at = [i for i in map(self._index.get, accounts or ()) if i is not None]
                column[np.asarray(at, dtype=np.int64)] = code
        return out

    def evaluate(self, conditions: Mapping[str, Any], asof: date,
                 accounts: Mapping[str, Collection[str]] | None = None) -> Results:
        results: Results = {}
        for key, column in self.evaluate_columns(conditions, asof).items():
            wanted = None if accounts is None else accounts.get(key)
            pairs = zip(self.ids, column.tolist(), strict=True)
            results[key] = {a: TRUTH_OF_CODE[v] for a, v in pairs
                            if wanted is None or a in wanted}
        return results


def exact_metrics(execute: Execute, dialect: str, schema: A.DataSchema, metrics: str
                  ) -> frozenset[str]:
    """The declared metrics whose sums are exact in any order in the table `metrics`
    (every value a whole number, and small enough for the span of days)."""
    from csdsl_runtime.frame import exact_sum

    value = exp.cast(exp.column("value", quoted=True), "DOUBLE", copy=False)
    day = exp.cast(exp.column("date", quoted=True), "DATE", copy=False)
    query = exp.select(
        exp.column("metric", quoted=True),
        exp.LogicalAnd(this=exp.EQ(this=value, expression=exp.Floor(this=value.copy()))),
        exp.Max(this=exp.Abs(this=value.copy())),
        exp.DateDiff(this=exp.Max(this=day), expression=exp.Min(this=day.copy()),
                     unit=exp.var("DAY")), copy=False).from_(
        exp.to_table(metrics), copy=False).group_by(exp.column("metric", quoted=True),
                                                    copy=False)
    declared = {m.name for m in schema.metrics}
    found = set()
    for name, integral, largest, span in execute(S._sql(query, dialect)):
        if name in declared and integral is not None and largest is not None and exact_sum(
                bool(integral), float(largest), int(span or 0) + 1):
            found.add(str(name))
    return frozenset(found)
