"""A second source: an SQLite or DuckDB file holding the tables of the CSV directory.

Tables `accounts` (id, one column per field), `team`, `metrics`, `events` (account_id,
event, date, field columns) and an optional `pools`. Rows are validated exactly like
CSV rows; a bad row is located as `file:table:rowid` (SQLite rowids count from 1,
DuckDB's from 0; a view's rows are numbered from 1 in key order).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from csdsl_runtime.artifact import DataSchema
from csdsl_runtime.data import Dataset
from csdsl_runtime.sources.builder import DatasetBuilder, Located, SourceError

_ORDER = {
    "accounts": "id",
    "team": "account_id, role",
    "metrics": "account_id, metric, date",
    "events": "account_id, event, date",
    "pools": "pool",
}


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


class _Db:
    def __init__(self, path: Path) -> None:
        self.path = path
        if _is_sqlite(path):
            import sqlite3

            self.conn: Any = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
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
                self.conn = duckdb.connect(str(path), read_only=True)
            except duckdb.Error as exc:
                raise SourceError(f"{path}: not an SQLite or DuckDB database ({exc})") from None
            self.kind = "duckdb"

    def tables(self) -> set[str]:
        if self.kind == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
        else:
            query = "SELECT table_name FROM information_schema.tables"
        return {row[0] for row in self.conn.execute(query).fetchall()}

    def read(self, table: str) -> tuple[list[str], Iterator[Located]]:
        """Rows in storage order, each located by its rowid (what `WHERE rowid = N` finds);
        a view has none, so its rows are ordered by key and numbered from 1."""
        try:
            cursor = self.conn.execute(f'SELECT rowid, * FROM "{table}" ORDER BY rowid')
            numbered = True
        except Exception:  # a view, or a table without rowids
            cursor = self.conn.execute(f'SELECT * FROM "{table}" ORDER BY {_ORDER[table]}')
            numbered = False
        header = [d[0] for d in cursor.description][1 if numbered else 0:]

        def rows() -> Iterator[Located]:
            number = 0
            while batch := cursor.fetchmany(10_000):
                for row in batch:
                    number += 1
                    if numbered:
                        yield int(row[0]), _texts(row[1:])
                    else:
                        yield number, _texts(row)

        return header, rows()


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
            header, rows = db.read(table)
            label = f"{path}:{table}"
            if table == "accounts":
                builder.accounts(label, header, rows)
            elif table == "events":
                builder.events(label, header, rows)
            else:
                getattr(builder, table)(label, rows)
        return builder.dataset
    except SourceError:
        raise
    except Exception as exc:  # a driver error: name the file, keep the message
        raise SourceError(f"{path}: {type(exc).__name__}: {exc}") from None
    finally:
        db.conn.close()
