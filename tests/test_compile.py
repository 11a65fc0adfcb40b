"""The artifact: every form compiles, output is deterministic, the hash is the meaning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csdsl.driver import compile_spec
from csdsl_runtime import artifact as A

from .conftest import EXAMPLES, ROOT

SCHEMA_FILE = ROOT / "specs" / "artifact.schema.json"

# Every form of LANGUAGE.md, in one spec.
ALL_FORMS = """
account {
  name: text
  segment: enum("SMB", "Mid-Market", "Enterprise")
  arr: number
  renewal_date: date
  phase: enum("onboarding", "adoption", "renewal")
  csm_sentiment: number
  is_strategic: bool
}

metric usage "Daily active users"      # a daily numeric time series per account
metric logins missing 0                 # a day without a row counts as 0

event nps_response { score: number }   # timestamped occurrences, with fields
event contract_signed

role CSM "Customer Success Manager"     # resolved per account from the account team
role AE "Account Executive"
role CS_Leader
role Champion external                  # a customer contact, not an employee

pool Support "Support engineers"        # members come from pools.csv

limit new ctas per run 5000             # a run that would open more stores nothing
limit open ctas per owner 200
holidays "US-CA"                        # business days skip California's public holidays

playbook UsageDrop "A drop in usage" {
  for risk
  calendar business
  on change append                      # CTAs opened before a change get the tasks they lack
  task miss_you "Send 'Hey, we miss you!' email" {
    day 1
    owner CSM
    type email
  }
  task custom "Send a customized email from the CSM" { day 4  owner CSM  type email }
  task call "CSM calls the main contact" { day 9  owner CSM or CS_Leader  type call  after custom }
}

playbook Renewal120 {
  task review "Review {{ account.name }}" { owner "jane@example.com"  priority high  duration 2d }
  task pool_task "Triage" { owner pool Support  type meeting  description "Escalate if needed" }
  task done "Renewal signed" { type milestone  priority low  after review, pool_task }
}

playbook TechnicalSetup {
  task setup_done "Technical setup complete" { duration 10d }
}

plan Onboarding "Customer onboarding" {
  type onboarding
  due 90d
  objective kickoff "Kickoff complete" {
    category adoption
    success "All main users trained"
    owner CSM
    task handoff "Sales hand-off complete" { owner AE  duration 2d }
    task welcome "Send welcome email" { owner CSM  after handoff }
    task training "Train the main users" { owner CSM  duration 5d  after welcome }
  }
  objective golive "Go live" {
    after kickoff
    playbook TechnicalSetup
    task launch "Launch" { after setup_done  owner Champion }
  }
}

rule usage_drop "Usage dropped 30%" {
  when usage drops 30% over 30d and segment == "Enterprise"
  then cta risk "Usage dropped for {{ account.name }}"
  priority high
  reason "Product usage"
  owner CSM
  due 14d business
  playbook UsageDrop
  cooldown 60d
  close when usage rises 20% over 14d
  success within 60d when usage rises 10% over 30d
}

rule renewal_120 {
  when days_until(renewal_date) == 120
  then cta lifecycle "Renewal in 120 days"
  playbook Renewal120
  due 30d calendar
}

rule new_customer {
  when event contract_signed within 1d
  then plan Onboarding
  owner CSM
}

rule everything {
  when (avg(usage, 7d) < 0.5 * avg(usage, 30d) or sum(logins, 14d) <= 3)
    and not is_strategic and segment not in ("SMB") and phase in ("onboarding", "adoption")
    and min(usage, 7d) >= 0 and max(usage, 7d) != 100 and count(nps_response, 90d) > 0
    and change(usage, 14d) > -50% and days_since(renewal_date) < -10
    and days_since(nps_response) >= 7 and no logins for 2w and no contract_signed for 30d
    and event nps_response within 30d where (score <= 6 or score == 10)
    and renewal_date > 2026-01-01 and arr / 12 + 1 - 2 * 3 > -arr and csm_sentiment == 4.5
    and is_strategic == false
  then cta opportunity "Look at {{ account.name }} ({{ rule.title }}, {{ asof }})"
  then cta activity "Second CTA for {{ account.segment }}"
  enabled false
  max 200 per run                       # this rule may open at most 200 CTAs in one run
  reopen while true
  at most 2 every 90d
}

environment staging {                   # overlays: compiled with `csdsl compile --env staging`
  rule usage_drop "Usage dropped 50% (staging)" {
    owner "qa-team@example.com"
    when usage drops 50% over 30d
    then cta risk "Staging: usage dropped for {{ account.name }}"
    enabled false
  }
}

environment production {
}
"""


@pytest.fixture
def all_forms(tmp_path: Path) -> Path:
    spec = tmp_path / "all"
    spec.mkdir()
    (spec / "all.cs").write_text(ALL_FORMS, encoding="utf-8")
    return spec


def test_every_form_compiles(all_forms: Path) -> None:
    artifact, diagnostics = compile_spec([all_forms])
    assert [d for d in diagnostics if d.is_error] == []
    assert artifact is not None
    assert {r.name for r in artifact.rules} == {
        "usage_drop", "renewal_120", "new_customer", "everything"
    }
    assert artifact.format_version == A.FORMAT_VERSION
    assert artifact.spec_hash.startswith("sha256:") and len(artifact.spec_hash) == 71
    rules = {r.name: r for r in artifact.rules}
    playbooks = {p.name: p for p in artifact.playbooks}
    assert artifact.holidays == "US-CA"
    assert (rules["usage_drop"].due, rules["usage_drop"].due_calendar) == (14, "business")
    assert (rules["renewal_120"].due, rules["renewal_120"].due_calendar) == (30, "calendar")
    assert (playbooks["UsageDrop"].on_change, playbooks["Renewal120"].on_change) == (
        "append", "keep")


def test_every_artifact_validates_against_the_checked_in_schema(all_forms: Path) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for spec in (all_forms, EXAMPLES):
        artifact, _ = compile_spec([spec])
        assert artifact is not None
        jsonschema.validate(json.loads(artifact.to_json()), schema)


def test_checked_in_schema_is_not_stale() -> None:
    expected = json.dumps(A.json_schema(), indent=2, sort_keys=True) + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == expected, (
        "specs/artifact.schema.json is stale: run `csdsl schema > specs/artifact.schema.json`"
    )


def test_output_is_byte_identical_across_runs(all_forms: Path) -> None:
    first, _ = compile_spec([all_forms])
    second, _ = compile_spec([all_forms])
    assert first is not None and second is not None
    assert first.to_json() == second.to_json()
    assert msgspec.json.decode(first.to_json(), type=A.Artifact) == first


def _hash(spec: Path) -> str:
    artifact, diagnostics = compile_spec([spec])
    assert artifact is not None, [d.message for d in diagnostics if d.is_error]
    return artifact.spec_hash


def test_hash_ignores_layout_comments_order_and_file_split(all_forms: Path, tmp_path: Path) -> None:
    original = _hash(all_forms)
    blocks = [b for b in ALL_FORMS.strip().split("\n\n") if b.strip()]
    # reversed declarations, comments stripped, split over one file per declaration
    split = tmp_path / "split"
    split.mkdir()
    for i, block in enumerate(reversed(blocks)):
        text = "\n".join(line.split("  #")[0] for line in block.splitlines())
        text = text.replace("\n  ", "\n      ")
        (split / f"part{i:02}.cs").write_text("# a header comment\n" + text + "\n")
    assert _hash(split) == original
    # `2w` and `14d` mean the same
    respelled = tmp_path / "respelled"
    respelled.mkdir()
    (respelled / "a.cs").write_text(ALL_FORMS.replace("no logins for 2w", "no logins for 14d"))
    assert _hash(respelled) == original


def test_hash_changes_with_meaning(all_forms: Path, tmp_path: Path) -> None:
    original = _hash(all_forms)
    changed = tmp_path / "changed"
    shutil.copytree(all_forms, changed)
    path = changed / "all.cs"
    path.write_text(path.read_text().replace("cooldown 60d", "cooldown 61d"))
    assert _hash(changed) != original


def test_tampered_hash_is_detectable(all_forms: Path) -> None:
    artifact, _ = compile_spec([all_forms])
    assert artifact is not None
    data = json.loads(artifact.to_json())
    data["rules"][0]["priority"] = "low"
    assert A.meaning_hash(data) != artifact.spec_hash


def _when(artifact: A.Artifact, rule: str) -> dict:
    (found,) = [r for r in artifact.rules if r.name == rule]
    return json.loads(msgspec.json.encode(found))["when"]


def test_sugar_lowers_to_core_ir(all_forms: Path) -> None:
    artifact, _ = compile_spec([all_forms])
    assert artifact is not None
    assert _when(artifact, "usage_drop") == {
        "op": "and",
        "args": [
            {"op": "cmp", "cmp": "<=", "left": {"op": "change", "metric": "usage", "days": 30},
             "right": {"op": "lit", "type": "number", "value": -0.3}},
            {"op": "cmp", "cmp": "==", "left": {"op": "field", "name": "segment"},
             "right": {"op": "lit", "type": "text", "value": "Enterprise"}},
        ],
    }
    assert _when(artifact, "new_customer") == {
        "op": "exists", "event": "contract_signed", "days": 1, "where": None,
    }
    ir = json.dumps(_when(artifact, "everything"))
    for fragment in ('"op": "count", "event": "contract_signed", "days": 30',
                     '"op": "window", "fn": "sum", "metric": "logins", "days": 14',
                     '"op": "event_field", "name": "score"',
                     '"op": "days_since", "field": null, "event": "nps_response"',
                     '"op": "in", "arg": {"op": "field", "name": "segment"}'):
        assert fragment in ir


def test_examples_compile_clean() -> None:
    artifact, diagnostics = compile_spec([EXAMPLES])
    assert artifact is not None
    assert [f"{d.span}: {d.code} {d.message}" for d in diagnostics] == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=25,
)


@settings(deadline=None)
@given(_JSON)
def test_canonical_json_is_json_dumps_with_indent_and_sorted_keys(data: object) -> None:
    expected = json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    assert A.canonical_json(data) == expected


def test_canonical_json_refuses_what_json_refuses_and_non_text_keys() -> None:
    for bad in (float("nan"), {"x": float("inf")}, object(), {1: "a"}):  # json: "1"
        with pytest.raises((ValueError, TypeError)):
            A.canonical_json(bad)
