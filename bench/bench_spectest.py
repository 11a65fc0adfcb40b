"""Time spec tests: the examples' tests by the real command, and one inline-data test.

    python bench/bench_spectest.py [--repeat 5]

Prints the best of N wall times of `csdsl test examples/spec` (a fresh process: what CI
pays on every pull request), the same with `--coverage`, and in-process the run of one
test with a two-account inline fixture (what an admin waits for while writing it).
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SPEC = """\
account { name: text  segment: enum("SMB", "Enterprise") }
metric usage "Weekly active users"
role CSM "Customer Success Manager"
rule usage_drop {
  when usage drops 30% over 30d and segment == "Enterprise"
  then cta risk "Usage dropped for {{ account.name }}"
  owner CSM
}
"""

_TEST = """\
test "usage drop, two accounts inline" {
  data {
    accounts {
      | id  | name | segment    |
      | A01 | Acme | Enterprise |
      | A02 | Bolt | SMB        |
    }
    team {
      | account_id | role | user             |
      | A01        | CSM  | csm1@example.com |
    }
    metrics {
      | account_id | metric | date                     | value |
      | A01        | usage  | 2026-09-21 .. 2026-10-20 | 100   |
      | A01        | usage  | 2026-10-21 .. 2026-11-19 | 60    |
      | A02        | usage  | 2026-09-21 .. 2026-11-19 | 50    |
    }
  }
  as of 2026-11-19
  expect cta usage_drop for "A01" { owner "csm1@example.com" }
  expect no cta usage_drop for "A02"
}
"""


def _best(command: list[str], repeat: int) -> tuple[float, str]:
    best, last = float("inf"), ""
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - started)
        last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    return best, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    csdsl = [sys.executable, "-m", "csdsl.cli"]
    print(f"machine: {os.cpu_count()} cores; best of {args.repeat}")
    for label, extra in (("csdsl test examples/spec", []),
                         ("csdsl test examples/spec --coverage", ["--coverage"])):
        seconds, last = _best([*csdsl, "test", "examples/spec", *extra], args.repeat)
        print(f"{label:42} {seconds:7.3f} s   {last}")

    from csdsl.driver import build, check_paths
    from csdsl.spectest.check import load_suite
    from csdsl.spectest.run import run_suite

    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "spec.cs").write_text(_SPEC)
        Path(folder, "inline.cstest").write_text(_TEST)
        compilation = check_paths([folder])
        artifact = build(compilation)
        assert artifact is not None and compilation.model is not None
        suite, diagnostics, _ = load_suite([folder], compilation.model)
        assert not diagnostics, diagnostics
        times = []
        for _ in range(max(args.repeat, 20)):
            started = time.perf_counter()
            result = run_suite(artifact, suite.tests)
            times.append(time.perf_counter() - started)
            assert result.failed == 0, result
        started = time.perf_counter()
        load_suite([folder], compilation.model)
        parsed = time.perf_counter() - started
    times.sort()
    print(f"{'one inline-data test (in-process run)':42} {times[0] * 1000:7.1f} ms best, "
          f"{times[len(times) // 2] * 1000:.1f} ms median of {len(times)}")
    print(f"{'  parse and check its file':42} {parsed * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
