"""Environments: overlays merged at compile time (`csdsl compile --env NAME`), one spec
promoted from staging to production without copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl import ast
from csdsl.driver import check_environments, compile_spec, read_sources
from csdsl.fmt import format_text
from csdsl.source import UsageError
from csdsl.syntax.parser import parse_text
from csdsl_runtime import artifact as A
from csdsl_runtime.loader import load_data

from . import clikit
from .conftest import EXAMPLES
from .test_fmt import _assert_layout_only, _respace

BASE = """
account { name: text  segment: enum("SMB", "Enterprise") }
metric usage
role CSM
role AE
playbook Drop { task call "Call" { day 2  owner CSM or AE } }

rule usage_drop "Usage dropped" {
  when usage drops 30% over 30d
  then cta risk "Usage dropped for {{ account.name }}"
  owner CSM
  priority high
  playbook Drop
}
"""

ENVIRONMENTS = """
environment staging {
  rule usage_drop {
    owner "qa-team@example.com"
    when usage drops 50% over 30d
    enabled false
  }
}

environment production {
}
"""


def _spec(tmp_path: Path, *texts: str) -> Path:
    spec = tmp_path / "spec"
    spec.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        (spec / f"f{i}.cs").write_text(text, encoding="utf-8")
    return spec


def _rule(spec: Path, environment: str | None, name: str = "usage_drop") -> A.Rule:
    artifact, diagnostics = compile_spec([spec], environment)
    assert artifact is not None, [d.message for d in diagnostics]
    (rule,) = [r for r in artifact.rules if r.name == name]
    return rule


# ---------------------------------------------------------------- what an overlay replaces

# (overlay items, what the compiled rule then has: a function of the rule -> value, expected)
OVERLAYS: list[tuple[str, str, object]] = [
    ('owner "qa@example.com"', "owner", (("user", "qa@example.com"),)),
    ("owner AE or CSM", "owner", (("role", "AE"), ("role", "CSM"))),
    ("when usage drops 50% over 30d", "threshold", -0.5),
    ("enabled false", "enabled", False),
    ("priority low", "priority", "low"),
    ('then cta opportunity "Staging"', "actions", (("opportunity", "Staging"),)),
    ('then cta risk "A"  then cta activity "B"', "actions", (("risk", "A"), ("activity", "B"))),
    ("cooldown 10d", "cooldown", 10),
    ("due 5d", "due", 5),
]


def _observed(rule: A.Rule, what: str) -> object:
    match what:
        case "owner":
            assert rule.owner is not None
            return tuple((c.kind, c.name) for c in rule.owner.chain)
        case "threshold":
            assert isinstance(rule.when, A.Compare) and isinstance(rule.when.right, A.Lit)
            return rule.when.right.value
        case "actions":
            return tuple((a.type, a.title) for a in rule.actions if isinstance(a, A.CtaAction))
    return getattr(rule, what)


@pytest.mark.parametrize(("items", "what", "expected"), OVERLAYS,
                         ids=[o[0].split()[0] + "-" + o[1] for o in OVERLAYS])
def test_an_overlay_replaces_the_properties_it_gives(tmp_path: Path, items: str, what: str,
                                                     expected: object) -> None:
    spec = _spec(tmp_path, BASE, f"environment staging {{ rule usage_drop {{ {items} }} }}")
    base = _rule(spec, None)
    staged = _rule(spec, "staging")
    assert _observed(staged, what) == expected
    assert _observed(base, what) != expected  # the base spec is as written
    # what the overlay does not give stays the base rule's
    untouched = {"owner", "when", "enabled", "priority", "actions", "cooldown", "due"} - {
        "when" if what == "threshold" else what}
    for field in untouched:
        assert getattr(staged, field) == getattr(base, field), field
    assert staged.playbook == "Drop" and staged.title == "Usage dropped"


def test_an_overlay_title_replaces_the_title(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, 'environment staging { rule usage_drop "Staging drop" { } }')
    assert _rule(spec, "staging").title == "Staging drop"
    assert _rule(spec, None).title == "Usage dropped"


# ---------------------------------------------------------------- the artifact


def test_the_artifact_names_its_environment_and_each_has_its_hash(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, ENVIRONMENTS)
    artifacts = {}
    for env in (None, "staging", "production"):
        artifact, _ = compile_spec([spec], env)
        assert artifact is not None and artifact.environment == env
        artifacts[env] = artifact
    hashes = {a.spec_hash for a in artifacts.values()}
    assert len(hashes) == 3  # production overlays nothing, and still has its own hash
    data = json.loads(artifacts["production"].to_json())
    assert data["environment"] == "production"
    loaded = load_data(data)
    assert loaded.environment == "production" and loaded.to_json() == artifacts[
        "production"].to_json()
    assert "environment" not in json.loads(artifacts[None].to_json())


def test_a_spec_without_environments_keeps_its_bytes(tmp_path: Path) -> None:
    """No `environment` key at all: the artifact and hash it had before environments
    (a spec that declares some, compiled without --env, is the same base)."""
    plain, _ = compile_spec([_spec(tmp_path / "a", BASE)])
    with_envs, _ = compile_spec([_spec(tmp_path / "b", BASE, ENVIRONMENTS)])
    assert plain is not None and with_envs is not None
    assert plain.to_json() == with_envs.to_json()
    assert "environment" not in json.loads(plain.to_json())
    examples, _ = compile_spec([EXAMPLES])
    assert examples is not None and '"environment"' not in examples.to_json()


def test_an_older_artifact_without_the_field_loads(tmp_path: Path) -> None:
    artifact, _ = compile_spec([_spec(tmp_path, BASE)])
    assert artifact is not None
    data = json.loads(artifact.to_json())
    data.pop("environment", None)
    assert load_data(data).environment is None


# ---------------------------------------------------------------- diagnostics


def _check(spec: Path) -> list[tuple[str, str]]:
    result = check_environments(read_sources([spec]))
    return [(d.code, d.message) for d in result.diagnostics]


def test_an_overlay_of_an_unknown_rule_is_cs0215_with_did_you_mean(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, "environment staging { rule usage_dorp { enabled false } }")
    result = check_environments(read_sources([spec]))
    (found,) = result.diagnostics
    assert found.code == "CS0215" and found.suggestion == "usage_drop"
    assert "environment `staging` overlays rule `usage_dorp`" in found.message


def test_an_environment_declared_twice_shows_both_places(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, "environment staging { }", "environment staging { }")
    result = check_environments(read_sources([spec]))
    (found,) = result.diagnostics
    assert found.code == "CS0200" and found.message == "environment `staging` is declared twice"
    assert found.span.file.endswith("f2.cs") and found.related[0].span.file.endswith("f1.cs")


def test_environments_have_their_own_namespace(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, "environment usage_drop { rule usage_drop { enabled false } }")
    assert _check(spec) == []
    assert not _rule(spec, "usage_drop").enabled


def test_environments_do_not_nest(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, "environment staging { environment qa { } }")
    assert [c for c, _ in _check(spec)] == ["CS0705"]


def test_a_problem_only_in_an_overlay_names_its_environment(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, ENVIRONMENTS.replace(
        "enabled false", 'enabled false\n    when segment == "Enterprize"').replace(
        "when usage drops 50% over 30d\n", ""))
    assert _check(spec) == [
        ("CS0301", "in environment `staging`: `\"Enterprize\"` is not a value of `segment`")]
    artifact, diagnostics = compile_spec([spec], "staging")
    assert artifact is None
    assert [d.message for d in diagnostics] == [
        "in environment `staging`: `\"Enterprize\"` is not a value of `segment`"]
    base, diagnostics = compile_spec([spec])  # the base spec does not have it
    assert base is not None and diagnostics == []


def test_the_same_problem_in_several_environments_is_reported_once(tmp_path: Path) -> None:
    """An overlay that swaps the CTA for a plan makes the base rule's `playbook` wrong,
    in both environments, at the same place."""
    plan = "plan Onboard { objective o { task t } }\n"
    overlay = "rule usage_drop { then plan Onboard }"
    spec = _spec(tmp_path, BASE, plan,
                 f"environment staging {{ {overlay} }}\nenvironment qa {{ {overlay} }}")
    found = _check(spec)
    assert len(found) == 1
    code, message = found[0]
    assert code == "CS0703" and message.startswith("in environments `staging`, `qa`: ")


def test_a_base_problem_is_reported_once_and_without_environment(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE.replace("owner CSM\n  priority", "owner CMS\n  priority"),
                 ENVIRONMENTS)
    found = _check(spec)
    # staging replaces the owner, production keeps the base's unknown role: once, as base
    assert found == [("CS0204", "unknown role `CMS`")]


def test_what_only_an_overlay_names_is_used(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE + 'role Tester\nplaybook StagingDrop { task t "T" }\n',
                 "environment staging { rule usage_drop { owner Tester  playbook StagingDrop } }")
    assert _check(spec) == []  # no CS0600/CS0601: neither in the base nor in staging


def test_a_spec_without_environments_is_checked_once(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from csdsl import driver

    calls: list[object] = []
    real = driver.analyze

    def counting(*args: object) -> object:
        calls.append(args[1:])
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(driver, "analyze", counting)
    check_environments(read_sources([_spec(tmp_path, BASE)]))
    assert calls == [(None,)]


def test_an_unknown_environment_is_a_usage_error(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, ENVIRONMENTS)
    with pytest.raises(UsageError, match="did you mean `staging`"):
        compile_spec([spec], "stagin")
    with pytest.raises(UsageError, match="declares no environment"):
        compile_spec([_spec(tmp_path / "plain", BASE)], "staging")


# ---------------------------------------------------------------- syntax and layout

FORMATTED = """\
rule usage_drop {
  when usage drops 30% over 30d
  then cta risk "Usage dropped"
}

environment staging {  # the QA tenant
  rule usage_drop "Staging" {
    owner "qa-team@example.com"  # not the CSMs
    when usage drops 50% over 30d
    enabled false
  }

  # production keeps the base
  rule other {
    then cta risk "x"
  }
}

environment production {
}
"""


def test_fmt_prints_environments_canonically() -> None:
    messy = FORMATTED.replace("\n  ", "\n ").replace("staging {", "staging{").replace(
        "  enabled false\n  }", "  enabled false }")
    out, diagnostics = format_text("e.cs", messy)
    assert diagnostics == [] and out == FORMATTED
    assert format_text("e.cs", FORMATTED) == (FORMATTED, [])


@st.composite
def _mangled(draw: st.DrawFn) -> str:
    """Environment blocks with their white space changed at random and comments added."""
    text = draw(st.sampled_from([FORMATTED, ENVIRONMENTS, BASE + ENVIRONMENTS]))
    return _respace(draw, text, comments=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mangled())
def test_fmt_is_idempotent_on_environment_blocks(mangled: str) -> None:
    out, diagnostics = format_text("e.cs", mangled)
    assert out is not None, diagnostics
    _assert_layout_only(mangled, out)


def test_environment_is_reserved() -> None:
    from csdsl.semantic import analyze

    parsed, diagnostics = parse_text("a.cs", "metric environment\n")
    assert [d.code for d in [*diagnostics, *analyze([parsed])[1]]] == ["CS0100"]
    parsed, _ = parse_text("a.cs", "environment e { rule r { enabled false } }")
    (env,) = parsed.decls
    assert isinstance(env, ast.EnvironmentDecl) and env.name.value == "e"


def test_a_declaration_after_an_unclosed_environment_still_parses() -> None:
    parsed, diagnostics = parse_text("a.cs", "environment s {\n  rule r { enabled false }\n\n"
                                             "playbook P { task t }\n")
    assert [d.code for d in diagnostics] == ["CS0107"]
    assert [type(d).__name__ for d in parsed.decls] == ["EnvironmentDecl", "PlaybookDecl"]


# ---------------------------------------------------------------- the real command


def test_compile_env_end_to_end(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, ENVIRONMENTS)
    out = tmp_path / "staging.json"
    result = clikit.csdsl("compile", str(spec), "-o", str(out), "--env", "staging")
    assert result.returncode == 0, result.stderr
    assert "environment staging" in result.stderr
    data = json.loads(out.read_text())
    assert data["environment"] == "staging"
    (rule,) = data["rules"]
    assert rule["enabled"] is False and rule["owner"]["chain"][0]["name"] == "qa-team@example.com"
    base = clikit.csdsl("compile", str(spec), "-o", str(tmp_path / "base.json"))
    assert base.returncode == 0 and "the base spec: no --env" in base.stderr
    assert "environment" not in json.loads((tmp_path / "base.json").read_text())


def test_compile_unknown_env_exits_2_with_did_you_mean(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, ENVIRONMENTS)
    result = clikit.csdsl("compile", str(spec), "-o", "-", "--env", "prodution")
    assert result.returncode == 2 and result.stdout == ""
    assert "did you mean `production`?" in result.stderr


def test_check_end_to_end_names_the_environment(tmp_path: Path) -> None:
    spec = _spec(tmp_path, BASE, "environment staging { rule usage_drop { owner CMS } }")
    result = clikit.csdsl("check", "--color", "never", str(spec))
    assert result.returncode == 1
    assert "error[CS0204]: in environment `staging`: unknown role `CMS`" in result.stdout
    assert clikit.csdsl("compile", str(spec), "-o", "-").returncode == 0  # the base is clean


def test_run_env_compiles_the_environment(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(EXAMPLES, spec)
    (spec / "environments.cs").write_text(
        "environment staging {\n  rule usage_drop { enabled false }\n}\n", encoding="utf-8")
    data = EXAMPLES.parent / "data"

    def opened(*env: str) -> int:
        result = clikit.csdsl("run", str(spec), "--data", str(data), "--as-of", "2026-11-19",
                              "--dry-run", "--format", "json", "--quiet", "--store",
                              f"sqlite:///{tmp_path / 'store.db'}", *env)
        assert result.returncode == 0, result.stderr
        (row,) = [r for r in json.loads(result.stdout)["rules"] if r["rule"] == "usage_drop"]
        return int(row["opened"])

    assert opened() > 0
    assert opened("--env", "staging") == 0
    compiled = tmp_path / "staging.json"
    assert clikit.csdsl("compile", str(spec), "-o", str(compiled), "--env", "staging"
                        ).returncode == 0
    refused = clikit.csdsl("run", str(compiled), "--data", str(data), "--as-of", "2026-11-19",
                           "--dry-run", "--env", "staging")
    assert refused.returncode == 2 and "compiled already" in refused.stderr
