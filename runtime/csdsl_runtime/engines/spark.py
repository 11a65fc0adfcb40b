"""The Spark engine (`csdsl run --engine spark`): the rules evaluated by Spark, on a
cluster or in local mode, where the metric and event rows are.

Spark reads `metrics` and `events` from the data directory (CSV or Parquet, the files
of RUNTIME.md) or from catalog tables, and checks their rows as a source does: a known
account, a declared metric or event, a `YYYY-MM-DD` date, a finite number, typed event
fields, no second value of a metric on a day. A bad row is named by its file (Spark
gives no line numbers) and its key values. Then the warehouse query
(`engines.warehouse`, Spark SQL written by sqlglot) runs on the cluster, and only each
condition's firing and unknown accounts come back (`engines.remote`).

The driver reads what a run acts on: the accounts, their team and the pools (the row
reader, every row checked); the metric and event rows never reach it. PySpark is an
optional extra (`pip install 'csdsl-runtime[spark]'`) and needs a Java runtime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csdsl_runtime import artifact as A
from csdsl_runtime.data import BadRow, Dataset
from csdsl_runtime.engines.remote import RemoteError, WarehouseEngine, exact_metrics
from csdsl_runtime.engines.warehouse import Tables
from csdsl_runtime.sources.builder import SourceError

__all__ = ["SparkSource", "spark_engine", "spark_session"]

_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
BAD_ROWS_SHOWN = 1000
"""Bad rows brought back to the driver to be listed (all are counted)."""


def spark_session(master: str = "local[*]", conf: Mapping[str, str] | None = None) -> Any:
    """A Spark session for the runs of this process (`getOrCreate`: one per process).
    `conf`: Spark settings passed through (`spark.executor.memory`...)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise RuntimeError("the Spark engine needs PySpark: pip install "
                           "'csdsl-runtime[spark]' (and a Java runtime)") from None
    builder = SparkSession.builder.master(master).appName("csdsl").config(
        "spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass(slots=True)
class SparkSource:
    """A data set's metric and event rows as Spark temporary views, checked."""

    session: Any
    schema: A.DataSchema
    tables: Tables
    location: str = ""
    bad_rows: list[BadRow] = field(default_factory=list)
    bad_count: int = 0

    @classmethod
    def read(cls, session: Any, location: str | Path, schema: A.DataSchema,
             skip_bad: bool) -> SparkSource:
        """Views over a data directory's `accounts`, `metrics` and `events` files (or,
        for a name that is no directory, the catalog tables `NAME.accounts`...); bad
        metric and event rows listed, and left out of the views with `skip_bad`. (The
        driver's row reader checks the accounts.)"""
        path = Path(location)
        me = cls(session, schema, Tables("csdsl_src_accounts", "csdsl_src_metrics",
                                         "csdsl_src_events"), str(location))
        for table in ("accounts", "metrics", "events"):
            frame = me._frame(path, str(location), table)
            if frame is None:
                if table == "accounts":
                    raise SourceError(f"{location}: no accounts table")
                me._empty(table)
                continue
            if table == "accounts":
                frame.createOrReplaceTempView("csdsl_src_accounts")
                continue
            from pyspark.sql.functions import input_file_name

            columns = list(frame.columns)
            frame.withColumn("csdsl_file", input_file_name()).createOrReplaceTempView(
                f"csdsl_raw_{table}")  # named before any join: Spark knows it only here
            me._check(table, columns, skip_bad)
        return me

    def read_accounts(self) -> Dataset:
        """The catalog's accounts, team and pools through the row reader (a data
        directory's files are read by the driver as files)."""
        from csdsl_runtime.sources.builder import DatasetBuilder
        from csdsl_runtime.sources.sql import columns

        builder = DatasetBuilder(self.schema)
        for table in ("accounts", "team", "pools"):
            if table != "accounts" and not self.session.catalog.tableExists(
                    f"{self.location}.{table}"):
                continue
            frame = self.session.table(f"{self.location}.{table}")
            label = f"{self.location}.{table}"
            names = columns(label, table, list(frame.columns))
            rows = ((i + 1, ["" if v is None else str(v) for v in row])
                    for i, row in enumerate(frame.select(*names).toLocalIterator()))
            if table == "accounts":
                builder.accounts(label, names, rows)
            else:
                getattr(builder, table)(label, rows)
        return builder.dataset

    def _frame(self, path: Path, location: str, table: str) -> Any:
        """A table's DataFrame: its CSV file (every column text, as the row reader sees
        it) or Parquet file in a directory, else the catalog table; None if absent."""
        reader = self.session.read
        if not path.is_dir():
            return self.session.table(f"{location}.{table}")
        csv, parquet = path / f"{table}.csv", path / f"{table}.parquet"
        if csv.is_file():
            return reader.option("header", True).option("inferSchema", False).csv(str(csv))
        if parquet.is_file():
            return reader.parquet(str(parquet))
        return None

    def _empty(self, table: str) -> None:
        """A view of no rows for a table the data set does not have."""
        columns = ["account_id STRING", f"{table[:-1]} STRING", "`date` STRING"]
        if table == "metrics":
            columns.append("value STRING")
        else:
            names = dict.fromkeys(f.name for e in self.schema.events for f in e.fields)
            columns += [f"`{name}` STRING" for name in names]
        self.session.createDataFrame([], ", ".join(columns)).createOrReplaceTempView(
            f"csdsl_src_{table}")

    def _check(self, table: str, columns: list[str], skip_bad: bool) -> None:
        """`csdsl_src_<table>`: the raw rows with a `csdsl_bad` reason, the bad ones
        counted and the first listed."""
        kind = table[:-1]  # metric, event
        for needed in ("account_id", kind, "date", *(["value"] if table == "metrics" else [])):
            if needed not in columns:
                raise SourceError(f"the {table} data have no column `{needed}`")
        checks = [
            ("k.id IS NULL", "unknown account"),
            (f"CAST(r.`date` AS STRING) NOT RLIKE '{_DATE}' OR "
             "try_to_date(CAST(r.`date` AS STRING), 'yyyy-MM-dd') IS NULL", "not a date"),
        ]
        if table == "metrics":
            names = [m.name for m in self.schema.metrics]
            checks.insert(1, (_not_in("r.metric", names), "undeclared metric"))
            checks.append((f"CAST(r.value AS STRING) NOT RLIKE '{_NUMBER}' OR NOT "
                           "(abs(try_cast(CAST(r.value AS STRING) AS DOUBLE)) <= "
                           "1.7976931348623157e308)", "not a finite number"))
            checks.append(("count(*) OVER (PARTITION BY r.account_id, r.metric, "
                           "CAST(r.`date` AS STRING)) > 1", "a second value on that day"))
        else:
            names = [e.name for e in self.schema.events]
            checks.insert(1, (_not_in("r.event", names), "undeclared event"))
            for event in self.schema.events:
                for f in event.fields:
                    if f.name not in columns:
                        continue
                    test = _field_check(f"CAST(r.`{f.name}` AS STRING)", f.type)
                    if test:
                        checks.append((f"r.event = '{_quoted(event.name)}' AND {test}",
                                       f"`{f.name}` is not a {f.type}"))
        reason = "CASE " + " ".join(f"WHEN {test} THEN '{why}'" for test, why in checks) + \
            " END"
        self.session.sql(
            f"SELECT r.*, {reason} AS csdsl_bad "
            f"FROM csdsl_raw_{table} r LEFT JOIN (SELECT DISTINCT CAST(id AS STRING) AS id "
            "FROM csdsl_src_accounts) k ON k.id = CAST(r.account_id AS STRING)"
        ).createOrReplaceTempView(f"csdsl_checked_{table}")
        bad = self.session.sql(
            f"SELECT csdsl_file, CAST(account_id AS STRING), CAST({kind} AS STRING), "
            f"CAST(`date` AS STRING), csdsl_bad FROM csdsl_checked_{table} "
            f"WHERE csdsl_bad IS NOT NULL ORDER BY 1, 2, 3, 4 LIMIT {BAD_ROWS_SHOWN}"
        ).collect()
        if bad:
            self.bad_count += int(self.session.sql(
                f"SELECT count(*) FROM csdsl_checked_{table} WHERE csdsl_bad IS NOT NULL"
            ).collect()[0][0])
        for file, account, name, day, why in bad:
            self.bad_rows.append(BadRow(
                str(file or table), 0,
                f"account `{account}`, {kind} `{name}`, date `{day}`: {why}"))
        if bad and skip_bad:
            frame = self.session.sql(
                f"SELECT * FROM csdsl_checked_{table} WHERE csdsl_bad IS NULL")
        else:  # nothing to leave out (or the run stops at them): the rows as read, so
            # that the query does not repeat the checks' join and window
            frame = self.session.table(f"csdsl_raw_{table}")
        frame.createOrReplaceTempView(f"csdsl_src_{table}")


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _not_in(column: str, names: Sequence[str]) -> str:
    if not names:
        return "TRUE"
    return f"{column} IS NULL OR {column} NOT IN ({', '.join(repr_sql(n) for n in names)})"


def repr_sql(text: str) -> str:
    """A Spark SQL string literal."""
    return f"'{_quoted(text)}'"


def _field_check(value: str, kind: str) -> str:
    """A test that an event field's text is not of its type (empty is missing: fine)."""
    present = f"{value} IS NOT NULL AND {value} <> ''"
    if kind == "number":
        return f"{present} AND {value} NOT RLIKE '{_NUMBER}'"
    if kind == "date":
        return f"{present} AND ({value} NOT RLIKE '{_DATE}' OR try_to_date({value}, " \
               "'yyyy-MM-dd') IS NULL)"
    if kind == "bool":
        return f"{present} AND lower({value}) NOT IN ('true', 'false')"
    return ""


def spark_engine(session: Any, source: SparkSource, ids: Sequence[str]) -> WarehouseEngine:
    """The engine over a checked source's views, for the driver's accounts `ids`."""

    def execute(query: str) -> list[tuple[Any, ...]]:
        from pyspark.errors import PySparkException

        try:
            return [tuple(row) for row in session.sql(query).collect()]
        except PySparkException as exc:
            raise RemoteError(f"Spark: {str(exc).splitlines()[0]}") from None

    exact = exact_metrics(execute, "spark", source.schema, source.tables.metrics)
    return WarehouseEngine("spark", "spark", execute, source.schema, ids, source.tables,
                           exact)
