"""The SQL file source (`csdsl_runtime.sources.sql`): SQLite and DuckDB data files.

Paths with `#`, `?`, `%` and spaces open the file they name (not the one an unquoted
`file:` URI would name: a decoy sits there); columns are found by name in any order; a
table without a required column, or with an unknown one, is refused with the table and
the column named.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from csdsl_runtime import artifact as A
from csdsl_runtime.data import Dataset
from csdsl_runtime.sources import read_dataset
from csdsl_runtime.sources.builder import SourceError
from csdsl_runtime.sources.sql import REQUIRED, columns, read_sql_file, sqlite_uri

SCHEMA = A.DataSchema(
    account=(
        A.AccountField(name="name", type="text"),
        A.AccountField(name="segment", type="enum", values=("SMB", "Enterprise")),
        A.AccountField(name="arr", type="number"),
        A.AccountField(name="renewal_date", type="date"),
    ),
    metrics=(A.Metric(name="usage"),),
    events=(A.Event(name="nps_response", fields=(A.AccountField(name="score", type="number"),)),),
    roles=(A.Role(name="CSM"),),
)

Table = tuple[list[str], list[tuple[Any, ...]]]
TABLES: dict[str, Table] = {
    "accounts": (["id", "name", "segment", "arr", "renewal_date"],
                 [("a1", "Acme", "SMB", "5", "2026-12-01"), ("a2", "Bolt", "Enterprise", "", "")]),
    "team": (["account_id", "role", "user"], [("a1", "CSM", "alice"), ("a2", "CSM", "bob")]),
    "metrics": (["account_id", "metric", "date", "value"],
                [("a1", "usage", "2026-11-19", "3"), ("a1", "usage", "2026-11-20", "4.5"),
                 ("a2", "usage", "2026-11-20", "1")]),
    "events": (["account_id", "event", "date", "score"],
               [("a1", "nps_response", "2026-11-10", "9"),
                ("a2", "nps_response", "2026-11-11", "")]),
    "pools": (["pool", "user"], [("emea", "carol"), ("emea", "dave")]),
}
DECOY: dict[str, Table] = {
    "accounts": (["id", "name", "segment", "arr", "renewal_date"],
                 [("decoy", "Decoy", "SMB", "1", "")]),
}
KINDS = ["sqlite", "duckdb"]


def write_db(path: Path, kind: str, tables: dict[str, Table], views: bool = False) -> Path:
    """The tables as an SQLite or DuckDB file (text columns, rows in the given order);
    with `views`, each table is a view over a table `<name>_data`."""
    if kind == "sqlite":
        conn: Any = sqlite3.connect(path)
        target = path
    else:  # written elsewhere: DuckDB cannot write under a directory whose name has `?`
        duckdb = pytest.importorskip("duckdb")
        target, path = path, Path(tempfile.mkdtemp()) / "staging.duckdb"
        conn = duckdb.connect(str(path))
    for name, (cols, rows) in tables.items():
        stored = f"{name}_data" if views else name
        conn.execute(f"CREATE TABLE {stored} ({', '.join(f'{_quoted(c)} TEXT' for c in cols)})")
        if rows:
            marks = ", ".join("?" for _ in cols)
            conn.executemany(f"INSERT INTO {stored} VALUES ({marks})", rows)
        if views:
            conn.execute(f"CREATE VIEW {name} AS SELECT * FROM {stored}")
    conn.commit()
    conn.close()
    if target != path:
        shutil.move(path, target)
    return target


def _quoted(column: str) -> str:
    return '"' + column + '"'


def reorder(tables: dict[str, Table], order: Callable[[list[str]], list[str]]) -> dict[str, Table]:
    out = {}
    for name, (cols, rows) in tables.items():
        new = order(cols)
        index = [cols.index(c) for c in new]
        out[name] = (new, [tuple(row[i] for i in index) for row in rows])
    return out


def without(tables: dict[str, Table], table: str, column: str) -> dict[str, Table]:
    cols, rows = tables[table]
    keep = [i for i, c in enumerate(cols) if c != column]
    return {**tables, table: ([cols[i] for i in keep], [tuple(r[i] for i in keep) for r in rows])}


def summary(data: Dataset) -> dict[str, Any]:
    """What a data set holds, in plain values."""
    return {
        "accounts": {a.id: a.fields for a in data.accounts.values()},
        "team": {a.id: a.team for a in data.accounts.values()},
        "metrics": {a.id: {m: (list(s.days), list(s.values)) for m, s in a.metrics.items()}
                    for a in data.accounts.values()},
        "events": {a.id: {e: (list(s.days), s.fields) for e, s in a.events.items()}
                   for a in data.accounts.values()},
        "pools": data.pools,
        "bad": [str(b) for b in data.bad_rows],
    }


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The data set read from the CSV directory of the same tables."""
    import csv

    directory = tmp_path_factory.mktemp("csv")
    for name, (cols, rows) in TABLES.items():
        with (directory / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(cols)
            writer.writerows(rows)
    data = summary(read_dataset(directory, SCHEMA))
    assert data["bad"] == [] and set(data["accounts"]) == {"a1", "a2"}
    assert data["accounts"]["a1"]["arr"] == 5.0 and data["pools"] == {"emea": ["carol", "dave"]}
    return data


# ------------------------------------------------------------------ paths

NAMES = ["data#x.db", "data?x.db", "data%41.db", "with space.db", "100%.db", "a#b?c%2Fd e.db",
         "dir #1 ?%/data.db"]
# where `file:{path}?mode=ro` unquoted would have gone: a decoy data set there
DECOYS = {"data#x.db": "data", "data?x.db": "data", "data%41.db": "dataA.db",
          "a#b?c%2Fd e.db": "a"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_a_path_with_uri_characters_opens_that_file(tmp_path: Path, kind: str, name: str,
                                                     expected: dict[str, Any]) -> None:
    if name in DECOYS:
        write_db(tmp_path / DECOYS[name], "sqlite", DECOY)
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    write_db(path, kind, TABLES)
    written = path.read_bytes()
    assert summary(read_dataset(path, SCHEMA)) == expected
    assert summary(read_sql_file(path, SCHEMA)) == expected
    # nothing else was read, created or changed, and the file itself is untouched
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p != path} == before
    assert path.read_bytes() == written


def test_the_sqlite_uri_is_percent_encoded(tmp_path: Path) -> None:
    uri = sqlite_uri(tmp_path / "a#b?c%d e.db")
    assert uri.startswith("file:///") and uri.endswith("/a%23b%3Fc%25d%20e.db?mode=ro")
    assert "#" not in uri and uri.count("?") == 1


def test_a_relative_path_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 expected: dict[str, Any]) -> None:
    write_db(tmp_path / "rel#1.db", "sqlite", TABLES)
    monkeypatch.chdir(tmp_path)
    assert summary(read_dataset("rel#1.db", SCHEMA)) == expected


def test_the_sqlite_file_is_opened_read_only(tmp_path: Path) -> None:
    path = write_db(tmp_path / "ro.db", "sqlite", TABLES)
    conn = sqlite3.connect(sqlite_uri(path), uri=True)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("CREATE TABLE x (y)")
    finally:
        conn.close()


def test_a_duckdb_view_cannot_read_other_files(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    secret = tmp_path / "secret.csv"
    secret.write_text("id,name,segment,arr,renewal_date\nleaked,x,SMB,1,\n", encoding="utf-8")
    path = tmp_path / "views.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute(f"CREATE VIEW accounts AS SELECT * FROM read_csv('{secret}', all_varchar=true)")
    conn.close()
    with pytest.raises(SourceError, match=r"views\.duckdb.*Permission"):
        read_dataset(path, SCHEMA)


# ------------------------------------------------------------------ columns by name


ORDERS: dict[str, Callable[[list[str]], list[str]]] = {
    "reversed": lambda cols: cols[::-1],
    "rotated": lambda cols: cols[1:] + cols[:1],
    "sorted": sorted,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("views", [False, True], ids=["tables", "views"])
def test_columns_in_any_order_are_read_by_name(tmp_path: Path, kind: str, order: str,
                                               views: bool, expected: dict[str, Any]) -> None:
    tables = reorder(TABLES, ORDERS[order])
    assert tables["metrics"][0] != TABLES["metrics"][0]
    path = write_db(tmp_path / f"data.{kind}", kind, tables, views=views)
    assert summary(read_dataset(path, SCHEMA)) == expected


MISSING = [(table, column) for table, required in REQUIRED.items() for column in required]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("table", "column"), MISSING, ids=[f"{t}.{c}" for t, c in MISSING])
def test_a_missing_required_column_is_refused(tmp_path: Path, kind: str, table: str,
                                              column: str) -> None:
    path = write_db(tmp_path / f"data.{kind}", kind, without(TABLES, table, column))
    with pytest.raises(SourceError) as info:
        read_dataset(path, SCHEMA)
    message = str(info.value)
    assert message.startswith(f"{path}:{table}: no column `{column}`"), message
    assert ", ".join(f"`{c}`" for c in REQUIRED[table]) in message


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("table", ["team", "metrics", "pools"])
def test_an_unknown_column_of_a_fixed_table_is_refused(tmp_path: Path, kind: str,
                                                       table: str) -> None:
    cols, rows = TABLES[table]
    tables = {**TABLES, table: ([*cols, "note"], [(*r, "x") for r in rows])}
    path = write_db(tmp_path / f"data.{kind}", kind, tables)
    with pytest.raises(SourceError, match=rf"^{path}:{table}: unknown column `note`"):
        read_dataset(path, SCHEMA)


@pytest.mark.parametrize("kind", KINDS)
def test_field_columns_are_checked_as_in_csv_files(tmp_path: Path, kind: str) -> None:
    """An undeclared account or event field column, or a declared one left out, is a bad
    row (as in accounts.csv and events.csv), the other columns still read by name."""
    tables = without(reorder(TABLES, ORDERS["reversed"]), "accounts", "segment")
    cols, rows = tables["events"]
    tables["events"] = ([*cols, "mood"], [(*r, "") for r in rows])  # a value: a bad row
    path = write_db(tmp_path / f"data.{kind}", kind, tables)
    data = read_dataset(path, SCHEMA)
    reasons = [b.reason for b in data.bad_rows]
    assert any("no column for the declared account field `segment`" in r for r in reasons)
    assert any("column `mood` is not a field of any declared event" in r for r in reasons)
    assert set(data.accounts["a1"].fields) == {"name", "arr", "renewal_date"}
    assert data.accounts["a1"].fields["arr"] == 5.0
    assert data.accounts["a1"].events["nps_response"].fields == [{"score": 9.0}]


def test_a_column_twice_is_refused() -> None:
    with pytest.raises(SourceError, match=r"^f:team: the column `role` appears 2 times"):
        columns("f:team", "team", ["account_id", "role", "role", "user"])
    assert columns("f:events", "events", ["score", "date", "event", "account_id"]) == [
        "account_id", "event", "date", "score"]
    assert columns("f:accounts", "accounts", ["arr", "id", "name"]) == ["id", "arr", "name"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_row_is_still_located_by_its_rowid(tmp_path: Path, kind: str) -> None:
    tables = reorder(TABLES, ORDERS["reversed"])
    cols, rows = tables["metrics"]
    tables["metrics"] = (cols, [*rows, tuple("abc" if c == "value" else v
                                             for c, v in zip(cols, rows[0], strict=True))])
    path = write_db(tmp_path / f"data.{kind}", kind, tables)
    (bad,) = read_dataset(path, SCHEMA).bad_rows
    first = 1 if kind == "sqlite" else 0  # SQLite's rowids count from 1, DuckDB's from 0
    assert (bad.file, bad.line) == (f"{path}:metrics", first + 3) and "`abc`" in bad.reason
