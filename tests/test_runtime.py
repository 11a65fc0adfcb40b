"""The runtime end to end on small data: CTAs, tasks, owners, dates, lifecycle, reports."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from csdsl_runtime import BadDataError, Runtime, open_store, read_dataset
from tests.rtkit import ASOF, Data, compile_spec_text

RULES = """
playbook UsageDrop {
  calendar business
  task email "Email {{ account.name }}" { day 1  owner CSM  type email }
  task call "Call the champion" { day 4  owner AE or Champion  after email  type call }
}
rule drop "Usage drop" {
  when usage drops 30% over 7d
  then cta risk "Usage dropped for {{ account.name }} ({{ account.segment }})"
  owner CSM
  priority high
  reason "Product usage"
  playbook UsageDrop
  cooldown 10d
  close when usage rises 20% over 7d
  success within 30d when usage >= 10
}
"""


def drop_data() -> Data:
    data = Data()
    data.account("a1", name="Acme", segment="Enterprise", arr="100000")
    data.account("a2", name="Beta", segment="SMB")
    data.account("a3", name="Gamma", segment="SMB")
    data.team += [("a1", "CSM", "jane@example.com"), ("a1", "Champion", "cto@acme.example"),
                  ("a2", "CSM", "bob@example.com")]
    data.series("a1", [10.0] * 7 + [7.0] * 7)  # exactly -30%: fires
    data.series("a2", [10.0] * 14)  # flat: does not fire
    # a3: no usage at all: unknown
    return data


def make_runtime(tmp_path: Path, rules: str, data: Data, store: str = "csdsl.db") -> Runtime:
    artifact = compile_spec_text(tmp_path, rules)
    dataset = read_dataset(data.write(tmp_path / "data"), artifact.schema_)
    return Runtime(artifact, dataset, open_store(f"sqlite:///{tmp_path / store}"))


def test_a_firing_rule_opens_one_cta_with_scheduled_owned_tasks(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, RULES, drop_data())
    report = runtime.run(ASOF)
    (counts,) = report.rules
    assert (counts.evaluated, counts.fired, counts.unknown, counts.opened) == (3, 1, 1, 1)
    (cta,) = runtime.store.list_ctas()
    assert cta.to_json() | {"tasks": None} == cta.to_json() | {
        "rule": "drop", "account_id": "a1", "type": "risk", "priority": "high",
        "title": "Usage dropped for Acme (Enterprise)", "owner": "jane@example.com",
        "status": "open", "outcome": None, "created": "2026-11-20",
        "due": "2026-11-26", "playbook": "UsageDrop", "plan": None, "reason": "Product usage",
        "spec_hash": runtime.artifact.spec_hash, "tasks": None,
    }
    tasks = [(t.key, t.owner, t.type, t.start.isoformat(), t.due.isoformat()) for t in cta.tasks]
    # Friday + 1 business day = Monday; + 4 = Thursday; the chain falls to the Champion
    assert tasks == [
        ("email", "jane@example.com", "email", "2026-11-23", "2026-11-23"),
        ("call", "cto@acme.example", "call", "2026-11-26", "2026-11-26"),
    ]
    assert report.owner_fallbacks == 0


def test_a_second_run_opens_nothing_twice(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, RULES, drop_data())
    runtime.run(ASOF)
    again = runtime.run(ASOF)
    assert again.rules[0].already_open == 1 and again.ctas_opened == 0
    assert runtime.store.counts()["ctas"] == 1


def test_dry_run_reports_the_same_and_stores_nothing(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, RULES, drop_data())
    dry = runtime.run(ASOF, dry_run=True)
    assert dry.ctas_opened == 1 and runtime.store.counts() == {
        "ctas": 0, "tasks": 0, "plans": 0, "runs": 0
    }
    real = runtime.run(ASOF)
    assert (real.ctas_opened, real.tasks_created) == (dry.ctas_opened, dry.tasks_created)


def test_cooldown_after_a_close_then_reopen(tmp_path: Path) -> None:
    rules = RULES + ('rule big { when arr > 0  then cta risk "Big"  cooldown 10d '
                     ' reopen while true }\n')
    runtime = make_runtime(tmp_path, rules, drop_data())
    runtime.run(ASOF)
    (cta,) = runtime.store.list_ctas(rule="big")
    runtime.store.close_cta(cta.id, "not_valid", ASOF, "customer on holiday")  # type: ignore[arg-type]
    closed = runtime.store.list_ctas(rule="big")[0]
    assert (closed.outcome, closed.outcome_reason) == ("not_valid", "customer on holiday")
    assert all(t.status == "cancelled" for t in closed.tasks)
    during = runtime.run(ASOF + timedelta(days=9))
    assert during.rules[0].in_cooldown == 1 and during.ctas_opened == 0
    after = runtime.run(ASOF + timedelta(days=10))
    assert after.rules[0].opened == 1


def test_close_when_resolves_and_success_is_recorded(tmp_path: Path) -> None:
    data = drop_data()
    runtime = make_runtime(tmp_path, RULES, data)
    runtime.run(ASOF)
    # a week later usage recovered: 7 -> 10 is +43%: auto-closed as resolved
    later = ASOF + timedelta(days=7)
    data.series("a1", [10.0] * 7, asof=later)
    runtime.dataset = read_dataset(data.write(tmp_path / "data"), runtime.artifact.schema_)
    from csdsl_runtime.engines.interpreter import InterpreterEngine

    runtime.engine = InterpreterEngine(runtime.dataset)
    report = runtime.run(later)
    # the same run records success: usage >= 10 within 30 days of creation
    assert (report.rules[0].auto_closed, report.rules[0].success) == (1, 1)
    (cta,) = runtime.store.list_ctas()
    assert (cta.status, cta.outcome, cta.closed) == ("closed", "resolved", later)
    assert (cta.success, cta.success_date) == (True, later)
    report = runtime.run(later + timedelta(days=1))  # recorded once
    assert (report.rules[0].success, report.rules[0].no_success) == (0, 0)


def test_success_while_open_counts_after_a_close_by_hand(tmp_path: Path) -> None:
    """Usage recovers while the CTA is open, then the CSM closes it: still a success."""
    data = drop_data()
    runtime = make_runtime(tmp_path, RULES.replace("  close when usage rises 20% over 7d\n", ""),
                           data)
    runtime.run(ASOF)
    from csdsl_runtime.engines.interpreter import InterpreterEngine

    def usage_until(day: date, value: float) -> None:
        data.series("a1", [value], asof=day)
        runtime.dataset = read_dataset(data.write(tmp_path / "data"), runtime.artifact.schema_)
        runtime.engine = InterpreterEngine(runtime.dataset)

    usage_until(ASOF + timedelta(days=1), 12.0)
    assert runtime.run(ASOF + timedelta(days=1)).rules[0].success == 1  # while open
    (cta,) = runtime.store.list_ctas()
    runtime.store.close_cta(cta.id, "success", ASOF + timedelta(days=2))  # type: ignore[arg-type]
    usage_until(ASOF + timedelta(days=3), 5.0)
    later = runtime.run(ASOF + timedelta(days=40)).rules[0]
    assert (later.success, later.no_success) == (0, 0)
    assert runtime.store.list_ctas()[0].success is True


def test_a_cta_closed_by_close_when_is_not_reopened_in_the_same_run(tmp_path: Path) -> None:
    rules = ('rule big { when arr > 10  then cta risk "Big"  close when arr > 10 '
             ' reopen while true }\n')
    runtime = make_runtime(tmp_path, rules, Data().account("a1", name="A", arr="50"))
    assert runtime.run(ASOF).ctas_opened == 1
    closing = runtime.run(ASOF + timedelta(days=1)).rules[0]
    assert (closing.auto_closed, closing.opened, closing.in_cooldown) == (1, 0, 1)
    assert runtime.run(ASOF + timedelta(days=2)).rules[0].opened == 1  # no cooldown set
    assert [c.status for c in runtime.store.list_ctas()] == ["closed", "open"]


def test_success_window_that_passes_records_failure(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, RULES, drop_data())
    runtime.run(ASOF)
    (cta,) = runtime.store.list_ctas()
    runtime.store.close_cta(cta.id, "success", ASOF)  # type: ignore[arg-type]
    report = runtime.run(ASOF + timedelta(days=31))
    assert report.rules[0].no_success == 1
    assert runtime.store.list_ctas(rule="drop")[0].success is False


DUE_RULES = """
playbook Short { task t "T" { day 3  duration 2d } }
rule with_due { when arr > 0  then cta activity "A"  due 14d  playbook Short }
rule from_tasks { when arr > 0  then cta activity "B"  playbook Short }
rule default_due { when arr > 0  then cta activity "C" }
"""


def test_cta_due_dates(tmp_path: Path) -> None:
    data = Data().account("a1", name="Acme", arr="5")
    runtime = make_runtime(tmp_path, DUE_RULES, data)
    runtime.run(ASOF)
    dues = {c.rule: (c.due - ASOF).days for c in runtime.store.list_ctas()}
    assert dues == {"with_due": 14, "from_tasks": 5, "default_due": 7}


POOL_RULES = """
pool Support "Support desk"
playbook Ticket { task t "Triage" { owner pool Support } }
rule triage {
  when arr > 0
  then cta activity "Triage"
  playbook Ticket
  owner "lead@example.com"
  reopen while true
}
"""


def test_pools_rotate_in_a_stable_order_across_runs(tmp_path: Path) -> None:
    data = Data()
    for i in range(5):
        data.account(f"a{i}", name=f"N{i}", arr="1")
    data.pools += [("Support", "s1@example.com"), ("Support", "s2@example.com")]
    runtime = make_runtime(tmp_path, POOL_RULES, data)
    runtime.run(ASOF)
    owners = [c.tasks[0].owner for c in runtime.store.list_ctas()]
    assert owners == ["s1@example.com", "s2@example.com"] * 2 + ["s1@example.com"]
    for cta in runtime.store.list_ctas():
        runtime.store.close_cta(cta.id, "success", ASOF)  # type: ignore[arg-type]
    runtime.run(ASOF + timedelta(days=1))
    assert runtime.store.list_ctas(status="open")[0].tasks[0].owner == "s2@example.com"


PLAN_RULES = """
plan Onboarding "Onboarding {{ account.name }}" {
  due 10d
  objective kickoff "Kickoff" {
    owner AE
    task handoff "Hand-off" { duration 2d }
    task welcome "Welcome" { owner CSM  after handoff }
  }
  objective golive "Go live" {
    after kickoff
    task launch "Launch" { duration 20d  owner Champion }
  }
}
rule new_customer { when event nps_response within 1d  then plan Onboarding  owner CSM }
"""


def test_then_plan_opens_a_plan_with_objective_ctas(tmp_path: Path) -> None:
    data = Data().account("a1", name="Acme")
    data.team += [("a1", "CSM", "jane@example.com")]
    data.events.append(("a1", "nps_response", ASOF.isoformat(), "9"))
    runtime = make_runtime(tmp_path, PLAN_RULES, data)
    report = runtime.run(ASOF)
    assert (report.plans_opened, report.ctas_opened, report.tasks_created) == (1, 2, 3)
    (plan,) = runtime.store.list_plans()
    assert (plan.status, plan.owner) == ("active", "jane@example.com")
    assert plan.title == "Onboarding Acme"
    # the schedule (2 + 20 days) overshoots `due 10d`: the plan is due with its last objective
    assert (plan.due - ASOF).days == 22
    kickoff, golive = plan.objectives
    assert (kickoff.type, kickoff.plan, kickoff.objective) == ("objective", "Onboarding", "kickoff")
    # AE is not on the team: the objective falls back to the plan owner, and so on down
    assert kickoff.owner == "jane@example.com" and golive.owner == "jane@example.com"
    assert [(t.key, (t.due - ASOF).days) for t in golive.tasks] == [("launch", 22)]
    assert report.owner_fallbacks == 2  # kickoff's AE, launch's Champion
    runtime.store.set_plan_status(plan.id, "cancelled", ASOF)  # type: ignore[arg-type]
    closed = runtime.store.list_ctas()
    assert {(c.status, c.outcome) for c in closed} == {("closed", "not_valid")}
    assert {t.status for c in closed for t in c.tasks} == {"cancelled"}


@pytest.mark.parametrize(
    ("file", "row", "reason"),
    [
        ("accounts.csv", "a9,Zed,Mid,,", "`Mid` is not one of"),
        ("accounts.csv", "a9,Zed,SMB,lots,", "`lots` is not a number"),
        ("accounts.csv", "a9,Zed,SMB,1,2026-13-01", "is not a date"),
        ("metrics.csv", "a1,usage,2026-11-20x,3", "is not a date"),
        ("metrics.csv", "a1,usage,2026-11-01,three", "`three` is not a number"),
        ("metrics.csv", "nobody,usage,2026-11-01,3", "unknown account `nobody`"),
        ("metrics.csv", "a1,logins,2026-11-01,3", "`logins` is not a declared metric"),
        ("events.csv", "a1,churned,2026-11-01,", "`churned` is not a declared event"),
        ("team.csv", "a1,Boss,x@example.com", "`Boss` is not a declared role"),
    ],
)
def test_bad_rows_are_located_and_fail_the_run(
    tmp_path: Path, file: str, row: str, reason: str
) -> None:
    directory = drop_data().write(tmp_path / "data")
    with (directory / file).open("a", encoding="utf-8") as handle:
        handle.write(row + "\n")
    artifact = compile_spec_text(tmp_path, RULES)
    dataset = read_dataset(directory, artifact.schema_)
    (bad,) = dataset.bad_rows
    lines = (directory / file).read_text(encoding="utf-8").count("\n")
    assert bad.file.endswith(file) and bad.line == lines and reason in bad.reason
    with pytest.raises(BadDataError, match=file):
        Runtime(artifact, dataset, open_store(f"sqlite:///{tmp_path / 'x.db'}"))
    skipping = Runtime(artifact, dataset, open_store(f"sqlite:///{tmp_path / 'y.db'}"),
                       on_bad_data="skip")
    assert skipping.run(ASOF).bad_rows == 1


def test_an_undeclared_column_is_a_bad_row(tmp_path: Path) -> None:
    directory = drop_data().write(tmp_path / "data")
    text = (directory / "accounts.csv").read_text(encoding="utf-8").splitlines()
    text = [text[0] + ",shoe_size"] + [line + ",42" for line in text[1:]]
    (directory / "accounts.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    artifact = compile_spec_text(tmp_path, RULES)
    (bad,) = read_dataset(directory, artifact.schema_).bad_rows
    assert bad.line == 1 and "`shoe_size` is not a declared account field" in bad.reason


def test_a_missing_declared_column_is_a_bad_row(tmp_path: Path) -> None:
    """A column dropped from an export would make rules silently stop firing."""
    directory = drop_data().write(tmp_path / "data")
    for name, column in (("accounts.csv", 2), ("events.csv", 3)):  # segment; score
        lines = (directory / name).read_text(encoding="utf-8").splitlines()
        cut = [",".join(c for i, c in enumerate(line.split(",")) if i != column)
               for line in lines]
        (directory / name).write_text("\n".join(cut) + "\n", encoding="utf-8")
    artifact = compile_spec_text(tmp_path, RULES)
    bad = read_dataset(directory, artifact.schema_).bad_rows
    assert [(Path(b.file).name, b.line) for b in bad] == [("accounts.csv", 1), ("events.csv", 1)]
    assert "no column for the declared account field `segment`" in bad[0].reason
    assert "no column for the field `score` of event `nps_response`" in bad[1].reason


def test_missing_values_are_unknown_not_zero(tmp_path: Path) -> None:
    rules = "rule low_arr { when arr < 10  then cta risk \"Low\" }\n"
    data = Data().account("a1", name="A", arr="5").account("a2", name="B")
    runtime = make_runtime(tmp_path, rules, data)
    report = runtime.run(ASOF)
    assert (report.rules[0].fired, report.rules[0].unknown) == (1, 1)


def _sqlite_copy(directory: Path, db: Path) -> None:
    """The CSV files of `directory` as the tables of an SQLite file, rows in file order."""
    import csv
    import sqlite3

    conn = sqlite3.connect(db)
    for name in ("accounts", "team", "metrics", "events"):
        with (directory / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        columns = ", ".join(f'"{c}"' for c in rows[0])
        conn.execute(f"CREATE TABLE {name} ({columns})")
        marks = ", ".join("?" for _ in rows[0])
        conn.executemany(f"INSERT INTO {name} VALUES ({marks})", rows[1:])
    conn.commit()
    conn.close()


def test_the_sql_file_source_reads_what_the_csv_source_reads(tmp_path: Path) -> None:
    directory = drop_data().write(tmp_path / "data")
    db = tmp_path / "data.sqlite"
    _sqlite_copy(directory, db)
    artifact = compile_spec_text(tmp_path, RULES)
    from_csv = read_dataset(directory, artifact.schema_)
    from_sql = read_dataset(db, artifact.schema_)
    assert from_sql.bad_rows == [] and from_sql.accounts == from_csv.accounts


def test_a_bad_sql_row_is_located_by_its_rowid(tmp_path: Path) -> None:
    import sqlite3

    directory = drop_data().write(tmp_path / "data")
    db = tmp_path / "data.sqlite"
    _sqlite_copy(directory, db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO metrics VALUES ('a1', 'usage', '2026-11-21', 'abc')")
        (rowid,) = conn.execute("SELECT max(rowid) FROM metrics").fetchone()
        conn.execute("INSERT INTO metrics VALUES ('a1', 'usage', '2026-01-01', '1')")
    artifact = compile_spec_text(tmp_path, RULES)
    (bad,) = read_dataset(db, artifact.schema_).bad_rows
    assert (bad.file, bad.line) == (f"{db}:metrics", rowid) and "`abc`" in bad.reason


@pytest.mark.parametrize(("raw", "expected"), [
    ("true", True), ("FALSE", False), (1, True), (0, False), (True, True),
    ("1", None), (2, None), ("yes", None),
])
def test_bool_values(raw: object, expected: bool | None) -> None:
    """`true`/`false` in any case; 0 and 1 as numbers too (SQLite stores booleans so)."""
    from csdsl_runtime.sources.builder import _BadValue, _bool

    if expected is None:
        with pytest.raises(_BadValue):
            _bool(raw)
    else:
        assert _bool(raw) is expected


def test_the_duckdb_file_source(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    directory = drop_data().write(tmp_path / "data")
    db = tmp_path / "data.duckdb"
    conn = duckdb.connect(str(db))
    for name in ("accounts", "team", "metrics", "events"):
        conn.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_csv('{directory / name}.csv', "
            "header=true, all_varchar=true)"
        )
    conn.close()
    artifact = compile_spec_text(tmp_path, RULES)
    assert read_dataset(db, artifact.schema_).accounts == read_dataset(
        directory, artifact.schema_
    ).accounts


def test_ctas_of_the_dataset_do_not_depend_on_row_order(tmp_path: Path) -> None:
    data = drop_data()
    data.metrics.reverse()
    runtime = make_runtime(tmp_path, RULES, data)
    assert runtime.run(ASOF).ctas_opened == 1
    assert runtime.run(ASOF).rules[0].already_open == 1
