"""Compiler benchmark: check and compile a large generated spec; cold start of `csdsl check`.

    python bench/bench_compiler.py [--rules 5000] [--playbooks 500] [--plans 100]
                                   [--files 50] [--repeat 3]

Prints lines/s for each phase in-process (read+parse, check, emit+JSON), the wall time
of the `csdsl check` and `csdsl compile` commands on the large spec, and the cold start
of `csdsl check` on a one-file spec (best of 5, a fresh process each time: what a
pre-commit hook pays).
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
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))

from gen_spec import generate  # noqa: E402

SMALL = """\
account {
  name: text
  segment: enum("SMB", "Enterprise")
}
metric usage
role CSM

playbook UsageDrop "A drop in usage" {
  for risk
  task call "Call the main contact" {
    day 1
    owner CSM
  }
}

rule usage_drop "Usage dropped" {
  when usage drops 30% over 30d and segment == "Enterprise"
  then cta risk "Usage dropped for {{ account.name }}"
  owner CSM
  playbook UsageDrop
}
"""


def _best(seconds: list[float]) -> float:
    return min(seconds)


def _wall(cmd: list[str], repeat: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if proc.returncode not in (0,):
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
        out = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    return _best(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=5000)
    parser.add_argument("--playbooks", type=int, default=500)
    parser.add_argument("--plans", type=int, default=100)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from csdsl.driver import build, check_sources, read_sources

    with tempfile.TemporaryDirectory(prefix="csdsl-bench-") as tmp:
        work = Path(tmp)
        spec = work / "spec"
        files, lines = generate(spec, args.rules, args.playbooks, args.plans, args.files)
        print(f"spec: {args.rules} rules, {args.playbooks} playbooks, {args.plans} plans; "
              f"{lines:,} lines in {files} files; machine: {os.cpu_count()} cores; "
              f"best of {args.repeat}")

        parse_t, check_t, emit_t = [], [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = read_sources([str(spec)])
            parsed = time.perf_counter()
            check_sources(result)
            checked = time.perf_counter()
            errors = [d for d in result.diagnostics if d.is_error]
            if errors:
                raise SystemExit(f"the generated spec has {len(errors)} errors: "
                                 f"{errors[0].message}")
            artifact = build(result)
            assert artifact is not None
            artifact.to_json()
            emitted = time.perf_counter()
            parse_t.append(parsed - started)
            check_t.append(checked - parsed)
            emit_t.append(emitted - checked)
        warnings = len(result.diagnostics)
        p, c, e = _best(parse_t), _best(check_t), _best(emit_t)
        print(f"{'phase (in-process)':<28}{'seconds':>9}{'lines/s':>12}")
        for name, t in (("read + parse", p), ("check", c), ("emit + JSON", e),
                        ("full check (parse + check)", p + c), ("full compile", p + c + e)):
            print(f"{name:<28}{t:>9.2f}{lines / t:>12,.0f}")
        stats = result.stats
        print(f"(warnings in the generated spec: {warnings}; the fast lexer parsed "
              f"{stats.files - len(stats.fallbacks)} of {stats.files} files, "
              f"{len(stats.fallbacks)} fell back to lark's)")

        csdsl = str(BIN / "csdsl")
        check_wall, summary = _wall([csdsl, "check", str(spec)], args.repeat)
        compile_wall, _ = _wall([csdsl, "compile", str(spec), "-o", str(work / "a.json")],
                                args.repeat)
        size = (work / "a.json").stat().st_size
        print(f"{'command (fresh process)':<28}{'seconds':>9}{'lines/s':>12}")
        print(f"{'csdsl check':<28}{check_wall:>9.2f}{lines / check_wall:>12,.0f}   {summary}")
        print(f"{'csdsl compile':<28}{compile_wall:>9.2f}{lines / compile_wall:>12,.0f}   "
              f"artifact {size / 1e6:.1f} MB")

        small = work / "small"
        small.mkdir()
        (small / "main.cs").write_text(SMALL, encoding="utf-8")
        cold, summary = _wall([csdsl, "check", str(small)], 5)
        python_only, _ = _wall([sys.executable, "-c", "pass"], 5)
        print(f"{'cold csdsl check, 1 file':<28}{cold:>9.3f}{'':>12}   {summary} "
              f"(bare python start: {python_only:.3f} s)")


if __name__ == "__main__":
    main()
