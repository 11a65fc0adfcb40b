"""The domain records and the runtime's errors for user mistakes (no compiler needed).

Records live in `csdsl_runtime.records` (the stores re-export them); the template
context is built from the vocabulary's roots; a mistake on the command line, in a
hand-edited artifact or in a hand-edited store is a deliberate error, never a bare
ValueError or OverflowError.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

from csdsl_runtime import ArtifactError, load_data, records, stores
from csdsl_runtime import artifact as A
from csdsl_runtime import cli as runtime_cli
from csdsl_runtime.actions import template_context
from csdsl_runtime.artifact import meaning_hash
from csdsl_runtime.data import AccountData
from csdsl_runtime.stores import StoreError, open_store
from csdsl_runtime.vocabulary import (
    ACCOUNT_ID_ATTRIBUTE,
    RULE_TEMPLATE_ATTRIBUTES,
    TEMPLATE_ROOTS,
)

DAY = date(2026, 11, 20)


def _artifact_data(when: A.Expr) -> dict[str, Any]:
    """Artifact JSON with one rule that fires on `when`, its spec_hash computed."""
    artifact = A.Artifact(
        spec_hash="",
        schema_=A.DataSchema(),
        rules=(A.Rule(name="r", when=when, actions=(A.CtaAction(type="risk", title="R"),)),),
    )
    data = msgspec.to_builtins(artifact)
    data["spec_hash"] = meaning_hash(data)
    return data


def _cta(account_id: str = "A1") -> records.CtaRecord:
    task = records.TaskRecord(key="t", title="T", owner=None, type="todo", priority="low",
                              start=DAY, due=DAY)
    return records.CtaRecord(rule="r", account_id=account_id, action=0, type="risk", title="R",
                             priority="low", owner=None, created=DAY, due=DAY,
                             spec_hash="sha256:x", tasks=[task])


# ---------------------------------------------------------------- records


def test_the_stores_re_export_the_records() -> None:
    for name in ("CtaRecord", "PlanRecord", "TaskRecord"):
        assert getattr(stores, name) is getattr(records, name)
        assert name in stores.__all__
    assert records.RunState().is_open("r", "A1") is False


def test_template_context_is_built_from_the_vocabulary() -> None:
    schema = A.DataSchema(account=(A.AccountField(name="name", type="text"),
                                   A.AccountField(name="arr", type="number")))
    rule = A.Rule(name="r", when=A.Lit(type="bool", value=True),
                  actions=(A.CtaAction(type="risk", title="R"),))
    account = AccountData("A1", {"name": "Acme"})
    context = template_context(rule, account, schema, DAY)
    assert context == {
        "account": {"name": "Acme", "arr": None, "id": "A1"},
        "rule": {"name": "r", "title": "r"},
        "asof": "2026-11-20",
    }
    assert tuple(context) == TEMPLATE_ROOTS
    assert tuple(context["rule"]) == RULE_TEMPLATE_ATTRIBUTES
    assert context["account"][ACCOUNT_ID_ATTRIBUTE] == "A1"


# ---------------------------------------------------------------- stores


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (lambda s, i: s.close_cta(i, "success", DAY), "no CTA with id"),
        (lambda s, i: s.complete_task(i, DAY), "no task with id"),
        (lambda s, i: s.set_plan_status(i, "active", DAY), "no plan with id"),
    ],
)
@pytest.mark.parametrize("row_id", [2**63, -(2**63) - 1, 10**30])
def test_an_id_past_64_bits_names_no_row(operation: Any, message: str, row_id: int) -> None:
    store = open_store("sqlite:///:memory:")
    try:
        with pytest.raises(StoreError, match=f"{message} {row_id}$"):
            operation(store, row_id)
    finally:
        store.close()


def test_a_hand_edited_date_is_a_store_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(url)
    with store.transaction():
        store.insert_ctas([_cta()])
    store.conn.execute("UPDATE csdsl_ctas SET due = 'garbage'")
    with pytest.raises(StoreError, match="damaged: `garbage` is not a date"):
        store.list_ctas()
    store.close()


def test_a_hand_edited_schema_version_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE csdsl_meta SET value = 'abc' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(StoreError, match="schema version `abc` is not a number"):
        open_store(f"sqlite:///{path}")


# ---------------------------------------------------------------- artifacts


def test_a_literal_that_is_no_date_is_an_artifact_error() -> None:
    data = _artifact_data(A.Lit(type="date", value="garbage"))
    with pytest.raises(ArtifactError, match=r"rules/r/when: `garbage` is not a date"):
        load_data(data)


def test_a_number_literal_that_is_no_number_is_an_artifact_error() -> None:
    data = _artifact_data(A.Lit(type="number", value="abc"))
    with pytest.raises(ArtifactError, match="`abc` is not a number"):
        load_data(data)


def test_a_number_too_large_for_the_model_is_an_artifact_error() -> None:
    data = _artifact_data(A.Lit(type="number", value=1.0))
    data["rules"][0]["when"]["value"] = 10**400  # valid JSON and schema, no float
    data["spec_hash"] = meaning_hash(data)
    with pytest.raises(ArtifactError, match="invalid at rules/0/when"):
        load_data(data)


def test_good_literals_load() -> None:
    day = A.Lit(type="date", value="2026-11-20")  # a condition must be true or false
    artifact = load_data(_artifact_data(A.Compare(cmp="<=", left=day, right=day)))
    assert artifact.rules[0].name == "r"


# ---------------------------------------------------------------- the command line


def test_an_as_of_day_whose_dates_overflow_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(_artifact_data(A.Lit(type="bool", value=True))), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "accounts.csv").write_text("id\nA1\n", encoding="utf-8")
    store = tmp_path / "s.db"
    argv = ["run", str(spec), "--data", str(data), "--store", f"sqlite:///{store}", "--quiet"]
    assert runtime_cli.main([*argv, "--as-of", "9999-12-31"]) == 2
    assert capsys.readouterr().err == (
        "csdsl: --as-of 9999-12-31: the dates of this run would be out of range\n"
    )
    assert runtime_cli.main(["ctas", "--store", f"sqlite:///{store}"]) == 0
    assert capsys.readouterr().out == "no CTAs\n"  # the run was rolled back
    assert runtime_cli.main([*argv, "--as-of", "2026-11-20"]) == 0


def test_main_reports_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(args: Any) -> int:
        raise runtime_cli.UsageError("no, not like that")

    monkeypatch.setattr(runtime_cli, "cmd_plans", refuse)
    assert runtime_cli.main(["plans"]) == 2
    assert capsys.readouterr().err == "csdsl: no, not like that\n"


def test_a_bad_date_option_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        runtime_cli.main(["complete-task", "1", "--date", "2026-13-01"])
    assert exit_.value.code == 2
    assert "`2026-13-01` is not a date (YYYY-MM-DD)" in capsys.readouterr().err


def test_a_run_reads_pending_success_only_for_the_rules_that_score() -> None:
    """`load_state(scored=...)` reads the CTAs awaiting a success decision of the rules
    with a `success within` only, not every undecided CTA of the store's history."""
    store = open_store("sqlite:///:memory:")
    try:
        with store.transaction():
            first, second = _cta(), _cta()
            second.rule, second.account_id = "other", "acc-2"
            store.insert_ctas([first, second])
        everything = store.load_state(["r", "other"], DAY)
        assert sorted(p[1] for p in everything.pending_success) == ["other", "r"]
        scored = store.load_state(["r", "other"], DAY, scored=["other"])
        assert [p[1:3] for p in scored.pending_success] == [("other", "acc-2")]
        assert store.load_state(["r", "other"], DAY, scored=[]).pending_success == []
        assert set(scored.open_ctas) == {("r", first.account_id), ("other", "acc-2")}
    finally:
        store.close()


def test_the_sql_store_is_a_store_and_a_partial_one_is_not() -> None:
    """`Runtime` takes the `Store` protocol; the built-in SQL store provides all of it."""
    store = open_store("sqlite:///:memory:")
    try:
        assert isinstance(store, stores.Store)

        class HalfStore:
            url = "half://"

            def transaction(self, commit: bool = True) -> None: ...

        assert not isinstance(HalfStore(), stores.Store)
    finally:
        store.close()
