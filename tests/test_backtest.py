"""`csdsl backtest`: a replay equals running `csdsl run` day by day into a real store,
whatever the engine; the outputs (text golden, JSON of the contract, CSV, an HTML page
that a headless Chromium renders), floods, limits, and the exit statuses."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from csdsl_runtime.backtest import Backtest, BacktestDay, _floods, week_of

from .clikit import csdsl
from .conftest import EXAMPLES, ROOT

DATA = ROOT / "examples" / "data"
GOLDEN = ROOT / "tests" / "golden" / "backtest"
UPDATE = bool(os.environ.get("CSDSL_UPDATE_GOLDEN"))


def _backtest_json(*args: str) -> dict:
    got = csdsl("backtest", str(EXAMPLES), "--data", str(DATA), "--format", "json", *args)
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def _day_by_day(tmp_path: Path, start: date, end: date, engine: str) -> list[dict]:
    """What `csdsl run` reports for each day, into one SQLite file."""
    store = f"sqlite:///{tmp_path / 'days.db'}"
    days = []
    day = start
    while day <= end:
        got = csdsl("run", str(EXAMPLES), "--data", str(DATA), "--as-of", day.isoformat(),
                    "--store", store, "--format", "json", "--quiet", "--engine", engine,
                    "--no-evidence")
        assert got.returncode == 0, got.stderr
        report = json.loads(got.stdout)
        days.append({"date": day.isoformat(),
                     "opened": {r["rule"]: r["opened"] for r in report["rules"] if r["opened"]},
                     "closed": {r["rule"]: r["auto_closed"] for r in report["rules"]
                                if r["auto_closed"]}})
        day += timedelta(days=1)
    return days


@pytest.mark.parametrize("engine", ["duckdb", "interpreter"])
def test_a_backtest_equals_running_every_day_into_a_real_store(tmp_path: Path,
                                                               engine: str) -> None:
    start, end = date(2026, 11, 9), date(2026, 11, 20)  # `close when` and re-opening happen
    replayed = _backtest_json("--from", start.isoformat(), "--to", end.isoformat(),
                              "--engine", engine)
    ran = _day_by_day(tmp_path, start, end, engine)
    assert [{k: d[k] for k in ("date", "opened", "closed")} for d in replayed["days"]] == ran
    assert sum(sum(d["opened"].values()) for d in ran) > 0
    assert sum(sum(d["closed"].values()) for d in ran) > 0


@pytest.mark.slow
def test_a_longer_backtest_equals_day_by_day_runs_and_the_engines_agree(tmp_path: Path) -> None:
    start, end = date(2026, 10, 1), date(2026, 11, 20)
    duck = _backtest_json("--from", start.isoformat(), "--to", end.isoformat())
    reference = _backtest_json("--from", start.isoformat(), "--to", end.isoformat(),
                               "--engine", "interpreter")
    assert duck["days"] == reference["days"]
    assert duck["owner_load"] == reference["owner_load"]
    ran = _day_by_day(tmp_path, start, end, "duckdb")
    assert [{k: d[k] for k in ("date", "opened", "closed")} for d in duck["days"]] == ran


def _normalized(text: str) -> str:
    return re.sub(r"\(\d+\.\d s\)", "(T s)", text)


def test_text_output_golden() -> None:
    got = csdsl("backtest", str(EXAMPLES), "--data", str(DATA), "--from", "2026-10-20",
                "--to", "2026-11-20", "--budget", "12", "--engine", "interpreter")
    assert got.returncode == 0, got.stderr
    path = GOLDEN / "examples.txt"
    text = _normalized(got.stdout).replace(str(EXAMPLES), "examples/spec")
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()
    assert "today's values" in text  # honest about the history it cannot see
    assert "usage_drop: 15 in the week of 2026-11-09" in text


def test_json_has_the_contract_shape_and_the_weeks() -> None:
    got = _backtest_json("--from", "2026-11-01", "--to", "2026-11-20")
    assert [d["date"] for d in got["days"]][:2] == ["2026-11-01", "2026-11-02"]
    assert len(got["days"]) == 20
    for day in got["days"]:
        assert set(day) >= {"date", "opened", "closed"}
        assert all(isinstance(n, int) and n > 0 for n in day["opened"].values())
    weeks = got["weeks"]
    assert weeks[0]["week"] == "2026-10-26"  # the Monday of the first day's week
    # weeks leave out the first day's backlog; totals keep it
    opened_in_weeks = sum(sum(w["opened"].values()) for w in weeks)
    backlog = sum(got["backlog"].values())
    assert opened_in_weeks + backlog == sum(t["opened"] for t in got["totals"].values())
    assert got["caveats"] and got["accounts"] == 300


@pytest.mark.slow
def test_against_shows_both_versions(tmp_path: Path) -> None:
    head = tmp_path / "spec"
    shutil.copytree(EXAMPLES, head)
    risk = head / "rules_risk.cs"
    risk.write_text(risk.read_text().replace("usage drops 30% over 30d",
                                             "usage drops 10% over 30d", 1))
    got = csdsl("backtest", str(head), "--data", str(DATA), "--from", "2026-11-01",
                "--to", "2026-11-20", "--against", str(EXAMPLES), "--format", "json")
    assert got.returncode == 0, got.stderr
    out = json.loads(got.stdout)
    after, before = out["totals"]["usage_drop"], out["against"]["totals"]["usage_drop"]
    assert after["opened"] > before["opened"]
    text = csdsl("backtest", str(head), "--data", str(DATA), "--from", "2026-11-01",
                 "--to", "2026-11-20", "--against", str(EXAMPLES)).stdout
    line = next(x for x in text.splitlines() if x.startswith("usage_drop "))
    assert str(before["opened"]) in line and str(after["opened"]) in line and "+" in line


@pytest.mark.parametrize("engine", ["duckdb", "interpreter"])
def test_days_outside_the_data_are_said(engine: str) -> None:
    inside = _backtest_json("--from", "2026-11-01", "--to", "2026-11-03", "--engine", engine)
    assert not any("run from" in c for c in inside["caveats"])
    outside = _backtest_json("--from", "2026-11-19", "--to", "2026-11-23", "--engine", engine)
    said = [c for c in outside["caveats"] if "run from" in c]
    assert said and "to 2026-11-20" in said[0]


def test_csv_rows_add_up_to_the_json() -> None:
    args = ("--from", "2026-11-10", "--to", "2026-11-20")
    got = csdsl("backtest", str(EXAMPLES), "--data", str(DATA), "--format", "csv", *args)
    rows = list(csv.DictReader(io.StringIO(got.stdout)))
    assert rows and set(rows[0]) == {"version", "date", "rule", "opened", "closed"}
    totals = _backtest_json(*args)["totals"]
    for rule, t in totals.items():
        assert sum(int(r["opened"]) for r in rows if r["rule"] == rule) == t["opened"]
        assert sum(int(r["closed"]) for r in rows if r["rule"] == rule) == t["closed"]


def test_a_day_that_breaks_a_limit_stores_nothing_and_is_listed(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(EXAMPLES, spec)
    data_cs = spec / "data.cs"
    data_cs.write_text(data_cs.read_text().replace("limit new ctas per run 2000000",
                                                   "limit new ctas per run 20"))
    got = csdsl("backtest", str(spec), "--data", str(DATA), "--from", "2026-11-18",
                "--to", "2026-11-20", "--format", "json")
    assert got.returncode == 0, got.stderr
    first = json.loads(got.stdout)["days"][0]
    assert first["opened"] == {} and first["limit_breaches"]
    text = csdsl("backtest", str(spec), "--data", str(DATA), "--from", "2026-11-18",
                 "--to", "2026-11-20").stdout
    assert "days that broke a limit" in text and "2026-11-18" in text


def _result(volumes: list[int]) -> Backtest:
    start = date(2026, 1, 5)  # a Monday
    days = [BacktestDay(start)]  # the backlog day
    for i, n in enumerate(volumes):
        days.append(BacktestDay(start + timedelta(days=7 * i + 1), opened={"r": n}))
    end = days[-1].day
    return Backtest(spec_hash="h", start=start, end=end, accounts=1, rules=["r"], days=days,
                    owner_load={}, floods=[])


@pytest.mark.parametrize("volumes,budget,flooded", [
    ([5, 5, 5, 5, 40], None, [40]),      # eight times its median week
    ([5, 5, 5, 5, 12], None, []),        # under three times the median
    ([0, 0, 0, 0, 9], None, []),         # spikes under ten CTAs are not floods
    ([0, 0, 0, 0, 10], None, [10]),
    ([5, 6, 7, 8, 9], 7, [8, 9]),        # over the budget
])
def test_floods(volumes: list[int], budget: int | None, flooded: list[int]) -> None:
    result = _result(volumes)
    assert [f.opened for f in _floods(result, budget)] == flooded
    assert week_of(date(2026, 1, 11)) == date(2026, 1, 5)


@pytest.mark.parametrize("args,status,message", [
    (["--from", "2026-11-20", "--to", "2026-11-01"], 2, "is before --from"),
    (["--from", "2026-11-01", "--to", "2026-11-02", "--data", "/nonexistent"], 2,
     "no such directory"),
    (["--from", "2026-11-01"], 2, "--to"),
    (["--from", "2026-11-01", "--to", "2026-11-02", "--budget", "0"], 2, "0 CTAs: give 1 or more"),
    (["--from", "2026-11-01", "--to", "2026-11-02", "--env", "nope"], 2, "environment"),
])
def test_bad_usage_exits_2(args: list[str], status: int, message: str) -> None:
    data = [] if "--data" in args else ["--data", str(DATA)]
    got = csdsl("backtest", str(EXAMPLES), *data, *args)
    assert got.returncode == status
    assert message in got.stderr
    assert "Traceback" not in got.stderr


def test_spec_and_data_errors_exit_1(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(EXAMPLES, spec)
    (spec / "broken.cs").write_text("rule r { when nosuch > 1 then cta risk \"x\" }\n")
    got = csdsl("backtest", str(spec), "--data", str(DATA), "--from", "2026-11-01",
                "--to", "2026-11-02")
    assert got.returncode == 1 and "CS0" in got.stderr
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    with (data / "metrics.csv").open("a") as handle:
        handle.write("A001,usage,not-a-day,1\n")
    got = csdsl("backtest", str(EXAMPLES), "--data", str(data), "--from", "2026-11-01",
                "--to", "2026-11-02")
    assert got.returncode == 1 and "bad data" in got.stderr


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CSDSL_REQUIRE_CHROMIUM"):
        pytest.fail("Chromium is required here (CSDSL_REQUIRE_CHROMIUM) and is not installed")
    return found


@pytest.mark.slow
def test_the_html_page_renders_a_chart_per_rule_in_a_headless_browser(tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (.ci/run installs Debian's package)")
    page = tmp_path / "backtest.html"
    got = csdsl("backtest", str(EXAMPLES), "--data", str(DATA), "--from", "2026-10-20",
                "--to", "2026-11-20", "--against", str(EXAMPLES), "--format", "html",
                "-o", str(page))
    assert got.returncode == 0, got.stderr
    text = page.read_text()
    assert "<script" in text and "cdn" not in text.split("<body>")[0]  # offline: inlined
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    sections = re.findall(r'<section class="rule" id="rule-([a-z_0-9]+)"', dom)
    assert len(sections) == 21  # every rule of the example spec
    # Plotly drew each chart: an SVG with its bars in the page the browser built
    assert dom.count('class="main-svg"') >= len(sections)
    assert "usage_drop: per week" in dom
    shot = tmp_path / "page.png"
    subprocess.run([browser, *flags, "--window-size=1200,1600", f"--screenshot={shot}",
                    page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000  # a page with charts, not a blank one
