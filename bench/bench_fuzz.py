"""Fuzzing benchmark: N hostile cases through the real code; prints what went wrong.

    python bench/bench_fuzz.py [--cases 10000] [--seed 1] [--kinds spec,artifact,data,template]

Runs the kinds of tests/fuzzkit.py round robin (mutated specs; mutated, re-hashed
artifacts run on both engines; mutated data directories; generated templates) and
prints, per kind, the cases run, tracebacks, hangs (over 5 s) and engine
disagreements, then the first few of each with the input that caused it. The goal is 0
of each. A failing input belongs in tests/corpus/ once fixed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import fuzzkit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", default=",".join(sorted(fuzzkit.CASES)))
    parser.add_argument("--show", type=int, default=3, help="failures to print per problem")
    args = parser.parse_args()

    kinds = args.kinds.split(",")
    rng = random.Random(args.seed)
    runs: Counter[str] = Counter()
    problems: Counter[tuple[str, str]] = Counter()
    slowest: dict[str, float] = {}
    failures: list[fuzzkit.Outcome] = []
    started = time.perf_counter()
    for i in range(args.cases):
        kind = kinds[i % len(kinds)]
        outcome = fuzzkit.run_case(kind, random.Random(rng.getrandbits(64)))
        runs[kind] += 1
        slowest[kind] = max(slowest.get(kind, 0.0), outcome.seconds)
        if outcome.problem is not None:
            problems[(kind, outcome.problem)] += 1
            failures.append(outcome)
    elapsed = time.perf_counter() - started

    print(f"{args.cases:,} cases, seed {args.seed}, {elapsed:.0f} s")
    print(f"{'kind':<10}{'cases':>8}{'tracebacks':>12}{'hangs':>8}{'disagree':>10}"
          f"{'slowest s':>11}")
    for kind in kinds:
        print(f"{kind:<10}{runs[kind]:>8}{problems[(kind, 'traceback')]:>12}"
              f"{problems[(kind, 'hang')]:>8}{problems[(kind, 'disagreement')]:>10}"
              f"{slowest.get(kind, 0.0):>11.2f}")
    shown: Counter[tuple[str, str]] = Counter()
    for outcome in failures:
        key = (outcome.kind, outcome.problem or "")
        if shown[key] >= args.show:
            continue
        shown[key] += 1
        print(f"\n== {outcome.kind}: {outcome.problem}\n{outcome.detail.strip()}")
        print(f"-- input (first 600 characters):\n{outcome.text[:600]}")


if __name__ == "__main__":
    main()
