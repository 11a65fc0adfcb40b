"""Bulk actions build exactly what the account-by-account builder builds.

`batch.BatchBuilder` opens a rule's CTAs as columns (what the run writes);
`actions.ActionBuilder` builds them as records one account at a time (the reference, and
what plans use). Both are held to the same CTAs, tasks, owners, dates, pool rotation,
fallback and unassigned counts and template counts, on the example spec with generated
data (accounts missing roles, pools), and for random templates over random values.
The store's bulk insert is checked against an open CTA it must not duplicate.
"""

from __future__ import annotations

import importlib.util
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from csdsl_runtime import artifact as A
from csdsl_runtime.actions import ActionBuilder, template_context
from csdsl_runtime.batch import AccountColumns, BatchBuilder
from csdsl_runtime.data import AccountData
from csdsl_runtime.frame import read_frame
from csdsl_runtime.records import CtaRecord, PlanRecord
from csdsl_runtime.sources import read_dataset
from csdsl_runtime.stores import open_store
from csdsl_runtime.templates import VALUE_LIMIT, Renderer
from tests.pgserver import postgres_server, postgres_url  # noqa: F401 - fixtures
from tests.rtkit import ASOF, compile_spec_text

ROOT = Path(__file__).resolve().parent.parent


def _generate(directory: Path, accounts: int, seed: int) -> None:
    spec = importlib.util.spec_from_file_location("generate_data",
                                                  ROOT / "examples" / "generate_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(directory, accounts, 30, ASOF, seed)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[A.Artifact, Path]:
    from csdsl.driver import compile_spec

    artifact, _ = compile_spec([ROOT / "examples" / "spec"])
    assert artifact is not None
    directory = tmp_path_factory.mktemp("batch") / "data"
    _generate(directory, 240, 11)
    # some accounts lose roles, so that chains fall through to the next choice or a pool
    team = (directory / "team.csv").read_text(encoding="utf-8").splitlines()
    rng = random.Random(3)
    kept = [team[0]] + [row for row in team[1:] if rng.random() > 0.3]
    (directory / "team.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return artifact, directory


def _reference(artifact: A.Artifact, accounts: list[AccountData], rule: A.Rule,
               rows: list[int], cursors: dict[str, int], pools: dict[str, list[str]]
               ) -> tuple[list[CtaRecord], list[PlanRecord], ActionBuilder]:
    builder = ActionBuilder(artifact, _Pools(pools), cursors)  # type: ignore[arg-type]
    ctas: list[CtaRecord] = []
    plans: list[PlanRecord] = []
    for row in rows:
        for index, action in enumerate(rule.actions):
            if isinstance(action, A.CtaAction):
                ctas.append(builder.cta(rule, index, action, accounts[row], ASOF))
            else:
                plans.append(builder.plan(rule, index, action, accounts[row], ASOF))
    return ctas, plans, builder


class _Pools:
    def __init__(self, pools: dict[str, list[str]]) -> None:
        self.pools = pools


def _bulk(artifact: A.Artifact, columns: AccountColumns, rule: A.Rule, rows: list[int],
          cursors: dict[str, int], pools: dict[str, list[str]]
          ) -> tuple[list[CtaRecord], list[PlanRecord], ActionBuilder]:
    builder = ActionBuilder(artifact, _Pools(pools), cursors)  # type: ignore[arg-type]
    batches, plans = BatchBuilder(builder, columns).open(rule, rows, ASOF)
    records = [batch.records() for batch in batches]
    ctas = [r[k] for k in range(len(rows)) for r in records]  # row by row, as opened
    return ctas, plans, builder


def _counts(builder: ActionBuilder) -> tuple[Any, ...]:
    r = builder.renderer
    gaps = sorted((g.rule, g.where, g.chain, g.outcome, g.count, tuple(g.accounts))
                  for g in builder.owners.gaps.values())
    return (builder.owners.cursors, builder.owners.fallbacks, builder.owners.unassigned,
            gaps, r.errors, r.truncated, sorted((p.rule, p.account, p.where, p.reason, p.outcome)
                                          for p in r.problems))


@pytest.mark.parametrize("source", ["dataset", "frame"])
def test_every_example_rule_builds_the_same_in_bulk(example: tuple[A.Artifact, Path],
                                                    source: str) -> None:
    artifact, directory = example
    dataset = read_dataset(directory, artifact.schema_)
    accounts = list(dataset.accounts.values())
    if source == "frame":
        frame = read_frame(directory, artifact.schema_)
        assert frame.columnar and frame.ids == [a.id for a in accounts]
        columns = AccountColumns.of_frame(frame)
    else:
        columns = AccountColumns.of_dataset(dataset, artifact.schema_)
    rng = random.Random(5)
    checked = 0
    for rule in artifact.rules:
        rows = sorted(rng.sample(range(len(accounts)), 90))
        cursors = {pool: rng.randrange(5) for pool in dataset.pools}
        expected = _reference(artifact, accounts, rule, rows, dict(cursors), dataset.pools)
        got = _bulk(artifact, columns, rule, rows, dict(cursors), dataset.pools)
        assert got[0] == expected[0], rule.name
        assert got[1] == expected[1], rule.name
        assert _counts(got[2]) == _counts(expected[2]), rule.name
        checked += len(got[0]) + len(got[1])
    assert checked > 1000
    assert any(a.team.get("CSM") is None for a in accounts)  # chains fall through


_SPEC = """
pool Desk
pool Empty
playbook P {
  task a "{TITLE}" {
    day 0
    owner CSM or pool Desk
  }
  task b "Call" {
    day 2
    owner AE
    description "{TITLE}"
  }
}
rule r "Risk for {{ account.name }}" {
  when arr > 0
  then cta risk "{TITLE}"
  owner AE or pool Desk
  reason "{REASON}"
  playbook P
}
"""

_PIECES = ["Plain ", "{{ account.name }}", "{{ account.arr }}", "{{ account.renewal_date }}",
           "{{ account.id }}", "{{ rule.title }}", "{{ rule.name }}", "{{ asof }}",
           "{{ account.name | upper }}", " - ", "{{ account.segment }}",
           "{{ account.nope }}", "{{ rule.nope }}", "{{ 1 + 1 }}"]
_VALUES = {
    "name": st.one_of(st.none(), st.text(max_size=8), st.just("x" * (VALUE_LIMIT + 1)),
                      st.just("a\x00b"), st.just("y" * 300)),
    "arr": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                     st.integers(-10, 10).map(float)),
    "renewal_date": st.one_of(st.none(), st.dates()),
    "segment": st.one_of(st.none(), st.sampled_from(["SMB", "Enterprise"])),
}


@settings(max_examples=60, deadline=None)
@given(title=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=4).map("".join),
       long_reason=st.booleans(),
       values=st.lists(st.fixed_dictionaries(_VALUES), min_size=1, max_size=6),
       roles=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=6, max_size=6))
def test_random_templates_and_values_build_the_same_in_bulk(
    tmp_path_factory: pytest.TempPathFactory, title: str, long_reason: bool,
    values: list[dict[str, Any]], roles: list[tuple[bool, bool]],
) -> None:
    artifact = _with_templates(_artifact(tmp_path_factory, _SPEC.replace("{TITLE}", "T")
                                         .replace("{REASON}", "why")),
                               title, "r" * (10_001 if long_reason else 20))
    accounts = [
        AccountData(f"a{i}", {k: v for k, v in row.items() if v is not None},
                    {r: f"{r.lower()}{i}" for r, on in zip(("CSM", "AE"), roles[i], strict=True)
                     if on})
        for i, row in enumerate(values)
    ]
    columns = AccountColumns([a.id for a in accounts], artifact.schema_,
                             lambda i: [a.fields.get(artifact.schema_.account[i].name)
                                        for a in accounts],
                             lambda role: [a.team.get(role) for a in accounts])
    pools = {"Desk": ["d1", "d2", "d3"]}
    rule = artifact.rules[0]
    rows = list(range(len(accounts)))
    expected = _reference(artifact, accounts, rule, rows, {"Desk": 1}, pools)
    got = _bulk(artifact, columns, rule, rows, {"Desk": 1}, pools)
    assert got[0] == expected[0]
    assert _counts(got[2]) == _counts(expected[2])


_ARTIFACTS: dict[str, A.Artifact] = {}


def _with_templates(artifact: A.Artifact, title: str, reason: str) -> A.Artifact:
    """The artifact with `title` as the CTA's, a task's title and a task's description:
    also templates the checker refuses (an unknown field), as a hand-made artifact has."""
    rule = artifact.rules[0]
    action = replace(rule.actions[0], title=title)
    playbook = artifact.playbooks[0]
    first, second = playbook.tasks
    tasks = (replace(first, title=title), replace(second, description=title))
    return replace(artifact, rules=(replace(rule, actions=(action,), reason=reason),),
                   playbooks=(replace(playbook, tasks=tasks),))


def _artifact(factory: pytest.TempPathFactory, text: str) -> A.Artifact:
    found = _ARTIFACTS.get(text)
    if found is None:
        found = _ARTIFACTS[text] = compile_spec_text(
            factory.mktemp("spec"), text, data=_DATA)
    return found


_DATA = """
account {
  name: text
  segment: enum("SMB", "Enterprise")
  arr: number
  renewal_date: date
}
role CSM
role AE
"""


def test_render_rows_reads_columns_without_a_context_per_row() -> None:
    """A plain substitution never builds a context: only the rows Jinja must decide do."""
    renderer = Renderer()
    asked: list[int] = []

    def context(row: int) -> dict[str, Any]:
        asked.append(row)
        return template_context(_RULE, AccountData(f"a{row}", {"name": names[row]}, {}),
                                _SCHEMA, date(2026, 1, 2))

    names: list[Any] = ["Acme", None, 3.0, "x" * (VALUE_LIMIT + 1)]
    out = renderer.render_rows("Hi {{ account.name }}", range(4), context,
                               lambda root, attr: names if attr == "name" else None)
    assert out[:3] == ["Hi Acme", "Hi ", "Hi 3"]
    assert asked == [3]  # the value too large for a substitution: Jinja fails it
    assert renderer.errors == 1 and out[3] == "Hi {{ account.name }}"


_SCHEMA = A.DataSchema(account=(A.AccountField(name="name", type="text"),))
_RULE = A.Rule(name="r", when=A.Lit(type="bool", value=True), actions=())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_the_bulk_insert_skips_an_open_cta_and_its_tasks(tmp_path: Path, store_url: str
                                                          ) -> None:
    artifact = compile_spec_text(tmp_path, _SPEC.replace("{TITLE}", "T {{ account.name }}")
                                 .replace("{REASON}", "why"), data=_DATA)
    accounts = [AccountData(f"a{i}", {"name": f"N{i}", "arr": 1.0}, {"AE": "ae"})
                for i in range(4)]
    columns = AccountColumns([a.id for a in accounts], artifact.schema_,
                             lambda i: [a.fields.get(artifact.schema_.account[i].name)
                                        for a in accounts],
                             lambda role: [a.team.get(role) for a in accounts])
    store = open_store(store_url)
    rule = artifact.rules[0]
    try:
        with store.transaction():
            builder = ActionBuilder(artifact, _Pools({"Desk": ["d"]}), {})  # type: ignore[arg-type]
            first, _ = BatchBuilder(builder, columns).open(rule, [1], ASOF)
            assert store.insert_cta_columns(first[0]) == [True]
            batches, _ = BatchBuilder(builder, columns).open(rule, [0, 1, 2, 3], ASOF)
            assert store.insert_cta_columns(batches[0], run_id=7) == [True, False, True, True]
        ctas = store.list_ctas()
        assert sorted(c.account_id for c in ctas) == ["a0", "a1", "a2", "a3"]
        assert all(len(c.tasks) == 2 for c in ctas)
        assert sorted(t.title for c in ctas for t in c.tasks if t.key == "a") == [
            "T N0", "T N1", "T N2", "T N3"]
        assert {c.title for c in ctas if c.account_id == "a2"} == {"T N2"}
        assert store.counts()["tasks"] == 8
        ids = sorted(c.id for c in ctas if c.id is not None)
        assert len(set(ids)) == 4 and all(t.cta_id in ids for c in ctas for t in c.tasks)
    finally:
        store.close()


_CHOICES = [A.OwnerChoice(kind="role", name="CSM"), A.OwnerChoice(kind="role", name="AE"),
            A.OwnerChoice(kind="user", name="lead"), A.OwnerChoice(kind="pool", name="Desk"),
            A.OwnerChoice(kind="pool", name="Empty"), A.OwnerChoice(kind="pool", name="Nope")]
_CHAINS = st.one_of(st.none(), st.lists(st.sampled_from(_CHOICES), min_size=1, max_size=3)
                    .map(lambda chain: A.Owner(chain=tuple(chain))))


@settings(max_examples=80, deadline=None)
@given(chains=st.tuples(_CHAINS, _CHAINS, _CHAINS),
       roles=st.lists(st.tuples(st.sampled_from([None, "", "x"]),
                                st.sampled_from([None, "", "y"])), min_size=1, max_size=9),
       cursor=st.integers(0, 7), second=st.booleans())
def test_owner_chains_resolve_as_columns_as_row_by_row(
    tmp_path_factory: pytest.TempPathFactory, chains: tuple[A.Owner | None, ...],
    roles: list[tuple[str | None, str | None]], cursor: int, second: bool,
) -> None:
    """Roles present, missing or blank, named users, pools with members, empty and
    unknown, in any order, over one or two CTA actions: the same owners, pool positions,
    fallbacks and unassigned counts as the account-by-account builder."""
    artifact = _artifact(tmp_path_factory, _SPEC.replace("{TITLE}", "T")
                         .replace("{REASON}", "why"))
    rule = artifact.rules[0]
    playbook = artifact.playbooks[0]
    first, other = playbook.tasks
    actions = (rule.actions[0], rule.actions[0]) if second else (rule.actions[0],)
    artifact = replace(artifact, rules=(replace(rule, owner=chains[0], actions=actions),),
                       playbooks=(replace(playbook, tasks=(replace(first, owner=chains[1]),
                                                           replace(other, owner=chains[2]))),))
    accounts = [AccountData(f"a{i}", {}, {r: u for r, u in zip(("CSM", "AE"), pair,
                                                               strict=True) if u is not None})
                for i, pair in enumerate(roles)]
    columns = AccountColumns([a.id for a in accounts], artifact.schema_,
                             lambda i: [None] * len(accounts),
                             lambda role: [a.team.get(role) for a in accounts])
    pools = {"Desk": ["d1", "d2", "d3"], "Empty": []}
    rows = list(range(len(accounts)))
    expected = _reference(artifact, accounts, artifact.rules[0], rows, {"Desk": cursor}, pools)
    got = _bulk(artifact, columns, artifact.rules[0], rows, {"Desk": cursor}, pools)
    assert got[0] == expected[0]
    assert _counts(got[2]) == _counts(expected[2])
