"""Loader benchmark: how long a host takes to load, check and refuse compiled artifacts.

    python bench/bench_loader.py [--rules 10000] [--repeat 3]

Compiles a generated spec with N rules (bench/gen_spec.py) and a spec whose condition
nests 100 levels deep (the compiler's limit, CS0106), then times `csdsl_runtime.load`
on each (best of --repeat), and the refusal of the large one with a wrong hash.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from gen_spec import generate  # noqa: E402

DEEP = """account {{ arr: number }}
rule deep {{
  when {condition}
  then cta risk "Deep"
}}
"""


def _best(seconds: list[float]) -> float:
    return min(seconds)


def _time(action, repeat: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append(time.perf_counter() - started)
    return _best(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from csdsl.driver import compile_spec
    from csdsl_runtime import ArtifactError, load

    with tempfile.TemporaryDirectory(prefix="csdsl-bench-") as tmp:
        work = Path(tmp)
        generate(work / "big", args.rules, args.rules // 10, args.rules // 50, 20)
        artifact, diagnostics = compile_spec([work / "big"])
        assert artifact is not None, [d.message for d in diagnostics if d.is_error][:3]
        big = work / "big.json"
        big.write_text(artifact.to_json(), encoding="utf-8")

        (work / "deep").mkdir()
        chain = "arr > 1"
        for i in range(48):  # each step nests two levels: the parentheses and the operator
            chain = f"not ({chain})" if i % 2 else f"({chain} or arr + {i} > 0)"
        (work / "deep" / "main.cs").write_text(DEEP.format(condition=chain), encoding="utf-8")
        deep_artifact, diagnostics = compile_spec([work / "deep"])
        assert deep_artifact is not None, [d.message for d in diagnostics if d.is_error][:3]
        deep = work / "deep.json"
        deep.write_text(deep_artifact.to_json(), encoding="utf-8")

        tampered = work / "tampered.json"
        data = json.loads(big.read_text(encoding="utf-8"))
        data["rules"][0]["priority"] = "high" if data["rules"][0]["priority"] != "high" else "low"
        tampered.write_text(json.dumps(data), encoding="utf-8")

        def refuse() -> None:
            try:
                load(tampered)
            except ArtifactError:
                return
            raise AssertionError("a tampered artifact loaded")

        print(f"machine: best of {args.repeat}")
        print(f"{'artifact':<44}{'size':>10}{'seconds':>10}")
        size = big.stat().st_size / 1e6
        print(f"{f'{len(artifact.rules):,} rules: load':<44}{size:>8.1f}MB"
              f"{_time(lambda: load(big), args.repeat):>10.3f}")
        print(f"{f'{len(artifact.rules):,} rules, wrong hash: refuse':<44}{size:>8.1f}MB"
              f"{_time(refuse, args.repeat):>10.3f}")
        print(f"{'a condition nested 100 levels: load':<44}{deep.stat().st_size / 1e3:>8.1f}kB"
              f"{_time(lambda: load(deep), args.repeat):>10.4f}")


if __name__ == "__main__":
    main()
