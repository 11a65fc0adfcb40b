"""Whole runs on Spark (local mode) and inside PostgreSQL open exactly the CTAs, tasks,
owners and due dates that DuckDB opens, day after day (closes, re-arming and pools
included), on the example data and on a generated data set; bad metric rows are named
and refused or skipped; `csdsl run --engine spark|postgres` end to end."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from csdsl_runtime import Runtime, loader, open_store, read_dataset
from csdsl_runtime.frame import read_frame
from tests.pgserver import postgres_server, postgres_url  # noqa: F401 - fixtures

from .clikit import csdsl
from .conftest import EXAMPLES, ROOT
from .whkit import shared_spark

DATA = ROOT / "examples" / "data"
DAYS = [date(2026, 11, 8) + timedelta(days=2 * i) for i in range(7)]  # closes happen
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("spec") / "spec.json"
    got = csdsl("compile", str(EXAMPLES), "-o", str(path))
    assert got.returncode == 0, got.stderr
    return loader.load(path)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "data"
    subprocess.run([sys.executable, str(ROOT / "examples" / "generate_data.py"), "--out",
                    str(out), "--accounts", "1500", "--days", "70", "--as-of", "2026-11-20",
                    "--seed", "7"], check=True, capture_output=True)
    return out


def _stored(runtime: Runtime) -> tuple[list[Any], list[Any]]:
    for day in DAYS:
        runtime.run(day)
    store = runtime.store
    ctas = store._exec("SELECT rule, account_id, owner, due, title, status, closed "  # type: ignore[attr-defined]
                       "FROM csdsl_ctas ORDER BY 1, 2, 3, 4, 5").fetchall()
    tasks = store._exec("SELECT c.rule, c.account_id, t.key, t.owner, t.due, t.status "  # type: ignore[attr-defined]
                        "FROM csdsl_tasks t JOIN csdsl_ctas c ON c.id = t.cta_id "
                        "ORDER BY 1, 2, 3").fetchall()

    def plain(rows: list[Any]) -> list[Any]:  # PostgreSQL's dates, SQLite's texts
        return [tuple(v.isoformat() if isinstance(v, date) else v for v in r) for r in rows]

    return plain(ctas), plain(tasks)


def _duckdb(artifact: Any, data: Path) -> tuple[list[Any], list[Any]]:
    return _stored(Runtime(artifact, read_frame(data, artifact.schema_),
                           open_store("sqlite:///:memory:"), evidence=False))


@pytest.mark.parametrize("which", ["examples", "generated"])
def test_spark_runs_open_what_duckdb_opens(artifact: Any, generated: Path, which: str
                                           ) -> None:
    from csdsl_runtime.engines.spark import SparkSource, spark_engine

    data = DATA if which == "examples" else generated
    session = shared_spark()
    dataset = read_dataset(data, artifact.schema_, tables=("accounts", "team", "pools"))
    source = SparkSource.read(session, data, artifact.schema_, skip_bad=False)
    assert source.bad_rows == []
    engine = spark_engine(session, source, list(dataset.accounts))
    got = _stored(Runtime(artifact, dataset, open_store("sqlite:///:memory:"), engine=engine,
                          evidence=False))
    want = _duckdb(artifact, data)
    assert got == want
    assert len(want[0]) > 100 and any(row[5] == "closed" for row in want[0])


def _load_postgres(url: str, data: Path, schema: str) -> None:
    import psycopg

    typed = {"date": "DATE", "value": "DOUBLE PRECISION"}
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        for table in ("accounts", "team", "metrics", "events", "pools"):
            with (data / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
            columns = ", ".join(f'"{h}" {typed.get(h, "TEXT")}' for h in rows[0])
            con.execute(f"CREATE TABLE {schema}.{table} ({columns})")
            with con.cursor().copy(f"COPY {schema}.{table} FROM STDIN") as copy:
                for row in rows[1:]:
                    copy.write_row([v if v != "" else None for v in row])


@pytest.mark.parametrize("which", ["examples", "generated"])
def test_postgres_runs_open_what_duckdb_opens(artifact: Any, generated: Path, which: str,
                                              postgres_url: str) -> None:  # noqa: F811
    from csdsl_runtime.engines.postgres import PostgresSource, postgres_engine

    data = DATA if which == "examples" else generated
    _load_postgres(postgres_url, data, "crm")
    source = PostgresSource(postgres_url, "crm", artifact.schema_)
    source.check()
    assert source.bad_rows == []
    dataset = source.read_accounts()
    engine = postgres_engine(source, list(dataset.accounts))
    try:
        got = _stored(Runtime(artifact, dataset, open_store(postgres_url), engine=engine,
                              evidence=False))
    finally:
        engine.close()
    assert got == _duckdb(artifact, data)


def _with_bad_metric(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for path in DATA.iterdir():
        (data / path.name).write_bytes(path.read_bytes())
    with (data / "metrics.csv").open("a", encoding="utf-8") as handle:
        handle.write("A000001,usage,2026-11-31,5\nNOPE,usage,2026-11-19,5\n")
    return data


def test_spark_names_bad_rows_and_skips_them(tmp_path: Path, artifact: Any) -> None:
    from csdsl_runtime.engines.spark import SparkSource

    data = _with_bad_metric(tmp_path)
    source = SparkSource.read(shared_spark(), data, artifact.schema_, skip_bad=True)
    shown = sorted(str(row) for row in source.bad_rows)
    assert len(shown) == 2 and source.bad_count == 2
    assert "metrics.csv: account `A000001`, metric `usage`, date `2026-11-31`: not a date" \
        in shown[0]
    assert "account `NOPE`" in shown[1] and "unknown account" in shown[1]
    left = shared_spark().sql("SELECT count(*) FROM csdsl_src_metrics").collect()[0][0]
    assert left == sum(1 for _ in (DATA / "metrics.csv").open()) - 1


def test_postgres_names_bad_rows_and_skips_them(artifact: Any, postgres_url: str  # noqa: F811
                                                ) -> None:
    import psycopg

    from csdsl_runtime.engines.postgres import PostgresSource

    _load_postgres(postgres_url, DATA, "crm")
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("INSERT INTO crm.metrics VALUES ('NOPE', 'usage', '2026-11-19', 5), "
                    "('A000001', 'usage', '2026-11-19', 'Infinity'), "
                    "('A000001', 'seats', '2026-11-19', 1)")
    source = PostgresSource(postgres_url, "crm", artifact.schema_)
    source.check(skip_bad=True)
    # the infinite value is also a second value that day: it is named for the first
    # reason, and the row it repeats for the second
    reasons = sorted(row.reason.rsplit(": ", 1)[1] for row in source.bad_rows)
    assert reasons == ["a second value on that day", "not a finite number",
                       "undeclared metric", "unknown account"]
    assert source.bad_count == 4 and source.tables.metrics == "csdsl_src_metrics"
    count = source.execute("SELECT count(*) FROM csdsl_src_metrics")[0][0]
    total = source.execute("SELECT count(*) FROM crm.metrics")[0][0]
    assert count == total - 4
    source.conn.close()


def test_csdsl_run_with_the_spark_engine(tmp_path: Path) -> None:
    common = ["run", str(EXAMPLES), "--data", str(DATA), "--as-of", "2026-11-20",
              "--dry-run", "--format", "json", "--quiet"]
    spark = csdsl(*common, "--engine", "spark", "--spark-master", "local[2]",
                  "--spark-conf", "spark.sql.shuffle.partitions=2")
    assert spark.returncode == 0, spark.stderr[-2000:]
    duck = csdsl(*common)
    got, want = json.loads(spark.stdout), json.loads(duck.stdout)
    assert got["engine"] == "spark"
    assert got["changes"]["open"] and (
        [(c["rule"], c["account_id"], c["owner"], c["due"]) for c in got["changes"]["open"]]
        == [(c["rule"], c["account_id"], c["owner"], c["due"])
            for c in want["changes"]["open"]])
    bad = csdsl(*common, "--engine", "spark", "--spark-conf", "nonsense")
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr


def test_csdsl_run_with_the_postgres_engine(tmp_path: Path, postgres_url: str  # noqa: F811
                                            ) -> None:
    _load_postgres(postgres_url, DATA, "crm")
    common = ["run", str(EXAMPLES), "--as-of", "2026-11-20", "--format", "json", "--quiet"]
    pg = csdsl(*common, "--engine", "postgres", "--data", postgres_url, "--data-schema", "crm",
               "--store", postgres_url)
    assert pg.returncode == 0, pg.stderr
    duck = csdsl(*common, "--data", str(DATA), "--store", f"sqlite:///{tmp_path / 's.db'}")
    got, want = json.loads(pg.stdout), json.loads(duck.stdout)
    assert got["engine"] == "postgres" and got["ctas_opened"] == want["ctas_opened"] > 0
    wrong = csdsl(*common, "--engine", "postgres", "--data", str(DATA))
    assert wrong.returncode == 2 and "postgresql://" in wrong.stderr
