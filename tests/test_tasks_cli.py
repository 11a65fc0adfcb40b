"""`csdsl tasks` (a CSM's open tasks, overdue first), task ids in `csdsl ctas`,
`csdsl move-due`, and listing commands that leave no store file behind."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests import clikit
from tests.rtkit import ASOF, SPEC, Data, compile_spec_text
from tests.test_runtime import RULES, drop_data


def run(*args: str, cwd: Path) -> clikit.Result:
    return clikit.run("csdsl", *args, cwd=cwd)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    compile_spec_text(tmp_path, RULES)
    drop_data().write(tmp_path / "data")
    done = run("run", "spec", "--data", "data", "--as-of", ASOF.isoformat(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


def _tasks(project: Path, *args: str) -> list[dict]:  # type: ignore[type-arg]
    result = run("tasks", "--format", "json", *args, cwd=project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_tasks_overdue_first_by_owner(project: Path) -> None:
    # the email is due Mon 11-23 (jane), the call Thu 11-26 (the Champion)
    everything = _tasks(project, "--as-of", "2026-11-24")
    assert [(t["key"], t["overdue"], t["days_overdue"]) for t in everything] == [
        ("email", True, 1), ("call", False, 0)]
    assert {"id", "cta_id", "account_id", "rule", "due", "owner"} <= everything[0].keys()
    assert [t["key"] for t in _tasks(project, "--owner", "jane@example.com",
                                     "--as-of", "2026-11-24")] == ["email"]
    assert _tasks(project, "--overdue", "--as-of", "2026-11-23") == []
    text = run("tasks", "--as-of", "2026-11-24", cwd=project).stdout
    assert "2 open tasks (1 overdue as of 2026-11-24)" in text
    done = run("complete-task", str(everything[0]["id"]), "--date", "2026-11-24", cwd=project)
    assert done.returncode == 0
    assert [t["key"] for t in _tasks(project, "--as-of", "2026-11-24")] == ["call"]


def test_ctas_shows_the_task_ids(project: Path) -> None:
    (cta,) = json.loads(run("ctas", "--format", "json", cwd=project).stdout)
    text = run("ctas", cwd=project).stdout
    for task in cta["tasks"]:
        assert f"task {task['id']}" in text


def test_move_due_shifts_the_open_tasks(project: Path) -> None:
    (cta,) = json.loads(run("ctas", "--format", "json", cwd=project).stdout)
    email = cta["tasks"][0]["id"]
    assert run("complete-task", str(email), "--date", "2026-11-23", cwd=project).returncode == 0
    moved = run("move-due", str(cta["id"]), "2026-12-03", cwd=project)  # due 11-26 + 7 days
    assert moved.returncode == 0, moved.stderr
    assert "1 open task moved" in moved.stdout
    (after,) = json.loads(run("ctas", "--format", "json", cwd=project).stdout)
    assert after["due"] == "2026-12-03"
    by_key = {t["key"]: t for t in after["tasks"]}
    assert (by_key["call"]["start"], by_key["call"]["due"]) == ("2026-12-03", "2026-12-03")
    assert by_key["email"]["due"] == "2026-11-23"  # done: stays where it was


@pytest.mark.parametrize(("day", "message"), [
    ("2026-11-19", "created on 2026-11-20"),  # before the CTA existed
])
def test_move_due_refuses_what_cannot_be_right(project: Path, day: str, message: str) -> None:
    (cta,) = json.loads(run("ctas", "--format", "json", cwd=project).stdout)
    refused = run("move-due", str(cta["id"]), day, cwd=project)
    assert refused.returncode == 1 and message in refused.stderr
    assert run("close", str(cta["id"]), "--outcome", "success", "--date", "2026-11-21",
               cwd=project).returncode == 0
    closed = run("move-due", str(cta["id"]), "2026-12-10", cwd=project)
    assert closed.returncode == 1 and "only an open CTA's due date moves" in closed.stderr


@pytest.mark.parametrize("command", ["ctas", "tasks", "plans"])
def test_listing_an_empty_directory_creates_no_store(tmp_path: Path, command: str) -> None:
    result = run(command, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


CHAIN = """
playbook Chain {
  task a "A" { duration 5d }
  task b "B" { after a  duration 2d }
  task c "C" { after b  duration 1d }
  task d "D" { day 3 }
}
rule big { when arr > 0  then cta risk "Big"  playbook Chain }
"""


@pytest.mark.parametrize(("done", "b", "c"), [
    ("2026-11-22", ("2026-11-22", "2026-11-24"), ("2026-11-24", "2026-11-25")),  # early
    ("2026-11-25", ("2026-11-25", "2026-11-27"), ("2026-11-27", "2026-11-28")),  # on time
    ("2026-11-29", ("2026-11-29", "2026-12-01"), ("2026-12-01", "2026-12-02")),  # late
])
def test_completing_a_task_re_times_the_tasks_after_it(
        tmp_path: Path, done: str, b: tuple[str, str], c: tuple[str, str]) -> None:
    compile_spec_text(tmp_path, CHAIN)
    Data().account("a1", name="Acme", arr="5").write(tmp_path / "data")
    assert run("run", "spec", "--data", "data", "--as-of", ASOF.isoformat(),
               cwd=tmp_path).returncode == 0
    (cta,) = json.loads(run("ctas", "--format", "json", cwd=tmp_path).stdout)
    by_key = {t["key"]: t for t in cta["tasks"]}
    assert (by_key["b"]["start"], by_key["b"]["due"]) == ("2026-11-25", "2026-11-27")
    result = run("complete-task", str(by_key["a"]["id"]), "--date", done, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    moved = 0 if done == "2026-11-25" else 2
    assert (f"{moved} later tasks re-timed" in result.stdout) == bool(moved)
    (after,) = json.loads(run("ctas", "--format", "json", cwd=tmp_path).stdout)
    by_key = {t["key"]: t for t in after["tasks"]}
    assert (by_key["b"]["start"], by_key["b"]["due"]) == b
    assert (by_key["c"]["start"], by_key["c"]["due"]) == c
    assert by_key["d"]["due"] == "2026-11-23"  # not after `a`: untouched


BUSINESS = """
holidays "US"
playbook Work {
  calendar business
  task a "A" { duration 1d }
  task b "B" { after a  day 5  duration 2d }
}
rule big { when arr > 0  then cta risk "Big"  playbook Work  due 10d business }
"""


def test_business_days_holidays_and_moves_through_the_real_commands(tmp_path: Path) -> None:
    """Created Friday 11-20 in the US: Thanksgiving (11-26) is no working day. A move
    shifts the tasks by working days and their earliest day with them, so that a later
    completion re-times from the moved schedule."""
    compile_spec_text(tmp_path, BUSINESS)
    Data().account("a1", name="Acme", arr="5").write(tmp_path / "data")
    assert run("run", "spec", "--data", "data", "--as-of", ASOF.isoformat(),
               cwd=tmp_path).returncode == 0
    (cta,) = json.loads(run("ctas", "--format", "json", cwd=tmp_path).stdout)
    tasks = {t["key"]: t for t in cta["tasks"]}
    # 10 business days from Fri 11-20, skipping Thanksgiving: Mon 12-07
    assert cta["due"] == "2026-12-07"
    assert (tasks["a"]["due"], tasks["b"]["start"], tasks["b"]["due"]) == (
        "2026-11-23", "2026-11-30", "2026-12-02")
    moved = run("move-due", str(cta["id"]), "2026-12-14", cwd=tmp_path)  # 5 working days on
    assert moved.returncode == 0, moved.stderr
    (after,) = json.loads(run("ctas", "--format", "json", cwd=tmp_path).stdout)
    tasks = {t["key"]: t for t in after["tasks"]}
    assert (tasks["a"]["due"], tasks["b"]["start"], tasks["b"]["due"]) == (
        "2026-12-01", "2026-12-07", "2026-12-09")  # 11-23 + 5 working days skips 11-26
    for task in tasks.values():  # on working days
        assert date.fromisoformat(task["due"]).weekday() < 5
    # `a` done on its moved due day: `b` keeps its moved dates (its earliest moved too)
    done = run("complete-task", str(tasks["a"]["id"]), "--date", "2026-12-01", cwd=tmp_path)
    assert done.returncode == 0 and "re-timed" not in done.stdout
    (again,) = json.loads(run("ctas", "--format", "json", cwd=tmp_path).stdout)
    assert {t["key"]: t["due"] for t in again["tasks"]}["b"] == "2026-12-09"


def test_missing_days_owner_gaps_and_empty_pools_in_the_run_report(tmp_path: Path) -> None:
    data_decls = SPEC.replace("metric usage", "metric usage missing 0") + \
        'pool Desk "Support desk"\n'
    compile_spec_text(tmp_path, 'rule quiet { when no usage for 14d  then cta risk "Quiet"  '
                      'owner CSM or pool Desk }\n', data_decls)
    data = Data().account("a1", name="Acme").account("a2", name="Beta")
    data.series("a2", [3.0] * 14)  # a1 has no usage rows at all: 0 on every day
    data.write(tmp_path / "data")
    report = json.loads(run("run", "spec", "--data", "data", "--as-of", ASOF.isoformat(),
                            "--format", "json", cwd=tmp_path).stdout)
    (quiet,) = report["rules"]
    assert (quiet["fired"], quiet["opened"], quiet["unknown"]) == (1, 1, 0)
    assert report["empty_pools"] == ["Desk"]
    (gap,) = report["owner_gaps"]
    assert (gap["rule"], gap["where"], gap["owner"], gap["outcome"], gap["accounts"]) == (
        "quiet", "CTA", "CSM or pool Desk", "unassigned", ["a1"])
    text = run("run", "spec", "--data", "data", "--as-of", "2026-11-21", "--dry-run",
               cwd=tmp_path).stdout
    assert "declared pools with no members in the data: Desk" in text


@pytest.mark.parametrize("command", [["close", "1", "--outcome", "success"],
                                     ["complete-task", "1"], ["move-due", "1", "2026-12-01"],
                                     ["plan-status", "1", "completed"]])
def test_a_change_to_no_store_creates_none(tmp_path: Path, command: list[str]) -> None:
    result = run(*command, cwd=tmp_path)
    assert result.returncode == 2 and "no store at" in result.stderr
    assert list(tmp_path.iterdir()) == []
