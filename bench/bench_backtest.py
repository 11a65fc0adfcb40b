"""Time `csdsl backtest` of the example spec over N generated accounts and D days.

    python bench/bench_backtest.py [--accounts 100000] [--days 90] [--keep DIR]

Generates the data set with examples/generate_data.py (or reuses the one in `--keep DIR`,
the layout bench_runtime.py writes: DIR/data, DIR/parquet when present), compiles the
example spec, then times the real `csdsl backtest --format json` as a process over the
last D days of the data, and prints the replay's own split (evaluating the conditions,
the rest of each day's lifecycle, the load per owner) with the child's peak memory.
Then, in-process and in the same run, the evaluation alone: the days plan over the D
days (`SqlEngine.evaluate_days`, what the backtest uses) against the one-day plan
(`evaluate_columns`) on 5 of those days, scaled to D. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ASOF = "2026-11-20"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="csdsl-bench-"))
    data = work / "data"
    if not (data / "accounts.csv").exists():
        subprocess.run([sys.executable, str(ROOT / "examples" / "generate_data.py"), "--out",
                        str(data), "--accounts", str(args.accounts), "--days", str(args.days),
                        "--as-of", ASOF], check=True)
    source = work / "parquet" if (work / "parquet" / "accounts.parquet").exists() else data
    artifact = work / "spec.json"
    subprocess.run([str(BIN / "csdsl"), "compile", str(ROOT / "examples" / "spec"), "-o",
                    str(artifact)], check=True, capture_output=True)
    end = date.fromisoformat(ASOF)
    start = end - timedelta(days=args.days - 1)
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "csdsl"), "backtest", str(artifact), "--data", str(source),
                           "--from", start.isoformat(), "--to", end.isoformat(), "--format",
                           "json"], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    out = json.loads(done.stdout)
    s = out["seconds"]
    opened = sum(t["opened"] for t in out["totals"].values())
    closed = sum(t["closed"] for t in out["totals"].values())
    print(f"backtest: {out['accounts']:,} accounts, {args.days} days ({start} .. {end}), "
          f"input {source.name}; machine: {os.cpu_count()} cores")
    print(f"wall {wall:.1f} s (replay {s['total']:.1f} s: evaluate {s['evaluate']:.1f} s, "
          f"the rest of the days {s['days'] - s['evaluate']:.1f} s, load per owner and "
          f"floods {s['total'] - s['days']:.1f} s); {s['days'] / args.days:.2f} s per day; "
          f"peak {peak:,} MiB")
    print(f"opened {opened:,} (backlog {sum(out['backlog'].values()):,}), closed {closed:,}, "
          f"floods {len(out['floods'])}")
    _plans(artifact, source, start, end)


def _plans(artifact: Path, source: Path, start: date, end: date) -> None:
    """The evaluation alone: every condition of every day, both plans, one process."""
    from csdsl_runtime import loader
    from csdsl_runtime.engines import conditions_of
    from csdsl_runtime.engines.sql import SqlEngine
    from csdsl_runtime.frame import read_frame

    spec = loader.load(artifact)
    frame = read_frame(source, spec.schema_)
    engine = SqlEngine(frame)
    conditions = conditions_of(spec, lifecycle=True)
    days = (end - start).days + 1
    started = time.perf_counter()
    engine.evaluate_days(conditions, start, end)
    all_days = time.perf_counter() - started
    sample = [end - timedelta(days=i * max(1, days // 5)) for i in range(5)]
    started = time.perf_counter()
    for day in sample:
        engine.evaluate_columns(conditions, day)
    per_day = (time.perf_counter() - started) / len(sample)
    frame.close()
    print(f"evaluation of {len(conditions)} conditions x {days} days: days plan {all_days:.1f} s; "
          f"one-day plan {per_day:.2f} s a day, {per_day * days:.1f} s for {days} days "
          f"({per_day * days / all_days:.1f}x)")


if __name__ == "__main__":
    main()
