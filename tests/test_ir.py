"""The meaning of every condition form, as a table: source condition, data, expected truth.

Each row is compiled by the real compiler and evaluated by both engines (the reference
interpreter and DuckDB) for one account as of Friday 2026-11-20. Offsets are days before
the as-of day (0 is the as-of day itself, -1 is tomorrow). `None` is *unknown*.
"""

from __future__ import annotations

from array import array
from datetime import date, timedelta
from typing import Any

import pytest

from csdsl_runtime.data import AccountData, Dataset, EventSeries, MetricSeries
from csdsl_runtime.engines.interpreter import InterpreterEngine
from csdsl_runtime.engines.sql import SqlEngine  # DuckDB is a test dependency
from tests.rtkit import compile_spec_text

ASOF = date(2026, 11, 20)
SPEC = """
account {
  name: text
  segment: enum("SMB", "Enterprise")
  arr: number
  renewal_date: date
  start_date: date
  strategic: bool
}
metric usage
event nps_response { score: number }
event qbr_held
role CSM
"""


def day(offset: int) -> date:
    return ASOF - timedelta(days=offset)


def acct(usage: dict[int, float] | None = None, events: list[tuple[str, int, dict]] | None = None,
         **fields: Any) -> dict[str, Any]:
    return {"usage": usage or {}, "events": events or [], "fields": fields}


NPS = "nps_response"
# (id, condition, account data, expected truth)
CASES: list[tuple[str, str, dict[str, Any], bool | None]] = [
    # account fields and comparisons; a missing value is unknown, never zero or ""
    ("num_true", "arr > 1000", acct(arr=2000.0), True),
    ("num_false", "arr > 1000", acct(arr=500.0), False),
    ("num_missing", "arr > 1000", acct(), None),
    ("num_equal_edge", "arr >= 1000", acct(arr=1000.0), True),
    ("enum_eq", 'segment == "Enterprise"', acct(segment="Enterprise"), True),
    ("enum_ne", 'segment != "Enterprise"', acct(segment="SMB"), True),
    ("enum_missing", 'segment != "Enterprise"', acct(), None),
    ("in_list", 'segment in ("SMB", "Enterprise")', acct(segment="SMB"), True),
    ("not_in_list", 'segment not in ("SMB")', acct(segment="SMB"), False),
    ("in_missing", 'segment not in ("SMB")', acct(), None),
    ("bool_true", "strategic", acct(strategic=True), True),
    ("bool_false", "strategic", acct(strategic=False), False),
    ("bool_missing", "strategic", acct(), None),
    ("arith", "arr * 2 - 1000 >= 3000", acct(arr=2000.0), True),
    ("arith_div_zero", "arr / (arr - 2000) > 1", acct(arr=2000.0), None),
    ("negation", "-arr < -1000", acct(arr=2000.0), True),
    ("date_literal", "renewal_date < 2027-01-01", acct(renewal_date=date(2026, 12, 31)), True),
    ("date_literal_edge", "renewal_date < 2027-01-01", acct(renewal_date=date(2027, 1, 1)), False),
    # a bare metric: its latest value on or before the as-of day
    ("latest_yesterday", "usage > 5", acct({1: 10}), True),
    ("latest_is_asof", "usage > 5", acct({0: 3, 1: 10}), False),
    ("latest_future_only", "usage > 5", acct({-1: 10}), None),
    ("latest_no_data", "usage > 5", acct(), None),
    # windows cover (asof - D, asof]: offsets 0 .. D-1
    ("window_includes_asof", "sum(usage, 7d) == 1", acct({0: 1, 7: 100}), True),
    ("window_includes_d_minus_1", "sum(usage, 7d) == 1", acct({6: 1, 7: 100}), True),
    ("window_excludes_d", "sum(usage, 7d) > 0", acct({7: 1}), None),
    ("window_excludes_future", "max(usage, 7d) == 1", acct({-1: 100, 0: 1}), True),
    ("avg_of_present_points", "avg(usage, 7d) == 15", acct({0: 10, 3: 20}), True),
    ("min", "min(usage, 7d) == 2", acct({0: 5, 2: 2, 5: 9}), True),
    ("max", "max(usage, 7d) == 9", acct({0: 5, 2: 2, 5: 9}), True),
    ("window_no_data", "avg(usage, 7d) < 100", acct(), None),
    # change(m, D) = (avg of the last D days - avg of the D before) / avg of the D before
    ("drops_exactly", "usage drops 30% over 7d", acct({0: 7, 7: 10}), True),
    ("drops_not_enough", "usage drops 30% over 7d", acct({0: 7.1, 7: 10}), False),
    ("rises_exactly", "usage rises 20% over 7d", acct({0: 12, 7: 10}), True),
    ("change_form", "change(usage, 7d) <= -30%", acct({0: 7, 13: 10}), True),
    ("change_before_zero", "usage drops 30% over 7d", acct({0: 5, 7: 0}), None),
    ("change_before_missing", "usage drops 30% over 7d", acct({0: 5}), None),
    ("change_recent_missing", "usage rises 30% over 7d", acct({7: 5}), None),
    ("change_window_edge", "usage drops 50% over 7d", acct({0: 5, 6: 5, 7: 10, 14: 1}), True),
    # no X for D: a metric summed to 0, or an event that did not occur
    ("no_metric_zero", "no usage for 7d", acct({0: 0, 6: 0}), True),
    ("no_metric_active", "no usage for 7d", acct({3: 1}), False),
    ("no_metric_no_data", "no usage for 7d", acct(), None),
    ("no_metric_only_older", "no usage for 7d", acct({7: 5}), None),
    ("no_event_never", "no qbr_held for 30d", acct(), True),
    ("no_event_inside", "no qbr_held for 30d", acct(events=[("qbr_held", 29, {})]), False),
    ("no_event_just_outside", "no qbr_held for 30d", acct(events=[("qbr_held", 30, {})]), True),
    # event E within D [where COND]
    ("within_asof", "event qbr_held within 7d", acct(events=[("qbr_held", 0, {})]), True),
    ("within_edge_in", "event qbr_held within 7d", acct(events=[("qbr_held", 6, {})]), True),
    ("within_edge_out", "event qbr_held within 7d", acct(events=[("qbr_held", 7, {})]), False),
    ("within_future", "event qbr_held within 7d", acct(events=[("qbr_held", -1, {})]), False),
    ("within_never", "event qbr_held within 7d", acct(), False),
    ("where_true", "event nps_response within 30d where score <= 6",
     acct(events=[(NPS, 3, {"score": 3.0})]), True),
    ("where_false", "event nps_response within 30d where score <= 6",
     acct(events=[(NPS, 3, {"score": 9.0})]), False),
    ("where_missing_field", "event nps_response within 30d where score <= 6",
     acct(events=[(NPS, 3, {})]), None),
    ("where_one_of_two", "event nps_response within 30d where score <= 6",
     acct(events=[(NPS, 3, {}), (NPS, 5, {"score": 2.0})]), True),
    ("where_unknown_beats_false", "event nps_response within 30d where score <= 6",
     acct(events=[(NPS, 3, {}), (NPS, 5, {"score": 9.0})]), None),
    ("where_outside_window", "event nps_response within 30d where score <= 6",
     acct(events=[(NPS, 30, {"score": 1.0})]), False),
    ("where_paren", "event nps_response within 30d where (score <= 6 or score >= 9)",
     acct(events=[(NPS, 1, {"score": 10.0})]), True),
    # count(E, D): 0 when nothing happened, never unknown
    ("count_two", "count(nps_response, 30d) >= 2",
     acct(events=[(NPS, 1, {}), (NPS, 29, {}), (NPS, 30, {})]), True),
    ("count_zero", "count(nps_response, 30d) == 0", acct(), True),
    # days_until / days_since
    ("days_until", "days_until(renewal_date) == 120", acct(renewal_date=day(-120)), True),
    ("days_until_missing", "days_until(renewal_date) == 120", acct(), None),
    ("days_since_field", "days_since(start_date) > 60", acct(start_date=day(61)), True),
    ("days_since_field_edge", "days_since(start_date) > 60", acct(start_date=day(60)), False),
    ("days_since_event", "days_since(qbr_held) >= 85",
     acct(events=[("qbr_held", 85, {}), ("qbr_held", 200, {})]), True),
    ("days_since_last_event", "days_since(qbr_held) >= 85",
     acct(events=[("qbr_held", 10, {}), ("qbr_held", 200, {})]), False),
    ("days_since_never", "days_since(qbr_held) >= 85", acct(), None),
    ("days_since_future_only", "days_since(qbr_held) >= 0",
     acct(events=[("qbr_held", -3, {})]), None),
    # Kleene three-valued logic
    ("and_false_unknown", 'arr > 1000 and segment == "SMB"', acct(arr=5.0), False),
    ("and_true_unknown", 'arr > 1000 and segment == "SMB"', acct(arr=5000.0), None),
    ("or_true_unknown", 'arr > 1000 or segment == "SMB"', acct(arr=5000.0), True),
    ("or_false_unknown", 'arr > 1000 or segment == "SMB"', acct(arr=5.0), None),
    ("not_unknown", "not (arr > 1000)", acct(), None),
    ("not_false", "not (arr > 1000)", acct(arr=5.0), True),
    ("nested", 'strategic and (usage drops 30% over 7d or no qbr_held for 90d)',
     acct({0: 9, 7: 10}, strategic=True), True),
    # numbers are 64-bit floats; a result that is not finite (inf, NaN) is unknown
    ("mul_overflow", "arr * arr > 0", acct(arr=1e200), None),
    ("mul_overflow_negative", "arr * arr * -1 < 0", acct(arr=1e200), None),
    ("add_overflow", "arr + arr > arr", acct(arr=1e308), None),
    ("sub_overflow", "-arr - arr < 0", acct(arr=1e308), None),
    ("div_overflow", "arr / 0.000001 > 0", acct(arr=1e308), None),
    ("div_by_overflow", "1 / (arr * arr) >= 0", acct(arr=1e200), None),  # not 1 / inf = 0
    ("overflow_minus_overflow", "arr * arr - arr * arr == 0", acct(arr=1e200), None),
    ("neg_overflow", "-(arr * arr) < 0", acct(arr=1e200), None),
    ("overflow_in", "arr * arr not in (1, 2)", acct(arr=1e200), None),
    ("overflow_or_true", "arr * arr > 0 or arr > 0", acct(arr=1e200), True),
    ("overflow_and_false", "arr * arr > 0 and arr < 0", acct(arr=1e200), False),
    ("large_but_finite", "arr * arr > arr", acct(arr=1e154), True),
    ("underflow_is_zero", "arr * arr == 0", acct(arr=1e-200), True),
    ("tiny_divisor_overflows", "1 / arr > 0", acct(arr=5e-324), None),
    ("where_overflow", "event nps_response within 30d where score * score > 0",
     acct(events=[(NPS, 3, {"score": 1e200})]), None),
    # a window sum or average is unknown when count * max |value| > 1e308: no order of
    # addition can overflow below that, so it does not depend on the engine
    ("sum_at_bound", "sum(usage, 7d) > 0", acct({0: 1e308}), True),
    ("sum_two_at_bound", "sum(usage, 7d) > 0", acct({0: 5e307, 1: 5e307}), True),
    ("sum_over_bound", "sum(usage, 7d) > 0", acct({0: 1e308, 1: 1e308}), None),
    ("sum_over_bound_cancels", "sum(usage, 7d) == 0", acct({0: 1e308, 1: -1e308}), None),
    ("no_metric_over_bound", "no usage for 7d", acct({0: 1e308, 1: -1e308}), None),
    ("avg_over_bound", "avg(usage, 7d) > 0", acct({0: 1.7e308, 1: 1.7e308}), None),
    ("avg_one_point_over_bound", "avg(usage, 7d) > 0", acct({0: 1.7e308}), None),
    ("avg_of_tiny", "avg(usage, 7d) > 0", acct({0: 5e-324, 1: 5e-324}), True),
    ("max_of_huge", "max(usage, 7d) > 0", acct({0: 1.7e308, 1: 1.7e308}), True),
    ("latest_huge", "usage > 0", acct({0: 1.7e308}), True),
    ("change_averages_over_bound", "usage rises 10% over 7d",  # was NaN: (inf - inf) / inf
     acct({0: 1.7e308, 1: 1.7e308, 7: 1.7e308, 8: 1.7e308}), None),
    ("change_overflows", "usage drops 10% over 7d", acct({0: 1e308, 7: -1e308}), None),
    ("change_tiny_before", "usage rises 10% over 7d", acct({0: 1, 7: 5e-324}), None),
    ("change_finite_extremes", "usage drops 40% over 7d", acct({0: 5e307, 7: 1e308}), True),
]


def _account(account_id: str, spec: dict[str, Any]) -> AccountData:
    account = AccountData(account_id, dict(spec["fields"]))
    if spec["usage"]:
        points = sorted((day(offset).toordinal(), float(v)) for offset, v in spec["usage"].items())
        account.metrics["usage"] = MetricSeries(array("l", [d for d, _ in points]),
                                                array("d", [v for _, v in points]))
    for name, offset, fields in sorted(spec["events"], key=lambda e: -e[1]):
        series = account.events.setdefault(name, EventSeries())
        series.days.append(day(offset).toordinal())
        series.fields.append(dict(fields))
    return account


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    rules = "\n".join(f'rule {key} {{\n  when {cond}\n  then cta risk "x"\n  owner CSM\n}}'
                      for key, cond, _, _ in CASES)
    artifact = compile_spec_text(tmp_path_factory.mktemp("ir"), rules + "\n", data=SPEC)
    dataset = Dataset()
    for key, _, data, _ in CASES:
        dataset.accounts[key] = _account(key, data)
    conditions = {r.name: r.when for r in artifact.rules}
    engines = [InterpreterEngine(dataset), SqlEngine(dataset, artifact.schema_)]
    limit = {key: [key] for key in conditions}
    return {e.name: e.evaluate(conditions, ASOF, limit) for e in engines}


def test_the_table_has_one_row_per_id() -> None:
    assert len({key for key, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize("engine", ["interpreter", "duckdb"])
@pytest.mark.parametrize(("key", "condition", "data", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_condition(compiled, engine: str, key: str, condition: str, data: dict,  # type: ignore[no-untyped-def]
                   expected: bool | None) -> None:
    assert compiled[engine][key] == {key: expected}, condition
