"""The days plan (`SqlEngine.evaluate_days`, what `csdsl backtest` evaluates with) agrees
with the reference interpreter run day by day, on the random IR and data of
tests/test_engines.py, in both of its ways to compute a table's features: windows over
probe rows (large tables) and a join with the days grouped per account and day (small
ones), with days before, at and after the data's points."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl_runtime import artifact as A
from csdsl_runtime.data import Dataset
from csdsl_runtime.engines import CODE_OF_TRUTH
from csdsl_runtime.engines import days as D
from csdsl_runtime.engines.interpreter import InterpreterEngine
from csdsl_runtime.engines.sql import SqlEngine

from .test_engines import ASOF, CONDITIONS, EXTREME_CONDITIONS, FILLED, SCHEMA, datasets

START, END = ASOF - timedelta(days=6), ASOF + timedelta(days=3)


def _differences(data: Dataset, conditions: list[A.Expr], schema: A.DataSchema,
                 fanout: int, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    named = {f"c{i}": c for i, c in enumerate(conditions)}
    engine = SqlEngine(data, schema)
    monkeypatch.setattr(D, "FANOUT_ROWS", fanout)
    try:
        got = engine.evaluate_days(named, START, END)
        ids = list(engine.ids)
        exact = engine.exact_sums
        tables = set(engine.frame.metrics.values())
    finally:
        engine.con.close()
    if got is None:  # sums to add in day order: left to the one-day plan
        assert tables - exact, "evaluate_days declined data whose sums are all exact"
        return []
    reference = InterpreterEngine(data, schema)
    wrong = []
    for i in range((END - START).days + 1):
        day = START + timedelta(days=i)
        expected = reference.evaluate(named, day)
        for key in named:
            want = np.array([CODE_OF_TRUTH[expected[key][a]] for a in ids], dtype=np.int8)
            if not np.array_equal(want, got[key][i]):
                wrong.append((day, repr(named[key]), want.tolist(), got[key][i].tolist()))
    return wrong


@pytest.mark.parametrize("fanout", [0, D.FANOUT_ROWS], ids=["windows", "grouped"])
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(data=datasets(), conditions=st.lists(CONDITIONS, min_size=1, max_size=4))
def test_the_days_plan_agrees_with_the_interpreter_every_day(
        data: Dataset, conditions: list, fanout: int, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _differences(data, conditions, SCHEMA, fanout, monkeypatch)


@pytest.mark.parametrize("fanout", [0, D.FANOUT_ROWS], ids=["windows", "grouped"])
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(data=datasets(), conditions=st.lists(CONDITIONS, min_size=1, max_size=4))
def test_the_days_plan_agrees_on_metrics_whose_missing_days_count(
        data: Dataset, conditions: list, fanout: int, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _differences(data, conditions, FILLED, fanout, monkeypatch)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(data=datasets(extreme=True), conditions=st.lists(EXTREME_CONDITIONS, min_size=1,
                                                        max_size=3))
def test_the_days_plan_agrees_on_extreme_values_or_declines(
        data: Dataset, conditions: list, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _differences(data, conditions, SCHEMA, 0, monkeypatch)


def test_accounts_go_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """A grid of a few probe rows per slice gives the same columns as one slice."""
    from csdsl.driver import compile_spec
    from csdsl_runtime.frame import read_frame

    from .conftest import ROOT

    artifact, _ = compile_spec([ROOT / "examples" / "spec"])
    assert artifact is not None
    frame = read_frame(ROOT / "examples" / "data", artifact.schema_)
    engine = SqlEngine(frame)
    named = {r.name: r.when for r in artifact.rules if r.enabled}
    start, end = date(2026, 11, 1), date(2026, 11, 20)
    monkeypatch.setattr(D, "FANOUT_ROWS", 0)
    whole = engine.evaluate_days(named, start, end)
    sliced = D.evaluate_days(engine, named, start, end, grid_rows=2_000)
    frame.close()
    assert whole is not None and sliced is not None
    for key in named:
        assert np.array_equal(whole[key], sliced[key]), key
    assert sum(int((c == 1).sum()) for c in whole.values()) > 0
