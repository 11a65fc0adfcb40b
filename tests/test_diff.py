"""`csdsl diff BASE HEAD`: the semantic diff of two spec versions, and their volume on data.

Each case copies `examples/spec` to a temporary directory, edits the text, and runs the
real command in that directory (so that paths print as `base` and `head`); golden files
under tests/golden/diff/ hold what users read. Regenerate them with
`CSDSL_UPDATE_GOLDEN=1 pytest tests/test_diff.py` and review the diff by eye.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from csdsl.review import diff_cs
from csdsl.review.diff_model import compare, normal
from csdsl_runtime import artifact as A

from .clikit import csdsl
from .conftest import EXAMPLES, ROOT

GOLDEN = Path(__file__).resolve().parent / "golden" / "diff"
UPDATE = os.environ.get("CSDSL_UPDATE_GOLDEN") == "1"
DATA = ROOT / "examples" / "data"
ASOF = "2026-11-20"  # the day README.md runs the examples


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no {name}: run with CSDSL_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def _edit(spec: Path, file: str, old: str, new: str) -> None:
    path = spec / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """`base` and `head`: two copies of the example spec; `data`: the example data."""
    for name in ("base", "head"):
        shutil.copytree(EXAMPLES, tmp_path / name, ignore=shutil.ignore_patterns("*.cstest"))
    (tmp_path / "data").symlink_to(DATA, target_is_directory=True)
    return tmp_path


# ------------------------------------------------------------------ edits, by kind

def _threshold(head: Path) -> None:
    _edit(head, "rules_risk.cs", "usage drops 30% over 30d and segment",
          "usage drops 20% over 30d and segment")


def _retimed(head: Path) -> None:
    _edit(head, "playbooks.cs", "    day 9\n", "    day 11\n")
    _edit(head, "playbooks.cs", 'task miss_you "Send the \'Hey, we miss you!\' email" {\n'
          "    day 1\n", 'task miss_you "Send the \'Hey, we miss you!\' email" {\n'
          "    day 2\n")


def _critical_path(head: Path) -> None:
    # adoption_push now waits for the usage review: the path runs through it
    _edit(head, "plans.cs", 'description "Use the usage report to find the teams that have '
          'not started"\n', 'description "Use the usage report to find the teams that have '
          'not started"\n      after usage_review\n')


def _rules_added_removed(head: Path) -> None:
    rules = head / "rules_risk.cs"
    text = rules.read_text(encoding="utf-8")
    start = text.index("# Experiment, switched off")
    rules.write_text(text[:start], encoding="utf-8")
    (head / "rules_new.cs").write_text(
        '# Escalations from a strategic logo go to the CS leader at once.\n'
        'rule strategic_escalation "Escalation on a strategic account" {\n'
        '  when is_strategic and event support_escalation within 7d\n'
        '  then cta risk "Escalation at {{ account.name }}"\n'
        "  priority high\n"
        "  owner CS_Leader or CSM\n"
        "  due 3d business\n"
        "  at most 2 every 90d\n"
        "}\n", encoding="utf-8")


def _rule_properties(head: Path) -> None:
    _edit(head, "rules_risk.cs", "  cooldown 60d\n  close when usage rises 20% over 14d",
          "  cooldown 45d\n  max 50 per run\n  close when usage rises 25% over 14d")
    _edit(head, "rules_risk.cs", 'then cta risk "Low NPS from {{ account.name }}"\n'
          "  priority high", 'then cta risk "Detractor: {{ account.name }}"\n  priority medium')
    _edit(head, "rules_risk.cs", "  enabled false\n", "")


def _declarations(head: Path) -> None:
    _edit(head, "data.cs", 'region: enum("EMEA", "NA", "APAC")',
          'region: enum("EMEA", "NA", "APAC", "LATAM")')
    _edit(head, "data.cs", 'metric logins "Logins per day"', 'metric logins "Logins per day" '
          "missing 0\nmetric api_calls")
    _edit(head, "data.cs", 'pool Onboarders "Onboarding team"', 'pool Onboarders "Onboarders"')
    _edit(head, "data.cs", "limit new ctas per run 2000000",
          "limit new ctas per run 5000\nlimit open ctas per owner 40\nholidays \"US-CA\"")
    _edit(head, "data.cs", "role CS_Leader", "role CS_Ops\nrole CS_Leader")


CASES: dict[str, Callable[[Path], None]] = {
    "threshold": _threshold,
    "retimed_playbook": _retimed,
    "critical_path": _critical_path,
    "rules_added_removed": _rules_added_removed,
    "rule_properties": _rule_properties,
    "declarations": _declarations,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_text(specs: Path, case: str) -> None:
    CASES[case](specs / "head")
    result = csdsl("diff", "base", "head", cwd=specs)
    assert result.returncode == 2, result.stderr
    assert result.stderr == ""
    _golden(f"{case}.txt", result.stdout)


@pytest.mark.parametrize("case", ["threshold", "critical_path", "rules_added_removed"])
def test_golden_markdown(specs: Path, case: str) -> None:
    CASES[case](specs / "head")
    result = csdsl("diff", "base", "head", "--format", "markdown", cwd=specs)
    assert result.returncode == 2, result.stderr
    _golden(f"{case}.md", result.stdout)


@pytest.mark.slow  # two dry runs on the example data: about a second
@pytest.mark.parametrize("fmt", ["txt", "md"])
def test_threshold_volume_on_the_example_data(specs: Path, fmt: str) -> None:
    _threshold(specs / "head")
    result = csdsl("diff", "base", "head", "--data", "data", "--as-of", ASOF, "--format",
                   {"txt": "text", "md": "markdown"}[fmt], cwd=specs)
    assert result.returncode == 2, result.stderr
    _golden(f"threshold_volume.{fmt}", result.stdout)


@pytest.mark.slow
def test_threshold_volume_json(specs: Path) -> None:
    _threshold(specs / "head")
    result = csdsl("diff", "base", "head", "--data", "data", "--as-of", ASOF, "--format",
                   "json", "--examples", "1", cwd=specs)
    assert result.returncode == 2, result.stderr
    out = json.loads(result.stdout)
    assert out["changed"] is True
    assert out["rules"] == {"added": [], "removed": [], "changed": ["usage_drop"]}
    volume = out["volume"]
    assert set(volume["usage_drop"]) == {"base", "head"}
    assert volume["usage_drop"]["head"] - volume["usage_drop"]["base"] == \
        len(out["accounts"]["usage_drop"]["newly"]) > 0
    assert all(v["base"] == v["head"] for r, v in volume.items() if r != "usage_drop")
    assert set(volume) == {r.name for r in _artifact(specs / "base").rules}
    example = out["accounts"]["usage_drop"]["examples"]["newly"][0]
    assert example["head"]["value"] is True and example["base"]["value"] is False


def _owner_change(head: Path) -> None:
    """`usage_drop` goes to the AE (else the CSM) instead of the CSM (else the leader):
    the same accounts, other owners."""
    rules = head / "rules_risk.cs"
    text = rules.read_text(encoding="utf-8")
    start = text.index('rule usage_drop "')
    end = text.index("owner CSM or CS_Leader", start)
    rules.write_text(text[:end] + "owner AE or CSM" + text[end + len("owner CSM or CS_Leader"):],
                     encoding="utf-8")


def _json(specs: Path, *extra: str) -> dict[str, object]:
    result = csdsl("diff", "base", "head", "--data", "data", "--as-of", ASOF, "--format",
                   "json", "--examples", "0", *extra, cwd=specs)
    assert result.returncode == 2, result.stderr
    out = json.loads(result.stdout)
    assert isinstance(out, dict)
    return out


@pytest.mark.slow
def test_per_owner_counts_of_a_threshold_change(specs: Path) -> None:
    _threshold(specs / "head")
    out = _json(specs)
    owners = out["owners"]
    assert isinstance(owners, dict) and owners
    assert all(v["base"] != v["head"] for v in owners.values())
    # the 3 accounts the head newly opens for: one more CTA for their owners, all told
    assert sum(v["head"] - v["base"] for v in owners.values()) == 3
    changes = [abs(v["head"] - v["base"]) for v in owners.values()]
    assert changes == sorted(changes, reverse=True)  # largest changes first
    assert out["data"]["days"] == 1 and out["data"]["warm_up"] is None  # type: ignore[index]


@pytest.mark.slow
def test_an_owner_change_moves_ctas_between_owners(specs: Path) -> None:
    _owner_change(specs / "head")
    out = _json(specs)
    assert out["rules"] == {"added": [], "removed": [], "changed": ["usage_drop"]}
    volume = out["volume"]
    assert isinstance(volume, dict)
    assert volume["usage_drop"]["base"] == volume["usage_drop"]["head"] == 17
    owners = out["owners"]
    assert isinstance(owners, dict)
    lost = {o for o, v in owners.items() if v["head"] < v["base"]}
    gained = {o for o, v in owners.items() if v["head"] > v["base"]}
    assert any(o.startswith("csm") for o in lost)  # from the CSMs ...
    assert gained and all(o.startswith("ae") for o in gained)  # ... to the AEs
    assert sum(v["head"] - v["base"] for v in owners.values()) == 0
    text = csdsl("diff", "base", "head", "--data", "data", "--as-of", ASOF, "--examples",
                 "0", cwd=specs).stdout
    assert "CTAs per owner (plan objectives included), for the" in text
    top = sorted(owners.items(), key=lambda kv: (-abs(kv[1]["head"] - kv[1]["base"]), kv[0]))
    assert top[0][0] in text


@pytest.mark.slow  # two replays of 8 days each: about two seconds
@pytest.mark.parametrize("fmt", ["txt", "md"])
def test_a_week_on_the_example_data(specs: Path, fmt: str) -> None:
    _threshold(specs / "head")
    result = csdsl("diff", "base", "head", "--data", "data", "--as-of", ASOF, "--days", "7",
                   "--examples", "1", "--format", {"txt": "text", "md": "markdown"}[fmt],
                   cwd=specs)
    assert result.returncode == 2, result.stderr
    assert "over the 7 days to 2026-11-20, after a warm-up day" in result.stdout
    _golden(f"threshold_week.{fmt}", result.stdout)


@pytest.mark.slow
def test_a_week_json_counts_the_week_without_the_warm_up(specs: Path) -> None:
    from datetime import date

    from csdsl_runtime.backtest import backtest
    from csdsl_runtime.frame import read_frame

    _threshold(specs / "head")
    out = _json(specs, "--days", "7")
    assert out["data"]["days"] == 7  # type: ignore[index]
    assert out["data"]["warm_up"] == "2026-11-13"  # type: ignore[index]
    volume = out["volume"]
    assert isinstance(volume, dict)
    for side in ("base", "head"):
        artifact = _artifact(specs / side)
        frame = read_frame(str(DATA), artifact.schema_)
        try:
            replay = backtest(artifact, frame, date(2026, 11, 13), date(2026, 11, 20))
        finally:
            frame.close()
        assert replay.days[0].day == date(2026, 11, 13)
        plan_rules = {r.name for r in artifact.rules
                      if any(a.kind == "plan" for a in r.actions)}
        for rule in artifact.rules:
            week = sum(d.opened.get(rule.name, 0) for d in replay.days[1:])
            assert volume[rule.name][side] == (0 if rule.name in plan_rules else week)
        assert out["data"]["ctas"][side] == sum(  # type: ignore[index]
            v[side] for v in volume.values())
        # the warm-up day's backlog is left out: a first run opens far more
        assert sum(replay.backlog.values()) > out["data"]["ctas"][side]  # type: ignore[index]
    assert volume["usage_drop"]["head"] > volume["usage_drop"]["base"]
    owners = out["owners"]
    assert isinstance(owners, dict)
    assert sum(v["head"] - v["base"] for v in owners.values()) == \
        volume["usage_drop"]["head"] - volume["usage_drop"]["base"]


@pytest.mark.parametrize("days, message", [
    ("0", "0 days: give 1 to 3660"),
    ("-7", "-7 days: give 1 to 3660"),
    ("x", "`x` is not a number of days"),
])
def test_days_must_be_positive(specs: Path, days: str, message: str) -> None:
    result = csdsl("diff", "base", "head", "--data", "data", "--as-of", ASOF, "--days", days,
                   cwd=specs)
    assert result.returncode == 1
    assert "--days" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_days_needs_data(specs: Path) -> None:
    result = csdsl("diff", "base", "head", "--days", "7", cwd=specs)
    assert result.returncode == 1
    assert "--days needs --data DIR and --as-of DATE" in result.stderr


def test_json_keys_of_the_contract(specs: Path) -> None:
    _rules_added_removed(specs / "head")
    result = csdsl("diff", "base", "head", "--format", "json", cwd=specs)
    assert result.returncode == 2
    out = json.loads(result.stdout)
    assert out["changed"] is True
    assert out["rules"] == {"added": ["strategic_escalation"], "removed": ["login_decline"],
                            "changed": []}
    assert "volume" not in out  # only with data


def test_json_no_change(specs: Path) -> None:
    result = csdsl("diff", "base", "head", "--format", "json", cwd=specs)
    assert result.returncode == 0
    out = json.loads(result.stdout)
    assert out["changed"] is False
    assert out["rules"] == {"added": [], "removed": [], "changed": []}
    assert out["items"] == []


# ------------------------------------------------------------------ no change


def _mess_up(spec: Path) -> None:
    """The same meaning in another layout: no indentation, comments everywhere, a rule
    moved to a file of its own, the declarations of a file in reverse order."""
    for path in sorted(spec.glob("*.cs")):
        lines = path.read_text(encoding="utf-8").splitlines()
        text = "\n".join(f"{line.strip()}   \n# a comment" if line.strip().endswith("{")
                         else "    " + line.strip() for line in lines)
        path.write_text(text + "\n", encoding="utf-8")
    risk = spec / "rules_risk.cs"
    text = risk.read_text(encoding="utf-8")
    start = text.index("rule seat_underuse")
    end = text.index("rule login_decline")
    (spec / "zz_moved.cs").write_text(text[start:end], encoding="utf-8")
    risk.write_text(text[:start] + text[end:], encoding="utf-8")
    opportunity = spec / "rules_opportunity.cs"
    blocks = opportunity.read_text(encoding="utf-8").split("\nrule ")
    opportunity.write_text(blocks[0] + "\nrule " + "\nrule ".join(reversed(blocks[1:])),
                           encoding="utf-8")


def test_reformatting_and_reordering_is_no_change(specs: Path) -> None:
    head = specs / "head"
    _mess_up(head)
    assert csdsl("check", "head", cwd=specs).returncode == 0
    result = csdsl("diff", "base", "head", cwd=specs)
    assert result.returncode == 0, result.stdout + result.stderr
    first = result.stdout
    assert csdsl("fmt", "head", cwd=specs).returncode == 0
    result = csdsl("diff", "base", "head", cwd=specs)
    assert result.returncode == 0, result.stdout
    assert result.stdout == first
    _golden("no_change.txt", result.stdout)
    assert csdsl("diff", "base", "head", "--format", "markdown", cwd=specs).stdout == \
        "### csdsl diff: `base` → `head`\n\n**No change in meaning.**\n"


def test_reordered_conditions_are_no_change(specs: Path) -> None:
    _edit(specs / "head", "rules_risk.cs",
          'usage drops 30% over 30d and segment in ("Mid-Market", "Enterprise")',
          'segment in ("Enterprise", "Mid-Market") and usage drops 30% over 30d')
    result = csdsl("diff", "base", "head", cwd=specs)
    assert result.returncode == 0, result.stdout
    assert "artifacts differ only in the order" in result.stdout


def test_a_compiled_artifact_against_its_spec(specs: Path) -> None:
    assert csdsl("compile", "base", "-o", "base.json", cwd=specs).returncode == 0
    assert csdsl("diff", "base.json", "head", cwd=specs).returncode == 0
    _threshold(specs / "head")
    assert csdsl("compile", "head", "-o", "head.json", cwd=specs).returncode == 0
    result = csdsl("diff", "base.json", "head.json", "--format", "json", cwd=specs)
    assert result.returncode == 2
    assert json.loads(result.stdout)["rules"]["changed"] == ["usage_drop"]


# ------------------------------------------------------------------ git revisions


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                    "-c", "commit.gpgsign=false", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(specs: Path) -> Path:
    """A throwaway git repository: `spec/` at the example, then with a threshold change,
    then with an error."""
    repo = specs / "repo"
    repo.mkdir()
    shutil.copytree(specs / "base", repo / "spec")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "the example")
    _threshold(repo / "spec")
    _git(repo, "commit", "-q", "-am", "a lower threshold")
    _edit(repo / "spec", "rules_risk.cs", "segment in (\"Mid-Market\"", "segmnt in (\"Mid-Market\"")
    _git(repo, "commit", "-q", "-am", "a typo")
    return repo


def test_git_revisions(repo: Path) -> None:
    result = csdsl("diff", "main~2:spec", "main~1:spec", cwd=repo)
    assert result.returncode == 2, result.stderr
    _golden("git_revisions.txt", result.stdout)
    # from a subdirectory: PATH is from the top of the repository
    assert csdsl("diff", "main~2:spec/", "main~1:spec", cwd=repo / "spec").returncode == 2
    # a revision against the working tree (which has the typo)
    assert csdsl("diff", "main~1:spec", "../spec", cwd=repo / "spec").returncode == 1
    assert csdsl("diff", "main~1:./spec", "main~1:spec", cwd=repo).returncode == 0


def test_git_errors(repo: Path) -> None:
    bad = csdsl("diff", "nosuch:spec", "spec", cwd=repo)
    assert bad.returncode == 1
    assert "no revision `nosuch`" in bad.stderr
    missing = csdsl("diff", "main:nothing", "spec", cwd=repo)
    assert missing.returncode == 1
    assert "revision `main` has no `nothing`" in missing.stderr
    broken = csdsl("diff", "main~1:spec", "main:spec", cwd=repo)
    assert broken.returncode == 1
    assert "main:spec/rules_risk.cs:" in broken.stdout + broken.stderr
    assert "HEAD `main:spec` has errors" in broken.stderr
    assert "csdsl-diff-" not in broken.stdout + broken.stderr


# ------------------------------------------------------------------ exit statuses


def test_exit_statuses(specs: Path) -> None:
    assert csdsl("diff", "base", "head", cwd=specs).returncode == 0
    _edit(specs / "head", "rules_risk.cs", "priority low\n  reason \"License",
          "priority high\n  reason \"License")
    assert csdsl("diff", "base", "head", cwd=specs).returncode == 2
    _edit(specs / "head", "rules_risk.cs", "when csm_sentiment <= 3", "when csm_sentiment <= \"3\"")
    broken = csdsl("diff", "base", "head", cwd=specs)
    assert broken.returncode == 1
    assert "head/rules_risk.cs:" in broken.stderr and "error[" in broken.stderr
    assert "Traceback" not in broken.stderr


@pytest.mark.parametrize("args, message", [
    (["base"], "the following arguments are required: HEAD"),
    (["base", "head", "--format", "html"], "invalid choice"),
    (["base", "head", "--as-of", "2026-02-30"], "is not a date"),
    (["base", "head", "--examples", "x"], "`x` is not a number of examples"),
    (["base", "head", "--as-of", ASOF], "needs --data DIR"),
    (["base", "head", "--data", "data"], "needs --as-of DATE"),
    (["base", "nothing"], "HEAD `nothing`: no such file or directory"),
    (["base", "head", "--data", "nowhere", "--as-of", ASOF], "no data at `nowhere`"),
])
def test_errors_exit_1(specs: Path, args: list[str], message: str) -> None:
    result = csdsl("diff", *args, cwd=specs)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_data_exits_1(specs: Path) -> None:
    data = specs / "bad"
    shutil.copytree(DATA, data)
    with (data / "accounts.csv").open("a", encoding="utf-8") as out:
        out.write("A999999,Broken,Galactic,EMEA,lots,1,2026-01-01,2027-01-01,adoption,5,"
                  "true\n")
    result = csdsl("diff", "base", "head", "--data", "bad", "--as-of", ASOF, cwd=specs)
    assert result.returncode == 1
    assert "bad data in `bad`" in result.stderr
    assert "accounts.csv:" in result.stderr


def test_an_unreadable_artifact_exits_1(specs: Path) -> None:
    (specs / "x.json").write_text("{not json", encoding="utf-8")
    result = csdsl("diff", "x.json", "head", cwd=specs)
    assert result.returncode == 1
    assert result.stderr.startswith("csdsl: ")


# ------------------------------------------------------------------ the model


def _artifact(spec: Path) -> A.Artifact:
    from csdsl.driver import compile_spec

    artifact, diagnostics = compile_spec([spec])
    assert artifact is not None, diagnostics
    return artifact


class _WithEnvironment(A.Artifact, kw_only=True, frozen=True):
    """The artifact with the `environment` another change adds."""

    environment: str | None = None


def test_environment(specs: Path) -> None:
    artifact = _artifact(specs / "base")
    fields = {f: getattr(artifact, f) for f in artifact.__struct_fields__}
    kind = A.Artifact if "environment" in fields else _WithEnvironment
    staging = kind(**{**fields, "environment": "staging"})
    production = kind(**{**fields, "environment": "production"})
    diff = compare(staging, production)
    assert [(i.kind, i.status) for i in diff.items] == [("environment", "changed")]
    from csdsl.review.diff_render import Report, render_text

    text = render_text(Report("a", "b", "", "", "staging", "production", diff, None))
    assert "~ environment: staging → production\n" in text
    assert not compare(staging, staging).changed


def test_two_environments_of_one_spec(specs: Path) -> None:
    with (specs / "base" / "rules_risk.cs").open("a", encoding="utf-8") as out:
        out.write('\nenvironment staging {\n  rule usage_drop {\n    owner "qa@example.com"\n'
                  "  }\n}\nenvironment production {\n}\n")
    result = csdsl("diff", "base", "base", "--base-env", "staging", "--head-env",
                   "production", cwd=specs)
    assert result.returncode == 2, result.stderr
    assert "~ environment: staging → production\n" in result.stdout
    assert 'owner: "qa@example.com" → CSM or CS_Leader' in result.stdout
    assert csdsl("diff", "base", "base", "--env", "staging", cwd=specs).returncode == 0
    wrong = csdsl("diff", "base", "base", "--env", "stagin", cwd=specs)
    assert wrong.returncode == 1 and "did you mean `staging`" in wrong.stderr


def test_every_condition_renders_back_to_its_ir(specs: Path) -> None:
    """The source form of each condition of the examples compiles to the same IR."""
    base = _artifact(specs / "base")
    spec = specs / "roundtrip"
    spec.mkdir()
    shutil.copy(specs / "base" / "data.cs", spec)
    conditions: dict[str, A.Expr] = {}
    for rule in base.rules:
        parts = [rule.when, rule.close_when, rule.success.when if rule.success else None]
        for i, node in enumerate(parts):
            if node is not None:
                conditions[f"{rule.name}_{i}"] = node
    conditions["negative"] = A.Compare(cmp=">", left=A.Neg(arg=A.Latest(metric="usage")),
                                       right=A.Lit(type="number", value=-2.5))
    conditions["arith"] = A.Compare(cmp="<", left=A.Arith(
        fn="-", left=A.Latest(metric="usage"), right=A.Arith(
            fn="-", left=A.FieldRef(name="arr"), right=A.Lit(type="number", value=0.1))),
        right=A.Lit(type="number", value=3))
    conditions["where_or"] = A.Exists(event="nps_response", days=30, where=A.Or(args=(
        A.Compare(cmp=">=", left=A.EventFieldRef(name="score"),
                  right=A.Lit(type="number", value=9)),
        A.Compare(cmp="==", left=A.EventFieldRef(name="comment"),
                  right=A.Lit(type="text", value='a "quoted"\\ text')))))
    text = "".join(f"rule {name} {{\n  when {diff_cs.condition(node)}\n"
                   f"  then cta risk \"x\"\n}}\n" for name, node in conditions.items())
    (spec / "rules.cs").write_text(text, encoding="utf-8")
    again = {r.name: r.when for r in _artifact(spec).rules}
    for name, node in conditions.items():
        assert normal(again[name]) == normal(node), (name, diff_cs.condition(node))


def test_markdown_is_bounded(specs: Path) -> None:
    head = specs / "head"
    rules = "".join(
        f'rule many_{i:04d} "Rule number {i}" {{\n  when arr > {i}\n'
        f'  then cta risk "Rule {i} for {{{{ account.name }}}}"\n  owner CSM\n}}\n'
        for i in range(1500))
    (head / "many.cs").write_text(rules, encoding="utf-8")
    result = csdsl("diff", "base", "head", "--format", "markdown", cwd=specs)
    assert result.returncode == 2
    assert len(result.stdout) < 65_536
    assert "and 1440 more" in result.stdout
    assert result.stdout.count("<details>") == result.stdout.count("</details>")


def test_spans_and_hash_are_not_changes(specs: Path) -> None:
    base = _artifact(specs / "base")
    other = msgspec.structs.replace(base, spec_hash="sha256:" + "0" * 64,
                                    format_version="1.1")
    assert not compare(base, other).changed


# ------------------------------------------------------------------ environments, by default

_EMPTY_PRODUCTION = "environment production {\n}\n"
_PRODUCTION_OFF = "environment production {\n  rule usage_drop {\n    enabled false\n  }\n}\n"


def _env_file(spec: Path, text: str) -> None:
    (spec / "env.cs").write_text(text, encoding="utf-8")


def test_an_overlay_alone_is_a_change(specs: Path) -> None:
    """A pull request that switches a rule off in production, and nothing else."""
    _env_file(specs / "base", _EMPTY_PRODUCTION)
    _env_file(specs / "head", _PRODUCTION_OFF)
    text = csdsl("diff", "base", "head", cwd=specs)
    assert text.returncode == 2, text.stderr
    assert "no change in meaning" not in text.stdout
    assert "no change in the base spec\n" in text.stdout
    assert ("environment production: 1 change: 1 rule changed\n\n"
            '  ~ rule usage_drop "Usage dropped 30% in a month"\n'
            "      enabled: true → false\n") in text.stdout
    result = csdsl("diff", "base", "head", "--format", "json", cwd=specs)
    assert result.returncode == 2
    out = json.loads(result.stdout)
    assert out["changed"] is True
    assert out["items"] == [] and out["rules"]["changed"] == []
    production = out["environments"]["production"]
    assert production["changed"] is True
    assert production["rules"] == {"added": [], "removed": [], "changed": ["usage_drop"]}
    assert production["items"][0]["changes"] == [
        {"property": "enabled", "before": "true", "after": "false"}]
    markdown = csdsl("diff", "base", "head", "--format", "markdown", cwd=specs)
    assert markdown.returncode == 2
    assert "**No change in the base spec.**" in markdown.stdout
    assert "#### Environment `production`: 1 change: 1 rule changed." in markdown.stdout
    assert "+ enabled: false" in markdown.stdout
    # the same overlay on both sides: no change anywhere
    _env_file(specs / "base", _PRODUCTION_OFF)
    same = csdsl("diff", "base", "head", "--format", "json", cwd=specs)
    assert same.returncode == 0, same.stdout
    assert json.loads(same.stdout)["environments"] == {
        "production": {"changed": False, "rules": {"added": [], "removed": [], "changed": []},
                       "items": []}}


def test_an_introduced_environment(specs: Path) -> None:
    _env_file(specs / "head", _PRODUCTION_OFF)
    result = csdsl("diff", "base", "head", cwd=specs)
    assert result.returncode == 2, result.stderr
    assert "environment production: 2 changes: 1 environment added, 1 rule changed" \
        in result.stdout
    assert "  + environment: production\n" in result.stdout
    assert "      enabled: true → false\n" in result.stdout
    removed = csdsl("diff", "head", "base", "--format", "json", cwd=specs)
    assert removed.returncode == 2
    items = json.loads(removed.stdout)["environments"]["production"]["items"]
    assert [(i["kind"], i["status"]) for i in items] == [("environment", "removed"),
                                                          ("rule", "changed")]
    # `--env production`: the side that does not declare it is its base spec
    for args, change in ((["base", "head"], "true → false"),
                         (["head", "base"], "false → true")):
        chosen = csdsl("diff", *args, "--env", "production", cwd=specs)
        assert chosen.returncode == 2, chosen.stderr
        assert f"enabled: {change}" in chosen.stdout
        assert "(base spec: it declares no such environment)" in chosen.stdout
    wrong = csdsl("diff", "base", "head", "--env", "prodution", cwd=specs)
    assert wrong.returncode == 1
    assert "HEAD `head`" in wrong.stderr and "did you mean `production`" in wrong.stderr
    neither = csdsl("diff", "base", "base", "--env", "production", cwd=specs)
    assert neither.returncode == 1 and "declares no environment" in neither.stderr
    strict = csdsl("diff", "base", "head", "--base-env", "production", cwd=specs)
    assert strict.returncode == 1 and "declares no environment" in strict.stderr


def test_an_environment_does_not_repeat_the_base_spec_changes(specs: Path) -> None:
    for side in ("base", "head"):
        _env_file(specs / side, _EMPTY_PRODUCTION)
    _edit(specs / "head", "rules_risk.cs", "priority low\n  reason \"License",
          "priority high\n  reason \"License")
    result = csdsl("diff", "base", "head", "--format", "json", cwd=specs)
    assert result.returncode == 2
    out = json.loads(result.stdout)
    assert out["rules"]["changed"] and not out["environments"]["production"]["changed"]
    text = csdsl("diff", "base", "head", cwd=specs).stdout
    assert "environment production" not in text
    # an overlay on top of the base spec's change: the environment's rule, in full
    _env_file(specs / "head", _PRODUCTION_OFF.replace("usage_drop", out["rules"]["changed"][0]))
    out = json.loads(csdsl("diff", "base", "head", "--format", "json", cwd=specs).stdout)
    [item] = out["environments"]["production"]["items"]
    assert {c["property"] for c in item["changes"]} == {"priority", "enabled"}


def test_no_environment_no_extra_compile(specs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from csdsl import driver

    calls: list[str | None] = []
    real = driver.check_sources

    def counted(result: driver.Compilation, environment: str | None = None
                ) -> driver.Compilation:
        calls.append(environment)
        return real(result, environment)

    monkeypatch.setattr(driver, "check_sources", counted)
    assert csdsl("diff", "base", "head", cwd=specs).returncode == 0
    assert calls == [None, None]  # one check per side, as before environments
    calls.clear()
    _env_file(specs / "head", _EMPTY_PRODUCTION)
    assert csdsl("diff", "base", "head", cwd=specs).returncode == 2
    assert calls == [None, None, "production"]


@pytest.mark.parametrize("args", [
    ["base", "head", "--bogus"],
    ["base", "head", "extra"],
    ["--bogus", "diff", "base", "head"],
])
def test_unknown_arguments_exit_1(specs: Path, args: list[str]) -> None:
    command = args if args[0] == "--bogus" else ["diff", *args]
    result = csdsl(*command, cwd=specs)
    assert result.returncode == 1, result.stderr
    assert "csdsl diff: error: unrecognized arguments: " in result.stderr
    assert "Traceback" not in result.stderr


def test_other_commands_still_exit_2_on_unknown_arguments(specs: Path) -> None:
    for command in (["check", "base", "--bogus"], ["check", "base", "extra.cs", "--x"]):
        result = csdsl(*command, cwd=specs)
        assert result.returncode == 2
        assert "csdsl: error: unrecognized arguments: " in result.stderr
