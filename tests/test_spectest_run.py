"""`csdsl test`, `csdsl explain` and the deciding values kept with each CTA.

Golden files (tests/golden/spectest/, `CSDSL_UPDATE_GOLDEN=1` rewrites them) hold what a
user reads: a passing run, a failing one with its diff, coverage, explain. The real
command runs in-process on the examples' tests; a table holds the exit statuses; and
two properties hold the tests to the runtime: a test recorded from a real run passes,
and moving a rule's threshold past an account's value makes the recorded test fail.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import clikit
from tests.rtkit import ASOF, SPEC, Data

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden" / "spectest"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CSDSL_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def csdsl(*args: str, cwd: Path = ROOT) -> clikit.Result:
    return clikit.csdsl(*args, cwd=cwd)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the examples (spec with its tests, and the sample data) to change."""
    shutil.copytree(EXAMPLES / "spec", tmp_path / "spec")
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    return tmp_path


# ---------------------------------------------------------------- the examples


def test_the_examples_tests_pass() -> None:
    done = csdsl("test", "examples/spec")
    assert done.returncode == 0, done.stdout + done.stderr
    _golden("examples-pass.txt", done.stdout)
    assert done.stdout.splitlines()[-1] == "9 passed, 0 failed"


def test_the_examples_coverage() -> None:
    done = csdsl("test", "examples/spec", "--coverage")
    assert done.returncode == 0, done.stdout
    _golden("examples-coverage.txt", done.stdout)


def test_a_failing_test_shows_what_was_expected_and_what_is_there(project: Path) -> None:
    risk = project / "spec" / "risk.cstest"
    text = risk.read_text().replace("due 2026-12-04\n", "due 2026-12-05\n", 1)
    risk.write_text(text.replace("| A000089 | yes | lead.na@example.com ",
                                 "| A000089 | yes | lead.eu@example.com "))
    rules = project / "spec" / "rules_risk.cs"  # a threshold no sample account meets
    rules.write_text(rules.read_text().replace("drops 30% over 30d", "drops 90% over 30d"))
    done = csdsl("test", "spec", cwd=project)
    assert done.returncode == 1
    _golden("examples-fail.txt", done.stdout)
    assert done.stdout.splitlines()[-1] == "4 passed, 5 failed"


def test_json_and_junit_carry_the_same_results(project: Path) -> None:
    risk = project / "spec" / "risk.cstest"
    risk.write_text(risk.read_text().replace('owner "csm12@example.com"\n', 'owner "x@y.z"\n'))
    done = csdsl("test", "spec", "--format", "json", "--coverage", cwd=project)
    assert done.returncode == 1
    body = json.loads(done.stdout)
    assert (body["passed"], body["failed"]) == (8, 1)
    (failed,) = [t for t in body["tests"] if t["status"] == "failed"]
    (failure,) = failed["failures"]
    assert failure["differences"] == [
        {"attribute": "owner", "expected": "x@y.z", "actual": "csm12@example.com"}]
    assert failure["expected"]["due"] == "2026-12-04" and failure["expected"]["tasks"] == 3
    assert failure["actual"][0]["account_id"] == "A000007"
    assert 0 < body["coverage"]["percent"] <= 100
    junit = csdsl("test", "spec", "--format", "junit", cwd=project)
    root = ElementTree.fromstring(junit.stdout)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("9", "1", "0")
    (case,) = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert case.get("name") == failed["name"] and case.get("line") == str(failed["line"])


def test_errors_in_a_test_file_are_diagnostics_and_fail_the_run(project: Path) -> None:
    (project / "spec" / "bad.cstest").write_text(
        'test "typo" {\n  data "../data"\n  as of 2026-11-20\n'
        '  expect cta usage_dorp for "A000007"\n}\n')
    done = csdsl("test", "spec", cwd=project)
    assert done.returncode == 1
    assert "spec/bad.cstest:4:14: error[CS0800]" in done.stdout
    assert "did you mean `usage_drop`?" in done.stdout
    assert done.stdout.splitlines()[-1] == "9 passed, 1 failed"


@pytest.mark.parametrize(("args", "status", "last"), [
    (("--run", "usage drop"), 0, "2 passed, 0 failed"),
    (("--run", "^a steep"), 0, "1 passed, 0 failed"),
    (("--run", "[bad"), 2, None),
    (("--threshold", "10"), 0, "9 passed, 0 failed"),
    (("--threshold", "99.9"), 1, "9 passed, 0 failed"),
    (("--threshold", "120"), 2, None),
    (("--format", "xml"), 2, None),
])
def test_options_and_exit_statuses(args: tuple[str, ...], status: int, last: str | None
                                   ) -> None:
    done = csdsl("test", "examples/spec", *args)
    assert done.returncode == status, done.stdout + done.stderr
    if last is not None:
        assert done.stdout.splitlines()[-1] == last


def test_no_tests_is_bad_usage(tmp_path: Path) -> None:
    (tmp_path / "a.cs").write_text("account { name: text }\n")
    assert csdsl("test", str(tmp_path)).returncode == 2
    assert csdsl("test", str(tmp_path / "missing")).returncode == 2


def test_a_spec_with_errors_runs_no_test(project: Path) -> None:
    (project / "spec" / "broken.cs").write_text("rule r {\n  when nothing_known > 1\n"
                                                "  then cta risk \"x\"\n}\n")
    done = csdsl("test", "spec", cwd=project)
    assert done.returncode == 1
    assert "error[CS0210]" in done.stdout and done.stdout.splitlines()[-1] == "0 passed, 9 failed"


def test_a_single_test_file_finds_its_spec() -> None:
    done = csdsl("test", "examples/spec/lifecycle.cstest")
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "3 passed, 0 failed"


# ---------------------------------------------------------------- inline data


def test_bad_inline_data_fails_its_test_at_the_row(tmp_path: Path) -> None:
    (tmp_path / "data.cs").write_text(SPEC + 'rule big {\n  when arr > 10\n'
                                      '  then cta risk "x"\n}\n')
    (tmp_path / "t.cstest").write_text(
        'test "bad arr" {\n  data {\n    accounts {\n      | id | arr |\n'
        '      | a1 | 12 |\n      | a2 | 1e999999 |\n    }\n  }\n  as of 2026-11-20\n'
        '  expect cta big for "a1"\n}\n')
    done = csdsl("test", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    assert "t.cstest" in done.stdout and ":6" in done.stdout, done.stdout


# ---------------------------------------------------------------- explain


def test_explain_an_account_from_the_spec() -> None:
    done = csdsl("explain", "examples/spec", "--data", "examples/data", "--as-of", "2026-11-20",
                 "--rule", "usage_drop", "--account", "A000007")
    assert done.returncode == 0, done.stderr
    _golden("explain-usage-drop.txt", done.stdout)
    shown = csdsl("explain", "examples/spec", "--data", "examples/data", "--as-of",
                  "2026-11-20", "--rule", "usage_drop", "--account", "A000007",
                  "--format", "json")
    body = json.loads(shown.stdout)
    assert body["fires"] is True and body["when"]["value"] is True


@pytest.mark.parametrize(("args", "message"), [
    (("--rule", "usage_dorp", "--account", "A000007"), "did you mean `usage_drop`?"),
    (("--rule", "usage_drop", "--account", "A00007"), "did you mean"),
    (("--rule", "usage_drop"), "needs --account"),
])
def test_explain_refuses_bad_names(args: tuple[str, ...], message: str) -> None:
    done = csdsl("explain", "examples/spec", "--data", "examples/data", "--as-of",
                 "2026-11-20", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr


@pytest.mark.parametrize("engine", ["duckdb", "interpreter"])
def test_explain_a_stored_cta_answers_after_the_data_changed(project: Path, engine: str
                                                             ) -> None:
    done = csdsl("run", "spec", "--data", "data", "--as-of", "2026-11-20", "--engine", engine,
                 "--quiet", cwd=project)
    assert done.returncode == 0, done.stderr
    ctas = json.loads(csdsl("ctas", "--format", "json", cwd=project).stdout)
    (cta,) = [c for c in ctas if c["rule"] == "usage_drop" and c["account_id"] == "A000007"]
    before = csdsl("explain", str(cta["id"]), cwd=project)
    assert before.returncode == 0
    assert "change(usage, 30d) <= -30% → true" in before.stdout
    shutil.rmtree(project / "data")  # the data is gone: the store still knows why
    after = csdsl("explain", str(cta["id"]), cwd=project)
    assert after.stdout == before.stdout
    # one golden for both engines: the columnar run keeps the interpreter's values
    _golden("explain-cta.txt", before.stdout.replace(f"CTA {cta['id']}:", "CTA N:"))
    evidence = json.loads(csdsl("explain", str(cta["id"]), "--format", "json",
                                cwd=project).stdout)["evidence"]
    assert evidence["as_of"] == "2026-11-20" and evidence["when"]["value"] is True


def test_a_schema_2_store_migrates_and_its_ctas_have_no_recorded_values(project: Path
                                                                      ) -> None:
    import sqlite3

    csdsl("run", "spec", "--data", "data", "--as-of", "2026-11-20", "--quiet", cwd=project)
    con = sqlite3.connect(project / "csdsl.db")  # as a csdsl of schema 2 left it
    con.execute("DROP TABLE csdsl_evidence")
    con.execute("UPDATE csdsl_meta SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    done = csdsl("explain", "1", cwd=project)
    assert done.returncode == 0 and "no deciding values were kept" in done.stdout
    later = csdsl("run", "spec", "--data", "data", "--as-of", "2026-11-21", "--quiet",
                  "--format", "json", cwd=project)
    opened = json.loads(later.stdout)["ctas_opened"]
    con = sqlite3.connect(project / "csdsl.db")
    version, kept = con.execute("SELECT (SELECT value FROM csdsl_meta WHERE key = "
                                "'schema_version'), count(*) FROM csdsl_evidence").fetchone()
    assert version == "3" and kept == opened > 0


def test_explain_of_an_unknown_cta_is_bad_usage(project: Path) -> None:
    assert csdsl("explain", "12345", cwd=project).returncode == 2  # no store here
    csdsl("run", "spec", "--data", "data", "--as-of", "2026-11-20", "--quiet", cwd=project)
    done = csdsl("explain", "99999999", cwd=project)
    assert done.returncode == 2 and "no CTA 99999999" in done.stderr


# ---------------------------------------------------------------- properties

_RULE = """
rule big_account {{
  when arr >= {threshold} and segment == "Enterprise"
  then cta risk "Big account {{{{ account.name }}}}"
  owner CSM
}}
"""


def _spec(folder: Path, threshold: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.cs").write_text(SPEC, encoding="utf-8")
    (folder / "rules.cs").write_text(_RULE.format(threshold=threshold), encoding="utf-8")


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(arrs=st.lists(st.integers(0, 20), min_size=1, max_size=6),
       threshold=st.integers(0, 21), data=st.data())
def test_a_recorded_test_passes_and_a_moved_threshold_fails_it(
        tmp_path_factory: pytest.TempPathFactory, arrs: list[int], threshold: int,
        data: st.DataObject) -> None:
    root = tmp_path_factory.mktemp("record")
    table = Data()
    for i, arr in enumerate(arrs):
        table.account(f"a{i}", name=f"N{i}", segment="Enterprise", arr=str(arr))
        table.team.append((f"a{i}", "CSM", f"csm{i}@example.com"))
    table.write(root / "data")
    _spec(root / "spec", threshold)
    recorded = csdsl("test", "spec", "--record", "data", "--as-of", ASOF.isoformat(),
                     "-o", "spec/snapshot.cstest", cwd=root)
    assert recorded.returncode == 0, recorded.stderr
    done = csdsl("test", "spec", cwd=root)
    assert done.returncode == 0, done.stdout
    # move the threshold past at least one account's value, in either direction
    moved = data.draw(st.integers(0, 21).filter(
        lambda t: any(min(t, threshold) <= a < max(t, threshold) for a in arrs)),
        label="moved threshold") if any(
        min(t, threshold) <= a < max(t, threshold) for t in range(22) for a in arrs) else None
    if moved is None:
        return
    _spec(root / "spec", moved)
    assert csdsl("test", "spec", cwd=root).returncode == 1


# ---------------------------------------------------------------- plans, time, outputs

_PLAN_TEST = """\
test "the onboarding plan's tasks, by objective" {
  data "../data"
  as of 2026-11-20
  expect cta new_customer for "A000063" {
    plan Onboarding
    task kickoff.handoff { owner "ae02@example.com" }
    task golive.launch { status open }
  }
  complete task kickoff.handoff of new_customer for "A000063" on 2026-11-21
  complete task welcome of new_customer for "A000063" on 2026-11-21
  expect cta new_customer for "A000063" {
    plan Onboarding
    task handoff { status done }
    task kickoff.welcome { status done }
  }
  close cta new_customer for "A000063" as success
  expect cta new_customer for "A000063" { plan Onboarding }
  expect cta new_customer for "A000063" { type activity }
}
"""


def test_plan_objectives_are_named_by_objective_and_task(project: Path) -> None:
    (project / "spec" / "plan.cstest").write_text(_PLAN_TEST)
    done = csdsl("test", "spec/plan.cstest", cwd=project)
    assert done.returncode == 1, done.stdout  # the activity CTA was the one closed
    assert done.stdout.splitlines()[-1] == "0 passed, 1 failed"
    assert 'spec/plan.cstest:18:3: the open CTA of `new_customer` for "A000063" differs in ' \
           "type" in done.stdout  # the only failure: the plan's steps all held
    assert "new_customer  closed success  activity" in done.stdout


@pytest.mark.parametrize(("steps", "message"), [
    ("  as of 2026-11-20\n  close cta usage_drop for \"A000007\" as success on 2026-11-25\n"
     "  as of 2026-11-21\n", "comes before a step dated 2026-11-25"),
    ("  as of 2026-11-20\n  close cta usage_drop for \"A000007\" as success on 2026-11-19\n",
     "comes before the last run"),
    ("  as of 9999-12-31\n", "after 9999-12-31"),
])
def test_steps_go_forward_in_time(project: Path, steps: str, message: str) -> None:
    (project / "spec" / "time.cstest").write_text(
        f'test "time" {{\n  data "../data"\n{steps}  expect no cta low_nps for "A000001"\n}}\n')
    done = csdsl("test", "spec/time.cstest", cwd=project)
    assert done.returncode == 1 and message in done.stdout, done.stdout


def test_threshold_and_control_characters_reach_json_and_junit(project: Path) -> None:
    accounts = project / "data" / "accounts.csv"
    accounts.write_text(accounts.read_text().replace("Umber Health", "Umber\x0bHealth"))
    json_out = json.loads(csdsl("test", "spec", "--format", "json", "--threshold", "99.9",
                                cwd=project).stdout)
    assert json_out["threshold"] == {"percent": 99.9, "met": False}
    junit = csdsl("test", "spec", "--format", "junit", "--threshold", "99.9", cwd=project)
    assert junit.returncode == 1
    root = ElementTree.fromstring(junit.stdout)  # well-formed despite the \x0b
    assert root.get("errors") == "1" and "below the threshold" in junit.stdout
    assert "Umber\\x0bHealth" in junit.stdout
