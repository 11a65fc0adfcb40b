"""The columnar data plane: a data set as DuckDB tables, read without a Python object per row.

A `Frame` holds what the SQL engine evaluates: `accounts(acc, id, f0..)` (one row per
account, `acc` its index in source order), `m<i>(acc, day, value)` per declared metric,
`e<i>(acc, day, f0..)` per declared event and `team(acc, role, user)`, with days as
proleptic ordinals. `read_frame` builds them from a CSV directory or a Parquet directory
(`accounts.parquet`, `metrics.parquet`, `events.parquet`, `team.parquet`, optional
`pools.parquet`) with DuckDB's readers and validates them with set-based queries.

Validation stays exactly as strict as the row-by-row reader, by construction: the
columnar path accepts a data set only when every row is plainly valid (known
accounts, declared names, `YYYY-MM-DD` dates, decimal numbers, no surrounding
whitespace, no day twice...), a subset of what the row reader accepts, and then builds
the very same values. Anything else (a bad row, an odd spelling, a CSV quirk, a
column type it does not know) sends the data set through the row reader
(`sources.read_dataset`), so that every bad row keeps its file, line and reason, and
the frame is built from that data set. Bad data is the exception; it pays for its
report. A DuckDB file's tables are read in place, like Parquet files. An SQLite file
takes the row reader: DuckDB reads SQLite only through its `sqlite` extension, which
it downloads on first use (this project installs nothing at run time).

A frame also serves the rest of a run: `accounts` is a mapping from id to
`AccountData` (fields and team, no series) built from the columns when first read.
"""

from __future__ import annotations

import csv
import re
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from sqlglot import exp

from csdsl_runtime import artifact as A
from csdsl_runtime.data import AccountData, BadRow, Dataset, EventSeries, MetricSeries, Value
from csdsl_runtime.sources.builder import FIXED_COLUMNS, DatasetBuilder, SourceError
from csdsl_runtime.sources.sql import columns as sql_columns
from csdsl_runtime.sources.sql import is_sqlite

_SQL_TYPES = {"number": "DOUBLE", "text": "VARCHAR", "enum": "VARCHAR", "date": "INTEGER",
              "bool": "BOOLEAN"}
_ORDINAL_OF_0001 = 1  # date(1, 1, 1).toordinal()
_NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TABLES = ("accounts", "team", "metrics", "events", "pools")


_WHITESPACE = (0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
               *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)
"""Every character `str.strip()` removes (`str.isspace`), written out: finding them by
testing all 1.1M code points cost 0.3 s of every start (a test holds the two equal)."""
_SPACE = "[" + "".join(f"\\x{{{c:x}}}" for c in _WHITESPACE) + "]"
"""An RE2 class of those characters."""
_PADDED = f"^{_SPACE}|{_SPACE}$"
"""A value with whitespace at either end: the row reader would strip it; declined."""


class Frame:
    """A validated data set as DuckDB tables on one connection (see the module doc)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: A.DataSchema, ids: list[str],
                 bad_rows: list[BadRow], pools: dict[str, list[str]],
                 dataset: Dataset | None = None,
                 scratch: tempfile.TemporaryDirectory[str] | None = None) -> None:
        self.con = con
        self._scratch = scratch
        self.schema = schema
        self.ids = ids
        self.bad_rows = bad_rows
        self.pools = pools
        self.columnar = dataset is None
        """Whether the files were read by the columnar path (not the row reader)."""
        self.fields = {f.name: f"f{i}" for i, f in enumerate(schema.account)}
        self.metrics = {m.name: f"m{i}" for i, m in enumerate(schema.metrics)}
        self.events = {e.name: (f"e{i}", {f.name: f"f{j}" for j, f in enumerate(e.fields)})
                       for i, e in enumerate(schema.events)}
        self.exact_sums: frozenset[str] = frozenset()
        """Metric tables whose window sums are exact whatever the order of addition
        (`exact_sum`), so that the engine may add them in any order."""
        self._accounts: Mapping[str, AccountData] | None = (
            dataset.accounts if dataset is not None else None)

    @property
    def accounts(self) -> Mapping[str, AccountData]:
        """Account id -> its fields and team (no metric or event series)."""
        if self._accounts is None:
            self._accounts = _Accounts(self)
        return self._accounts

    def with_series(self, account_ids: Iterable[str], metrics: Iterable[str] | None = None,
                    events: Iterable[str] | None = None) -> dict[str, AccountData]:
        """The full `AccountData` (fields, team, metric and event series) of some accounts:
        `series_chunks` in one chunk."""
        out: dict[str, AccountData] = {}
        for chunk in self.series_chunks(account_ids, metrics, events, chunk=1 << 62):
            out.update(chunk)
        return out

    def series_chunks(self, account_ids: Iterable[str], metrics: Iterable[str] | None = None,
                      events: Iterable[str] | None = None, chunk: int = 20_000
                      ) -> Iterator[dict[str, AccountData]]:
        """The full `AccountData` of some accounts, `chunk` accounts at a time, in account
        order: what explaining the decisions of a run needs, for the accounts it opened
        CTAs for only. Each metric and event table is scanned once, into a temporary table
        sorted by account that each chunk then reads by range (DuckDB skips the row
        groups outside it), so memory is bounded by the chunk, not by the accounts asked
        for. `metrics` and `events` limit the series read (all by default)."""
        wanted = list(dict.fromkeys(account_ids))
        if not self.columnar:
            for start in range(0, len(wanted), chunk):
                yield {a: self.accounts[a] for a in wanted[start:start + chunk]}
            return
        if not wanted:
            return
        accounts = self.accounts
        assert isinstance(accounts, _Accounts)
        by_position = {accounts.index[a]: a for a in wanted}
        positions = sorted(by_position)
        kinds = {e.name: e.fields for e in self.schema.events}
        staged: list[tuple[str, str, str, Any]] = []  # (kind, name, staged file, fields)
        con = self.con
        # Staged as Parquet files, not temporary tables: DuckDB keeps an in-memory
        # database's tables in memory (2.9 GB for the series of 589k accounts), while
        # COPY streams, and a range read skips the row groups outside it.
        scratch = tempfile.TemporaryDirectory(prefix="csdsl-series-")
        con.execute("CREATE OR REPLACE TEMP TABLE csdsl_wanted AS "
                    "SELECT unnest(?::BIGINT[]) AS acc", [positions])

        def stage(kind: str, name: str, select: str, table: str, fields: Any) -> None:
            path = exp.convert(str(Path(scratch.name) / f"s{len(staged)}.parquet")).sql("duckdb")
            con.execute(f"COPY (SELECT acc, day{select} FROM {table} WHERE acc IN (SELECT acc "
                        f"FROM csdsl_wanted) ORDER BY acc, day) TO {path} (FORMAT parquet)")
            staged.append((kind, name, f"read_parquet({path})", fields))

        try:
            for name, table in self.metrics.items():
                if metrics is None or name in set(metrics):
                    stage("metric", name, ", value", table, None)
            for name, (table, columns) in self.events.items():
                if events is None or name in set(events):
                    fields = kinds[name]
                    stage("event", name, "".join(f", {columns[f.name]}" for f in fields),
                          table, fields)
            con.execute("DROP TABLE IF EXISTS csdsl_wanted")
            for start in range(0, len(positions), chunk):
                part = positions[start:start + chunk]
                out = {by_position[i]: AccountData(by_position[i],
                                                   dict(accounts[by_position[i]].fields),
                                                   dict(accounts[by_position[i]].team))
                       for i in part}
                named = {i: out[by_position[i]] for i in part}
                for kind, name, temp, fields in staged:
                    query = f"SELECT * FROM {temp} WHERE acc BETWEEN ? AND ?"
                    if kind == "metric":
                        _metric_series(named, name, con.execute(query, [part[0], part[-1]]
                                                                ).fetchnumpy())
                    else:
                        _event_series(named, name, fields,
                                      con.execute(query, [part[0], part[-1]]).fetchall())
                yield out
        finally:
            con.execute("DROP TABLE IF EXISTS csdsl_wanted")
            scratch.cleanup()

    def close(self) -> None:
        """Close the connection and remove the scratch directory (staged files, spills)."""
        self.con.close()
        if self._scratch is not None:
            self._scratch.cleanup()

    @classmethod
    def from_dataset(cls, dataset: Dataset, schema: A.DataSchema,
                     con: duckdb.DuckDBPyConnection | None = None) -> Frame:
        """The tables of an in-memory data set (via NumPy arrays, no row-by-row inserts)."""
        frame = cls(con or connect(), schema, list(dataset.accounts),
                    dataset.bad_rows, dataset.pools, dataset)
        _load_dataset(frame, dataset)
        return frame


# ---------------------------------------------------------------- reading


def connect(threads: int | None = None, memory_limit: str | None = None,
            temp_directory: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for a frame: rows kept in insertion order (ids in source
    order), no progress bar (DuckDB prints it on standard output, into `--format json`).

    `memory_limit` bounds DuckDB's buffers (default: `DEFAULT_MEMORY_LIMIT`); what does
    not fit spills to `temp_directory` (a frame's own scratch directory), tables too."""
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = true")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET memory_limit = ?", [memory_limit or DEFAULT_MEMORY_LIMIT])
    if temp_directory:
        con.execute("SET temp_directory = ?", [temp_directory])
    return con


DEFAULT_MEMORY_LIMIT = "512MB"
"""DuckDB's buffer limit when the host sets none. A frame holds one row per account
(fields, features) and streams the metric rows, so a million accounts fit well under
it; larger intermediates spill to the scratch directory instead of growing the
process (DuckDB's own default is 80% of the machine's memory)."""


_EXACT = float(2 ** 53)


def exact_sum(integral: bool, largest: float, days: int) -> bool:
    """Whether every window sum of a metric is exact in IEEE arithmetic in any order:
    when its values are integers and `days` (the span of days of its rows, a bound on a
    window's count, since an account has one value per day) times the largest |value|
    is at most 2**53, every partial sum is an integer that a double holds exactly.
    Count metrics (logins, active users, tickets) are such; `sum` then needs no
    `ORDER BY day`, which costs most of an evaluation."""
    return integral and largest * days <= _EXACT


def read_frame(location: str | Path, schema: A.DataSchema, *, threads: int | None = None,
               memory_limit: str | None = None) -> Frame:
    """Read and validate a data set into a frame: columnar when every row is plainly
    valid, else through the row reader (the same bad rows, the same values)."""
    from csdsl_runtime.sources import read_dataset

    scratch = tempfile.TemporaryDirectory(prefix="csdsl-frame-")
    con = connect(threads, memory_limit, scratch.name)
    try:
        path = Path(location)
        frame = None
        if path.is_dir():
            if (path / "accounts.csv").is_file():
                frame = _Columnar(con, path, "csv", schema, scratch).read()
            elif (path / "accounts.parquet").is_file():
                frame = _Columnar(con, path, "parquet", schema, scratch).read()
        elif path.is_file() and not is_sqlite(path):
            frame = _Columnar(con, path, "duckdb", schema, scratch).read()
        if frame is not None:
            return frame
        con.close()  # whatever the columnar attempt left behind goes with it
        con = connect(threads, memory_limit, scratch.name)
        dataset = read_dataset(path, schema)
        frame = Frame.from_dataset(dataset, schema, con)
        frame._scratch = scratch
        return frame
    except BaseException:
        con.close()
        scratch.cleanup()
        raise


def read_parquet_dir(directory: Path, schema: A.DataSchema,
                     con: duckdb.DuckDBPyConnection | None = None,
                     tables: Sequence[str] | None = None) -> Dataset:
    """The row reader for a Parquet directory: every row validated as a CSV row is, a
    bad one located as `file:row` (rows counted from 1). `tables`: only those."""
    own = con is None
    con = con or connect()
    try:
        builder = DatasetBuilder(schema)
        for table in _TABLES:
            path = directory / f"{table}.parquet"
            if not path.is_file() or (tables is not None and table not in tables):
                continue
            label = str(path)
            try:
                cursor = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
            except duckdb.Error as exc:
                raise SourceError(f"{label}: not a Parquet file ({exc})") from None
            builder.table(label, table, [str(d[0]) for d in cursor.description],
                          _located(cursor))
        return builder.dataset
    finally:
        if own:
            con.close()




def _located(cursor: duckdb.DuckDBPyConnection) -> Iterator[tuple[int, list[Any]]]:
    number = 0
    while batch := cursor.fetchmany(10_000):
        for row in batch:
            number += 1
            values = ["" if v is None else v for v in row]
            yield number, values


class _Declined(Exception):
    """The columnar path does not take this data set: the row reader will."""


class _Columnar:
    """One attempt at the columnar path over a CSV or Parquet directory.

    Each file is scanned once: the scan types every value, maps account ids to their
    index and flags each row that is not plainly valid (`bad`); one flagged row
    declines the data set. Only typed columns are kept."""

    def __init__(self, con: duckdb.DuckDBPyConnection, directory: Path, kind: str,
                 schema: A.DataSchema, scratch: tempfile.TemporaryDirectory[str]) -> None:
        self.con = con
        self.directory = directory
        self.kind = kind
        self.schema = schema
        self.scratch = scratch
        self.types: dict[str, str] = {}  # of the file being scanned: column -> type
        self.params: dict[str, Any] = {}  # of the query being built: name -> value
        self.inline = False  # values as literals (a view's SQL cannot hold parameters)
        self.relation = ""
        self.shape: list[str] = []  # tests that a row has not the header's fields

    def param(self, value: Any) -> str:
        """A named parameter of the query being built (values never enter SQL text by
        pasting), or, for a view, the value as a literal written by sqlglot."""
        if self.inline:
            return str(exp.convert(value).sql(dialect="duckdb"))
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def read(self) -> Frame | None:
        """The frame, or None to leave the data set to the row reader. Running out of
        memory is not bad data: the row reader would need ten times as much, so it is
        an error that names the limit."""
        # The join that finds a row's account builds its hash table on the accounts and
        # streams the file's rows past it. DuckDB's optimizer may swap the sides when it
        # misjudges the sizes: it guesses a CSV file at some 40 rows, and built a table
        # of 165M metric rows out of its memory limit
        self.con.execute("SET disabled_optimizers = 'build_side_probe_side'")
        try:
            return self._read()
        except duckdb.OutOfMemoryException as exc:
            limit = self.con.execute("SELECT current_setting('memory_limit')").fetchone()
            raise SourceError(
                f"{self.directory}: reading the data needs more memory than DuckDB's limit "
                f"({limit[0] if limit else '?'}); run with a larger --memory-limit "
                f"(DuckDB: {str(exc).splitlines()[0]})") from None
        except (_Declined, duckdb.Error, UnicodeDecodeError, csv.Error, OSError):
            return None
        finally:
            self.con.execute("RESET disabled_optimizers")

    def _read(self) -> Frame:
        if self.kind == "duckdb":
            present = self._attach()
        else:
            present = {t for t in _TABLES if (self.directory / f"{t}.{self.kind}").is_file()}
        self._accounts()
        ids = [str(v) for (v,) in self.con.execute("SELECT id FROM accounts ORDER BY acc"
                                                   ).fetchall()]
        frame = Frame(self.con, self.schema, ids, [], {}, scratch=self.scratch)
        self._team("team" in present)
        self._metrics(frame, "metrics" in present)
        self._events(frame, "events" in present)
        frame.pools = self._pools() if "pools" in present else {}
        return frame

    def _attach(self) -> set[str]:
        """A DuckDB file, attached read-only (by its absolute path: a relative `md:x`
        names a MotherDuck database); the data tables it has. Its base tables are read
        in place. A view is left to the row reader, which reads it without file system
        access (a view may read any file) and numbers its rows by key."""
        where = exp.convert(str(self.directory.absolute())).sql(dialect="duckdb")
        self.con.execute(f"ATTACH {where} AS {_SOURCE} (READ_ONLY)")
        found = dict(self.con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            f"WHERE table_catalog = '{_SOURCE}' AND table_schema = 'main'").fetchall())
        if "accounts" not in found or any(
                found.get(t, "BASE TABLE") != "BASE TABLE" for t in _TABLES):
            raise _Declined
        return {t for t in _TABLES if t in found}

    # ------------------------------------------------------------ scanning

    def _open(self, table: str) -> None:
        """Start the query over one file: `relation` (SQL), `types` (its columns')."""
        self.params = {}
        path = str(self.directory / f"{table}.{self.kind}")
        if self.kind == "duckdb":  # columns by name, in any order, as the row reader
            relation = f"{_SOURCE}.main.{_ident(table)}"
            described = self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
            types = {str(name): str(kind) for name, kind, *_ in described}
            try:
                order = sql_columns(f"{self.directory}:{table}", table, list(types))
            except SourceError:
                raise _Declined from None  # the row reader reports it
            self.types = {name: types[name] for name in order}
            self.relation, self.shape = relation, []
            return
        if self.kind == "csv":
            with open(path, newline="", encoding="utf-8-sig") as handle:
                header = [h.strip() for h in next(csv.reader(handle), [])]
            if not header or len(set(header)) != len(header) or _blank_by_quote(path):
                raise _Declined
            self.types = dict.fromkeys(header, "VARCHAR")
            # One column more than the header, NULL padding and no NULL spelling: a row
            # with too few fields has a NULL, one with too many (DuckDB ignores extra
            # empty fields) fills `_extra`; an empty field is ''. Both are declined.
            columns = {**self.types, _EXTRA: "VARCHAR"}
            self.relation = (f"read_csv({self.param(path)}, header = true, delim = ',', "
                             "quote = '\"', escape = '\"', strict_mode = true, "
                             "null_padding = true, nullstr = '\x01', "
                             f"auto_detect = false, columns = {self.param(columns)})")
            self.shape = [f"r.{_ident(_EXTRA)} IS NOT NULL",
                          *(f"r.{_ident(c)} IS NULL" for c in header)]
        else:
            described = self.con.execute("DESCRIBE SELECT * FROM read_parquet(?)",
                                         [path]).fetchall()
            self.types = {str(name): str(kind) for name, kind, *_ in described}
            self.relation = f"read_parquet({self.param(path)})"
            self.shape = []
        if table in FIXED_COLUMNS and list(self.types) != list(FIXED_COLUMNS[table]):
            raise _Declined

    def _select(self, typed: list[tuple[str, str]], bad: list[str], joined: bool = True
                ) -> str:
        """The scan's query: the typed columns (SQL, name), the account index `acc` when
        `joined`, and `bad`, whether any of the `bad` tests holds (NULL counts as bad)."""
        flag = " OR ".join(f"coalesce({b}, true)" for b in [*self.shape, *bad]) or "false"
        columns = [f"{sql} AS {name}" for sql, name in typed]
        relation = f"{self.relation} r"
        if joined:  # the account's index, by a hash join on the id (NULL: unknown). An
            # ENUM of the ids cast faster per row in theory, but took 1.8 s to the join's
            # 1.2 s over 165M rows, and 135 MB outside DuckDB's memory limit
            columns.insert(0, f"{_ACC} AS acc")
            relation += ' LEFT JOIN accounts i ON i.id = r."account_id"'
        return f"SELECT {', '.join(columns)}, ({flag}) AS bad FROM {relation}"

    def _scan(self, table: str, typed: list[tuple[str, str]], bad: list[str],
              joined: bool = True) -> None:
        """`CREATE TABLE raw_<table>` of one scan (see `_select`); declined when any row
        is bad."""
        self.con.execute(f"CREATE TABLE raw_{table} AS {self._select(typed, bad, joined)}",
                         self.params)
        found = self.con.execute(f"SELECT count(*) FROM raw_{table} WHERE bad").fetchone()
        if found is None or found[0]:
            raise _Declined

    def _text(self, column: str) -> str:
        """A column that must be plain text: its SQL (over the scan `r`), or declined."""
        if self.types.get(column) != "VARCHAR":
            raise _Declined
        return f"r.{_ident(column)}"

    def _plain(self, column: str) -> list[str]:
        """Tests that a text value is missing or padded (the row reader strips it)."""
        x = self._text(column)
        return [f"{x} IS NULL", f"{x} = ''", f"regexp_matches({x}, '{_PADDED}')",
                f"contains({x}, chr(0))"]

    # ------------------------------------------------------------ values

    def _value(self, column: str, field: A.AccountField) -> tuple[str, str]:
        """(the test that a present value is invalid, the typed value) of a field column;
        declined for a column type the row reader would read differently."""
        kind = self.types.get(column)
        x = f"r.{_ident(column)}"
        if field.type == "number":
            if kind == "VARCHAR":
                bad = (f"NOT regexp_full_match({x}, '{_NUMBER}') OR "
                       f"NOT isfinite(TRY_CAST({x} AS DOUBLE))")
                return bad, f"TRY_CAST({x} AS DOUBLE)"
            if kind in _NUMERIC:
                return f"NOT isfinite(CAST({x} AS DOUBLE))", f"CAST({x} AS DOUBLE)"
        elif field.type == "date":
            if kind == "VARCHAR":
                return _bad_date(x), _ordinal(f"TRY_CAST({x} AS DATE)")
            if kind == "DATE":  # Python's dates end at 9999-12-31 (and have no infinity)
                return f"NOT ({x} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31')", _ordinal(x)
        elif field.type == "bool":
            if kind == "VARCHAR":
                return f"lower({x}) NOT IN ('true', 'false')", f"lower({x}) = 'true'"
            if kind == "BOOLEAN":
                return "false", x
        elif kind == "VARCHAR":
            if field.type == "enum":
                return f"NOT list_contains({self.param(list(field.values))}, {x})", x
            return f"contains({x}, chr(0))", x  # a NUL: the row reader says where
        raise _Declined

    def _present(self, column: str) -> str:
        x = f"r.{_ident(column)}"
        if self.types.get(column) == "VARCHAR":
            return f"({x} IS NOT NULL AND {x} <> '')"
        return f"({x} IS NOT NULL)"

    def _field(self, column: str, field: A.AccountField, name: str, bad: list[str],
               when: str | None = None) -> tuple[str, str]:
        """A field column: its validity test appended to `bad` (only where `when`
        holds); its typed value (NULL when missing) and name returned."""
        invalid, value = self._value(column, field)
        present = self._present(column)
        guard = f"{present} AND {when}" if when else present
        bad.append(f"{guard} AND ({invalid})")
        return f"CASE WHEN {present} THEN {value} END", name

    # ------------------------------------------------------------ tables

    def _accounts(self) -> None:
        self._open("accounts")
        columns = list(self.types)
        declared = {f.name for f in self.schema.account}
        if columns[0] != "id" or set(columns[1:]) != declared:
            raise _Declined  # the row reader reports the columns
        bad = self._plain("id")
        typed = [(self._text("id"), "id")]
        for i, field in enumerate(self.schema.account):
            typed.append(self._field(field.name, field, f"f{i}", bad))
        self._scan("accounts", typed, bad, joined=False)
        twice = self.con.execute("SELECT count(*) - count(DISTINCT id) FROM raw_accounts"
                                 ).fetchone()
        if twice is None or twice[0]:
            raise _Declined
        fields = "".join(f", f{i}" for i in range(len(self.schema.account)))
        self.con.execute("CREATE TABLE accounts AS SELECT CAST(rowid AS BIGINT) AS acc, id"
                         f"{fields} FROM raw_accounts ORDER BY rowid")
        self.con.execute("DROP TABLE raw_accounts")

    def _team(self, present: bool) -> None:
        if not present:
            self.con.execute('CREATE TABLE team (acc BIGINT, role VARCHAR, "user" VARCHAR)')
            return
        self._open("team")
        role, user = self._text("role"), self._text("user")
        bad = [*self._plain("account_id"), *self._plain("role"), *self._plain("user"),
               f"{_ACC} IS NULL",
               f"NOT list_contains({self.param([r.name for r in self.schema.roles])}, {role})"]
        self._scan("team", [(role, "role"), (user, '"user"')], bad)
        self.con.execute('CREATE TABLE team AS SELECT DISTINCT acc, role, "user" FROM raw_team')
        self.con.execute("DROP TABLE raw_team")
        twice = self.con.execute(
            "SELECT count(*) FROM (SELECT acc, role FROM team GROUP BY acc, role "
            "HAVING count(*) > 1)").fetchone()
        if twice is None or twice[0]:
            raise _Declined  # a second user for a role: the row reader names the line

    def _metrics(self, frame: Frame, present: bool) -> None:
        if not present:
            for table in frame.metrics.values():
                self.con.execute(f"CREATE TABLE {table} (acc BIGINT, day INTEGER, value DOUBLE)")
            return
        # A Parquet file is read in place by each metric's view (so its SQL holds the
        # values as literals); a CSV file is parsed once, into a typed Parquet file in
        # the scratch directory. Either way no table of metric rows is held in memory.
        self.inline = self.kind != "csv"
        try:
            self._open("metrics")
            metric = self._text("metric")
            self._text("account_id")
            names = self.param(list(frame.metrics))
            bad = [f"{_ACC} IS NULL", f"NOT list_contains({names}, {metric})",
                   f"NOT {self._present('date')}", f"NOT {self._present('value')}"]
            day = self._field("date", A.AccountField(name="date", type="date"), "day", bad)
            value = self._field("value", A.AccountField(name="value", type="number"), "value",
                                bad)
            code = (f"list_position({names}, {metric})", "code")
            rows = self._select([code, (f"CAST({day[0]} AS INTEGER)", "day"), value], bad)
        finally:
            self.inline = False
        if self.kind == "csv":
            staged = exp.convert(str(Path(self.scratch.name) / "metrics.parquet")).sql("duckdb")
            # in file order: an account's rows stay together, so that each thread of the
            # features pass aggregates few accounts (shuffled, each held all of them and
            # ran out of a 640MB limit at a million accounts)
            self.con.execute(f"COPY ({rows}) TO {staged} (FORMAT parquet)", self.params)
            rows = f"SELECT acc, code, day, value, bad FROM read_parquet({staged})"
            self.params = {}
            span = self.con.execute(f"SELECT min(day), max(day) FROM read_parquet({staged})"
                                    ).fetchone()
        else:  # one column of the file (or table), unchecked: see `_span`
            span = self.con.execute(
                f'SELECT CAST(min(r."date") AS VARCHAR), CAST(max(r."date") AS VARCHAR) '
                f"FROM {self.relation} r").fetchone()
        self._valid_metrics(frame, rows, _span(span))
        for position, table in enumerate(frame.metrics.values(), start=1):
            self.con.execute(f"CREATE VIEW {table} AS SELECT acc, day, value FROM ({rows}) "
                             f"WHERE code = {position}")

    def _valid_metrics(self, frame: Frame, rows: str, span: tuple[int, int] | None) -> None:
        """Declined unless every metric row is plainly valid and no account has two
        values of a metric on one day, in streaming aggregates: the rows are never held.

        The day check counts, per (account, metric), the rows and the distinct days as
        the bits set in a bitstring over the span of days, in the same pass as the
        validity and exactness figures. When the span is not known or those bitstrings
        would be large (a long span), a first pass per metric finds the span and a
        second groups by (account, metric, day), which DuckDB spills to disk past its
        memory limit."""
        tables = list(frame.metrics.values())
        if span is not None and (
                (span[1] - span[0] + 1) * len(frame.ids) * len(tables) <= _BITSTRING_BITS):
            found = self.con.execute(
                "SELECT code, sum(bad), min(first), max(last), bool_and(integral), "
                "max(largest), sum(twice) FROM (SELECT code, count_if(bad) AS bad, "
                "min(day) AS first, max(day) AS last, bool_and(value = trunc(value)) AS "
                "integral, max(abs(value)) AS largest, count(*) - bit_count(bitstring_agg("
                f"day, {span[0]}, {span[1]})) AS twice FROM ({rows}) GROUP BY acc, code) "
                "GROUP BY code", self.params).fetchall()
            if any(bad or twice for _, bad, *_, twice in found):
                raise _Declined  # a bad row, or a second value on a day: the row reader
            self._exact(frame, [row[:6] for row in found])
            return
        found = self.con.execute(
            f"SELECT code, count_if(bad), min(day), max(day), bool_and(value = trunc(value)),"
            f" max(abs(value)) FROM ({rows}) GROUP BY code", self.params).fetchall()
        if any(bad for _, bad, *_ in found):
            raise _Declined
        if not found:
            return  # no rows
        self._exact(frame, found)
        twice = self.con.execute(
            f"SELECT count(*) FROM (SELECT acc, code, day FROM ({rows}) "
            "GROUP BY ALL HAVING count(*) > 1)", self.params).fetchone()
        if twice is None or twice[0]:
            raise _Declined  # a second value on a day: the row reader names the line

    def _exact(self, frame: Frame, found: list[tuple[Any, ...]]) -> None:
        """`frame.exact_sums` from (code, bad, first day, last day, integral, largest)."""
        tables = list(frame.metrics.values())
        frame.exact_sums = frozenset(
            tables[int(code) - 1] for code, _, first, last, integral, largest in found
            if exact_sum(bool(integral), float(largest), int(last) - int(first) + 1))

    def _events(self, frame: Frame, present: bool) -> None:
        events = {e.name: e for e in self.schema.events}
        if not present:
            for name, (table, _) in frame.events.items():
                self._empty_event(table, events[name])
            return
        self._open("events")
        columns = list(self.types)
        every = {f.name for e in self.schema.events for f in e.fields}
        if columns[:3] != ["account_id", "event", "date"] or set(columns[3:]) != every:
            raise _Declined
        event = self._text("event")
        self._text("account_id")
        bad = [f"{_ACC} IS NULL", f"NOT list_contains({self.param(list(events))}, {event})",
               f"NOT {self._present('date')}"]
        typed = [(event, "event")]
        typed.append(self._field("date", A.AccountField(name="date", type="date"), "day", bad))
        for j, column in enumerate(columns[3:]):
            owners = [e.name for e in self.schema.events if column in {f.name for f in e.fields}]
            # a value in a column that is no field of the row's event
            bad.append(f"{self._present(column)} AND "
                       f"NOT list_contains({self.param(owners)}, {event})")
            for k, owner in enumerate(owners):
                field = next(f for f in events[owner].fields if f.name == column)
                typed.append(self._field(column, field, f"c{j}_{k}", bad,
                                         f"{event} = {self.param(owner)}"))
        self._scan("events", typed, bad)
        for name, (table, names) in frame.events.items():
            selected = []
            for field in events[name].fields:
                j = columns[3:].index(field.name)
                owners = [e.name for e in self.schema.events
                          if field.name in {f.name for f in e.fields}]
                selected.append(f"c{j}_{owners.index(name)} AS {names[field.name]}")
            self.con.execute(
                f"CREATE TABLE {table} AS SELECT acc, CAST(day AS INTEGER) AS day"
                f"{''.join(', ' + c for c in selected)} FROM raw_events WHERE event = ?",
                [name])
        self.con.execute("DROP TABLE raw_events")

    def _empty_event(self, table: str, event: A.Event) -> None:
        columns = "".join(f", f{j} {_SQL_TYPES[f.type]}" for j, f in enumerate(event.fields))
        self.con.execute(f"CREATE TABLE {table} (acc BIGINT, day INTEGER{columns})")

    def _pools(self) -> dict[str, list[str]]:
        """Pools are small: read row by row, with the row reader's own rules."""
        self._open("pools")
        shape = " OR ".join(self.shape) or "false"
        rows = self.con.execute(f"SELECT r.pool, r.user, {shape} FROM {self.relation} r",
                                self.params).fetchall()
        if any(row[2] for row in rows):
            raise _Declined
        builder = DatasetBuilder(self.schema)
        builder.pools("pools", ((i + 1, ["" if v is None else v for v in row[:2]])
                                for i, row in enumerate(rows)))
        if builder.dataset.bad_rows:
            raise _Declined
        return builder.dataset.pools


_BITSTRING_BITS = 1 << 31
"""The most bits the day check's bitstrings may hold together (256 MB): a million
accounts, two metrics and a year of days take a third of it."""
_EXTRA = "_csdsl_extra"
_SOURCE = "csdsl_source"
"""The name a DuckDB data file is attached under."""
_ACC = "i.acc"
_NUMERIC = frozenset({"DOUBLE", "FLOAT", "TINYINT", "SMALLINT", "INTEGER", "BIGINT",
                      "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"})


def _span(found: tuple[Any, ...] | None) -> tuple[int, int] | None:
    """The ordinal days of the smallest and largest `date` of the metric rows, from
    their raw values as text (a typed date as DuckDB writes it); None when unknown (no
    rows, or an end is not a valid date, which is then a bad row that the validating
    pass finds). Raw `YYYY-MM-DD` text sorts as its dates do, so every valid date lies
    between the two ends: any row outside them is bad, and declines the data set
    whatever the span."""
    if found is None or found[0] is None or found[1] is None:
        return None
    ends = []
    for end in found[:2]:
        if isinstance(end, int):  # a staged file's ordinal day
            ends.append(end)
        elif isinstance(end, str) and re.fullmatch(_DATE, end):
            try:
                ends.append(date.fromisoformat(end).toordinal())
            except ValueError:
                return None
        else:
            return None
    return ends[0], ends[1]


def _blank_by_quote(path: str) -> bool:
    """Whether a blank touches a quote (`a, "b"`, `"b" ,c`): DuckDB drops such blanks,
    Python's csv keeps them (and the quotes) in the value. A byte search in blocks, at
    memory speed: most files hold no quote at all. (A map of the whole file counted
    every page of a 5 GB file in the process's resident memory.)"""
    previous = b""
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            data = previous + block  # the last byte of the block before: a pair may span
            if b'"' in data and any(pair in data for pair in (b' "', b'" ', b'\t"', b'"\t')):
                return True
            previous = block[-1:]
    return False


_BLOCK = 1 << 24


def _ident(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _bad_date(x: str) -> str:
    return (f"NOT regexp_full_match({x}, '{_DATE}') OR {x} < '0001-01-01' OR "
            f"TRY_CAST({x} AS DATE) IS NULL")


def _ordinal(day: str) -> str:
    return f"CAST({day} - DATE '0001-01-01' AS BIGINT) + {_ORDINAL_OF_0001}"


# ---------------------------------------------------------------- from a Dataset


def _load_dataset(frame: Frame, dataset: Dataset) -> None:
    con, schema = frame.con, frame.schema
    accounts = list(dataset.accounts.values())
    n = len(accounts)
    columns: dict[str, Any] = {"acc": np.arange(n, dtype=np.int64),
                               "id": np.array([a.id for a in accounts], dtype=object)
                               if n else np.zeros(0, dtype=object)}
    for i, f in enumerate(schema.account):
        columns[f"f{i}"] = _column(f.type, (a.fields.get(f.name) for a in accounts), n)
    _create(con, "accounts", columns, schema.account, keep=("id",))

    for metric, table in frame.metrics.items():
        series = [a.metrics.get(metric) for a in accounts]
        lengths = np.array([0 if s is None else len(s.days) for s in series], dtype=np.int64)
        present = [s for s in series if s is not None and len(s.days)]
        days = _concat([np.frombuffer(s.days, dtype=_int_dtype(s.days)) for s in present],
                       np.int64)
        values = _concat([np.frombuffer(s.values, dtype=np.float64) for s in present],
                         np.float64)
        cols = {"acc": np.repeat(np.arange(n, dtype=np.int64), lengths),
                "day": days, "value": values}
        con.register("_load_src", cols)
        con.execute(f"CREATE TABLE {table} AS SELECT acc, CAST(day AS INTEGER) AS day,"
                    f" CAST(value AS DOUBLE) AS value FROM _load_src")
        con.unregister("_load_src")
        if len(values) and exact_sum(bool(np.all(values == np.trunc(values))),
                                     float(np.max(np.abs(values))),
                                     int(days.max() - days.min() + 1)):
            frame.exact_sums |= {table}

    for event in schema.events:
        table, names = frame.events[event.name]
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
        _create(con, table, cols, event.fields, extra="day")

    team = [(k, role, user) for k, a in enumerate(accounts) for role, user in a.team.items()]
    con.execute('CREATE TABLE team (acc BIGINT, role VARCHAR, "user" VARCHAR)')
    if team:
        con.executemany("INSERT INTO team VALUES (?, ?, ?)", team)


def _create(con: duckdb.DuckDBPyConnection, table: str, cols: dict[str, Any],
            fields: Iterable[A.AccountField], extra: str | None = None,
            keep: tuple[str, ...] = ()) -> None:
    select = ["acc", *keep] + ([f"CAST({extra} AS INTEGER) AS {extra}"] if extra else [])
    select += [f"CAST(f{j} AS {_SQL_TYPES[f.type]}) AS f{j}" for j, f in enumerate(fields)]
    con.register("_load_src", cols)
    con.execute(f"CREATE TABLE {table} AS SELECT {', '.join(select)} FROM _load_src")
    con.unregister("_load_src")


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


# ---------------------------------------------------------------- accounts for a run


class _Accounts(Mapping[str, AccountData]):
    """The frame's accounts as `AccountData` (fields and team), built from columns fetched
    once, each record made when first asked for: a run reads the firing accounts only."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.index = {account_id: i for i, account_id in enumerate(frame.ids)}
        self.made: dict[int, AccountData] = {}
        fields = frame.schema.account
        select = ", ".join(f"f{i}" for i in range(len(fields))) or "acc"
        raw = frame.con.execute(f"SELECT {select} FROM accounts ORDER BY acc").fetchnumpy()
        self.columns: list[tuple[str, str, Any, Any]] = []
        for i, field in enumerate(fields):
            column = raw[f"f{i}"]
            data = np.ma.getdata(column)
            missing = np.ma.getmaskarray(column) if field.type not in ("text", "enum") else \
                np.array([v is None for v in data], dtype=bool)
            self.columns.append((field.name, field.type, data, missing))
        self.team: dict[int, dict[str, str]] = {}
        for acc, role, user in frame.con.execute(
                'SELECT acc, role, "user" FROM team ORDER BY acc, role').fetchall():
            self.team.setdefault(int(acc), {})[str(role)] = str(user)

    def __getitem__(self, account_id: str) -> AccountData:
        i = self.index[account_id]
        found = self.made.get(i)
        if found is None:
            values: dict[str, Value] = {}
            for name, kind, data, missing in self.columns:
                if missing[i]:
                    continue
                value = data[i]
                if kind == "number":
                    values[name] = float(value)
                elif kind == "date":
                    values[name] = date.fromordinal(int(value))
                elif kind == "bool":
                    values[name] = bool(value)
                else:
                    values[name] = str(value)
            found = self.made[i] = AccountData(account_id, values, dict(self.team.get(i, {})))
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.frame.ids)

    def __len__(self) -> int:
        return len(self.frame.ids)

    def __contains__(self, account_id: object) -> bool:
        return account_id in self.index


def _runs(keys: Any) -> Iterator[tuple[int, int, int]]:
    """(key, start, end) of each run of equal values in a sorted array."""
    n = len(keys)
    if not n:
        return
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], n]
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        yield int(keys[lo]), lo, hi


_TYPED: dict[str, Any] = {"number": float, "date": lambda v: date.fromordinal(int(v)),
                          "bool": bool, "text": str, "enum": str}
"""How the row reader types a value of an event table, by field type."""


def _metric_series(accounts: Mapping[int, AccountData], name: str, found: Any) -> None:
    """Add one metric's series (rows sorted by account, then day) to the accounts."""
    # whole columns as C arrays once, sliced per account: no Python number per row
    days, values = array("l"), array("d")
    days.frombytes(np.ascontiguousarray(found["day"], dtype=np.int_).tobytes())
    values.frombytes(np.ascontiguousarray(found["value"], dtype=np.float64).tobytes())
    for acc, lo, hi in _runs(found["acc"]):
        accounts[acc].metrics[name] = MetricSeries(array("l", days[lo:hi]),
                                                   array("d", values[lo:hi]))


def _event_series(accounts: Mapping[int, AccountData], name: str,
                  fields: Sequence[A.AccountField], rows: list[tuple[Any, ...]]) -> None:
    """Add one event's occurrences (rows sorted by account, then day) to the accounts."""
    typed = [(f.name, _TYPED[f.type]) for f in fields]
    current, series = -1, EventSeries()
    for row in rows:
        if row[0] != current:
            current, series = row[0], EventSeries()
            accounts[current].events[name] = series
        series.days.append(row[1])
        series.fields.append({key: convert(v) for (key, convert), v
                              in zip(typed, row[2:], strict=True) if v is not None})
