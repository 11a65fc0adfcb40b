"""`csdsl run --dry-run`: what it would do, not only counts. The CTAs it would open (rule,
account, title, owner, due, tasks), the CTAs `close when` would close and the plans it
would open, listed after the run report as text (the first `--show N` of each rule) and
all of them under `changes` with `--format json`; and still nothing stored.

The real commands run in-process (tests/clikit.py), on the bundled example (its data as
of 2026-11-20) and on a small spec whose text report is a golden file
(`CSDSL_UPDATE_GOLDEN=1` rewrites it)."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from csdsl_runtime import Runtime, open_store, read_dataset
from tests import clikit
from tests.pgserver import postgres_server, postgres_url  # noqa: F401 - fixtures
from tests.rtkit import ASOF, Data, compile_spec_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden" / "dry_run"
DAY = ASOF.isoformat()  # the example data's day
LATER = (ASOF + timedelta(days=2)).isoformat()


def csdsl(*args: str, cwd: Path) -> clikit.Result:
    return clikit.csdsl(*args, cwd=cwd)


def run(project: Path, day: str, *options: str, data: str = "data",
        spec: str | None = None) -> clikit.Result:
    done = csdsl("run", spec or str(EXAMPLES / "spec"), "--data", data, "--as-of", day,
                 "--quiet", *options, cwd=project)
    assert done.returncode == 0, done.stderr
    return done


def run_json(project: Path, day: str, *options: str, **where: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(run(project, day, "--format", "json", *options,
                                            **where).stdout)
    return report


def listed(project: Path, what: str) -> list[dict[str, Any]]:
    """`csdsl ctas --format json` or `csdsl plans --format json`."""
    done = csdsl(what, "--format", "json", cwd=project)
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def unsaved(cta: dict[str, Any]) -> dict[str, Any]:
    """A stored CTA object as a dry run lists one it would open: no ids yet."""
    return {**cta, "id": None, "plan_id": None,
            "tasks": [{**t, "id": None} for t in cta["tasks"]]}


def unsaved_plan(plan: dict[str, Any]) -> dict[str, Any]:
    return {**plan, "id": None, "objectives": [unsaved(o) for o in plan["objectives"]]}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory with a copy of the example data (tests add rows to it)."""
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    return tmp_path


def test_the_json_lists_what_the_real_run_then_stores(project: Path) -> None:
    dry = run_json(project, DAY, "--dry-run")
    assert not (project / "csdsl.db").exists()  # no store yet: the dry run made none
    changes = dry["changes"]
    assert sorted(changes) == ["close", "open", "plans"] and changes["close"] == []
    objectives = [o for p in changes["plans"] for o in p["objectives"]]
    assert len(changes["open"]) + len(objectives) == dry["ctas_opened"] == 177
    assert len(changes["plans"]) == dry["plans_opened"] == 6
    assert sum(len(c["tasks"]) for c in [*changes["open"], *objectives]) == dry["tasks_created"]
    assert {c["id"] for c in changes["open"]} == {None}  # rolled back: no ids
    assert dry["rules"][1]["opened"] == sum(c["rule"] == dry["rules"][1]["rule"]
                                            for c in changes["open"])

    real = run_json(project, DAY)
    assert "changes" not in real  # a real run's report is as it was
    stored = listed(project, "ctas")
    assert [unsaved(c) for c in stored if c["plan_id"] is None] == changes["open"]
    assert [unsaved_plan(p) for p in listed(project, "plans")] == changes["plans"]


def _recover(project: Path, ctas: list[dict[str, Any]]) -> set[str]:
    """Data of the next day in which `close when` holds for 4 of the example's
    `no_logins` CTAs (someone logged in) and 3 of its `qbr_due` ones (a QBR was held)."""
    logins = [c["account_id"] for c in ctas if c["rule"] == "no_logins"][:4]
    qbrs = [c["account_id"] for c in ctas if c["rule"] == "qbr_due"][:3]
    assert len(logins) == 4 and len(qbrs) == 3
    day = (ASOF + timedelta(days=1)).isoformat()
    with (project / "data" / "metrics.csv").open("a", encoding="utf-8") as out:
        out.writelines(f"{account},logins,{day},3\n" for account in logins)
    with (project / "data" / "events.csv").open("a", encoding="utf-8") as out:
        out.writelines(f"{account},qbr_held,{day},,,,\n" for account in qbrs)
    return {*logins, *qbrs}


def test_a_later_dry_run_lists_the_closes_the_real_run_then_makes(project: Path) -> None:
    run(project, DAY)
    before = listed(project, "ctas")
    recovered = _recover(project, before)
    store = open_store(f"sqlite:///{project / 'csdsl.db'}")
    try:
        counts = store.counts()
    finally:
        store.close()

    dry = run_json(project, LATER, "--dry-run")
    closes = dry["changes"]["close"]
    assert {c["account_id"] for c in closes} == recovered
    assert {c["rule"] for c in closes} == {"no_logins", "qbr_due"}
    assert {(c["status"], c["outcome"], c["closed"]) for c in closes} == {
        ("closed", "resolved", LATER)}
    assert len(closes) == sum(r["auto_closed"] for r in dry["rules"])
    # the store is as it was: same CTAs, same tasks, no run recorded
    assert listed(project, "ctas") == before
    store = open_store(f"sqlite:///{project / 'csdsl.db'}")
    try:
        assert store.counts() == counts
    finally:
        store.close()

    run(project, LATER)
    after = listed(project, "ctas")
    assert [c for c in after if c["closed"] == LATER] == closes  # ids and all
    assert [unsaved(c) for c in after if c["created"] == LATER and c["plan_id"] is None] \
        == dry["changes"]["open"] != []


def _rows(text: str, header: str) -> list[list[str]]:
    """The rows of the table under a line starting with `header`, split on 2+ spaces."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:  # past the section line and the column heads
        if not line.startswith("  "):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


OPENS = "would open 159 CTAs (and 18 as plan objectives, below):"


def test_the_text_lists_the_changes_per_rule(project: Path) -> None:
    changes = run_json(project, DAY, "--dry-run")["changes"]
    text = run(project, DAY, "--dry-run").stdout
    assert text.endswith("\ndry run: nothing was stored\n")
    assert text.count("dry run: nothing was stored") == 1
    rows = _rows(text, OPENS)
    shown = [r for r in rows if not r[0].startswith("...")]
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for cta in changes["open"]:
        by_rule.setdefault(cta["rule"], []).append(cta)
    assert shown == [[c["rule"], c["account_id"], c["owner"], c["due"], str(len(c["tasks"])),
                      c["title"]] for ctas in by_rule.values() for c in ctas[:20]]
    assert [r[0] for r in rows if r[0].startswith("...")] == []  # no rule opens 20 here
    plans = _rows(text, "would open 6 plans (with 18 objective CTAs):")
    assert plans == [[p["rule"], p["account_id"], p["plan"], p["owner"], p["due"], "3",
                      p["title"]] for p in changes["plans"]]
    assert "would close" not in text and "(the first" not in text

    few = run(project, DAY, "--dry-run", "--show", "2").stdout
    rows = _rows(few, OPENS)
    assert len([r for r in rows if not r[0].startswith("...")]) == 2 * len(by_rule)
    assert rows[2] == [f"... and {len(by_rule['low_nps']) - 2} more of low_nps"]
    assert "(the first 2 of each rule: `--format json` lists them all)\n" \
        "dry run: nothing was stored\n" in few
    everything = run(project, DAY, "--dry-run", "--show", "0").stdout
    assert len(_rows(everything, OPENS)) == 159
    assert "... and" not in everything.split(OPENS)[1]


def test_show_is_for_dry_runs(project: Path) -> None:
    spec = str(EXAMPLES / "spec")
    alone = csdsl("run", spec, "--data", "data", "--as-of", DAY, "--show", "5", cwd=project)
    assert alone.returncode == 2 and "use it with --dry-run" in alone.stderr
    assert not (project / "csdsl.db").exists()
    negative = csdsl("run", spec, "--data", "data", "--as-of", DAY, "--dry-run", "--show", "-1",
                     cwd=project)
    assert negative.returncode == 2 and "give 0 (all) or more" in negative.stderr


SMALL = """
playbook UsageDrop {
  task email "Email {{ account.name }}" { day 1  owner CSM  type email }
  task call "Call the champion" { day 4  owner AE or Champion  after email  type call }
}
plan Rescue "Usage rescue" {
  due 30d
  owner CSM
  objective recover "Usage back" {
    task review "Review usage with {{ account.name }}" { day 2  owner CSM }
  }
}
rule drop "Usage drop" {
  when usage drops 30% over 7d
  then cta risk "Usage dropped for {{ account.name }}"
  owner CSM
  priority high
  playbook UsageDrop
  close when usage rises 20% over 7d
}
rule big_drop "Usage halved" {
  when usage drops 50% over 7d
  then plan Rescue
}
"""


def small_data(day: int) -> Data:
    """Day 0: Acme's usage drops. Day 1: Acme's is back, Beta's drops and Gamma's halves."""
    asof = ASOF + timedelta(days=day)
    data = Data()
    data.account("a1", name="Acme", segment="Enterprise")
    data.account("a2", name="Beta", segment="SMB")
    data.account("a3", name="Gamma", segment="SMB")
    data.team += [("a1", "CSM", "jane@example.com"), ("a1", "AE", "sam@example.com"),
                  ("a2", "CSM", "bob@example.com"), ("a3", "CSM", "ann@example.com")]
    if day == 0:
        data.series("a1", [10.0] * 7 + [7.0] * 7, asof=asof)
        data.series("a2", [10.0] * 14, asof=asof)
        data.series("a3", [10.0] * 14, asof=asof)
    else:
        data.series("a1", [7.0] * 7 + [10.0] * 7, asof=asof)
        data.series("a2", [10.0] * 7 + [6.0] * 7, asof=asof)
        data.series("a3", [10.0] * 7 + [4.0] * 7, asof=asof)
    return data


def test_golden_text_of_a_dry_run(tmp_path: Path) -> None:
    compile_spec_text(tmp_path, SMALL)  # writes tmp/spec
    small_data(0).write(tmp_path / "day0")
    small_data(1).write(tmp_path / "day1")
    run(tmp_path, DAY, data="day0", spec="spec")
    next_day = (ASOF + timedelta(days=1)).isoformat()
    text = run(tmp_path, next_day, "--dry-run", data="day1", spec="spec").stdout
    golden = GOLDEN / "two_days.txt"
    if os.environ.get("CSDSL_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    dry = run_json(tmp_path, next_day, "--dry-run", data="day1", spec="spec")["changes"]
    run(tmp_path, next_day, data="day1", spec="spec")
    stored = listed(tmp_path, "ctas")
    assert [c for c in stored if c["closed"] == next_day] == dry["close"] != []
    assert [unsaved_plan(p) for p in listed(tmp_path, "plans")] == dry["plans"] != []


def test_the_api_reports_changes_on_dry_runs_only(tmp_path: Path) -> None:
    artifact = compile_spec_text(tmp_path, SMALL)
    dataset = read_dataset(small_data(0).write(tmp_path / "data"), artifact.schema_)
    store = open_store(f"sqlite:///{tmp_path / 'csdsl.db'}")
    runtime = Runtime(artifact, dataset, store)
    dry = runtime.run(ASOF, dry_run=True)
    assert dry.changes is not None and [c["account_id"] for c in dry.changes["open"]] == ["a1"]
    assert dry.to_json()["changes"] is dry.changes
    assert store.counts() == {"ctas": 0, "tasks": 0, "plans": 0, "runs": 0}
    real = runtime.run(ASOF)
    assert real.changes is None and "changes" not in real.to_json()
    assert "would open" not in real.render() and "dry run" not in real.render()


@pytest.mark.slow
def test_a_dry_run_on_postgresql_lists_what_it_then_stores(tmp_path: Path,
                                                           postgres_url: str) -> None:  # noqa: F811
    artifact = compile_spec_text(tmp_path, SMALL)
    day0 = read_dataset(small_data(0).write(tmp_path / "day0"), artifact.schema_)
    day1 = read_dataset(small_data(1).write(tmp_path / "day1"), artifact.schema_)
    store = open_store(postgres_url)
    try:
        Runtime(artifact, day0, store).run(ASOF)
        runtime = Runtime(artifact, day1, store)
        later = ASOF + timedelta(days=1)
        dry = runtime.run(later, dry_run=True).changes
        assert dry is not None and store.counts()["runs"] == 1
        runtime.run(later)
        ctas = [c.to_json() for c in store.list_ctas()]
        assert [c for c in ctas if c["closed"] == later.isoformat()] == dry["close"] != []
        assert [unsaved(c) for c in ctas if c["created"] == later.isoformat()
                and c["plan_id"] is None] == dry["open"] != []
        assert [unsaved_plan(p.to_json()) for p in store.list_plans()] == dry["plans"] != []
    finally:
        store.close()
