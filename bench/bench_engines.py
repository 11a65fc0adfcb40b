"""Time the evaluation of the example spec's conditions on each engine, one as-of day.

    python bench/bench_engines.py --data DIR [--engines duckdb,spark1,spark2,postgres]

DIR is a Parquet data directory (what bench_runtime.py writes under `parquet/`, or
`--parquet-from CSVDIR` converts a CSV directory first). Each engine evaluates every
condition a run evaluates (rules, `close when`, success) as of `--as-of`:

- duckdb: `read_frame` (read and validate), then `SqlEngine.evaluate_columns`;
- spark1, spark2: Spark in `local[1]` and `local[2]`, each in its own process (one
  session per process): the session's start, reading and checking the metric and event
  rows (`SparkSource`), then the warehouse query, with the bytes its stages shuffled
  (from Spark's REST API), per account: what a cluster's network would carry;
- postgres: a throwaway server (tests/pgserver.py), the Parquet files loaded with
  `COPY`, then the checks and the query inside the database.

It prints seconds per phase and the firing counts, which must agree across engines.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _artifact(work: Path) -> Path:
    path = work / "spec.json"
    subprocess.run([str(Path(sys.executable).parent / "csdsl"), "compile",
                    str(ROOT / "examples" / "spec"), "-o", str(path)], check=True,
                   capture_output=True)
    return path


def _counts(columns: dict[str, Any]) -> dict[str, int]:
    return {key: int((column == 1).sum()) for key, column in sorted(columns.items())}


def _duckdb(artifact: Path, data: Path, asof: date) -> dict[str, Any]:
    from csdsl_runtime import loader
    from csdsl_runtime.engines import conditions_of
    from csdsl_runtime.engines.sql import SqlEngine
    from csdsl_runtime.frame import read_frame

    spec = loader.load(artifact)
    started = time.perf_counter()
    frame = read_frame(data, spec.schema_)
    read = time.perf_counter() - started
    engine = SqlEngine(frame)
    started = time.perf_counter()
    columns = engine.evaluate_columns(conditions_of(spec, lifecycle=True), asof)
    return {"read": read, "evaluate": time.perf_counter() - started,
            "accounts": len(engine.ids), "fired": _counts(columns)}


_SPARK_CHILD = """
import json, sys, time, urllib.request
from datetime import date
sys.path.insert(0, sys.argv[5])
from csdsl_runtime import loader, read_dataset
from csdsl_runtime.engines import conditions_of
from csdsl_runtime.engines.spark import SparkSource, spark_engine, spark_session
spec = loader.load(sys.argv[1])
started = time.perf_counter()
session = spark_session(sys.argv[3], {"spark.ui.enabled": "true", "spark.ui.port": "4077",
    "spark.ui.showConsoleProgress": "false", "spark.driver.memory": "6g",
    "spark.sql.shuffle.partitions": str(2 * int(sys.argv[3][6:-1]))})
start = time.perf_counter() - started
started = time.perf_counter()
accounts = read_dataset(sys.argv[2], spec.schema_, tables=("accounts", "team", "pools"))
driver = time.perf_counter() - started
started = time.perf_counter()
source = SparkSource.read(session, sys.argv[2], spec.schema_, skip_bad=False)
engine = spark_engine(session, source, list(accounts.accounts))
checked = time.perf_counter() - started
def shuffled():
    app = session.sparkContext.applicationId
    with urllib.request.urlopen(f"http://localhost:4077/api/v1/applications/{app}/stages") as r:
        return sum(s.get("shuffleWriteBytes", 0) for s in json.load(r))
before = shuffled()
started = time.perf_counter()
columns = engine.evaluate_columns(conditions_of(spec, lifecycle=True),
                                  date.fromisoformat(sys.argv[4]))
evaluate = time.perf_counter() - started
print(json.dumps({"start": start, "driver_read": driver, "check": checked,
                  "evaluate": evaluate, "shuffle_bytes": shuffled() - before,
                  "accounts": len(engine.ids),
                  "fired": {k: int((c == 1).sum()) for k, c in sorted(columns.items())}}))
"""


def _spark(artifact: Path, data: Path, asof: date, cores: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _SPARK_CHILD, str(artifact), str(data),
                           f"local[{cores}]", asof.isoformat(), str(ROOT)],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _postgres(artifact: Path, data: Path, asof: date, work: Path) -> dict[str, Any]:
    import duckdb
    import psycopg

    from csdsl_runtime import loader
    from csdsl_runtime.engines import conditions_of
    from csdsl_runtime.engines.postgres import PostgresSource, postgres_engine
    from tests.pgserver import start_postgres

    spec = loader.load(artifact)
    server = start_postgres(work / "pg")
    try:
        url = server.url_for("csdsl")
        started = time.perf_counter()
        con = duckdb.connect()
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute("CREATE SCHEMA crm")
            for table in ("accounts", "team", "metrics", "events", "pools"):
                parquet = data / f"{table}.parquet"
                if not parquet.is_file():
                    continue
                csv = work / f"{table}.csv"
                con.execute(f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{csv}' "
                            "(HEADER, DELIMITER ',')")
                described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{parquet}')"
                                        ).fetchall()
                kinds = {"DATE": "DATE", "DOUBLE": "DOUBLE PRECISION", "BIGINT": "BIGINT",
                         "INTEGER": "INTEGER", "BOOLEAN": "BOOLEAN"}
                columns = ", ".join(f'"{name}" {kinds.get(str(kind), "TEXT")}'
                                    for name, kind, *_ in described)
                pg.execute(f"CREATE TABLE crm.{table} ({columns})")
                os.chmod(csv, 0o644)
                pg.execute(f"COPY crm.{table} FROM '{csv}' (FORMAT csv, HEADER)")
            pg.execute("ANALYZE")
        load = time.perf_counter() - started
        started = time.perf_counter()
        source = PostgresSource(url, "crm", spec.schema_)
        source.check()
        check = time.perf_counter() - started
        started = time.perf_counter()
        accounts = source.read_accounts()
        driver = time.perf_counter() - started
        engine = postgres_engine(source, list(accounts.accounts))
        started = time.perf_counter()
        columns = engine.evaluate_columns(conditions_of(spec, lifecycle=True), asof)
        evaluate = time.perf_counter() - started
        engine.close()
        return {"load": load, "check": check, "driver_read": driver, "evaluate": evaluate,
                "accounts": len(engine.ids), "fired": _counts(columns)}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="a Parquet data directory")
    parser.add_argument("--engines", default="duckdb,spark1,spark2,postgres")
    parser.add_argument("--as-of", default="2026-11-20")
    args = parser.parse_args()
    asof = date.fromisoformat(args.as_of)
    work = Path(tempfile.mkdtemp(prefix="csdsl-bench-engines-"))
    os.chmod(work, 0o755)  # the PostgreSQL server (another user) reads its CSV files
    artifact = _artifact(work)
    results: dict[str, dict[str, Any]] = {}
    for name in args.engines.split(","):
        if name == "duckdb":
            results[name] = _duckdb(artifact, args.data, asof)
        elif name.startswith("spark"):
            results[name] = _spark(artifact, args.data, asof, int(name[5:] or 2))
        elif name == "postgres":
            results[name] = _postgres(artifact, args.data, asof, work)
        got = results[name]
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in got.items()
                           if isinstance(v, float))
        extra = ""
        if "shuffle_bytes" in got:
            extra = (f"; shuffled {got['shuffle_bytes'] / 1e6:.0f} MB, "
                     f"{got['shuffle_bytes'] / got['accounts']:.0f} bytes per account")
        print(f"{name:>9}: {got['accounts']:,} accounts; {phases}{extra}", flush=True)
    fired = {name: r["fired"] for name, r in results.items()}
    same = len({json.dumps(f, sort_keys=True) for f in fired.values()}) == 1
    print(f"machine: {os.cpu_count()} cores; firing accounts per condition "
          f"{'agree' if same else 'DIFFER'} across {', '.join(results)}")
    if not same:
        for name, f in fired.items():
            print(f"  {name}: {f}")


if __name__ == "__main__":
    main()
