"""The DuckDB fast path for metrics.csv builds exactly what the row-by-row reader builds.

The fast path must accept only files the slow path accepts without a bad row, and must
then produce the same series; on anything else it declines and the slow path reports.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl_runtime.data import Dataset
from csdsl_runtime.sources.builder import DatasetBuilder
from csdsl_runtime.sources.csv import _open, _rows, read_csv_dir
from csdsl_runtime.sources.fast import read_metrics_fast
from tests.rtkit import compile_spec_text

pytest.importorskip("duckdb")
pytest.importorskip("numpy")

ROOT = Path(__file__).resolve().parent.parent
HEADER = "account_id,metric,date,value\n"


def _metrics(dataset: Dataset) -> dict[tuple[str, str], tuple[list[int], list[float]]]:
    return {
        (a.id, name): (list(s.days), list(s.values))
        for a in dataset.accounts.values()
        for name, s in a.metrics.items()
    }


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory):
    return compile_spec_text(tmp_path_factory.mktemp("spec"), "").schema_


def _data_dir(tmp: Path, metrics: str) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "accounts.csv").write_text("id,name,segment,arr,renewal_date\nA1,Acme,,,\n"
                                      "A2,Beta,,,\nA 3,Gamma,,,\n", encoding="utf-8")
    (tmp / "metrics.csv").write_text(HEADER + metrics, encoding="utf-8")
    return tmp


def _fast_accepts(directory: Path, schema) -> bool:
    builder = DatasetBuilder(schema)
    handle, reader, header = _open(directory / "accounts.csv")
    with handle:  # type: ignore[attr-defined]
        builder.accounts("accounts.csv", header, _rows(reader))
    return read_metrics_fast(directory / "metrics.csv", builder)


def test_examples_data_same_series_both_ways() -> None:
    from csdsl.driver import compile_spec

    artifact, _ = compile_spec([ROOT / "examples" / "spec"])
    assert artifact is not None
    data = ROOT / "examples" / "data"
    slow = read_csv_dir(data, artifact.schema_, fast=False)
    fast = read_csv_dir(data, artifact.schema_, fast=True)
    assert not slow.bad_rows and not fast.bad_rows
    assert _metrics(fast) == _metrics(slow)
    assert sum(len(d) for d, _ in _metrics(fast).values()) > 10_000
    assert _fast_accepts(data, artifact.schema_)  # it ran; it did not leave it to the slow one


ACCEPTED = [
    pytest.param("A1,usage,2026-11-02,3\nA1,usage,2026-11-01,2\n", id="unsorted"),
    pytest.param("A1,usage,2026-11-01,1\nA2,usage,2026-11-01,2\nA1,usage,2026-11-02,3\n",
                 id="interleaved"),
    pytest.param("A1,usage,2026-11-01,1e-3\nA2,usage,2026-11-01,-.5\n", id="exponent-and-dot"),
    pytest.param('"A1","usage","2026-11-01","1.25"\n', id="quoted"),
    pytest.param('"A 3",usage,2026-11-01,7\n', id="space-in-id"),
    pytest.param("A1,usage,2026-11-01,2\n\nA2,usage,2026-11-01,3\n", id="blank-line"),
    pytest.param("", id="header-only"),
]

DECLINED = [
    pytest.param("A9,usage,2026-11-01,3\n", "unknown account `A9`", id="unknown-account"),
    pytest.param("A1,logins,2026-11-01,3\n", "`logins` is not a declared metric", id="metric"),
    pytest.param("A1,usage,2026-02-30,3\n", "`2026-02-30` is not a date", id="bad-date"),
    pytest.param("A1,usage,2026-11-01,abc\n", "`abc` is not a number", id="bad-number"),
    pytest.param("A1,usage,2026-11-01,nan\n", "`nan` is not a number", id="nan"),
    pytest.param("A1,usage,2026-11-01,1e999\n", "`1e999` is not a finite number", id="inf"),
    pytest.param("A1,usage,2026-11-01,1_000\n", "`1_000` is not a number", id="underscore"),
    pytest.param("A1,usage,2026-W47-1,1\n", "`2026-W47-1` is not a date", id="week-date"),
    pytest.param("A1,usage,2026-11-01,1\nA1,usage,2026-11-01,2\n", "a second value", id="dup"),
    pytest.param("A1,usage,2026-11-01\n", "expected 4 columns, found 3", id="short-row"),
    pytest.param("A1,usage,2026-11-01,\n", "`` is not a number", id="empty-value"),
    pytest.param("a1,usage,2026-11-01,1\n", "unknown account `a1`", id="case"),
]


@pytest.mark.parametrize("rows", ACCEPTED)
def test_fast_path_accepts_and_agrees(tmp_path: Path, schema, rows: str) -> None:
    directory = _data_dir(tmp_path, rows)
    assert _fast_accepts(directory, schema)
    slow = read_csv_dir(directory, schema, fast=False)
    fast = read_csv_dir(directory, schema, fast=True)
    assert not slow.bad_rows and not fast.bad_rows
    assert _metrics(fast) == _metrics(slow)


@pytest.mark.parametrize(("rows", "reason"), DECLINED)
def test_fast_path_declines_bad_files_and_the_slow_path_names_the_row(
    tmp_path: Path, schema, rows: str, reason: str
) -> None:
    directory = _data_dir(tmp_path, "A2,usage,2026-11-01,1\n" + rows)
    assert not _fast_accepts(directory, schema)
    dataset = read_csv_dir(directory, schema, fast=True)
    assert [(Path(b.file).name, b.line) for b in dataset.bad_rows][-1][0] == "metrics.csv"
    assert any(reason in b.reason for b in dataset.bad_rows), dataset.bad_rows
    assert _metrics(dataset) == _metrics(read_csv_dir(directory, schema, fast=False))


def test_crlf_file_is_accepted_and_mixed_line_ends_fall_back(tmp_path: Path, schema) -> None:
    rows = "A1,usage,2026-11-01,0.1\r\nA2,usage,2026-11-01,10.\r\n"
    crlf = _data_dir(tmp_path / "crlf", "")
    (crlf / "metrics.csv").write_text(HEADER.replace("\n", "\r\n") + rows, encoding="utf-8")
    assert _fast_accepts(crlf, schema)
    mixed = _data_dir(tmp_path / "mixed", rows)  # header ends in \n, rows in \r\n
    assert not _fast_accepts(mixed, schema)  # DuckDB refuses; the row reader copes
    expected = _metrics(read_csv_dir(crlf, schema, fast=False))
    assert expected[("A2", "usage")][1] == [10.0]
    for directory in (crlf, mixed):
        dataset = read_csv_dir(directory, schema)
        assert not dataset.bad_rows and _metrics(dataset) == expected


_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: f"{x:.17e}"),
    st.integers(-(10**20), 10**20).map(str),
    st.from_regex(r"-?[0-9]{1,20}\.[0-9]{0,20}([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.text("0123456789.-+eE ", min_size=1, max_size=8),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(_numbers, min_size=1, max_size=6))
def test_numbers_parse_the_same_or_the_fast_path_declines(
    tmp_path_factory: pytest.TempPathFactory, schema, values: list[str]
) -> None:
    """DuckDB's number parsing matches Python's float() bit for bit where it accepts."""
    rows = "".join(f"A1,usage,2026-10-{i + 1:02d},{v}\n" for i, v in enumerate(values))
    directory = _data_dir(tmp_path_factory.mktemp("n"), rows)
    slow = read_csv_dir(directory, schema, fast=False)
    if _fast_accepts(directory, schema):
        assert not slow.bad_rows
        fast = read_csv_dir(directory, schema, fast=True)
        assert _metrics(fast) == _metrics(slow)
