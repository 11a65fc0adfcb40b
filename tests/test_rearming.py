"""Re-arming and budgets through real runs on small data (SQLite stores).

A closed CTA or plan stays closed until its rule's condition has been not true on a
later run; a store of schema 1 is migrated with the safe reading; a run that would
break a rule's `max N per run` or a spec `limit` stores nothing, and a dry run reports
the same breach. The `csdsl run` command's exit status and message are held too."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from csdsl_runtime import Runtime, open_store, read_dataset
from csdsl_runtime.limits import LimitError
from tests.rtkit import ASOF, Data, compile_spec_text

BIG = 'rule big { when arr > 0  then cta risk "Big {{ account.name }}" }\n'


def _data(arr: str) -> Data:
    data = Data().account("a1", name="Acme", segment="SMB", arr=arr)
    data.account("a2", name="Beta", segment="SMB", arr="5")
    return data


def _runtime(tmp_path: Path, rules: str, data: Data, name: str = "d") -> Runtime:
    artifact = compile_spec_text(tmp_path, rules)
    dataset = read_dataset(data.write(tmp_path / name), artifact.schema_)
    return Runtime(artifact, dataset, open_store(f"sqlite:///{tmp_path / 'store.db'}"))


def _open_for(runtime: Runtime, account: str) -> int:
    return sum(c.status == "open" for c in runtime.store.list_ctas(account_id=account))


def test_a_not_valid_close_sticks_until_the_condition_goes_false(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, BIG, _data("100"))
    assert runtime.run(ASOF).ctas_opened == 2
    (cta,) = runtime.store.list_ctas(account_id="a1")
    runtime.store.close_cta(cta.id, "not_valid", ASOF, "ARR is wrong in the CRM")  # type: ignore[arg-type]
    for day in (1, 2, 3):  # still true every day: held, never reopened
        report = runtime.run(ASOF + timedelta(days=day))
        (counts,) = report.rules
        assert (counts.fired, counts.already_open, counts.not_rearmed, counts.opened) == (
            2, 1, 1, 0)
        assert _open_for(runtime, "a1") == 0
    # the CRM is fixed: not true on a run after the close: re-armed, nothing opens
    fixed = _runtime(tmp_path, BIG, _data("0"), "fixed")
    (counts,) = fixed.run(ASOF + timedelta(days=4)).rules
    assert (counts.rearmed, counts.opened, counts.not_rearmed) == (1, 0, 0)
    # true again later: a new occurrence, a new CTA
    again = _runtime(tmp_path, BIG, _data("100"), "again")
    (counts,) = again.run(ASOF + timedelta(days=5)).rules
    assert counts.opened == 1 and _open_for(again, "a1") == 1


def test_a_close_today_is_not_re_armed_by_a_run_on_the_same_day(tmp_path: Path) -> None:
    """Re-arming needs a run after the close: a rerun of the close's own day (where the
    condition may have been read before the close) leaves it disarmed."""
    runtime = _runtime(tmp_path, BIG, _data("100"))
    runtime.run(ASOF)
    (cta,) = runtime.store.list_ctas(account_id="a1")
    runtime.store.close_cta(cta.id, "success", ASOF + timedelta(days=1))  # type: ignore[arg-type]
    false = _runtime(tmp_path, BIG, _data("0"), "false")
    assert false.run(ASOF + timedelta(days=1)).rules[0].rearmed == 0
    true = _runtime(tmp_path, BIG, _data("100"), "true")
    assert true.run(ASOF + timedelta(days=2)).rules[0].not_rearmed == 1


PLAN = """
plan Onboarding "Onboarding {{ account.name }}" {
  objective kickoff "Kickoff" { task call "Call" { owner CSM } }
}
rule new_customer { when event nps_response within 3d  then plan Onboarding  owner CSM }
"""


def test_one_event_opens_one_plan_even_after_it_is_cancelled(tmp_path: Path) -> None:
    data = Data().account("a1", name="Acme")
    data.team += [("a1", "CSM", "jane@example.com")]
    data.events.append(("a1", "nps_response", ASOF.isoformat(), "9"))
    runtime = _runtime(tmp_path, PLAN, data)
    assert runtime.run(ASOF).plans_opened == 1
    (plan,) = runtime.store.list_plans()
    runtime.store.set_plan_status(plan.id, "cancelled", ASOF)  # type: ignore[arg-type]
    for day in (1, 2):  # the same signature is still within 3 days
        report = runtime.run(ASOF + timedelta(days=day))
        assert report.plans_opened == 0 and report.rules[0].not_rearmed == 1
    assert len(runtime.store.list_plans()) == 1
    # past the window (not true), then a second event: a second plan
    quiet = runtime.run(ASOF + timedelta(days=5))
    assert quiet.rules[0].rearmed == 1
    data.events.append(("a1", "nps_response", (ASOF + timedelta(days=6)).isoformat(), "7"))
    later = _runtime(tmp_path, PLAN, data, "later")
    assert later.run(ASOF + timedelta(days=6)).plans_opened == 1


def test_a_schema_1_store_is_migrated_with_its_closes_disarmed(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, BIG, _data("100"))
    runtime.run(ASOF)
    (cta,) = runtime.store.list_ctas(account_id="a1")
    runtime.store.close_cta(cta.id, "not_valid", ASOF, "wrong")  # type: ignore[arg-type]
    runtime.store.close()  # type: ignore[attr-defined]
    con = sqlite3.connect(tmp_path / "store.db")  # as csdsl with schema 1 left it
    con.execute("DROP TABLE csdsl_arming")
    con.execute("DROP TABLE csdsl_evidence")
    for table, column in (("csdsl_ctas", "category"), ("csdsl_ctas", "criteria"),
                          ("csdsl_plans", "description")):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.execute("UPDATE csdsl_meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    migrated = _runtime(tmp_path, BIG, _data("100"), "m")
    version = migrated.store._exec(  # type: ignore[attr-defined]
        "SELECT value FROM csdsl_meta WHERE key = 'schema_version'").fetchone()[0]
    assert version == "3"
    assert migrated.run(ASOF + timedelta(days=1)).rules[0].not_rearmed == 1


def _spec_dir(tmp_path: Path, rules: str) -> Path:
    compile_spec_text(tmp_path, rules)  # fails the test on diagnostics
    return tmp_path / "spec"


LIMITED = "limit new ctas per run 1\n" + BIG


def test_a_run_over_a_limit_stores_nothing_and_a_dry_run_shows_it(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, LIMITED, _data("100"))
    with pytest.raises(LimitError) as caught:
        runtime.run(ASOF)
    (breach,) = caught.value.breaches
    assert (breach.limit, breach.count, breach.allowed, breach.rule) == (
        "limit new ctas per run 1", 2, 1, "big")
    assert runtime.store.counts() == {"ctas": 0, "tasks": 0, "plans": 0, "runs": 0}
    dry = runtime.run(ASOF, dry_run=True)
    assert dry.ctas_opened == 2 and [b["count"] for b in dry.limit_breaches] == [2]
    assert "would break `limit new ctas per run 1`" in dry.render()


def test_a_rules_max_per_run(tmp_path: Path) -> None:
    rules = BIG.replace(" }\n", "  max 1 per run }\n")
    runtime = _runtime(tmp_path, rules, _data("100"))
    with pytest.raises(LimitError, match=r"`max 1 per run` of rule `big`: it would open 2"):
        runtime.run(ASOF)
    assert runtime.store.counts()["ctas"] == 0


def test_open_ctas_per_owner(tmp_path: Path) -> None:
    rules = ("limit open ctas per owner 1\n" + BIG.replace(" }\n", "  owner CSM }\n")
             + 'rule also { when arr > 1  then cta risk "Also"  owner CSM }\n')
    data = _data("100")
    data.team += [("a1", "CSM", "jane@example.com"), ("a2", "CSM", "bob@example.com")]
    runtime = _runtime(tmp_path, rules, data)
    with pytest.raises(LimitError) as caught:
        runtime.run(ASOF)
    assert {(b.owner, b.count) for b in caught.value.breaches} == {
        ("jane@example.com", 2), ("bob@example.com", 2)}
    assert "owner `bob@example.com` would have 2 open CTAs (allowed 1; this run gives them " \
           "1 from `also`, 1 from `big`)" in str(caught.value)
    assert runtime.store.counts()["ctas"] == 0


def test_csdsl_run_exits_1_naming_the_limit(tmp_path: Path) -> None:
    spec = _spec_dir(tmp_path, LIMITED)
    data = _data("100").write(tmp_path / "data")
    command = [sys.executable, "-m", "csdsl.cli", "run", str(spec), "--data", str(data),
               "--as-of", ASOF.isoformat(), "--store", f"sqlite:///{tmp_path / 'run.db'}",
               "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stderr
    assert "`limit new ctas per run 1`: the run would open 2 CTAs" in result.stderr
    assert "Traceback" not in result.stderr
    dry = subprocess.run([*command, "--dry-run"], capture_output=True, text=True, check=False)
    assert dry.returncode == 0 and "would break" in dry.stdout


def test_the_report_lists_ctas_open_under_earlier_spec_versions(tmp_path: Path) -> None:
    first = _runtime(tmp_path, BIG, _data("100"))
    first.run(ASOF)
    changed = _runtime(tmp_path, BIG.replace('"Big', '"Large'), _data("100"), "v2")
    report = changed.run(ASOF + timedelta(days=1))
    assert report.older_spec_ctas == {first.artifact.spec_hash: {"big": 2}}
    assert "open CTAs from earlier spec versions: 2" in report.render()


def _with_policy(tmp_path: Path, rules: str, policy: str, name: str) -> Runtime:
    from msgspec.structs import replace

    runtime = _runtime(tmp_path, rules, _data("100"), name)
    artifact = runtime.artifact
    artifact = replace(artifact, playbooks=tuple(replace(p, on_change=policy)
                                                 for p in artifact.playbooks))
    artifact = replace(artifact, spec_hash=artifact.compute_hash())
    return Runtime(artifact, runtime.dataset, runtime.store)


def _playbook(*tasks: str) -> str:
    body = "  ".join(f'task {key} "{key.upper()}" {{ day {day} }}'
                     for key, day in (t.split(":") for t in tasks))
    return ("playbook P { " + body + " }\n"
            'rule big { when arr > 0  then cta risk "Big"  playbook P }\n')


def _tasks_of(runtime: Runtime, account: str) -> list[tuple[str, str, str]]:
    (cta,) = runtime.store.list_ctas(account_id=account)
    return sorted((t.key, t.status, t.due.isoformat()) for t in cta.tasks)


def test_a_changed_playbook_follows_its_on_change_policy(tmp_path: Path) -> None:
    first = _runtime(tmp_path, _playbook("a:1"), _data("100"))
    first.run(ASOF)  # a Friday: day 1 is Saturday the 21st (calendar days)
    kept = _with_policy(tmp_path, _playbook("a:1", "b:3"), "keep", "keep")
    report = kept.run(ASOF + timedelta(days=1))
    assert report.playbook_changes == {} and _tasks_of(kept, "a1") == [
        ("a", "open", "2026-11-21")]
    assert report.older_spec_ctas == {first.artifact.spec_hash: {"big": 2}}
    appended = _with_policy(tmp_path, _playbook("a:1", "b:3"), "append", "append")
    report = appended.run(ASOF + timedelta(days=2))
    assert report.playbook_changes == {"P": {"policy": "append", "ctas": 2, "tasks_added": 2,
                                             "tasks_cancelled": 0}}
    assert report.older_spec_ctas == {}  # they follow this version now
    # dated from the CTA's creation, as a new CTA of that day would have them
    assert _tasks_of(appended, "a1") == [("a", "open", "2026-11-21"), ("b", "open", "2026-11-23")]
    (cta,) = appended.store.list_ctas(account_id="a1")
    done = next(t for t in cta.tasks if t.key == "a")
    appended.store.complete_task(done.id, ASOF + timedelta(days=2))  # type: ignore[arg-type]
    replaced = _with_policy(tmp_path, _playbook("a:1", "c:2"), "replace", "replace")
    report = replaced.run(ASOF + timedelta(days=3))
    assert report.playbook_changes["P"]["tasks_cancelled"] == 3  # b of a1; a and b of a2
    assert _tasks_of(replaced, "a1") == [("a", "done", "2026-11-21"),
                                         ("b", "cancelled", "2026-11-23"),
                                         ("c", "open", "2026-11-22")]
    assert [t for t in _tasks_of(replaced, "a2") if t[1] == "open"] == [
        ("a", "open", "2026-11-21"), ("c", "open", "2026-11-22")]
    again = replaced.run(ASOF + timedelta(days=4))  # the same version: nothing to follow
    assert again.playbook_changes == {}


def test_objectives_keep_their_category_and_criteria_and_plans_their_description(
        tmp_path: Path) -> None:
    rules = """
plan Onboarding "Onboarding {{ account.name }}" {
  description "Get {{ account.name }} live in 90 days"
  objective kickoff "Kickoff" {
    category adoption
    success "All main users trained"
    task call "Call" { owner CSM }
  }
}
rule new_customer { when arr > 0  then plan Onboarding }
"""
    runtime = _runtime(tmp_path, rules, _data("100"))
    runtime.run(ASOF)
    plan = runtime.store.list_plans()[0].to_json()
    assert plan["description"] == "Get Acme live in 90 days"
    (objective,) = plan["objectives"]
    assert (objective["category"], objective["success_criteria"]) == (
        "adoption", "All main users trained")
    from tests import clikit

    text = clikit.run("csdsl", "plans", "--store", f"sqlite:///{tmp_path / 'store.db'}",
                      cwd=tmp_path).stdout
    assert "Get Acme live in 90 days" in text
    assert "adoption; done when: All main users trained" in text


def test_the_real_commands_keep_a_not_valid_close_closed(tmp_path: Path) -> None:
    """`csdsl run`, `csdsl close --outcome not_valid`, `csdsl run` the next days: the
    CTA stays closed while the condition holds, and the report says why."""
    import json

    from tests import clikit

    _spec_dir(tmp_path, BIG)
    _data("100").write(tmp_path / "data")

    def run(*args: str) -> clikit.Result:
        result = clikit.run("csdsl", *args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result

    def day(offset: int) -> str:
        return (ASOF + timedelta(days=offset)).isoformat()

    run("run", "spec", "--data", "data", "--as-of", day(0), "--quiet")
    ctas = json.loads(run("ctas", "--format", "json").stdout)
    (mine,) = [c for c in ctas if c["account_id"] == "a1"]
    run("close", str(mine["id"]), "--outcome", "not_valid", "--reason", "ARR is wrong",
        "--date", day(0))
    for offset in (1, 2):
        report = json.loads(run("run", "spec", "--data", "data", "--as-of", day(offset),
                                "--format", "json", "--quiet").stdout)
        (big,) = report["rules"]
        assert (big["opened"], big["not_rearmed"], big["already_open"]) == (0, 1, 1)
    text = run("run", "spec", "--data", "data", "--as-of", day(3), "--quiet").stdout
    assert "held until re-armed (closed, and not yet not true since): 1 (big 1)" in text
    statuses = sorted((c["account_id"], c["status"]) for c in json.loads(
        run("ctas", "--format", "json").stdout))
    assert statuses == [("a1", "closed"), ("a2", "open")]


def test_max_per_run_counts_ctas_not_accounts(tmp_path: Path) -> None:
    rules = ('rule two { when arr > 0  then cta risk "One"  then cta activity "Two"  '
             'max 3 per run }\n')
    runtime = _runtime(tmp_path, rules, _data("100"))
    with pytest.raises(LimitError, match=r"`max 3 per run` of rule `two`: it would open 4"):
        runtime.run(ASOF)


def test_on_change_ignores_a_spec_change_that_leaves_the_playbook_alone(
        tmp_path: Path) -> None:
    """Another rule changed: the playbook's tasks are what they were, so `replace`
    changes nothing, keeps a moved task's dates and reports no change; tasks it does
    add keep their schedule (so a completion re-times them)."""
    first = _runtime(tmp_path, _playbook("a:1", "b:3"), _data("100"))
    first.run(ASOF)
    (cta,) = first.store.list_ctas(account_id="a1")
    first.store.move_due(cta.id, cta.due + timedelta(days=4))  # type: ignore[arg-type]
    moved = _tasks_of(first, "a1")
    other = _playbook("a:1", "b:3") + 'rule extra { when arr > 1000  then cta risk "X" }\n'
    replaced = _with_policy(tmp_path, other, "replace", "other")
    report = replaced.run(ASOF + timedelta(days=1))
    assert report.playbook_changes == {} and report.older_spec_ctas == {}
    assert _tasks_of(replaced, "a1") == moved
    chained = ("playbook P { task a \"A\" { day 1 }  task b \"B\" { day 3 }  "
               "task c \"C\" { after a  duration 2d } }\n"
               'rule big { when arr > 0  then cta risk "Big"  playbook P }\n')
    appended = _with_policy(tmp_path, chained, "append", "chained")
    assert appended.run(ASOF + timedelta(days=2)).playbook_changes["P"]["tasks_added"] == 2
    (cta,) = appended.store.list_ctas(account_id="a2")
    a = next(t for t in cta.tasks if t.key == "a")
    assert appended.store.complete_task(a.id, ASOF + timedelta(days=5)) == 1  # type: ignore[arg-type]
