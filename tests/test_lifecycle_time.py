"""Time and spec changes (issue 8, part 7): time never runs backwards in a store.

- A run dated before the store's latest run is refused, unless it is a backfill.
- No close, completion or success is dated before the creation of its CTA, task's CTA or
  plan: on the command line, in the host API, nor automatically in a run (a backfill
  never closes or scores a CTA created after its day).
- The CTAs and plans of rules that left the spec are listed in every run report, and
  `csdsl retire SPEC` closes them with the outcome `retired`.

The store-level tests run on SQLite and (slow) on PostgreSQL, whose dates are DATE
columns rather than ISO text.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from csdsl_runtime import Runtime, StoreError, open_store, read_dataset
from csdsl_runtime.api import OutOfOrderError, removed_rules, retire
from csdsl_runtime.engines.interpreter import InterpreterEngine
from csdsl_runtime.records import CTA_OUTCOMES, OpenWork
from tests import clikit
from tests.pgserver import postgres_server, postgres_url  # noqa: F401 - fixtures
from tests.rtkit import ASOF, Data, compile_spec_text

# Level-triggered (`reopen while true`): these tests are about time, and a reopening
# rule shows what a run opens on each day; re-arming has tests/test_rearming.py.
BIG = """
playbook Call { task call "Call {{ account.name }}" { day 1 } }
rule big "Big account" {
  when arr > 10
  then cta risk "Big {{ account.name }}"
  playbook Call
  close when arr > 100
  success within 30d when arr > 100
  reopen while true
}
"""
OLD = 'rule old { when arr > 0  then cta risk "Old {{ account.name }}"  playbook Call }\n'
PLAN = """
plan Onboarding "Onboarding {{ account.name }}" {
  objective kickoff "Kickoff" { task handoff "Hand-off" { duration 2d } }
}
rule onboard { when arr > 0  then plan Onboarding }
"""
LATER = ASOF + timedelta(days=5)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'csdsl.db'}"


def make(tmp_path: Path, rules: str, data: Data, url: str, name: str = "a") -> Runtime:
    artifact = compile_spec_text(tmp_path / name, rules)
    dataset = read_dataset(data.write(tmp_path / name / "data"), artifact.schema_)
    return Runtime(artifact, dataset, open_store(url))


def use(runtime: Runtime, data: Data, directory: Path) -> None:
    """Run on other data from now on."""
    runtime.dataset = read_dataset(data.write(directory), runtime.artifact.schema_)
    runtime.engine = InterpreterEngine(runtime.dataset)


def one(arr: str = "50", *more: str) -> Data:
    data = Data().account("a1", name="Acme", arr=arr)
    for index, value in enumerate(more, start=2):
        data.account(f"a{index}", name=f"N{index}", arr=value)
    return data


# ---------------------------------------------------------------- runs out of order


def test_a_run_before_the_latest_is_refused_and_changes_nothing(
    tmp_path: Path, store_url: str
) -> None:
    runtime = make(tmp_path, BIG, one(), store_url)
    runtime.run(LATER)
    before = runtime.store.counts()
    for dry_run in (False, True):
        with pytest.raises(OutOfOrderError) as refused:
            runtime.run(ASOF, dry_run=dry_run)
        message = str(refused.value)
        assert "2026-11-25" in message and "2026-11-20" in message and "backfill" in message
        assert isinstance(refused.value, StoreError)  # what hosts already catch
    assert runtime.store.counts() == before
    assert runtime.store.latest_run() == LATER
    assert runtime.run(LATER).rules[0].already_open == 1  # the same day again: fine
    assert runtime.run(LATER + timedelta(days=1)).backfill is False


def test_a_backfill_opens_its_day_and_never_touches_later_ctas(
    tmp_path: Path, store_url: str
) -> None:
    runtime = make(tmp_path, BIG, one("50"), store_url)
    runtime.run(LATER)  # opens a1's CTA on the 25th
    # on the 20th, a1 was over 100 (its `close when` and success hold) and a2 was big
    use(runtime, one("500", "50"), tmp_path / "day20")
    report = runtime.run(ASOF, backfill=True)
    assert (report.backfill, report.latest_run) == (True, LATER.isoformat())
    (counts,) = report.rules
    assert (counts.fired, counts.already_open, counts.opened) == (2, 1, 1)
    assert (counts.auto_closed, counts.success, counts.no_success) == (0, 0, 0)
    by_account = {c.account_id: c for c in runtime.store.list_ctas()}
    later, backfilled = by_account["a1"], by_account["a2"]
    assert (later.status, later.created, later.closed, later.success) == (
        "open", LATER, None, None)
    assert (backfilled.status, backfilled.created) == ("open", ASOF)
    assert runtime.store.latest_run() == LATER  # a backfill does not move time forward
    assert "backfill: dated before the store's latest run (2026-11-25)" in report.render()
    assert report.to_json()["backfill"] is True


def test_a_backfill_closes_and_scores_ctas_created_on_or_before_its_day(
    tmp_path: Path, store_url: str
) -> None:
    runtime = make(tmp_path, BIG, one("50"), store_url)
    runtime.run(ASOF)
    runtime.run(ASOF + timedelta(days=10))
    use(runtime, one("500"), tmp_path / "day25")  # the 25th's data arrives late
    report = runtime.run(LATER, backfill=True)
    assert (report.rules[0].auto_closed, report.rules[0].success) == (1, 1)
    (cta,) = runtime.store.list_ctas()
    assert (cta.created, cta.closed, cta.outcome, cta.success_date) == (
        ASOF, LATER, "resolved", LATER)


def test_a_cta_closed_after_the_runs_day_still_counts_as_open_that_day(
    tmp_path: Path, store_url: str
) -> None:
    """A CSM closes on the 25th while the runs, a day behind their data, are dated the
    21st: that run must not open a second CTA beside the one open on its day."""
    runtime = make(tmp_path, BIG, one("50"), store_url)
    runtime.run(ASOF)
    (cta,) = runtime.store.list_ctas()
    runtime.store.close_cta(cta.id, "success", LATER)  # type: ignore[arg-type]
    report = runtime.run(ASOF + timedelta(days=1))
    assert (report.rules[0].already_open, report.rules[0].opened) == (1, 0)
    assert runtime.run(LATER).rules[0].opened == 1  # no cooldown: reopened on the 25th


def test_a_backfill_counts_cooldown_from_closes_on_or_before_its_day(
    tmp_path: Path, store_url: str
) -> None:
    rules = 'rule big { when arr > 10  then cta risk "Big"  cooldown 10d  reopen while true }\n'
    runtime = make(tmp_path, rules, one("50"), store_url)
    runtime.run(ASOF)
    (cta,) = runtime.store.list_ctas()
    runtime.store.close_cta(cta.id, "not_valid", ASOF + timedelta(days=1), "holiday")  # type: ignore[arg-type]
    runtime.run(ASOF + timedelta(days=20))  # out of cooldown: opens the second
    report = runtime.run(ASOF + timedelta(days=5), backfill=True)
    # on the 25th the first was closed four days before, within the cooldown; and the
    # second, created later, counts as open anyway: nothing opens
    assert report.rules[0].opened == 0
    assert len(runtime.store.list_ctas()) == 2


# ---------------------------------------------------------------- never before creation


def test_host_operations_dated_before_creation_are_refused(
    tmp_path: Path, store_url: str
) -> None:
    runtime = make(tmp_path, BIG + PLAN, one("50"), store_url)
    runtime.run(LATER)
    store = runtime.store
    cta = store.list_ctas(rule="big")[0]
    (plan,) = store.list_plans()
    early = ASOF
    with pytest.raises(OutOfOrderError, match=(
        f"cannot close CTA {cta.id} on 2026-11-20: it was created on 2026-11-25")):
        store.close_cta(cta.id, "success", early)  # type: ignore[arg-type]
    with pytest.raises(OutOfOrderError, match="its CTA was created on 2026-11-25"):
        store.complete_task(cta.tasks[0].id, early)  # type: ignore[arg-type]
    with pytest.raises(OutOfOrderError, match=r"cannot mark plan \d+ completed on 2026-11-20"):
        store.set_plan_status(plan.id, "completed", early)  # type: ignore[arg-type]
    store.set_plan_status(plan.id, "on_hold", early)  # type: ignore[arg-type]  # no date
    assert {c.status for c in store.list_ctas()} == {"open"}
    assert {t.status for c in store.list_ctas() for t in c.tasks} == {"open"}
    store.complete_task(cta.tasks[0].id, LATER)  # type: ignore[arg-type]  # the same day
    store.close_cta(cta.id, "success", LATER)  # type: ignore[arg-type]
    store.set_plan_status(plan.id, "completed", LATER + timedelta(days=1))  # type: ignore[arg-type]
    assert {(c.status, c.closed) for c in store.list_ctas()} == {
        ("closed", LATER), ("closed", LATER + timedelta(days=1))}


def test_the_store_itself_never_dates_a_close_or_success_before_creation(
    tmp_path: Path, store_url: str
) -> None:
    """The last guard, below the checks: the updates skip a CTA created after their day."""
    runtime = make(tmp_path, BIG, one("50"), store_url)
    runtime.run(LATER)
    store = runtime.store
    (cta,) = store.list_ctas()
    assert cta.id is not None
    with store.transaction():
        store.close_ctas([cta.id], "resolved", ASOF)
        store.record_success(cta.id, True, ASOF)
    (after,) = store.list_ctas()
    assert (after.status, after.closed, after.success) == ("open", None, None)
    assert after.tasks[0].status == "open"


# ---------------------------------------------------------------- removed rules


def test_the_run_report_lists_the_open_ctas_of_removed_rules(
    tmp_path: Path, store_url: str
) -> None:
    first = make(tmp_path, BIG + OLD + PLAN, one("50", "5"), store_url)
    first.run(ASOF)
    second = make(tmp_path, BIG, one("50", "5"), store_url, name="b")
    report = second.run(LATER)
    assert report.removed_rules == {
        "old": OpenWork(ctas=2, plans=0), "onboard": OpenWork(ctas=2, plans=2)}
    assert report.removed_rule_ctas == 4
    assert report.to_json()["removed_rules"] == {
        "old": {"ctas": 2, "plans": 0}, "onboard": {"ctas": 2, "plans": 2}}
    assert report.to_json()["removed_rule_ctas"] == 4
    assert (
        "rules no longer in the spec: 2, with 4 open CTAs (old: 2 CTAs; onboard: 2 CTAs, "
        "2 plans); `csdsl retire SPEC` closes them"
    ) in report.render()
    assert removed_rules(first.artifact, second.store) == {}  # all in the first spec
    clean = make(tmp_path, BIG + OLD + PLAN, one("50", "5"), store_url, name="c").run(LATER)
    assert clean.removed_rules == {} and "no longer in the spec" not in clean.render()


def test_retire_closes_the_ctas_and_plans_of_removed_rules_only(
    tmp_path: Path, store_url: str
) -> None:
    first = make(tmp_path, BIG + OLD + PLAN, one("50"), store_url)
    first.run(ASOF)
    artifact = compile_spec_text(tmp_path / "b", BIG)
    store = first.store
    with pytest.raises(StoreError, match="`big` still in the spec"):
        retire(artifact, store, LATER, rules=["big", "old"])
    with pytest.raises(OutOfOrderError, match="created on 2026-11-20, after that day"):
        retire(artifact, store, ASOF - timedelta(days=1))
    assert retire(artifact, store, LATER, dry_run=True) == {
        "old": OpenWork(1, 0), "onboard": OpenWork(1, 1)}
    assert removed_rules(artifact, store) == {"old": OpenWork(1, 0), "onboard": OpenWork(1, 1)}
    assert retire(artifact, store, LATER, rules=["old"]) == {"old": OpenWork(1, 0)}
    assert retire(artifact, store, LATER) == {"onboard": OpenWork(1, 1)}
    assert retire(artifact, store, LATER) == {}
    by_rule = {c.rule: c for c in store.list_ctas()}
    assert (by_rule["big"].status, by_rule["big"].outcome) == ("open", None)
    for rule in ("old", "onboard"):
        cta = by_rule[rule]
        assert (cta.status, cta.outcome, cta.closed) == ("closed", "retired", LATER)
        assert cta.outcome_reason and "no longer in the spec" in cta.outcome_reason
        assert {t.status for t in cta.tasks} == {"cancelled"}
    (plan,) = store.list_plans()
    assert (plan.status, plan.closed) == ("cancelled", LATER)
    assert "retired" in CTA_OUTCOMES


# ---------------------------------------------------------------- the command line


@pytest.fixture
def project(tmp_path: Path) -> Path:
    compile_spec_text(tmp_path, BIG + OLD + PLAN)  # tmp/spec
    compile_spec_text(tmp_path / "b", BIG)  # tmp/b/spec: `old` and `onboard` removed
    one("50").write(tmp_path / "data")
    return tmp_path


def run(project: Path, *args: str) -> clikit.Result:
    return clikit.csdsl(*args, cwd=project)


def ctas(project: Path) -> list[dict[str, object]]:
    listed = run(project, "ctas", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    result: list[dict[str, object]] = json.loads(listed.stdout)
    return result


def test_cli_run_out_of_order_is_refused_unless_backfill(project: Path) -> None:
    day = ("run", "spec", "--data", "data", "--quiet", "--as-of")
    assert run(project, *day, "2026-11-25").returncode == 0
    refused = run(project, *day, "2026-11-20")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "latest run is as of 2026-11-25" in refused.stderr
    assert "as of 2026-11-20" in refused.stderr and "--backfill" in refused.stderr
    assert run(project, *day, "2026-11-20", "--dry-run").returncode == 1
    done = run(project, *day, "2026-11-20", "--backfill", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["backfill"] is True
    assert {c["created"] for c in ctas(project)} == {"2026-11-25"}  # a1 had them all
    text = run(project, *day, "2026-11-21", "--backfill")
    assert text.returncode == 0 and "backfill: dated before" in text.stdout


def test_cli_dates_before_creation_are_refused(project: Path) -> None:
    assert run(project, "run", "spec", "--data", "data", "--as-of", "2026-11-25").returncode == 0
    cta = next(c for c in ctas(project) if c["rule"] == "big")
    tasks = cta["tasks"]
    assert isinstance(tasks, list)
    plan = json.loads(run(project, "plans", "--format", "json").stdout)[0]
    for args, message in [
        (("complete-task", str(tasks[0]["id"])), f"cannot complete task {tasks[0]['id']}"),
        (("close", str(cta["id"]), "--outcome", "success"), f"cannot close CTA {cta['id']}"),
        (("plan-status", str(plan["id"]), "cancelled"), f"cannot mark plan {plan['id']}"),
    ]:
        refused = run(project, *args, "--date", "2026-11-24")
        assert refused.returncode == 1, refused
        assert message in refused.stderr and "created on 2026-11-25" in refused.stderr
        assert "on 2026-11-24" in refused.stderr
        assert run(project, *args, "--date", "2026-11-25").returncode == 0
    assert all(c["closed"] in (None, "2026-11-25") for c in ctas(project))


def test_cli_run_report_and_retire(project: Path) -> None:
    assert run(project, "run", "spec", "--data", "data", "--as-of", "2026-11-20").returncode == 0
    report = run(project, "run", "b/spec", "--data", "data", "--as-of", "2026-11-21")
    assert report.returncode == 0
    assert "rules no longer in the spec: 2, with 2 open CTAs" in report.stdout
    as_json = run(project, "run", "b/spec", "--data", "data", "--as-of", "2026-11-21",
                  "--format", "json")
    assert json.loads(as_json.stdout)["removed_rules"] == {
        "old": {"ctas": 1, "plans": 0}, "onboard": {"ctas": 1, "plans": 1}}

    kept = run(project, "retire", "b/spec", "--rule", "big")
    assert kept.returncode == 1 and "`big` still in the spec" in kept.stderr
    early = run(project, "retire", "b/spec", "--date", "2026-11-19")
    assert early.returncode == 1 and "created on 2026-11-20, after that day" in early.stderr
    dry = run(project, "retire", "b/spec", "--date", "2026-11-22", "--dry-run")
    assert dry.returncode == 0 and "would retire 1 CTA of `old`" in dry.stdout
    assert "dry run: nothing was changed" in dry.stdout
    assert {c["status"] for c in ctas(project)} == {"open"}

    only = run(project, "retire", "b/spec", "--rule", "old", "--rule", "gone",
               "--date", "2026-11-22")
    assert only.returncode == 0, only.stderr
    assert only.stdout == (
        "retired 1 CTA of `old`\n"
        "`gone` has no open CTAs or plans\n"
        "retired 1 CTAs and 0 plans of 1 rules no longer in the spec "
        "(outcome `retired`, 2026-11-22)\n"
    )
    rest = run(project, "retire", "b/spec", "--date", "2026-11-22", "--format", "json")
    assert rest.returncode == 0
    assert json.loads(rest.stdout) == {
        "date": "2026-11-22", "dry_run": False, "ctas": 1, "plans": 1,
        "rules": {"onboard": {"ctas": 1, "plans": 1}},
    }
    none = run(project, "retire", "b/spec")
    assert none.returncode == 0 and none.stdout.startswith("nothing to retire")

    required = {"id", "rule", "account_id", "type", "title", "priority", "owner", "status",
                "outcome", "created", "due", "playbook", "plan", "tasks"}
    listed = {c["rule"]: c for c in ctas(project)}
    for rule in ("old", "onboard"):
        cta = listed[rule]
        assert required <= cta.keys()
        assert (cta["status"], cta["outcome"], cta["closed"]) == (
            "closed", "retired", "2026-11-22")
    assert (listed["big"]["status"], listed["big"]["outcome"]) == ("open", None)
    assert "closed:retired" in run(project, "ctas").stdout
    (plan,) = json.loads(run(project, "plans", "--format", "json").stdout)
    assert plan["status"] == "cancelled"
    after = run(project, "run", "b/spec", "--data", "data", "--as-of", "2026-11-22")
    assert after.returncode == 0 and "no longer in the spec" not in after.stdout


def test_retire_takes_a_compiled_artifact_and_needs_no_store_file(project: Path) -> None:
    assert run(project, "compile", "b/spec", "-o", "b.json").returncode == 0
    empty = clikit.csdsl_runtime("retire", "b.json", "--store", "sqlite:///none.db", cwd=project)
    assert empty.returncode == 0 and empty.stdout.startswith("nothing to retire")
    assert not (project / "none.db").exists()
    assert run(project, "run", "spec", "--data", "data", "--as-of", "2026-11-20").returncode == 0
    done = clikit.csdsl_runtime("retire", "b.json", "--date", "2026-11-20", cwd=project)
    assert done.returncode == 0 and "retired 2 CTAs and 1 plans of 2 rules" in done.stdout
    missing = clikit.csdsl_runtime("retire", "nowhere.json", cwd=project)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert {c["outcome"] for c in ctas(project) if c["rule"] != "big"} == {"retired"}


def test_run_dates_of_an_existing_store_are_read_as_they_were_stored(tmp_path: Path) -> None:
    """No schema change was needed (`retired` is a value of the TEXT `outcome` column;
    the checks read columns every store has). A store written before these checks, with
    runs already out of order: its latest run is the latest day, whatever the order the
    runs were stored in."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url)
    with store.transaction():
        for day in (date(2026, 11, 25), date(2026, 11, 20)):
            store.start_run(day, "sha256:x", False)
    store.close()
    assert open_store(url).latest_run() == date(2026, 11, 25)
