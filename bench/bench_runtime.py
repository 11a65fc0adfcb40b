"""Runtime benchmark: `csdsl run` of the example spec over N generated accounts.

    python bench/bench_runtime.py [--accounts 100000] [--days 90] [--postgres URL|auto]

Generates the data set with examples/generate_data.py (not timed as part of the run),
compiles the example spec, then times a full `csdsl run` as a separate process for
each store (SQLite, and PostgreSQL when a server is given or can be started) and
engine, and prints accounts/s, the phases from the run report, and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--postgres", nargs="?", const="auto", default="auto",
                        help="a server URL, `auto` (start one; default) or `none`")
    parser.add_argument("--engines", default="interpreter",
                        help="comma-separated: interpreter,duckdb")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
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
    metric_rows = sum(1 for _ in (data / "metrics.csv").open()) - 1
    artifact = work / "spec.json"
    subprocess.run([str(BIN / "csdsl"), "compile", str(ROOT / "examples" / "spec"), "-o",
                    str(artifact)], check=True)
    rules = sum(1 for r in json.loads(artifact.read_text())["rules"] if r["enabled"])
    print(f"data: {args.accounts} accounts, {args.days} days, {metric_rows} metric rows, "
          f"{sum(sizes.values()) / 1e6:.0f} MB of CSV (generated in {generated:.1f} s)")
    print(f"spec: examples/spec, {rules} enabled rules; as of {ASOF}; machine: "
          f"{os.cpu_count()} cores")

    pg_url, server = (None, None) if args.postgres == "none" else _postgres(args.postgres, work)
    stores = [("sqlite", f"sqlite:///{work / 'bench.db'}")]
    if pg_url:
        stores.append(("postgres", pg_url))
    try:
        print(f"{'engine':<12}{'store':<10}{'total s':>9}{'accounts/s':>12}{'read':>8}"
              f"{'load':>6}{'eval':>8}{'act':>8}{'CTAs':>9}{'tasks':>9}{'peak MiB':>10}")
        for engine in args.engines.split(","):
            for name, url in stores:
                if name == "sqlite":
                    for suffix in ("", "-wal", "-shm"):
                        Path(str(work / "bench.db") + suffix).unlink(missing_ok=True)
                else:
                    import psycopg

                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute("DROP TABLE IF EXISTS csdsl_tasks, csdsl_ctas, csdsl_plans, "
                                     "csdsl_runs, csdsl_pool_cursors, csdsl_meta")
                cmd = [str(BIN / "csdsl"), "run", str(artifact), "--data", str(data),
                       "--as-of", ASOF, "--store", url, "--format", "json", "--quiet",
                       "--engine", engine]
                seconds, peak, out = _timed_run(cmd, work)
                report = json.loads(out)
                s = report["seconds"]
                print(f"{engine:<12}{name:<10}{seconds:>9.1f}{args.accounts / seconds:>12,.0f}"
                      f"{s['read_data']:>8.1f}{s.get('load_engine', 0):>6.1f}"
                      f"{s['evaluate']:>8.1f}{s['act']:>8.1f}"
                      f"{report['ctas_opened']:>9,}{report['tasks_created']:>9,}{peak:>10,}")
    finally:
        if server is not None:
            server.stop()
    print(f"(work directory: {work})")


if __name__ == "__main__":
    main()
