"""Whole runs agree: the columnar path (a frame and the SQL engine) opens, closes and
scores exactly the CTAs, tasks, owners and due dates of the reference interpreter.

Data sets come from examples/generate_data.py (every cohort of the example spec fires
for some accounts, with accounts that have no metric rows), at random sizes and seeds,
optionally thinned (a share of metric rows dropped: sparse series, windows with gaps).
Each is run on several days in a row against one store per engine, so that the later
runs see open CTAs, cooldowns, `close when` and success windows; then the stores are
compared record by record, ids included.
"""

from __future__ import annotations

import importlib.util
import os
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl_runtime import artifact as A
from csdsl_runtime.api import Runtime
from csdsl_runtime.frame import read_frame
from csdsl_runtime.sources import read_dataset
from csdsl_runtime.stores import open_store

ROOT = Path(__file__).resolve().parent.parent
ASOF = date(2026, 11, 20)


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_data",
                                                  ROOT / "examples" / "generate_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATE = _generator().generate


@pytest.fixture(scope="module")
def artifact() -> A.Artifact:
    from csdsl.driver import compile_spec

    compiled, _ = compile_spec([ROOT / "examples" / "spec"])
    assert compiled is not None
    return compiled


def _thin(directory: Path, rng: random.Random, share: float) -> None:
    path = directory / "metrics.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    kept = [row for row in rows if rng.random() >= share]
    path.write_text("\n".join([header, *kept]) + "\n", encoding="utf-8")


def _stored(store: Any) -> tuple[list[Any], list[Any]]:
    return store.list_ctas(), store.list_plans()


def _run_days(artifact: A.Artifact, directory: Path, engine: str, days: list[date],
              tmp: Path) -> tuple[tuple[list[Any], list[Any]], list[dict[str, Any]]]:
    store = open_store(f"sqlite:///{tmp / f'{engine}.db'}")
    reports = []
    try:
        for day in days:
            data: Any = read_frame(directory, artifact.schema_) if engine == "duckdb" else \
                read_dataset(directory, artifact.schema_)
            report = Runtime(artifact, data, store).run(day)
            summary = report.to_json()
            summary.pop("seconds", None)
            summary.pop("engine", None)
            reports.append(summary)
        return _stored(store), reports
    finally:
        store.close()


def _check(artifact: A.Artifact, tmp: Path, accounts: int, seed: int, share: float,
           days: list[date]) -> None:
    directory = tmp / "data"
    GENERATE(directory, accounts, 90, ASOF, seed)
    if share:
        _thin(directory, random.Random(seed), share)
    assert read_frame(directory, artifact.schema_).columnar
    expected, expected_reports = _run_days(artifact, directory, "interpreter", days, tmp)
    got, reports = _run_days(artifact, directory, "duckdb", days, tmp)
    assert got == expected
    assert reports == expected_reports
    assert expected[0], "the data set opens CTAs"


def test_the_example_data_runs_the_same_on_both_engines(artifact: A.Artifact,
                                                        tmp_path: Path) -> None:
    _check(artifact, tmp_path, 200, 7, 0.0, [ASOF, ASOF + timedelta(days=3)])


@settings(max_examples=int(os.environ.get("ENGINE_RUNS", "6")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(accounts=st.integers(min_value=100, max_value=400),
       seed=st.integers(min_value=0, max_value=10_000),
       share=st.sampled_from([0.0, 0.05, 0.5]),
       gaps=st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=3))
@pytest.mark.slow
def test_generated_data_runs_the_same_on_both_engines(
    artifact: A.Artifact, tmp_path_factory: pytest.TempPathFactory, accounts: int, seed: int,
    share: float, gaps: list[int],
) -> None:
    days = [ASOF]
    for gap in gaps:
        days.append(days[-1] + timedelta(days=gap))
    _check(artifact, tmp_path_factory.mktemp("runs"), accounts, seed, share, days)


@pytest.mark.parametrize("engine", ["interpreter", "duckdb"])
def test_close_when_and_success_on_both_engines(tmp_path: Path, engine: str) -> None:
    """The duckdb engine evaluates `close when` and `success` in the run's one pass;
    the outcome is the interpreter's: auto-closed as resolved, success recorded once."""
    from tests.rtkit import compile_spec_text
    from tests.test_runtime import ASOF as DAY
    from tests.test_runtime import RULES, drop_data

    data = drop_data()
    artifact = compile_spec_text(tmp_path, RULES)
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")

    def read() -> Any:
        directory = data.write(tmp_path / "data")
        if engine == "duckdb":
            return read_frame(directory, artifact.schema_)
        return read_dataset(directory, artifact.schema_)

    try:
        Runtime(artifact, read(), store).run(DAY)
        later = DAY + timedelta(days=7)
        data.series("a1", [10.0] * 7, asof=later)  # 7 -> 10: +43%, and usage >= 10
        report = Runtime(artifact, read(), store).run(later)
        assert report.engine == ("duckdb" if engine == "duckdb" else "interpreter")
        assert (report.rules[0].auto_closed, report.rules[0].success) == (1, 1)
        (cta,) = store.list_ctas()
        assert (cta.status, cta.outcome, cta.success) == ("closed", "resolved", True)
        again = Runtime(artifact, read(), store).run(later + timedelta(days=1))
        assert (again.rules[0].success, again.rules[0].no_success) == (0, 0)
    finally:
        store.close()
