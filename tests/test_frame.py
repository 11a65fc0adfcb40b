"""The columnar data plane reads exactly what the row reader reads, or leaves it to it.

`read_frame` must accept (read columnar) only data sets the row reader reads without a
bad row, and then build the same tables; on anything else it declines, the row reader
reads the data set, and the frame is built from that. Held on the example data, on the
same data as Parquet, on table rows of accepted and declined spellings, and on
randomly mutated data directories.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl_runtime import artifact as A
from csdsl_runtime.frame import Frame, read_frame, read_parquet_dir
from csdsl_runtime.sources import read_dataset
from tests.fuzzkit import mutate_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"


@pytest.fixture(scope="module")
def schema() -> A.DataSchema:
    from csdsl.driver import compile_spec

    artifact, _ = compile_spec([EXAMPLES / "spec"])
    assert artifact is not None
    return artifact.schema_


def content(frame: Frame) -> dict[str, Any]:
    """Everything a run reads from a frame, in a comparable form."""
    con = frame.con
    tables: dict[str, Any] = {"ids": frame.ids, "pools": frame.pools,
                              "bad_rows": [str(b) for b in frame.bad_rows]}
    for table in ["accounts", "team", *frame.metrics.values(),
                  *(t for t, _ in frame.events.values())]:
        tables[table] = sorted(con.execute(f"SELECT * FROM {table}").fetchall(),
                               key=lambda row: tuple((v is None, str(v)) for v in row))
    tables["accounts_view"] = {i: (a.fields, a.team) for i, a in frame.accounts.items()}
    return tables


def by_rows(directory: Path, schema: A.DataSchema) -> Frame:
    return Frame.from_dataset(read_dataset(directory, schema), schema)


def test_the_example_data_is_read_columnar_and_the_same(schema: A.DataSchema) -> None:
    frame = read_frame(EXAMPLES / "data", schema)
    assert frame.columnar and not frame.bad_rows
    expected = content(by_rows(EXAMPLES / "data", schema))
    assert content(frame) == expected
    assert len(expected["m0"]) > 10_000 and expected["team"] and expected["pools"]


def _as_parquet(source: Path, target: Path, types: dict[str, str] | None = None) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for csv_file in source.glob("*.csv"):
        out = target / f"{csv_file.stem}.parquet"
        columns = "*" if types is None or csv_file.stem not in types else types[csv_file.stem]
        con.execute(f"COPY (SELECT {columns} FROM read_csv(?, all_varchar = true)) TO "
                    f"'{out}' (FORMAT parquet)", [str(csv_file)])
    con.close()
    return target


def test_parquet_gives_exactly_the_csv_tables(schema: A.DataSchema, tmp_path: Path) -> None:
    parquet = _as_parquet(EXAMPLES / "data", tmp_path / "text")
    frame = read_frame(parquet, schema)
    assert frame.columnar
    assert content(frame) == content(read_frame(EXAMPLES / "data", schema))


def test_typed_parquet_columns_read_the_same(schema: A.DataSchema, tmp_path: Path) -> None:
    types = {"metrics": "account_id, metric, CAST(date AS DATE) AS date, "
                        "CAST(value AS DOUBLE) AS value"}
    parquet = _as_parquet(EXAMPLES / "data", tmp_path / "typed", types)
    frame = read_frame(parquet, schema)
    assert frame.columnar
    assert content(frame) == content(read_frame(EXAMPLES / "data", schema))


def test_bad_parquet_rows_are_located_by_the_row_reader(schema: A.DataSchema,
                                                        tmp_path: Path) -> None:
    directory = _small(tmp_path / "csv")
    metrics = directory / "metrics.csv"
    metrics.write_text(metrics.read_text(encoding="utf-8") + "A000001,usage,2026-02-30,1\n",
                       encoding="utf-8")
    parquet = _as_parquet(directory, tmp_path / "pq")
    frame = read_frame(parquet, schema)
    assert not frame.columnar
    (bad,) = frame.bad_rows
    assert bad.file.endswith("metrics.parquet") and "`2026-02-30` is not a date" in bad.reason
    assert content(frame) == content(Frame.from_dataset(read_parquet_dir(parquet, schema),
                                                        schema))


def _as_duckdb(source: Path, target: Path, types: dict[str, str] | None = None,
               views: bool = False) -> Path:
    """The CSV tables as one DuckDB file (text columns unless `types` says otherwise);
    with `views`, each is a view over a table of its own."""
    con = duckdb.connect(str(target))
    for csv_file in sorted(source.glob("*.csv")):
        columns = "*" if types is None or csv_file.stem not in types else types[csv_file.stem]
        stored = f"{csv_file.stem}_data" if views else csv_file.stem
        con.execute(f"CREATE TABLE {stored} AS SELECT {columns} FROM "
                    "read_csv(?, all_varchar = true)", [str(csv_file)])
        if views:
            con.execute(f"CREATE VIEW {csv_file.stem} AS SELECT * FROM {stored}")
    con.close()
    return target


@pytest.mark.parametrize("shape", ["text", "typed", "reordered"])
def test_a_duckdb_file_is_read_in_place_and_the_same(schema: A.DataSchema, tmp_path: Path,
                                                     shape: str) -> None:
    types = {"typed": {"metrics": "account_id, metric, CAST(date AS DATE) AS date, "
                                  "CAST(value AS DOUBLE) AS value"},
             "reordered": {"metrics": "value, date, account_id, metric",
                           "team": '"user", account_id, role'}}.get(shape)
    path = _as_duckdb(EXAMPLES / "data", tmp_path / "data.duckdb", types)
    frame = read_frame(path, schema)
    assert frame.columnar
    assert content(frame) == content(read_frame(EXAMPLES / "data", schema))


@pytest.mark.parametrize("bad", ["row", "view"])
def test_a_duckdb_file_it_declines_is_read_by_the_row_reader(
        schema: A.DataSchema, tmp_path: Path, bad: str) -> None:
    directory = _small(tmp_path / "csv")
    if bad == "row":
        metrics = directory / "metrics.csv"
        metrics.write_text(metrics.read_text(encoding="utf-8")
                           + "A000001,usage,2026-02-30,1\n", encoding="utf-8")
    path = _as_duckdb(directory, tmp_path / "data.duckdb", views=bad == "view")
    frame = read_frame(path, schema)
    assert not frame.columnar
    reference = Frame.from_dataset(read_dataset(path, schema), schema)
    assert content(frame) == content(reference)
    if bad == "row":
        (row,) = frame.bad_rows
        assert row.file.endswith("data.duckdb:metrics") and "is not a date" in row.reason


def _small(directory: Path, rows: int = 40) -> Path:
    """The example data cut to its header and first rows."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in sorted((EXAMPLES / "data").glob("*.csv")):
        lines = source.read_text(encoding="utf-8").split("\n")
        (directory / source.name).write_text("\n".join(lines[:rows]) + "\n", encoding="utf-8")
    return directory


# A row appended to a file: read columnar (and the same) or declined (and the same).
ROWS = [
    ("metrics.csv", "A000001,usage,2026-11-30,1e-3"),
    ("metrics.csv", "A000001,usage,2026-11-30, 5"),
    ("metrics.csv", "A000001,usage,2026-11-30,+.5"),
    ("metrics.csv", "A000001,usage,2026-11-30,1_0"),
    ("metrics.csv", "A000001,usage,2026-11-30,1e999"),
    ("metrics.csv", "A000001 ,usage,2026-11-30,1"),
    ("metrics.csv", "A000001,usage,2026-W48-1,1"),
    ("metrics.csv", "A000001,usage,0000-01-01,1"),
    ("metrics.csv", "A999999,usage,2026-11-30,1"),
    ("metrics.csv", "A000001,nope,2026-11-30,1"),
    ("metrics.csv", '"A000001","usage","2026-11-30","2"'),
    ("metrics.csv", "A000001,usage,2026-11-30"),
    ("accounts.csv", "A000001,Dup,SMB,EMEA,1,1,2026-01-01,2026-12-01,adoption,3,true"),
    ("accounts.csv", "Z1,Zed,smb,EMEA,1,1,2026-01-01,2026-12-01,adoption,3,true"),
    ("accounts.csv", "Z1,Zed,SMB,EMEA,1,1,2026-01-01,2026-12-01,adoption,3,TRUE"),
    ("accounts.csv", "Z1,Zed,SMB,EMEA,1,1,2026-01-01,2026-12-01,adoption,3, true"),
    ("accounts.csv", "Z1,Zed,Mid-Market,APAC,1,1,2026-01-01,2026-12-01,adoption,3,True"),
    ("accounts.csv", "Z1,,,,,,,,,,"),
    ("accounts.csv", ' Z1,"a, b",,,,,,,,,'),
    ("accounts.csv", "Z1\u00a0,x,,,,,,,,,"),
    ("accounts.csv", "Z1,Ze\x00d,,,,,,,,,"),
    ("accounts.csv", "Z\x001,Zed,,,,,,,,,"),
    ("team.csv", "A000001,CSM,a\x00b@example.com"),
    # DuckDB drops blanks beside quotes; Python's csv keeps them, and the quotes
    ("accounts.csv", 'Z1, "Zed",,,,,,,,,'),
    ("accounts.csv", 'Z1,"Zed" ,,,,,,,,,'),
    ("accounts.csv", ' "Z1",Zed,,,,,,,,,'),
    ("accounts.csv", 'Z1,Zed, "SMB",,,,,,,,'),
    ("metrics.csv", 'A000001,usage,2026-11-30, "5"'),
    ("team.csv", 'A000001, "CSM",x@example.com'),
    ("team.csv", "A000001,CSM,someone.else@example.com"),
    ("team.csv", "A000001,Nobody,x@example.com"),
    ("team.csv", "A000001,CSM,"),
    ("events.csv", "A000001,nps_response,2026-11-01,,9,,,,"),
    ("events.csv", "A000001,nps_response,2026-11-01,,abc,,,,"),
    ("events.csv", "A000001,unknown_event,2026-11-01,,,,,,"),
    ("pools.csv", "Support,"),
    ("pools.csv", "Support, x@example.com"),
]


@pytest.mark.parametrize(("name", "row"), ROWS)
def test_a_row_is_read_the_same_or_declined(schema: A.DataSchema, tmp_path: Path, name: str,
                                            row: str) -> None:
    directory = _small(tmp_path)
    path = directory / name
    path.write_text(path.read_text(encoding="utf-8") + row + "\n", encoding="utf-8")
    frame = read_frame(directory, schema)
    reference = by_rows(directory, schema)
    assert content(frame) == content(reference)
    assert frame.columnar == (not reference.bad_rows) or not frame.columnar


PIECES = [",", "\n", '"', "", "x", "-1", "1e400", "nan", "inf", "2026-02-30", "A000001",
          "usage", "true", "é", " ", "\t", "\u00a0", "1_0", "+1", "2026-W01-1", "CSM"]


@settings(max_examples=int(os.environ.get("FRAME_EXAMPLES", "60" if CI else "8")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_data_is_read_the_same_either_way(schema: A.DataSchema, tmp_path: Path,
                                                  seed: int) -> None:
    rng = random.Random(seed)
    directory = _small(tmp_path / str(seed), rows=25)
    for path in sorted(directory.glob("*.csv")):
        if rng.random() < 0.4:
            path.write_text(mutate_text(path.read_text(encoding="utf-8"), rng, PIECES),
                            encoding="utf-8")
    try:
        reference = by_rows(directory, schema)
    except Exception as exc:  # a file the row reader refuses whole: so must the frame
        with pytest.raises(type(exc)):
            read_frame(directory, schema)
        return
    assert content(read_frame(directory, schema)) == content(reference)


def test_a_refused_account_is_one_bad_row_with_what_it_dropped(schema: A.DataSchema,
                                                               tmp_path: Path) -> None:
    """One bad `segment` used to give a bad row for each of the account's team, metric
    and event rows ("unknown account"): the cause is reported once, with the count."""
    directory = _small(tmp_path, rows=400)
    accounts = directory / "accounts.csv"
    lines = accounts.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("Mid-Market", "Mid Market")  # A000001's segment
    accounts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dependents = sum(
        1 for name in ("team.csv", "metrics.csv", "events.csv")
        for line in (directory / name).read_text(encoding="utf-8").splitlines()
        if line.startswith("A000001,"))
    assert dependents > 10
    frame = read_frame(directory, schema)
    assert not frame.columnar
    (bad,) = frame.bad_rows
    assert bad.file.endswith("accounts.csv") and bad.line == 2
    assert bad.reason == ("`Mid Market` is not one of \"SMB\", \"Mid-Market\", \"Enterprise\" "
                          f"for `segment` (column `segment`); {dependents} rows of this account "
                          "in other tables dropped with it")


@pytest.mark.parametrize("day", ["10000-01-01", "infinity", "0001-01-01", "9999-12-31"])
def test_parquet_dates_beyond_python_are_left_to_the_row_reader(
        schema: A.DataSchema, tmp_path: Path, day: str) -> None:
    directory = _small(tmp_path / "csv")
    parquet = _as_parquet(directory, tmp_path / "pq", {
        "accounts": f"* REPLACE (CASE WHEN id = 'A000001' THEN DATE '{day}' "
                    "ELSE CAST(start_date AS DATE) END AS start_date)"})
    frame = read_frame(parquet, schema)
    reference = Frame.from_dataset(read_parquet_dir(parquet, schema), schema)
    assert content(frame) == content(reference)
    assert frame.columnar == (day in ("0001-01-01", "9999-12-31"))


@pytest.mark.parametrize("day", ["10000-01-01", "infinity", "-0001-01-01", "0001-01-01"])
def test_metric_dates_beyond_python_leave_the_span_unknown(
        schema: A.DataSchema, tmp_path: Path, day: str) -> None:
    """The day check's span comes from the raw ends of the `date` column: an end that
    is no Python date is a bad row, read by the row reader, not an error."""
    directory = _small(tmp_path / "csv")
    parquet = _as_parquet(directory, tmp_path / "pq", {
        "metrics": f"account_id, metric, CASE WHEN row_number() OVER () = 3 THEN "
                   f"DATE '{day}' ELSE CAST(date AS DATE) END AS date, value"})
    frame = read_frame(parquet, schema)
    reference = Frame.from_dataset(read_parquet_dir(parquet, schema), schema)
    assert content(frame) == content(reference)
    assert frame.columnar == (day == "0001-01-01")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize("bits", [1 << 31, 0], ids=["bitstrings", "grouped"])
def test_a_second_value_on_a_day_is_found_by_either_day_check(
        schema: A.DataSchema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str,
        bits: int) -> None:
    """The duplicate-day check never holds the metric rows: bitstrings of days per
    (account, metric) when the span is short, a spilling GROUP BY when it is not. Both
    decline a day given twice, and accept the same data without it."""
    import csdsl_runtime.frame as F

    monkeypatch.setattr(F, "_BITSTRING_BITS", bits)
    directory = _small(tmp_path / "csv")
    metrics = directory / "metrics.csv"
    lines = metrics.read_text(encoding="utf-8").splitlines()
    clean = _as_parquet(directory, tmp_path / "clean") if kind == "parquet" else directory
    assert read_frame(clean, schema).columnar
    account, metric, day, _ = lines[5].split(",")
    metrics.write_text("\n".join([*lines, f"{account},{metric},{day},123"]) + "\n",
                       encoding="utf-8")
    data = _as_parquet(directory, tmp_path / "twice") if kind == "parquet" else directory
    frame = read_frame(data, schema)
    assert not frame.columnar
    (bad,) = frame.bad_rows
    assert bad.reason == f"a second value of `{metric}` on {day}"


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_metric_rows_are_views_and_the_scratch_goes_with_the_frame(
        schema: A.DataSchema, tmp_path: Path, kind: str) -> None:
    """No table of metric rows is held: each metric is a view over the Parquet file (the
    input's own, or the CSV staged once to the frame's scratch directory), which `close`
    removes."""
    data = _as_parquet(EXAMPLES / "data", tmp_path / "pq") if kind == "parquet" else \
        EXAMPLES / "data"
    frame = read_frame(data, schema)
    assert frame.columnar
    kinds = dict(frame.con.execute(
        "SELECT table_name, table_type FROM information_schema.tables").fetchall())
    assert {kinds[t] for t in frame.metrics.values()} == {"VIEW"}
    assert not any(name.startswith("raw_") for name in kinds)
    scratch = Path(frame.con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    assert scratch.is_dir()
    assert (scratch / "metrics.parquet").is_file() == (kind == "csv")
    frame.close()
    assert not scratch.exists()


@pytest.mark.parametrize(("integral", "largest", "days", "exact"), [
    (True, 5.0, 90, True),
    (True, 2.0 ** 53 / 90, 90, True),    # every partial sum still fits exactly
    (True, 2.0 ** 53 / 90 + 2, 90, False),
    (True, 0.0, 1, True),
    (False, 5.0, 90, False),             # 0.1 + 0.2 + 0.3 depends on the order
])
def test_which_sums_are_exact_in_any_order(integral: bool, largest: float, days: int,
                                           exact: bool) -> None:
    from csdsl_runtime.frame import exact_sum

    assert exact_sum(integral, largest, days) is exact


@pytest.mark.parametrize("kind", ["csv", "parquet", "dataset"])
def test_exact_sums_are_known_per_metric_whatever_the_path(
        schema: A.DataSchema, tmp_path: Path, kind: str) -> None:
    """The example metrics are integer counts (plain sums); one fraction in `usage`, or
    an integer too large for its span, makes `usage` take the day-ordered sum, on the
    columnar paths and on a frame built from a data set alike."""
    def frame_of(directory: Path) -> Frame:
        if kind == "dataset":
            return by_rows(directory, schema)
        if kind == "parquet":
            target = tmp_path / f"pq-{len(list(tmp_path.iterdir()))}"
            directory = _as_parquet(directory, target)
        read = read_frame(directory, schema)
        assert read.columnar
        return read

    usage = next(t for name, t in frame_of(EXAMPLES / "data").metrics.items()
                 if name == "usage")
    assert frame_of(EXAMPLES / "data").exact_sums == {
        t for t in frame_of(EXAMPLES / "data").metrics.values()}
    for name, value in [("fraction", "0.5"), ("huge", "9007199254740992")]:
        directory = _small(tmp_path / name)
        metrics = directory / "metrics.csv"
        row = metrics.read_text(encoding="utf-8").splitlines()[1].split(",")
        assert row[1] == "usage"
        metrics.write_text(metrics.read_text(encoding="utf-8")
                           + f"{row[0]},usage,2026-12-31,{value}\n", encoding="utf-8")
        frame = frame_of(directory)
        assert usage not in frame.exact_sums and frame.exact_sums


def test_a_sum_that_depends_on_the_order_is_added_in_day_order(tmp_path: Path) -> None:
    """Integers past 2**53 round: 1e16 + 1 is 1e16. The interpreter adds in day order
    (1e16, 1, -1e16, 1 gives 1.0); the frame sees the sum is not exact in any order and
    the SQL engine adds in day order too, so both fire on `sum == 1`."""
    from csdsl_runtime.data import AccountData, Dataset
    from csdsl_runtime.engines.interpreter import InterpreterEngine
    from csdsl_runtime.engines.sql import SqlEngine
    from tests.test_engines import ASOF, _series

    series = _series({-3: 1e16, -2: 1.0, -1: -1e16, 0: 1.0})
    data = Dataset(accounts={"a": AccountData(id="a", metrics={"usage": series})})
    condition = A.Compare(cmp="==", left=A.Window(fn="sum", metric="usage", days=10),
                          right=A.Lit(type="number", value=1.0))
    engine = SqlEngine(data)
    assert not engine.exact_sums
    expected = InterpreterEngine(data).evaluate({"c": condition}, ASOF)
    assert expected == {"c": {"a": True}}
    assert engine.evaluate({"c": condition}, ASOF) == expected


def test_running_out_of_memory_is_an_error_that_names_the_limit(schema: A.DataSchema) -> None:
    """Out of DuckDB's memory limit, the frame does not fall back to the row reader
    (which needs ten times the memory): the read fails with a `SourceError` (which
    `csdsl run` prints, exit status 1) naming the limit."""
    from csdsl_runtime.sources import SourceError

    with pytest.raises(SourceError, match=r"DuckDB's limit \(97.6 KiB\); run with a larger "
                                          r"--memory-limit"):
        read_frame(EXAMPLES / "data", schema, memory_limit="100KB")


@pytest.mark.parametrize(("text", "found"), [
    (b'abc,"x"\n', False), (b'ab, "x"\n', True), (b'abc "x"', True),
    (b'abcdefg"\tz', True), (b"", False), (b'a"b"c, d', False), (b'abc\t"', True),
])
def test_a_blank_beside_a_quote_is_found_across_blocks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: bytes, found: bool) -> None:
    """The file is searched in blocks (4 bytes here), not mapped whole: a pair that
    spans two blocks is still found."""
    import csdsl_runtime.frame as F

    monkeypatch.setattr(F, "_BLOCK", 4)
    path = tmp_path / "x.csv"
    path.write_bytes(text)
    assert F._blank_by_quote(str(path)) is found


def test_the_whitespace_written_out_is_what_strip_removes() -> None:
    import sys

    from csdsl_runtime.frame import _WHITESPACE
    assert list(_WHITESPACE) == [c for c in range(sys.maxunicode + 1) if chr(c).isspace()]
