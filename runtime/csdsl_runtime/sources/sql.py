"""A second source: an SQLite or DuckDB file holding the tables of the CSV directory.

Tables `accounts` (id, one column per field), `team`, `metrics`, `events` (account_id,
event, date, field columns) and an optional `pools`. Columns are found by name, in any
order: a table without one of its required columns, or (`team`, `metrics`, `pools`)
with a column of another name, is refused with a `SourceError` naming the table and
the column; the field columns of `accounts` and `events` are checked as in the CSV
files. Rows are validated exactly like CSV rows; a bad row is located as
`file:table:rowid` (SQLite rowids count from 1, DuckDB's from 0; a view's rows are
numbered from 1 in key order).

The file is opened read-only: SQLite through a `file:` URI whose path is
percent-encoded (`#`, `?` and `%` would otherwise end or change the path), DuckDB by
its absolute path (a relative `md:x` would name a MotherDuck database), and then
without file system access, so that a view in the file cannot read other files. (Not
at connection: DuckDB names the write-ahead log of `a?b` `a.wal?b`, which that
setting would refuse to look for.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from csdsl_runtime.artifact import DataSchema
from csdsl_runtime.data import Dataset
from csdsl_runtime.sources.builder import DatasetBuilder, Located, SourceError

# The columns each table must have, in the order the builder reads them; `accounts` and
# `events` then have their field columns, in the table's order.
REQUIRED = {
    "accounts": ("id",),
    "team": ("account_id", "role", "user"),
    "metrics": ("account_id", "metric", "date", "value"),
    "events": ("account_id", "event", "date"),
    "pools": ("pool", "user"),
}
_WITH_FIELDS = frozenset({"accounts", "events"})
_ORDER = {
    "accounts": ("id",),
    "team": ("account_id", "role"),
    "metrics": ("account_id", "metric", "date"),
    "events": ("account_id", "event", "date"),
    "pools": ("pool",),
}


def is_sqlite(path: Path) -> bool:
    """Whether the file starts as an SQLite database does."""
    with path.open("rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def sqlite_uri(path: Path) -> str:
    """The read-only `file:` URI of `path`, percent-encoded (`Path.as_uri`)."""
    return path.absolute().as_uri() + "?mode=ro"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def columns(label: str, table: str, header: Sequence[str]) -> list[str]:
    """The columns to read from `table`, in the builder's order; `SourceError` if one is
    missing, appears twice, or (in a table without field columns) is unknown."""
    required = REQUIRED[table]
    expected = ", ".join(f"`{c}`" for c in required)
    for name, count in Counter(header).items():
        if count > 1:
            raise SourceError(f"{label}: the column `{name}` appears {count} times")
    for name in required:
        if name not in header:
            raise SourceError(f"{label}: no column `{name}` (the table needs {expected})")
    extra = [name for name in header if name not in required]
    if extra and table not in _WITH_FIELDS:
        raise SourceError(f"{label}: unknown column `{extra[0]}` (the table has the "
                          f"columns {expected}, in any order)")
    return [*required, *extra]


class _Db:
    def __init__(self, path: Path) -> None:
        self.path = path
        if is_sqlite(path):
            import sqlite3

            self.conn: Any = sqlite3.connect(sqlite_uri(path), uri=True)
            self.kind = "sqlite"
        else:
            try:
                import duckdb
            except ImportError:
                raise SourceError(
                    f"{path}: not an SQLite file, and DuckDB is not installed "
                    "(pip install 'csdsl-runtime[duckdb]')"
                ) from None
            try:
                self.conn = duckdb.connect(str(path.absolute()), read_only=True)
            except duckdb.Error as exc:
                raise SourceError(f"{path}: not an SQLite or DuckDB database ({exc})") from None
            self.conn.execute("SET enable_external_access = false")
            self.kind = "duckdb"

    def tables(self) -> dict[str, bool]:
        """The tables and views of the file: name -> whether it is a view."""
        if self.kind == "sqlite":
            query = "SELECT name, type = 'view' FROM sqlite_master WHERE type IN ('table', 'view')"
        else:
            query = "SELECT table_name, table_type = 'VIEW' FROM information_schema.tables"
        return {row[0]: bool(row[1]) for row in self.conn.execute(query).fetchall()}

    def header(self, table: str) -> list[str]:
        cursor = self.conn.execute(f"SELECT * FROM {_quote(table)} LIMIT 0")
        names = [str(d[0]) for d in cursor.description]
        cursor.fetchall()
        return names

    def read(self, table: str, names: Sequence[str], view: bool) -> Iterator[Located]:
        """The columns `names` of the rows in storage order, each located by its rowid
        (what `WHERE rowid = N` finds); a view has none (SQLite gives it NULL rowids), so
        its rows are ordered by key and numbered from 1."""
        select = ", ".join(_quote(n) for n in names)
        numbered = not view
        if numbered:
            try:
                cursor = self.conn.execute(
                    f"SELECT rowid, {select} FROM {_quote(table)} ORDER BY rowid")
            except Exception:  # a table without rowids (SQLite's WITHOUT ROWID)
                numbered = False
        if not numbered:
            order = ", ".join(_quote(n) for n in _ORDER[table])
            cursor = self.conn.execute(f"SELECT {select} FROM {_quote(table)} ORDER BY {order}")

        def rows() -> Iterator[Located]:
            number = 0
            while batch := cursor.fetchmany(10_000):
                for row in batch:
                    number += 1
                    if numbered:
                        yield int(row[0]), _texts(row[1:])
                    else:
                        yield number, _texts(row)

        return rows()


def _texts(row: Sequence[Any]) -> list[Any]:
    values = ["" if v is None else v for v in row]
    values[0] = str(values[0])  # ids are text, whatever the column's SQL type
    return values


def read_sql_file(path: Path, schema: DataSchema) -> Dataset:
    """Read the data tables of an SQLite or DuckDB file."""
    db = _Db(path)
    try:
        tables = db.tables()
        if "accounts" not in tables:
            raise SourceError(f"{path}: no `accounts` table")
        builder = DatasetBuilder(schema)
        for table in ("accounts", "team", "metrics", "events", "pools"):
            if table not in tables:
                continue
            label = f"{path}:{table}"
            names = columns(label, table, db.header(table))
            rows = db.read(table, names, view=tables[table])
            if table == "accounts":
                builder.accounts(label, names, rows)
            elif table == "events":
                builder.events(label, names, rows)
            else:
                getattr(builder, table)(label, rows)
        return builder.dataset
    except SourceError:
        raise
    except Exception as exc:  # a driver error: name the file, keep the message
        raise SourceError(f"{path}: {type(exc).__name__}: {exc}") from None
    finally:
        db.conn.close()
