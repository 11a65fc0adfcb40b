"""`ReplayStore` (what `csdsl backtest` replays into) keeps the run state between runs:
before every run it must equal what `SqlStore.load_state` reads from the same rows in
full, through closes, successes, plans, re-arming, limits that roll a run back, hand
closes and deletions, and a backfill (read in full)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from csdsl_runtime import Runtime, loader, read_dataset
from csdsl_runtime.limits import LimitError
from csdsl_runtime.records import RunState
from csdsl_runtime.stores.replay import ReplayStore
from csdsl_runtime.stores.sql import SqlStore
from tests.rtkit import ASOF, Data, compile_spec_text

from .clikit import csdsl
from .conftest import EXAMPLES, ROOT


def _plain(state: RunState) -> dict[str, Any]:
    """A state's content, its orders left out where a run does not depend on them."""
    return {"open_ctas": {k: sorted(v) for k, v in state.open_ctas.items()},
            "open_plans": {k: sorted(v) for k, v in state.open_plans.items()},
            "last_closed": state.last_closed, "covered": state.covered,
            "pending_success": sorted(state.pending_success),
            "pool_cursors": state.pool_cursors, "disarmed": state.disarmed,
            "enrolments": {k: sorted(v) for k, v in state.enrolments.items()}}


class _Checked(ReplayStore):
    """Every state it gives, checked against a full read of the same store."""

    def __init__(self) -> None:
        super().__init__()
        self.checked = 0
        self.seen: set[str] = set()  # the parts of the state that were not empty

    def load_state(self, rules: Any, asof: date | None = None, scored: Any = None,
                   windows: Any = None) -> RunState:
        kept = super().load_state(rules, asof, scored, windows)
        full = SqlStore.load_state(self, rules, asof, scored, windows)
        plain = _plain(kept)
        assert plain == _plain(full), asof
        assert self.open_work_by_rule() == SqlStore.open_work_by_rule(self)
        for spec in ("sha256:none", *{c.spec_hash for c in self.list_ctas()}):
            assert self.open_under_other_specs(spec) == SqlStore.open_under_other_specs(
                self, spec)
        self.seen |= {part for part, value in plain.items() if value}
        self.checked += 1
        return kept


def test_the_kept_state_equals_a_full_read_every_day_of_the_examples(
        tmp_path: Path) -> None:
    artifact_path = tmp_path / "spec.json"
    got = csdsl("compile", str(EXAMPLES), "-o", str(artifact_path))
    assert got.returncode == 0, got.stderr
    artifact = loader.load(artifact_path)
    data = read_dataset(ROOT / "examples" / "data", artifact.schema_)
    store = _Checked()
    runtime = Runtime(artifact, data, store, evidence=False)
    day = date(2026, 10, 20)
    while day <= date(2026, 11, 20):
        runtime.run(day)
        if day.day % 7 == 0:  # a person closes one by hand, between two runs
            open_ = [c for c in store.list_ctas() if c.status == "open"]
            if open_ and open_[0].id is not None:
                store.close_cta(open_[0].id, "not_valid", day, "wrong data")
        day += timedelta(days=1)
    assert store.checked == 32
    assert store.seen >= {"open_ctas", "open_plans", "last_closed", "pending_success",
                          "disarmed"}


def test_a_rolled_back_run_a_deleted_row_and_a_backfill(tmp_path: Path) -> None:
    artifact = compile_spec_text(tmp_path, (
        'rule big { when arr > 0  then cta risk "Big {{ account.name }}"  cooldown 2d\n'
        '  close when arr > 50 }\n'
        'limit new ctas per run 2\n'))
    data = Data().account("a1", name="Acme", segment="SMB", arr="10")
    data.account("a2", name="Beta", segment="SMB", arr="5")
    store = _Checked()
    small = read_dataset(data.write(tmp_path / "small"), artifact.schema_)
    runtime = Runtime(artifact, small, store)
    assert runtime.run(ASOF).ctas_opened == 2
    data.account("a3", name="Gamma", segment="SMB", arr="7")
    data.account("a4", name="Delta", segment="SMB", arr="7")
    data.account("a5", name="Eps", segment="SMB", arr="7")
    more = Runtime(artifact, read_dataset(data.write(tmp_path / "more"), artifact.schema_),
                   store)
    with pytest.raises(LimitError):  # three new ones: over the limit, nothing stored
        more.run(ASOF + timedelta(days=1))
    (first, *_) = store.list_ctas(account_id="a1")
    assert first.id is not None
    store.close_cta(first.id, "not_valid", ASOF + timedelta(days=1), "by hand")
    with store.transaction():  # a row removed by hand
        store._exec("DELETE FROM csdsl_tasks WHERE cta_id IN (SELECT id FROM csdsl_ctas "
                    "WHERE account_id = 'a2')")
        store._exec("DELETE FROM csdsl_ctas WHERE account_id = 'a2'")
    runtime.run(ASOF + timedelta(days=2))
    runtime.run(ASOF + timedelta(days=5))
    runtime.run(ASOF + timedelta(days=3), backfill=True)  # earlier than the rows: in full
    runtime.run(ASOF + timedelta(days=6))
    assert store.checked == 6
