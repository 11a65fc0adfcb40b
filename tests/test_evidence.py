"""The deciding values a run keeps with each CTA it opens, and the series they are read from.

A columnar run reads the series of the accounts it opened CTAs for from its frame
(`Frame.series_chunks`); they must be exactly what the row reader builds, so that the
kept traces are the reference interpreter's whatever the engine. Both are held here on
the example data, every account and every CTA.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from csdsl_runtime import Runtime, open_store, read_dataset, read_frame
from csdsl_runtime.explain import Trace, trace
from csdsl_runtime.ir import missing_values

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def artifact():  # type: ignore[no-untyped-def]
    from csdsl.driver import build, check_paths

    built = build(check_paths([ROOT / "examples" / "spec"]))
    assert built is not None
    return built


def test_series_chunks_are_the_row_readers_accounts(artifact) -> None:  # type: ignore[no-untyped-def]
    frame = read_frame(DATA, artifact.schema_)
    assert frame.columnar
    rows = read_dataset(DATA, artifact.schema_)
    wanted = list(reversed(frame.ids))[::2]  # any order, a subset
    seen: list[str] = []
    for chunk in frame.series_chunks(wanted, chunk=37):
        assert len(chunk) <= 37
        for account_id, account in chunk.items():
            assert account == rows.accounts[account_id], account_id
        seen += chunk
    assert sorted(seen) == sorted(wanted)
    only = frame.with_series(wanted[:5], metrics=["usage"], events=[])
    assert all(set(a.metrics) <= {"usage"} and not a.events for a in only.values())


def _evidence(store) -> dict[tuple[str, str], dict]:  # type: ignore[no-untyped-def,type-arg]
    out = {}
    for cta in store.list_ctas():
        found = store.cta_evidence(cta.id)
        assert found is not None
        _, kept = found
        assert kept is not None, (cta.rule, cta.account_id)
        out[(cta.rule, cta.account_id)] = kept["when"]
    return out


def test_every_cta_keeps_the_interpreters_trace_whatever_the_engine(
        artifact, tmp_path: Path) -> None:
    columnar = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    Runtime(artifact, read_frame(DATA, artifact.schema_), columnar).run(DAY)
    dataset = read_dataset(DATA, artifact.schema_)
    reference = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    Runtime(artifact, dataset, reference).run(DAY)
    kept = _evidence(columnar)
    assert kept == _evidence(reference) and len(kept) > 100
    rules = {r.name: r for r in artifact.rules}
    missing = missing_values(artifact.schema_)
    for (rule, account_id), when in kept.items():
        again = trace(rules[rule].when, dataset.accounts[account_id], DAY, missing)
        assert Trace.from_json(when) == again and again.value is True


def test_no_evidence_keeps_none(artifact, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    Runtime(artifact, read_frame(DATA, artifact.schema_), store, evidence=False).run(DAY)
    (cta, *_) = store.list_ctas()
    found = store.cta_evidence(cta.id)
    assert found is not None and found[1] is None
    assert json.loads(json.dumps(found[0]))["id"] == cta.id
    assert store.cta_evidence(10**9) is None and store.cta_evidence(-1) is None
