"""The PostgreSQL engine (`csdsl run --engine postgres`): the rules evaluated inside the
database that holds the account data, for hosts whose data already live there.

The source is the tables of a schema, in the layout of a data directory: `accounts`,
`team`, `metrics`, `events` and optional `pools`, the dates as `date` (or ISO text) and
the numbers as numbers (or decimal text). The warehouse query (`engines.warehouse`,
sqlglot's `postgres` dialect) runs there and only each condition's firing and unknown
accounts come back (`engines.remote`). The metric and event rows are checked in the
database (a known account, a declared name, a finite number, one value a day) and a bad
one is named by its table and key values; the accounts, team and pools, which a run
acts on, are read by the row reader like the tables of an SQLite file, every row
checked. The store can be the same database (`--store postgresql://...`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlglot import exp

from csdsl_runtime import artifact as A
from csdsl_runtime.data import BadRow, Dataset
from csdsl_runtime.engines import sql as S
from csdsl_runtime.engines.remote import RemoteError, WarehouseEngine, exact_metrics
from csdsl_runtime.engines.warehouse import Tables
from csdsl_runtime.sources.builder import DatasetBuilder, Located, SourceError
from csdsl_runtime.sources.sql import _ORDER, _texts, columns

__all__ = ["PostgresSource", "postgres_engine"]

BAD_ROWS_SHOWN = 1000


class PostgresSource:
    """The data tables of one schema of a PostgreSQL database."""

    def __init__(self, url: str, schema_name: str, schema: A.DataSchema) -> None:
        try:
            import psycopg
        except ImportError:
            raise SourceError("the PostgreSQL engine needs psycopg: pip install "
                              "'csdsl-runtime[postgres]'") from None
        try:
            self.conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise SourceError(f"cannot connect to the data at `{url}`: {exc}") from None
        self.url = url
        self.name = schema_name
        self.schema = schema
        self.tables = Tables(*(self.qualified(t) for t in ("accounts", "metrics", "events")))
        self.bad_rows: list[BadRow] = []
        self.bad_count = 0

    def qualified(self, table: str) -> str:
        return exp.to_table(f"{self.name}.{table}", quoted=True).sql("postgres")

    def present(self) -> set[str]:
        return {row[0] for row in self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (self.name,)).fetchall()}

    def _is_table(self, table: str) -> bool:
        row = self.conn.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = %s", (self.name, table)).fetchone()
        return row is not None and row[0] == "BASE TABLE"

    def execute(self, query: str) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            return [tuple(row) for row in self.conn.execute(query).fetchall()]
        except psycopg.errors.NumericValueOutOfRange as exc:
            raise RemoteError(
                "PostgreSQL stopped at a double arithmetic out of range (it raises where "
                "csdsl's reference reads infinity or 0): the data or the spec's numbers "
                f"are near ±1e308 or ±1e-308; evaluate with DuckDB ({exc})") from None
        except psycopg.Error as exc:
            raise RemoteError(f"PostgreSQL: {exc}") from None

    def read_accounts(self) -> Dataset:
        """The accounts, their team and the pools, through the row reader."""
        tables = self.present()
        if "accounts" not in tables:
            raise SourceError(f"{self.url}: no table `{self.name}.accounts`")
        builder = DatasetBuilder(self.schema)
        for table in ("accounts", "team", "pools"):
            if table not in tables:
                continue
            label = f"{self.name}.{table}"
            cursor = self.conn.execute(f"SELECT * FROM {self.qualified(table)} LIMIT 0")
            header = [d.name for d in cursor.description or ()]
            names = columns(label, table, header)
            rows = self._rows(table, names)
            if table == "accounts":
                builder.accounts(label, names, rows)
            else:
                getattr(builder, table)(label, rows)
        return builder.dataset

    def _rows(self, table: str, names: Sequence[str]) -> Iterator[Located]:
        select = ", ".join(exp.to_identifier(n, quoted=True).sql("postgres") for n in names)
        # a server-side cursor (in a transaction): the rows in batches, never all at once
        with self.conn.transaction(), self.conn.cursor(name=f"csdsl_{table}") as cursor:
            # storage order, as a file's rows (a pool's users take turns in it); a view
            # has none: its rows by key
            order = "ctid" if self._is_table(table) else ", ".join(
                str(i + 1) for i in range(len(_ORDER[table])))
            cursor.execute(f"SELECT {select} FROM {self.qualified(table)} ORDER BY {order}")
            number = 0
            while batch := cursor.fetchmany(10_000):
                for row in batch:  # dates and numbers as the builder takes a database's
                    number += 1
                    yield number, _texts(row)

    def check(self, skip_bad: bool = False) -> None:
        """Count and list the bad metric and event rows (the first `BAD_ROWS_SHOWN`);
        with `skip_bad`, the query then reads temporary views without them."""
        present = self.present()
        for table, kind, names in (("metrics", "metric", [m.name for m in self.schema.metrics]),
                                   ("events", "event", [e.name for e in self.schema.events])):
            if table not in present:
                continue
            query = _checked(self.qualified(table), self.qualified("accounts"), kind, names,
                             table == "metrics")
            found = self.execute(S._sql(query, "postgres"))
            for account, name, day, why, total in found[:BAD_ROWS_SHOWN]:
                self.bad_count = int(total)
                self.bad_rows.append(BadRow(f"{self.name}.{table}", 0,
                                            f"account `{account}`, {kind} `{name}`, date "
                                            f"`{day}`: {why}"))
            if skip_bad and found:
                cursor = self.conn.execute(f"SELECT * FROM {self.qualified(table)} LIMIT 0")
                good = _good(self.qualified(table), self.qualified("accounts"), kind, names,
                             table == "metrics", [d.name for d in cursor.description or ()])
                self.conn.execute(f"CREATE OR REPLACE TEMP VIEW csdsl_src_{table} AS "
                                  f"{S._sql(good, 'postgres')}")
                self.tables = Tables(**{**{f: getattr(self.tables, f) for f in (
                    "accounts", "metrics", "events")}, table: f"csdsl_src_{table}"})


def _checked(table: str, accounts: str, kind: str, names: Sequence[str], metric: bool
             ) -> exp.Select:
    """The bad rows of a metric or event table, with the count of all of them."""
    rows = _reasons(table, accounts, kind, names, metric)
    total = exp.Window(this=exp.Count(this=exp.Star()))
    return exp.select("account_id", "name", "day", "why", exp.alias_(total, "total")).from_(
        rows.subquery("c")).where(exp.Not(this=exp.Is(this=exp.column("why"),
                                                      expression=exp.null()))).order_by(
        "account_id", "name", "day").limit(BAD_ROWS_SHOWN)


def _good(table: str, accounts: str, kind: str, names: Sequence[str], metric: bool,
          columns: Sequence[str]) -> exp.Select:
    """The table's rows that no check refuses, with the table's own `columns`."""
    rows = _reasons(table, accounts, kind, names, metric, everything=True)
    return exp.select(*(exp.column(c, "c", quoted=True) for c in columns)).from_(
        rows.subquery("c")).where(exp.Is(this=exp.column("why"), expression=exp.null()))


def _reasons(table: str, accounts: str, kind: str, names: Sequence[str], metric: bool,
             everything: bool = False) -> exp.Select:
    """Each row's keys (or, with `everything`, all its columns) and why it is bad (NULL
    for a good row)."""
    r_account = exp.column("account_id", "r", quoted=True)
    r_name = exp.column(kind, "r", quoted=True)
    r_date = exp.column("date", "r", quoted=True)
    # a join, not `NOT IN (SELECT ...)`: PostgreSQL hashes that subquery only when it
    # fits in work_mem, and else scans a million ids for every row
    known = exp.select(exp.alias_(exp.cast(exp.column("id", quoted=True), "VARCHAR"), "id")
                       ).distinct().from_(exp.to_table(accounts))
    checks: list[tuple[exp.Expr, str]] = [
        (exp.Is(this=exp.column("id", "k"), expression=exp.null()), "unknown account"),
        (exp.not_(exp.In(this=r_name.copy(), expressions=[exp.Literal.string(n)
                                                          for n in names]))
         if names else exp.true(), f"undeclared {kind}"),
        (exp.Is(this=r_date.copy(), expression=exp.null()), "not a date"),
    ]
    if metric:
        value = exp.cast(exp.column("value", "r", quoted=True), "DOUBLE")
        checks.append((exp.not_(exp.LTE(this=exp.Abs(this=value), expression=S._num(
            1.7976931348623157e308))), "not a finite number"))
        twice = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[
            r_account.copy(), r_name.copy(), r_date.copy()])
        checks.append((exp.GT(this=twice, expression=S._int(1)), "a second value on that day"))
    reason = exp.case()
    for test, why in checks:
        reason = reason.when(exp.Coalesce(this=test, expressions=[exp.true()]),
                             exp.Literal.string(why))
    keys: list[exp.Expr] = [exp.Column(this=exp.Star(), table=exp.to_identifier("r"))] \
        if everything else [exp.alias_(r_account.copy(), "account_id"),
                            exp.alias_(r_name.copy(), "name"),
                            exp.alias_(r_date.copy(), "day")]
    return exp.select(*keys, exp.alias_(reason, "why")).from_(exp.to_table(table).as_("r")
                                                              ).join(
        known.subquery("k"), on=exp.EQ(this=exp.column("id", "k"), expression=exp.cast(
            r_account.copy(), "VARCHAR")), join_type="left")


def postgres_engine(source: PostgresSource, ids: Sequence[str]) -> WarehouseEngine:
    """The engine over a source's tables, for the accounts `ids` a run acts on."""
    exact = exact_metrics(source.execute, "postgres", source.schema, source.tables.metrics)
    return WarehouseEngine("postgres", "postgres", source.execute, source.schema, ids,
                           source.tables, exact, close=source.conn.close)
