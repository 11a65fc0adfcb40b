"""Runtime benchmark: `csdsl run` of the example spec over N generated accounts.

    python bench/bench_runtime.py [--accounts 100000] [--days 90] [--inputs csv,parquet]
                                  [--engines duckdb,interpreter] [--postgres URL|auto|none]
                                  [--evidence on|off|both]

Generates the data set with examples/generate_data.py and converts it to Parquet (typed
columns; neither is timed as part of a run), compiles the example spec, then for each
input, engine and store times two runs of `csdsl run` as separate processes: *first*,
the as-of day on an empty store, and *steady*, the next day on that store (what a
daily host pays: most firing accounts already have their CTA). Prints the phases from
the run report, the child's peak memory, and each total as a ratio to the *floor*: the
engine's own feature and rule SQL run by DuckDB straight on the Parquet files, with no
validation, no Python objects and no store (measured in the same run); a CSV run's ratio
is to the floor plus DuckDB's own `read_csv` of the same files. `evid` is the part of
`act` spent keeping each opened CTA's evidence (`--evidence both` times each run with
and without it, as `csdsl run --no-evidence`). `--keep DIR` reuses the
data (and Parquet) already in DIR (a million accounts take about 3 minutes to generate
and 5 GB of disk).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ASOF = "2026-11-20"


def _timed_run(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    """Like _run, with the child's own peak RSS (os.wait4 on the real pid)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_chunks: list[bytes] = []
    assert proc.stdout is not None
    out_chunks.append(proc.stdout.read())
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}\n{err}")
    return seconds, usage.ru_maxrss // 1024, b"".join(out_chunks).decode()


def _empty(name: str, url: str, work: Path) -> None:
    """An empty store for a first run."""
    if name == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(work / "bench.db") + suffix).unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS csdsl_tasks, csdsl_ctas, csdsl_plans, csdsl_runs, "
                     "csdsl_pool_cursors, csdsl_meta")


def _postgres(choice: str | None, work: Path):  # type: ignore[no-untyped-def]
    if choice is None:
        return None, None
    if choice != "auto":
        return choice, None
    sys.path.insert(0, str(ROOT))
    try:
        from tests.pgserver import fresh_database, start_postgres
    except ImportError as exc:
        print(f"postgres: skipped ({exc})")
        return None, None
    try:
        server = start_postgres(work / "pg")
    except Exception as exc:
        print(f"postgres: skipped ({exc})")
        return None, None
    return fresh_database(server), server


_TO_PARQUET = """
import sys
from pathlib import Path
import duckdb

data, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
con = duckdb.connect()
for csv_file in sorted(data.glob("*.csv")):
    target = out / f"{csv_file.stem}.parquet"
    if not target.exists():
        types = "types = {'id': 'VARCHAR'}" if csv_file.stem == "accounts" else "header = true"
        con.execute(f"COPY (SELECT * FROM read_csv(?, {types})) TO '{target}' (FORMAT parquet)",
                    [str(csv_file)])
con.close()
"""


def _to_parquet(data: Path, out: Path) -> float:
    """The CSV directory as Parquet files with typed columns (what large hosts export).

    It runs in a child process: Linux carries a parent's peak RSS into the ``ru_maxrss``
    of every child it forks later, so a conversion in this process would inflate every
    peak the bench reports.
    """
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _TO_PARQUET, str(data), str(out)], check=True)
    return time.perf_counter() - started


_FLOOR = """
import sys, time, json, resource
from datetime import date
import duckdb
from csdsl_runtime import load
from csdsl_runtime.engines import sql as S
from csdsl_runtime import frame as F

artifact = load(sys.argv[1])
parquet = sys.argv[2]
asof = date.fromisoformat(sys.argv[3])
started = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
schema = artifact.schema_
fields = ", ".join(f"CAST({f.name} AS {F._SQL_TYPES[f.type]}) AS f{i}"
                   if f.type != "date" else
                   f"CAST(CAST({f.name} AS DATE) - DATE '0001-01-01' + 1 AS INTEGER) AS f{i}"
                   for i, f in enumerate(schema.account))
con.execute(f"CREATE VIEW accounts AS SELECT CAST(row_number() OVER () - 1 AS BIGINT) AS acc, "
            f"CAST(id AS VARCHAR) AS id, {fields} FROM read_parquet('{parquet}/accounts.parquet')")
con.execute("CREATE TABLE ids AS SELECT id, acc FROM accounts")
for i, m in enumerate(schema.metrics):
    con.execute(f"CREATE VIEW m{i} AS SELECT i.acc, CAST(CAST(r.date AS DATE) - DATE '0001-01-01'"
                f" + 1 AS INTEGER) AS day, CAST(r.value AS DOUBLE) AS value FROM "
                f"read_parquet('{parquet}/metrics.parquet') r JOIN ids i ON i.id = r.account_id "
                f"WHERE r.metric = '{m.name}'")
for i, e in enumerate(schema.events):
    cols = "".join(f", CAST(r.{f.name} AS {F._SQL_TYPES[f.type]}) AS f{j}"
                   if f.type != "date" else f", NULL AS f{j}" for j, f in enumerate(e.fields))
    con.execute(f"CREATE VIEW e{i} AS SELECT i.acc, CAST(CAST(r.date AS DATE) - DATE "
                f"'0001-01-01' + 1 AS INTEGER) AS day{cols} FROM "
                f"read_parquet('{parquet}/events.parquet') r JOIN ids i ON i.id = r.account_id "
                f"WHERE r.event = '{e.name}'")
class Tables:
    _fields = {f.name: f"f{i}" for i, f in enumerate(schema.account)}
    _metrics = {m.name: f"m{i}" for i, m in enumerate(schema.metrics)}
    _events = {e.name: (f"e{i}", {f.name: f"f{j}" for j, f in enumerate(e.fields)})
               for i, e in enumerate(schema.events)}
    # the generator's metrics are integer counts: a hand-written query sums them plainly
    exact_sums = frozenset(_metrics.values())
    missing: dict[str, float] = {}  # the example spec declares no `missing`
plan = S._Plan(Tables(), asof.toordinal())
truths = [plan.truth(r.when) for r in artifact.rules if r.enabled]
for statement in plan.features():
    con.execute(S._sql(statement))
query = S.exp.select(*(S.exp.alias_(t, f"c{i}") for i, t in enumerate(truths))).from_(
    S.exp.to_table("_features").as_("a"))
columns = con.execute(S._sql(query)).fetchnumpy()
fired = sum(int((c == 1).sum()) for c in columns.values())
print(json.dumps({"seconds": time.perf_counter() - started, "fired": fired}))
"""


_CSV_SCAN = """
import sys, time, json
from pathlib import Path
import duckdb
started = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = 0
for path in sorted(Path(sys.argv[1]).glob("*.csv")):
    con.execute(f"CREATE TABLE t_{path.stem} AS SELECT * FROM read_csv(?)", [str(path)])
    rows += con.execute(f"SELECT count(*) FROM t_{path.stem}").fetchone()[0]
print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))
"""
"""DuckDB's own `read_csv` of every file into a table (types detected, nothing checked):
what reading the CSV input costs at the least, added to the floor for CSV runs."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--postgres", nargs="?", const="auto", default="auto",
                        help="a server URL, `auto` (start one; default) or `none`")
    parser.add_argument("--engines", default="duckdb,interpreter",
                        help="comma-separated: duckdb,interpreter")
    parser.add_argument("--inputs", default="csv,parquet", help="comma-separated: csv,parquet")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    parser.add_argument("--evidence", choices=("on", "off", "both"), default="on",
                        help="keep each opened CTA's evidence (the default of csdsl run)")
    args = parser.parse_args()

    work = Path(args.keep or tempfile.mkdtemp(prefix="csdsl-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    started = time.perf_counter()
    if not (data / "accounts.csv").exists():
        subprocess.run([sys.executable, str(ROOT / "examples" / "generate_data.py"), "--out",
                        str(data), "--accounts", str(args.accounts), "--days", str(args.days),
                        "--as-of", ASOF], check=True)
    generated = time.perf_counter() - started
    sizes = {p.name: p.stat().st_size for p in data.glob("*.csv")}
    with (data / "metrics.csv").open("rb") as handle:
        blocks = iter(lambda: handle.read(1 << 24), b"")
        metric_rows = sum(block.count(b"\n") for block in blocks) - 1
    artifact = work / "spec.json"
    subprocess.run([str(BIN / "csdsl"), "compile", str(ROOT / "examples" / "spec"), "-o",
                    str(artifact)], check=True)
    rules = sum(1 for r in json.loads(artifact.read_text())["rules"] if r["enabled"])
    print(f"data: {args.accounts} accounts, {args.days} days, {metric_rows} metric rows, "
          f"{sum(sizes.values()) / 1e6:.0f} MB of CSV (generated in {generated:.1f} s)")
    print(f"spec: examples/spec, {rules} enabled rules; as of {ASOF}; machine: "
          f"{os.cpu_count()} cores")

    parquet = work / "parquet"
    converted = _to_parquet(data, parquet)
    print(f"parquet: {sum(p.stat().st_size for p in parquet.glob('*.parquet')) / 1e6:.0f} MB "
          f"(converted in {converted:.1f} s)")
    floor_seconds, floor_peak, floor_out = _timed_run(
        [sys.executable, "-c", _FLOOR, str(artifact), str(parquet), ASOF], work)
    floor = json.loads(floor_out)
    print(f"floor: the engine's own feature and rule SQL straight on the Parquet files (no "
          f"validation, no store): {floor_seconds:.1f} s, {floor_peak:,} MiB peak, "
          f"{floor['fired']:,} firings")

    floors = {"parquet": floor_seconds, "csv": floor_seconds}
    if "csv" in args.inputs.split(","):
        scan_seconds, scan_peak, scan_out = _timed_run(
            [sys.executable, "-c", _CSV_SCAN, str(data)], work)
        floors["csv"] = floor_seconds + scan_seconds
        print(f"csv floor: DuckDB's own read_csv of the files into tables "
              f"({json.loads(scan_out)['rows']:,} rows): {scan_seconds:.1f} s, "
              f"{scan_peak:,} MiB peak; csv runs are compared with it plus the floor "
              f"({floors['csv']:.1f} s)")

    pg_url, server = (None, None) if args.postgres == "none" else _postgres(args.postgres, work)
    stores = [("sqlite", f"sqlite:///{work / 'bench.db'}")]
    if pg_url:
        stores.append(("postgres", pg_url))
    next_day = (date.fromisoformat(ASOF) + timedelta(days=1)).isoformat()
    try:
        print(f"{'input':<8}{'engine':<12}{'store':<9}{'run':<7}{'total s':>8}{'x floor':>8}"
              f"{'read':>7}{'eval':>7}{'act':>7}{'evid':>7}{'fired':>10}{'opened':>10}"
              f"{'tasks':>11}{'peak MiB':>9}")
        for source, directory in (("csv", data), ("parquet", parquet)):
            if source not in args.inputs.split(","):
                continue
            evidence = {"on": [True], "off": [False], "both": [True, False]}[args.evidence]
            for engine, name, url, keep in ((e, n, u, k) for e in args.engines.split(",")
                                            for n, u in stores for k in evidence):
                _empty(name, url, work)
                for run, day in (("first", ASOF), ("steady", next_day)):
                    cmd = [str(BIN / "csdsl"), "run", str(artifact), "--data",
                           str(directory), "--as-of", day, "--store", url, "--format",
                           "json", "--quiet", "--engine", engine,
                           *([] if keep else ["--no-evidence"])]
                    seconds, peak, out = _timed_run(cmd, work)
                    report = json.loads(out)
                    s = report["seconds"]
                    fired = sum(r["fired"] for r in report["rules"])
                    evid = f"{s.get('evidence', 0.0):>7.1f}" if keep else f"{'off':>7}"
                    print(f"{source:<8}{engine:<12}{name:<9}{run:<7}{seconds:>8.1f}"
                          f"{seconds / floors[source]:>8.1f}{s['read_data']:>7.1f}"
                          f"{s['evaluate']:>7.1f}{s['act']:>7.1f}{evid}{fired:>10,}"
                          f"{report['ctas_opened']:>10,}{report['tasks_created']:>11,}"
                          f"{peak:>9,}")
    finally:
        if server is not None:
            server.stop()
    print(f"(work directory: {work})")


if __name__ == "__main__":
    main()
