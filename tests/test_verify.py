"""The artifact verifier: a re-hashed artifact the compiler could not have written is
refused with its place, every artifact the compiler writes verifies, and whatever passes
the loader and the verifier runs on both engines without an internal error."""

from __future__ import annotations

import copy
import json
import random
import re
import sys
from array import array
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from csdsl_runtime import ArtifactError, load, load_data
from csdsl_runtime import artifact as A
from csdsl_runtime.api import Runtime
from csdsl_runtime.cli import UsageError
from csdsl_runtime.data import AccountData, Dataset, EventSeries, MetricSeries, Value
from csdsl_runtime.stores import StoreError, open_store
from csdsl_runtime.verify import MAX_DAYS, VerifyError, verify
from tests.conftest import EXAMPLES, ROOT
from tests.rtkit import ASOF, compile_spec_text

RULES = """
pool onboarding
playbook Save {
  calendar business
  task email "Email {{ account.name }}" { day 1  owner CSM  type email }
  task call "Call" { day 2  duration 3d  owner AE or Champion  after email }
}
plan Onboard "Onboarding" {
  due 30d
  owner CSM
  objective kickoff "Kickoff" {
    task hello "Say hello to {{ account.name }}" { duration 2d  owner pool onboarding }
  }
  objective value "Value" {
    after kickoff
    playbook Save
  }
}
rule drop "Usage drop" {
  when usage drops 30% over 7d and segment == "Enterprise" and arr * 2 > 1000 and -arr < 0
  then cta risk "Usage dropped for {{ account.name }}"
  owner CSM
  playbook Save
  due 14d
  cooldown 10d
  close when usage rises 20% over 7d
  success within 30d when usage >= 10
}
rule detractor "Detractor" {
  when event nps_response within 30d where score <= 6
  then cta risk "Detractor"
}
rule renewal "Renewal" {
  when days_until(renewal_date) < 90 and segment in ("SMB")
    and not (days_since(nps_response) > 10) and count(nps_response, 30d) == 0
    and renewal_date > 2026-01-01
  then plan Onboard
}
"""
"""Every kind of reference, owner, schedule and condition node the verifier checks."""

EDGES = """
pool support
playbook B {
  calendar business
  task a { day 3  duration 2d  owner CSM }
  task b { after a }
  task c { day 10  after a, a }
}
plan P {
  calendar business
  objective o1 { task x { day 5 } }
  objective o2 { after o1 }
  objective o3 { after o2, o1  playbook B  task y { after b, o1.x  duration 1d } }
  objective o4 { }
}
plan Q { due 3d  objective only { task z { duration 10d  owner pool support } } }
rule r {
  when usage > 1
  then plan P
  then plan Q
  then cta risk "x"
  playbook B
  owner "someone@example.com" or pool support or AE
}
rule s {
  when not (usage > 1) and (usage < 1 or usage == 2) and segment != "SMB"
  then cta opportunity "{{ rule.title }} for {{ account.id }}"
  enabled false
  close when name == "x" and not (renewal_date < 2026-01-01)
}
"""
"""Shapes the compiler writes that RULES has not: objectives without tasks or waiting for
two others, a playbook's tasks waited for from a plan, an overshooting plan, a rule with
three actions, user and pool owners, a disabled rule."""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    artifact = compile_spec_text(tmp_path_factory.mktemp("verify"), RULES)
    data: dict[str, Any] = json.loads(artifact.to_json())
    return data


def _named(items: list[dict[str, Any]], name: str, key: str = "name") -> dict[str, Any]:
    return next(item for item in items if item[key] == name)


def rule(d: dict[str, Any], name: str) -> dict[str, Any]:
    return _named(d["rules"], name)


def when(d: dict[str, Any], name: str, *path: str | int) -> dict[str, Any]:
    """A node of rule `name`'s `when`: `when(d, "drop", "args", 0, "left")`."""
    node: Any = rule(d, name)["when"]
    for part in path:
        node = node[part]
    result: dict[str, Any] = node
    return result


def playbook_task(d: dict[str, Any], key: str) -> dict[str, Any]:
    return _named(_named(d["playbooks"], "Save")["tasks"], key, "key")


def objective(d: dict[str, Any], key: str) -> dict[str, Any]:
    return _named(_named(d["plans"], "Onboard")["objectives"], key, "key")


def plan_task(d: dict[str, Any], objective_key: str, key: str) -> dict[str, Any]:
    return _named(objective(d, objective_key)["tasks"], key, "key")


def field(d: dict[str, Any], name: str) -> dict[str, Any]:
    return _named(d["schema"]["account"], name)


def lit(kind: str, value: Any) -> dict[str, Any]:
    return {"op": "lit", "type": kind, "value": value}


def _dup(items: list[dict[str, Any]], index: int = 0) -> None:
    items.append(copy.deepcopy(items[index]))


Change = Callable[[dict[str, Any]], Any]

TAMPERED: list[tuple[str, Change, str]] = [
    # ---- every reference resolves
    ("rule playbook", lambda d: rule(d, "drop").update(playbook="Nope"),
     "rules/drop/playbook: playbook `Nope` is not declared"),
    ("plan action", lambda d: rule(d, "renewal")["actions"][0].update(plan="Nope"),
     "rules/renewal/actions/0/plan: plan `Nope` is not declared"),
    ("objective playbook", lambda d: objective(d, "value").update(playbook="Nope"),
     "plans/Onboard/objectives/value/playbook: playbook `Nope` is not declared"),
    ("playbook task after", lambda d: playbook_task(d, "call").update(after=["nope"]),
     "playbooks/Save/tasks/call/after/0: task `nope` is not a task of playbook `Save`"),
    ("plan task after", lambda d: plan_task(d, "value", "call").update(after=["value.nope"]),
     "plans/Onboard/objectives/value/tasks/call/after/0: task `value.nope` is not a task of "
     "plan `Onboard`"),
    ("plan task after, unqualified", lambda d: plan_task(d, "value", "call").update(
        after=["email"]),
     "plans/Onboard/objectives/value/tasks/call/after/0: task `email` is not a task of plan"),
    ("objective after", lambda d: objective(d, "value").update(after=["nope"]),
     "plans/Onboard/objectives/value/after/0: objective `nope` is not an objective of plan "
     "`Onboard`"),
    ("critical path", lambda d: _named(d["playbooks"], "Save").update(critical_path=["x"]),
     "playbooks/Save/critical_path/0: task `x` is not a task of playbook `Save`"),
    ("metric", lambda d: when(d, "drop", "args", 0, "left").update(metric="usag"),
     "rules/drop/when/args/0/left: metric `usag` is not declared"),
    ("metric in close_when", lambda d: rule(d, "drop")["close_when"]["left"].update(
        metric="usag"),
     "rules/drop/close_when/left: metric `usag` is not declared"),
    ("metric in success", lambda d: rule(d, "drop")["success"]["when"]["left"].update(
        metric="usag"),
     "rules/drop/success/when/left: metric `usag` is not declared"),
    ("event of count", lambda d: when(d, "renewal", "args", 3, "left").update(event="nps"),
     "rules/renewal/when/args/3/left: event `nps` is not declared"),
    ("event of exists", lambda d: when(d, "detractor").update(event="nps"),
     "rules/detractor/when: event `nps` is not declared"),
    ("event of days_since", lambda d: when(d, "renewal", "args", 2, "arg", "left").update(
        event="nps"),
     "rules/renewal/when/args/2/arg/left: event `nps` is not declared"),
    ("account field", lambda d: when(d, "drop", "args", 1, "left").update(name="segmnt"),
     "rules/drop/when/args/1/left: account field `segmnt` is not declared"),
    ("event field outside where", lambda d: when(d, "drop", "args", 1).update(
        left={"op": "event_field", "name": "score"}),
     "rules/drop/when/args/1/left: event field `score` is read outside `exists.where`"),
    ("event field of another name", lambda d: when(d, "detractor", "where", "left").update(
        name="scor"),
     "rules/detractor/when/where/left: event `nps_response` has no field `scor`"),
    ("rule owner role", lambda d: rule(d, "drop")["owner"]["chain"][0].update(name="CSX"),
     "rules/drop/owner/chain/0/name: role `CSX` is not declared"),
    ("task owner role", lambda d: playbook_task(d, "email")["owner"]["chain"][0].update(
        name="Boss"),
     "playbooks/Save/tasks/email/owner/chain/0/name: role `Boss` is not declared"),
    ("plan owner role", lambda d: _named(d["plans"], "Onboard")["owner"]["chain"][0].update(
        kind="role", name="Boss"),
     "plans/Onboard/owner/chain/0/name: role `Boss` is not declared"),
    ("pool name", lambda d: plan_task(d, "kickoff", "hello")["owner"]["chain"][0].update(
        name=""),
     "plans/Onboard/objectives/kickoff/tasks/hello/owner/chain/0/name: pool `` is not a name"),
    ("empty owner", lambda d: rule(d, "drop")["owner"].update(chain=[]),
     "rules/drop/owner/chain: an owner needs at least one choice"),
    # ---- names are names, and unique
    ("two rules of one name", lambda d: _dup(d["rules"]),
     "rules/detractor: rule `detractor` is declared twice"),
    ("two playbooks", lambda d: _dup(d["playbooks"]),
     "playbooks/Save: playbook `Save` is declared twice"),
    ("two plans", lambda d: _dup(d["plans"]), "plans/Onboard: plan `Onboard` is declared twice"),
    ("two metrics", lambda d: _dup(d["schema"]["metrics"]),
     "schema/metrics/usage: metric `usage` is declared twice"),
    ("two events", lambda d: _dup(d["schema"]["events"]),
     "schema/events/nps_response: event `nps_response` is declared twice"),
    ("two account fields", lambda d: _dup(d["schema"]["account"]),
     "schema/account/arr: account field `arr` is declared twice"),
    ("two roles", lambda d: _dup(d["schema"]["roles"]),
     "schema/roles/AE: role `AE` is declared twice"),
    ("two event fields", lambda d: _dup(d["schema"]["events"][0]["fields"]),
     "schema/events/nps_response/fields/score: field `score` of event `nps_response` is "
     "declared twice"),
    ("two enum values", lambda d: field(d, "segment")["values"].append("SMB"),
     "schema/account/segment/values: enum value `SMB` is listed twice"),
    ("a field named like a metric", lambda d: d["schema"]["account"].append(
        {"name": "usage", "type": "number", "values": []}),
     "schema/metrics/usage: metric `usage` has the same name as account field `usage`"),
    ("a field named id", lambda d: d["schema"]["account"].append(
        {"name": "id", "type": "number", "values": []}),
     "schema/account/id: `id` is the account's key: no field takes that name"),
    ("a rule named like a playbook", lambda d: rule(d, "detractor").update(name="Save"),
     "rules/Save: rule `Save` has the same name as playbook `Save`"),
    ("two tasks in a playbook", lambda d: _dup(_named(d["playbooks"], "Save")["tasks"]),
     "playbooks/Save/tasks/email: task `email` is declared twice"),
    ("two tasks in an objective", lambda d: _dup(objective(d, "kickoff")["tasks"]),
     "plans/Onboard/objectives/kickoff/tasks/hello: task `hello` is declared twice"),
    ("two objectives", lambda d: _dup(_named(d["plans"], "Onboard")["objectives"]),
     "plans/Onboard/objectives/kickoff: objective `kickoff` is declared twice"),
    ("not a name", lambda d: rule(d, "drop").update(name="drop it"),
     "rules/1/name: `drop it` is not a name"),
    ("task key not a name", lambda d: playbook_task(d, "email").update(key="a.b"),
     "playbooks/Save/tasks/0/key: `a.b` is not a name"),
    # ---- operand types
    ("number == text", lambda d: when(d, "drop", "args", 2).update(right=lit("text", "x")),
     "rules/drop/when/args/2: cannot compare a number with text"),
    ("enum < number", lambda d: when(d, "drop", "args", 1).update(
        cmp="<", right=lit("number", 3)),
     "rules/drop/when/args/1: cannot compare an enum value with a number"),
    ("text ordered", lambda d: when(d, "drop", "args", 1).update(cmp="<"),
     "rules/drop/when/args/1: `<` does not order text; use `==` or `!=`"),
    ("enum literal", lambda d: when(d, "drop", "args", 1, "right").update(value="Gold"),
     'rules/drop/when/args/1/right: `Gold` is not a value of the enum ("SMB", "Enterprise")'),
    ("enum literal in a list", lambda d: when(d, "renewal", "args", 1, "values", 0).update(
        value="Gold"),
     "rules/renewal/when/args/1/values/0: `Gold` is not a value of the enum"),
    ("in with a number", lambda d: when(d, "renewal", "args", 1)["values"].append(
        lit("number", 1)),
     "rules/renewal/when/args/1: cannot compare an enum value with a number"),
    ("in without values", lambda d: when(d, "renewal", "args", 1).update(values=[]),
     "rules/renewal/when/args/1: `in` needs at least one value"),
    ("date with number", lambda d: when(d, "renewal", "args", 4).update(
        right=lit("number", 5)),
     "rules/renewal/when/args/4: cannot compare a date with a number"),
    ("bool ordered", lambda d: when(d, "drop", "args", 1).update(
        cmp=">", left=lit("bool", True), right=lit("bool", False)),
     "rules/drop/when/args/1: `>` does not order true and false"),
    ("arithmetic on text", lambda d: when(d, "drop", "args", 2, "left").update(
        right=lit("text", "2")),
     "rules/drop/when/args/2/left/right: `*` needs numbers; this is text"),
    ("arithmetic on a date", lambda d: when(d, "drop", "args", 2, "left").update(
        left={"op": "field", "name": "renewal_date"}),
     "rules/drop/when/args/2/left/left: `*` needs numbers; this is a date"),
    ("negated text", lambda d: when(d, "drop", "args", 3, "left", "arg").update(name="name"),
     "rules/drop/when/args/3/left/arg: cannot negate text"),
    ("and of a number", lambda d: when(d, "drop")["args"].__setitem__(
        0, {"op": "field", "name": "arr"}),
     "rules/drop/when/args/0: an argument of `and` must be true or false, found a number"),
    ("and of one", lambda d: when(d, "drop").update(args=when(d, "drop")["args"][:1]),
     "rules/drop/when: `and` needs two arguments or more"),
    ("or of none", lambda d: rule(d, "drop").update(when={"op": "or", "args": []}),
     "rules/drop/when: `or` needs two arguments or more"),
    ("not of a number", lambda d: when(d, "renewal", "args", 2).update(arg=lit("number", 1)),
     "rules/renewal/when/args/2/arg: the argument of `not` must be true or false, found a "
     "number"),
    ("when of a number", lambda d: rule(d, "detractor").update(
        when={"op": "field", "name": "arr"}),
     "rules/detractor/when: a condition must be true or false, found a number"),
    ("close_when of a date", lambda d: rule(d, "drop").update(
        close_when={"op": "field", "name": "renewal_date"}),
     "rules/drop/close_when: a condition must be true or false, found a date"),
    ("success of text", lambda d: rule(d, "drop")["success"].update(when=lit("text", "x")),
     "rules/drop/success/when: a condition must be true or false, found text"),
    ("where of a number", lambda d: when(d, "detractor").update(
        where={"op": "event_field", "name": "score"}),
     "rules/detractor/when/where: `where` must be true or false, found a number"),
    ("days_until of a number", lambda d: when(d, "renewal", "args", 0, "left").update(
        field="arr"),
     "rules/renewal/when/args/0/left: `days_until` needs a date field; `arr` is a number field"),
    ("days_until of nothing", lambda d: when(d, "renewal", "args", 0, "left").update(
        field="nope"),
     "rules/renewal/when/args/0/left: account field `nope` is not declared"),
    ("days_since of both", lambda d: when(d, "renewal", "args", 2, "arg", "left").update(
        field="renewal_date"),
     "rules/renewal/when/args/2/arg/left: `days_since` reads one date field or one event"),
    ("days_since of text", lambda d: when(d, "renewal", "args", 2, "arg", "left").update(
        event=None, field="name"),
     "rules/renewal/when/args/2/arg/left: `days_since` needs a date field; `name` is a text"),
    ("a number literal of true", lambda d: when(d, "drop", "args", 0, "right").update(
        value=True),
     "rules/drop/when/args/0/right: `True` is not a number"),
    ("a number literal of text", lambda d: when(d, "drop", "args", 0, "right").update(
        value="-0.3"),
     "rules/drop/when/args/0/right: `-0.3` is not a number"),
    ("a bool literal of text", lambda d: when(d, "drop", "args", 1).update(
        left={"op": "field", "name": "arr"}, right=lit("bool", "yes")),
     "rules/drop/when/args/1/right: `yes` is not a bool"),
    ("a text literal of a number", lambda d: when(d, "drop", "args", 1, "right").update(
        value=3.0),
     "rules/drop/when/args/1/right: `3.0` is not a text"),
    # ---- windows and day counts
    ("window of 0 days", lambda d: when(d, "drop", "args", 0, "left").update(days=0),
     "rules/drop/when/args/0/left: window 0 is out of range (1 to 36,500 days)"),
    ("negative window", lambda d: when(d, "renewal", "args", 3, "left").update(days=-5),
     "rules/renewal/when/args/3/left: window -5 is out of range"),
    ("window of 10^12 days", lambda d: when(d, "detractor").update(days=10**12),
     "rules/detractor/when: window 1000000000000 is out of range"),
    ("window past 100 years", lambda d: rule(d, "drop")["close_when"]["left"].update(
        days=MAX_DAYS + 1),
     "rules/drop/close_when/left: window 36501 is out of range"),
    ("rule due of 10^9 days", lambda d: rule(d, "drop").update(due=10**9),
     "rules/drop/due: due 1000000000 is out of range (0 to 36,500 days)"),
    ("negative rule due", lambda d: rule(d, "drop").update(due=-1),
     "rules/drop/due: due -1 is out of range"),
    ("negative cooldown", lambda d: rule(d, "drop").update(cooldown=-1),
     "rules/drop/cooldown: cooldown -1 is out of range"),
    ("success within 0", lambda d: rule(d, "drop")["success"].update(within=0),
     "rules/drop/success/within: success window 0 is out of range (1 to 36,500 days)"),
    ("plan due", lambda d: _named(d["plans"], "Onboard").update(due=10**12),
     "plans/Onboard/due: due 1000000000000 is out of range"),
    ("negative task day", lambda d: playbook_task(d, "email").update(day=-1),
     "playbooks/Save/tasks/email/day: day -1 is out of range"),
    ("task duration", lambda d: plan_task(d, "kickoff", "hello").update(duration=10**12),
     "plans/Onboard/objectives/kickoff/tasks/hello/duration: duration 1000000000000 is out"),
    ("task start after its due", lambda d: playbook_task(d, "call").update(start=9),
     "playbooks/Save/tasks/call/start: is 9, the schedule says 2"),
    ("task due of 10^9 days", lambda d: playbook_task(d, "call").update(due=10**9),
     "playbooks/Save/tasks/call/due: is 1000000000, the schedule says 5"),
    ("plan task start", lambda d: plan_task(d, "value", "email").update(start=0),
     "plans/Onboard/objectives/value/tasks/email/start: is 0, the schedule says 2"),
    ("objective due", lambda d: objective(d, "value").update(due=10**9),
     "plans/Onboard/objectives/value/due: is 1000000000, the schedule says 5"),
    ("objective start after its due", lambda d: objective(d, "kickoff").update(start=3),
     "plans/Onboard/objectives/kickoff/start: is 3, the schedule says 0"),
    ("playbook length", lambda d: _named(d["playbooks"], "Save").update(length=-1),
     "playbooks/Save/length: is -1, the schedule ends on day 5"),
    ("plan length", lambda d: _named(d["plans"], "Onboard").update(length=10**9),
     "plans/Onboard/length: is 1000000000, the schedule ends on day 5"),
    ("plan overshoot", lambda d: _named(d["plans"], "Onboard").update(overshoot=3),
     "plans/Onboard/overshoot: is 3, the schedule says 0"),
    ("tasks in a cycle", lambda d: playbook_task(d, "email").update(after=["call"]),
     "playbooks/Save: the tasks of playbook `Save` wait for each other in a cycle (through "
     "`call`, `email`)"),
    ("objectives in a cycle", lambda d: objective(d, "kickoff").update(after=["value"]),
     "plans/Onboard: the tasks of plan `Onboard` wait for each other in a cycle"),
    # ---- dates
    ("a date that is no date", lambda d: when(d, "renewal", "args", 4, "right").update(
        value="2026-02-30"),
     "rules/renewal/when/args/4/right: `2026-02-30` is not a date"),
    ("a date not written YYYY-MM-DD", lambda d: when(d, "renewal", "args", 4, "right").update(
        value="20260101"),
     "rules/renewal/when/args/4/right: `20260101` is not a date (YYYY-MM-DD)"),
    # ---- what else the compiler refuses
    ("playbook not for the CTA type", lambda d: _named(d["playbooks"], "Save").update(
        for_types=["opportunity", "objective"]),
     "rules/drop/playbook: playbook `Save` is not for risk CTAs (it is for opportunity, "
     "objective)"),
    ("playbook not for objectives", lambda d: _named(d["playbooks"], "Save").update(
        for_types=["risk"]),
     "plans/Onboard/objectives/value/playbook: playbook `Save` is not for objective CTAs"),
    ("an unknown CTA type", lambda d: _named(d["playbooks"], "Save").update(
        for_types=["nope"]),
     "playbooks/Save/for_types/0: `nope` is not a CTA type"),
    ("playbook without a CTA", lambda d: rule(d, "renewal").update(playbook="Save"),
     "rules/renewal/playbook: applies playbook `Save` but opens no CTA"),
    ("rule without actions", lambda d: rule(d, "detractor").update(actions=[]),
     "rules/detractor/actions: a rule needs at least one action"),
    ("enum without values", lambda d: field(d, "segment").update(values=[]),
     "schema/account/segment/values: an enum needs at least one value"),
    ("values of a number field", lambda d: field(d, "arr").update(values=["x"]),
     "schema/account/arr/values: only an enum field has values; this is a number field"),
    ("playbook task naming a playbook", lambda d: playbook_task(d, "email").update(
        playbook="Save"),
     "playbooks/Save/tasks/email/playbook: only a task of a plan names the playbook"),
    ("plan task of another playbook", lambda d: plan_task(d, "value", "email").update(
        playbook="Other"),
     "plans/Onboard/objectives/value/tasks/email/playbook: playbook `Other` is not the "
     "objective's playbook"),
]


def _rehashed(data: dict[str, Any], change: Change) -> dict[str, Any]:
    data = copy.deepcopy(data)
    change(data)
    data["spec_hash"] = A.meaning_hash(data)
    return data


def test_the_compiled_artifact_verifies(compiled: dict[str, Any]) -> None:
    artifact = load_data(copy.deepcopy(compiled))
    assert [r.name for r in artifact.rules] == ["detractor", "drop", "renewal"]


@pytest.mark.parametrize(("change", "message"), [(c, m) for _, c, m in TAMPERED],
                         ids=[name for name, _, _ in TAMPERED])
def test_a_tampered_artifact_is_refused_at_its_place(
    compiled: dict[str, Any], change: Change, message: str
) -> None:
    with pytest.raises(ArtifactError) as refused:
        load_data(_rehashed(compiled, change))
    assert str(refused.value).startswith(f"artifact: {message}"), str(refused.value)


def test_a_file_names_itself_and_counts_the_rest(tmp_path: Path, compiled: dict[str, Any]
                                                 ) -> None:
    def two(d: dict[str, Any]) -> None:
        rule(d, "drop").update(playbook="Nope", due=-1)

    path = tmp_path / "spec.json"
    path.write_text(json.dumps(_rehashed(compiled, two)), encoding="utf-8")
    with pytest.raises(VerifyError, match=r"^.*spec\.json: rules/drop/playbook: playbook "
                                          r"`Nope` is not declared \(and 1 more\)$"):
        load(path)


def test_the_host_api_verifies_an_artifact_built_without_the_loader(
    compiled: dict[str, Any]
) -> None:
    data = _rehashed(compiled, lambda d: when(d, "drop", "args", 1).update(cmp="<"))
    artifact = msgspec.convert(data, A.Artifact)  # a host that builds the models itself
    with pytest.raises(VerifyError, match="does not order text"):
        Runtime(artifact, Dataset(), open_store("sqlite:///:memory:"))


# ---------------------------------------------------------------- what the compiler writes


def _compile_dir(path: Path) -> A.Artifact:
    from csdsl.driver import compile_spec

    artifact, diagnostics = compile_spec([path])
    assert artifact is not None, [d.message for d in diagnostics if d.severity == "error"]
    return artifact


def test_the_example_spec_verifies() -> None:
    verify(_compile_dir(EXAMPLES))


def test_the_edges_verify(tmp_path: Path) -> None:
    artifact = compile_spec_text(tmp_path, EDGES)
    verify(artifact)
    plan = _named(json.loads(artifact.to_json())["plans"], "P")
    assert [(o["key"], o["start"], o["due"]) for o in plan["objectives"]] == [
        ("o4", 0, 0), ("o1", 5, 5), ("o2", 5, 5), ("o3", 5, 10)]


def _gen_spec() -> Any:
    """bench/gen_spec.py, the generator of the benchmark specs."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import gen_spec
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return gen_spec


def test_schedules_longer_than_any_day_count_verify(tmp_path: Path) -> None:
    """Day counts the spec writes stop at 36,500 days; the offsets the compiler computes
    from them do not (a chain of tasks adds them up, CS0402 is only a warning). The
    verifier bounds them by recomputing the schedule, not by MAX_DAYS."""
    text = """
    playbook Long {
      task a { day 36500  duration 36500d  owner CSM }
      task b { duration 36500d  after a }
    }
    plan Q { due 36500d  objective o { playbook Long }  objective p { after o  playbook Long } }
    rule r { when usage > 1  then cta risk "R"  playbook Long  then plan Q }
    """
    artifact = compile_spec_text(tmp_path, text)
    verify(artifact)
    assert artifact.playbooks[0].length == 3 * MAX_DAYS
    assert (artifact.plans[0].length, artifact.plans[0].overshoot) == (5 * MAX_DAYS,
                                                                       4 * MAX_DAYS)
    run_everywhere(artifact, dataset_for(artifact, 2))


def test_a_generated_spec_verifies(tmp_path: Path) -> None:
    gen_spec = _gen_spec()
    gen_spec.generate(tmp_path, rules=300, playbooks=30, plans=6, files=3)
    artifact = _compile_dir(tmp_path)
    assert len(artifact.rules) > 300 and artifact.plans
    verify(artifact)


def test_every_golden_spec_that_compiles_verifies(tmp_path: Path) -> None:
    """The diagnostics goldens with only warnings (CS0402, CS0600...) compile: their
    artifacts verify too."""
    from csdsl.driver import compile_spec

    golden = ROOT / "tests" / "golden" / "diagnostics"
    compiled = 0
    for path in sorted(golden.iterdir()):
        if path.suffix != ".cs" and not path.is_dir():
            continue
        artifact, _ = compile_spec([path])
        if artifact is not None:
            verify(artifact)
            compiled += 1
    assert compiled >= 2


def test_deep_and_wide_compiled_conditions_verify_and_run(tmp_path: Path) -> None:
    """As deep as the compiler lets a condition nest (CS0106: 100 levels)."""
    deep = "not " * 95 + "usage > 1"
    wide = " + ".join(["arr"] * 95) + " > 1"
    where = "event nps_response within 30d where (" + " + ".join(["score"] * 90) + " > 1)"
    text = "".join(f'rule {name} {{ when {condition}  then cta risk "{name}" }}\n'
                   for name, condition in (("deep", deep), ("wide", wide), ("ev", where)))
    artifact = compile_spec_text(tmp_path, text)
    verify(artifact)
    run_everywhere(artifact, dataset_for(artifact, 3))


def test_random_well_typed_conditions_verify() -> None:
    """The engines' differential test draws well-typed IR: all of it verifies (the
    verifier's type rules are not stricter than the compiler's)."""
    engines = pytest.importorskip("tests.test_engines")

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(conditions=st.lists(engines.CONDITIONS, min_size=1, max_size=4))
    def check(conditions: list[A.Expr]) -> None:
        rules = tuple(A.Rule(name=f"r{i}", when=c, actions=(A.CtaAction(type="risk", title="T"),))
                      for i, c in enumerate(conditions))
        verify(A.Artifact(spec_hash="", schema_=engines.SCHEMA, rules=rules))

    check()


# ---------------------------------------------------------------- mutated artifacts run


_BASES: dict[str, dict[str, Any]] = {}


def _bases(tmp: Path) -> list[dict[str, Any]]:
    """Compiled artifacts to mutate: the specs above, the example spec and a small
    generated one (every condition form of the language)."""
    if not _BASES:
        _BASES["rules"] = json.loads(compile_spec_text(tmp / "rules", RULES).to_json())
        _BASES["edges"] = json.loads(compile_spec_text(tmp / "edges", EDGES).to_json())
        _BASES["example"] = json.loads(_compile_dir(EXAMPLES).to_json())
        gen_spec = _gen_spec()
        gen_spec.generate(tmp / "generated", rules=12, playbooks=4, plans=2, files=2)
        _BASES["generated"] = json.loads(_compile_dir(tmp / "generated").to_json())
    return list(_BASES.values())


def _places(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) of the JSON tree, iteratively."""
    stack = [node]
    while stack:
        current = stack.pop()
        items = (current.items() if isinstance(current, dict)
                 else enumerate(current) if isinstance(current, list) else ())
        for key, value in items:
            yield current, key
            stack.append(value)


def _names(data: dict[str, Any]) -> list[str]:
    """The names and words an artifact uses: what a mutation swaps in."""
    found = {"risk", "objective", "lit", "cmp", "field", "and", "not", "exists", "==", "<",
             "number", "text", "date", "bool", "enum", "role", "pool", "user", "business"}
    for container, key in _places(data):
        value = container[key]
        if isinstance(value, str) and len(value) < 40 and key != "spec_hash":
            found.add(value)
    return sorted(found)


NUMBERS = [0, 1, -1, 2, 7, 36_500, 36_501, -36_501, 10**9, 10**12, -(10**12), 0.5, -0.3,
           1e308, -1e308, 5e-324]
TEXTS = ["", "x", "a b", "2026-11-20", "2026-02-30", "20261120", "{{ account.name }}",
         "{{ nope }}", "{% if %}", "Enterprise", "SMB"]
OTHER: list[Any] = [None, True, False, [], {}]


_FIXED = ("format_version", "spec_hash", "op")
"""Left alone: the loader's own tests change these (a node's `op` changes by grafting)."""


def _shape(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "node" if "op" in value else "object"
    return type(value).__name__  # str, list, NoneType


@st.composite
def mutants(draw: st.DrawFn, bases: list[dict[str, Any]]) -> dict[str, Any]:
    """A compiled artifact with one to three mutations somewhere in its JSON tree, then
    re-hashed as a forger would. Most keep the shape the loader checks, so that the
    verifier has work: a number becomes one near or far out of range (or is scaled), a
    string another name or word the artifact uses, a condition node another node of the
    artifact, a value the value of the same key elsewhere (`null` owner, playbook, where,
    close_when...), a list gets an item duplicated, dropped or the order reversed. The
    others replace a value by any other type, drop a key or graft any subtree."""
    data = copy.deepcopy(draw(st.sampled_from(bases)))
    names = _names(data)
    rng = draw(st.randoms(use_true_random=False))  # uniform over places (no bias to the top)
    for _ in range(draw(st.integers(1, 3))):
        places = [(c, k) for c, k in _places(data) if k not in _FIXED]
        container, key = rng.choice(places)
        value = container[key]
        shape = _shape(value)
        if draw(st.integers(0, 3)) == 0:  # anything goes
            action = draw(st.sampled_from(["text", "other", "number", "drop", "graft"]))
        else:
            action = {"number": "number", "str": "name", "bool": "flip", "list": "list",
                      "node": "graft-node"}.get(shape, "same-key")
        if action == "number":
            if shape == "number" and draw(st.booleans()):
                container[key] = value * draw(st.sampled_from([-1, 2, 1000, 10**9]))
            else:
                container[key] = draw(st.sampled_from(NUMBERS))
        elif action == "name":
            container[key] = draw(st.sampled_from(names + TEXTS))
        elif action == "text":
            container[key] = draw(st.sampled_from(TEXTS))
        elif action == "other":
            container[key] = draw(st.sampled_from(OTHER))
        elif action == "flip":
            container[key] = not value
        elif action == "drop":
            del container[key]
        elif action == "list":
            how = draw(st.sampled_from(["duplicate", "drop", "reverse"]))
            if value and how == "duplicate":
                value.append(copy.deepcopy(draw(st.sampled_from(value))))
            elif value and how == "drop":
                del value[draw(st.integers(0, len(value) - 1))]
            else:
                value.reverse()
        else:  # graft: any subtree, a condition node, or the value of the same key
            candidates = [c[k] for c, k in places if _fits(action, key, c[k], k)
                          and c[k] is not value and not _inside(value, c[k])
                          and not _inside(c[k], value)]
            if candidates:
                container[key] = copy.deepcopy(draw(st.sampled_from(candidates)))
    data["spec_hash"] = A.meaning_hash(data)
    return data


def _fits(action: str, key: Any, other: Any, other_key: Any) -> bool:
    """`other` (at `other_key`) may be grafted at `key`: a condition node for a node, the
    value of the same key for `null` or an object, anything for a blind graft."""
    if action == "graft-node":
        return _shape(other) == "node"
    return action == "graft" or (other_key == key and other is not None)


def _inside(node: Any, inner: Any) -> bool:
    """`inner` is `node` or somewhere in it (a graft must not make a cycle)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current is inner:
            return True
        if isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return False


def dataset_for(artifact: A.Artifact, seed: int) -> Dataset:
    """A few accounts whose data fits the schema (as a source would have validated it):
    field values of each type and missing ones, daily metric series with zeros and
    extreme values, events before and on the as-of day, team members and pools."""
    schema = artifact.schema_
    rng = random.Random(seed)
    numbers = [0.0, 1.0, -1.0, 5.0, 250.0, 1e6, 1e308, -1e308]
    dataset = Dataset()
    for i in range(4):
        account = AccountData(id=f"a{i}")
        for f in schema.account:
            if rng.random() < 0.2:
                continue  # a missing value is absent, never zero
            account.fields[f.name] = _value(f, rng, numbers)
        for role in schema.roles:
            if rng.random() < 0.7:
                account.team[role.name] = f"{role.name.lower()}{i}@example.com"
        for metric in schema.metrics:
            if rng.random() < 0.2:
                continue
            length = rng.randint(0, 60)
            start = ASOF.toordinal() - length + rng.randint(-3, 3)
            account.metrics[metric.name] = MetricSeries(
                array("l", range(start, start + length)),
                array("d", (rng.choice(numbers) for _ in range(length))))
        for event in schema.events:
            days = sorted(ASOF.toordinal() - rng.randint(-2, 60) for _ in range(rng.randint(0, 4)))
            account.events[event.name] = EventSeries(
                array("l", days),
                [{f.name: _value(f, rng, numbers) for f in event.fields if rng.random() < 0.8}
                 for _ in days])
        dataset.accounts[account.id] = account
    owners = [r.owner for r in artifact.rules]
    owners += [t.owner for p in artifact.playbooks for t in p.tasks]
    for plan in artifact.plans:
        owners += [plan.owner, *(o.owner for o in plan.objectives)]
        owners += [t.owner for o in plan.objectives for t in o.tasks]
    pools = {c.name for owner in owners if owner for c in owner.chain if c.kind == "pool"}
    dataset.pools = {name: ["p1@example.com", "p2@example.com"] for name in sorted(pools)
                     if rng.random() < 0.8}
    return dataset


def _value(f: A.AccountField, rng: random.Random, numbers: list[float]) -> Value:
    if f.type == "number":
        return rng.choice(numbers)
    if f.type == "date":
        return ASOF + timedelta(days=rng.randint(-400, 400))
    if f.type == "bool":
        return rng.random() < 0.5
    if f.type == "enum":
        return rng.choice(f.values)
    return rng.choice(["Acme", "", "O'Brien", "{{ 7*7 }}"])


def _engines(dataset: Dataset, schema: A.DataSchema) -> Iterator[Any]:
    yield None  # the interpreter
    sql = pytest.importorskip("csdsl_runtime.engines.sql")
    yield sql.SqlEngine(dataset, schema)


def run_everywhere(artifact: A.Artifact, dataset: Dataset) -> None:
    """Three runs on each engine (the as-of day, 10 and 45 days later: CTAs open, close,
    cool down, succeed or not), each engine with its own store, as a host runs them.
    Only the runtime's user-facing errors may come out."""
    for engine in _engines(dataset, artifact.schema_):
        store = open_store("sqlite:///:memory:")
        try:
            runtime = Runtime(artifact, dataset, store, engine=engine)
            for asof in (ASOF, ASOF + timedelta(days=10), ASOF + timedelta(days=45)):
                runtime.run(asof)
        except (StoreError, UsageError):
            pass
        finally:
            store.close()


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_what_passes_the_verifier_runs_on_both_engines(
    tmp_path: Path, data: st.DataObject, seed: int
) -> None:
    mutant = data.draw(mutants(_bases(tmp_path)))
    try:
        artifact = load_data(mutant)
    except ArtifactError as exc:
        note(f"refused: {exc}")
        if isinstance(exc, VerifyError):  # the refusal names its place
            assert re.match(r"artifact: (schema|playbooks|plans|rules)/\S", str(exc)), exc
        return
    note(json.dumps(mutant)[:4000])
    run_everywhere(artifact, dataset_for(artifact, seed))


def test_the_unmutated_bases_run_on_both_engines(tmp_path: Path) -> None:
    for base in _bases(tmp_path):
        artifact = load_data(copy.deepcopy(base))
        run_everywhere(artifact, dataset_for(artifact, 1))
