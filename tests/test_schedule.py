"""Schedules, table-driven: offsets, `after` chains, objectives, playbooks in plans."""

from __future__ import annotations

from datetime import date

import pytest

from csdsl_runtime.dates import add_days

USE = """
rule use_{name} {{
  when usage > 1
  then cta risk "x"
  owner CSM or AE or CS_Leader or Champion
  playbook {name}
}}
"""


def _playbook(compile_snippet, body: str, header: str = ""):  # type: ignore[no-untyped-def]
    artifact, diagnostics = compile_snippet(
        f"playbook P {{\n{header}\n{body}\n}}\n" + USE.format(name="P")
    )
    assert artifact is not None, [d.message for d in diagnostics]
    (playbook,) = artifact.playbooks
    return playbook


PLAYBOOK_CASES = [
    # (id, tasks, expected {key: (start, due)}, length, critical path)
    ("day offsets only", 'task a { day 1 }\ntask b { day 4 }\ntask c { day 9 }',
     {"a": (1, 1), "b": (4, 4), "c": (9, 9)}, 9, ("c",)),
    ("duration extends due", "task a { day 2  duration 3d }", {"a": (2, 5)}, 5, ("a",)),
    ("after waits for due", "task a { duration 5d }\ntask b { day 1  after a }",
     {"a": (0, 5), "b": (5, 5)}, 5, ("a", "b")),
    ("day later than after wins", "task a { duration 2d }\ntask b { day 9  after a }",
     {"a": (0, 2), "b": (9, 9)}, 9, ("b",)),
    ("chain of three", "task a { duration 1d }\ntask b { duration 2d  after a }\n"
     "task c { duration 3d  after b }",
     {"a": (0, 1), "b": (1, 3), "c": (3, 6)}, 6, ("a", "b", "c")),
    ("after two takes the later", "task a { duration 2d }\ntask b { duration 7d }\n"
     "task c { after a, b }", {"a": (0, 2), "b": (0, 7), "c": (7, 7)}, 7, ("b", "c")),
    ("weeks are seven days", "task a { duration 2w }", {"a": (0, 14)}, 14, ("a",)),
    ("no properties", "task a", {"a": (0, 0)}, 0, ("a",)),
]


@pytest.mark.parametrize(("tasks", "expected", "length", "path"),
                         [c[1:] for c in PLAYBOOK_CASES], ids=[c[0] for c in PLAYBOOK_CASES])
def test_playbook_schedule(compile_snippet, tasks, expected, length, path) -> None:  # type: ignore[no-untyped-def]
    playbook = _playbook(compile_snippet, tasks)
    assert {t.key: (t.start, t.due) for t in playbook.tasks} == expected
    assert playbook.length == length
    assert playbook.critical_path == path


def test_tasks_are_ordered_by_due_then_key(compile_snippet) -> None:  # type: ignore[no-untyped-def]
    playbook = _playbook(compile_snippet, "task z { day 1 }\ntask b { day 9 }\ntask a { day 1 }")
    assert [t.key for t in playbook.tasks] == ["a", "z", "b"]


def test_business_calendar_is_recorded(compile_snippet) -> None:  # type: ignore[no-untyped-def]
    playbook = _playbook(compile_snippet, "task a { day 9 }", header="calendar business")
    assert playbook.calendar == "business"
    assert playbook.tasks[0].start == 9  # offsets stay in business days; hosts add them


BUSINESS_DAYS = [
    # (anchor, offset, expected date): Monday 2026-11-23 ... Sunday 2026-11-29
    ("monday + 0", date(2026, 11, 23), 0, date(2026, 11, 23)),
    ("monday + 4 is friday", date(2026, 11, 23), 4, date(2026, 11, 27)),
    ("monday + 5 skips the weekend", date(2026, 11, 23), 5, date(2026, 11, 30)),
    ("friday + 1 is monday", date(2026, 11, 27), 1, date(2026, 11, 30)),
    ("saturday + 0 rolls to monday", date(2026, 11, 28), 0, date(2026, 11, 30)),
    ("sunday + 1 is tuesday", date(2026, 11, 29), 1, date(2026, 12, 1)),
    ("monday + 9 (the UsageDrop call)", date(2026, 11, 23), 9, date(2026, 12, 4)),
    ("two weekends", date(2026, 11, 26), 10, date(2026, 12, 10)),
]


@pytest.mark.parametrize(("anchor", "offset", "expected"), [c[1:] for c in BUSINESS_DAYS],
                         ids=[c[0] for c in BUSINESS_DAYS])
def test_business_days_across_weekends(anchor, offset, expected) -> None:  # type: ignore[no-untyped-def]
    assert add_days(anchor, offset, "business") == expected
    assert add_days(anchor, offset, "calendar") == date.fromordinal(anchor.toordinal() + offset)


PLAN = """
playbook Setup {{
  task install {{ duration 3d }}
  task setup_done {{ after install }}
}}
plan Onb {{
  due {due}
  objective kickoff {{
    task handoff {{ duration 2d }}
    task welcome {{ after handoff }}
    task training {{ duration 5d  after welcome }}
  }}
  objective golive {{
    after kickoff
    playbook Setup
    task launch {{ after setup_done }}
  }}
  objective adoption {{
    task review {{ day 1  duration 2d  after golive.launch }}
    task survey {{ day 30 }}
  }}
}}
rule r {{
  when usage > 1
  then plan Onb
  owner CSM or AE or CS_Leader or Champion
}}
"""


def test_plan_schedule_with_objectives_and_playbook(compile_snippet) -> None:  # type: ignore[no-untyped-def]
    artifact, diagnostics = compile_snippet(PLAN.format(due="90d"))
    assert artifact is not None, [d.message for d in diagnostics]
    (plan,) = artifact.plans
    tasks = {
        f"{o.key}.{t.key}": (t.start, t.due) for o in plan.objectives for t in o.tasks
    }
    assert tasks == {
        "kickoff.handoff": (0, 2),
        "kickoff.welcome": (2, 2),
        "kickoff.training": (2, 7),
        "golive.install": (7, 10),  # objective-level after: waits for all of kickoff
        "golive.setup_done": (10, 10),  # a playbook task joined the objective
        "golive.launch": (10, 10),
        "adoption.review": (10, 12),  # cross-objective dependency
        "adoption.survey": (30, 30),
    }
    objectives = {o.key: (o.start, o.due) for o in plan.objectives}
    assert objectives == {"kickoff": (0, 7), "golive": (7, 10), "adoption": (10, 30)}
    assert plan.length == 30
    assert plan.critical_path == ("adoption.survey",)
    assert plan.overshoot == 0


def test_plan_overshoot_warns_with_critical_path(compile_snippet) -> None:  # type: ignore[no-untyped-def]
    artifact, diagnostics = compile_snippet(PLAN.format(due="20d").replace("day 30", "day 3"))
    assert artifact is not None
    (plan,) = artifact.plans
    assert plan.length == 12 and plan.overshoot == 0
    artifact, diagnostics = compile_snippet(PLAN.format(due="10d").replace("day 30", "day 3"))
    (warning,) = [d for d in diagnostics if d.code == "CS0402"]
    assert "2 days after its due 10d" in warning.message
    assert warning.help[0] == (
        "critical path: `kickoff.handoff` → `kickoff.welcome` → `kickoff.training` → "
        "`golive.install` → `golive.setup_done` → `golive.launch` → `adoption.review`"
    )
    assert artifact is not None and artifact.plans[0].overshoot == 2


def test_cross_objective_cycle_names_every_step(compile_snippet) -> None:  # type: ignore[no-untyped-def]
    text = PLAN.format(due="90d").replace("task handoff { duration 2d }",
                                          "task handoff { duration 2d  after adoption.review }")
    artifact, diagnostics = compile_snippet(text)
    assert artifact is None
    (cycle,) = [d for d in diagnostics if d.code == "CS0400"]
    steps = cycle.help[0]
    for step in ("kickoff.handoff", "kickoff.welcome", "kickoff.training", "objective kickoff",
                 "golive.launch", "adoption.review"):
        assert f"`{step}`" in steps
