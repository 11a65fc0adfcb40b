"""The host API: load an artifact, read data, run the rules as of a day, read CTAs back.

    from csdsl_runtime import Runtime, load, open_store, read_dataset
    artifact = load("spec.json")
    runtime = Runtime(artifact, read_dataset("data/", artifact.schema_), open_store())
    report = runtime.run(date(2026, 11, 20))

A run is one store transaction: evaluate every enabled rule for every account, close
CTAs whose `close when` holds (outcome `resolved`), record `success within` outcomes,
then open CTAs and plans for firing rules that have none open and are out of cooldown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from csdsl_runtime import artifact as A
from csdsl_runtime.actions import ActionBuilder
from csdsl_runtime.data import BadDataError, Dataset
from csdsl_runtime.engines import Engine, Results
from csdsl_runtime.records import CtaRecord, RunState
from csdsl_runtime.report import RuleReport, RunReport
from csdsl_runtime.stores.sql import SqlStore

_BATCH = 1000
"""CTAs inserted per store round trip."""

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called while a long run advances."""


class Runtime:
    """Runs one compiled spec against one data set and one store."""

    def __init__(
        self,
        artifact: A.Artifact,
        dataset: Dataset,
        store: SqlStore,
        engine: Engine | None = None,
        on_bad_data: str = "fail",
    ) -> None:
        if on_bad_data not in ("fail", "skip"):
            raise ValueError("on_bad_data must be `fail` or `skip`")
        if dataset.bad_rows and on_bad_data == "fail":
            raise BadDataError(dataset.bad_rows)
        self.artifact = artifact
        self.dataset = dataset
        self.store = store
        if engine is None:
            from csdsl_runtime.engines.interpreter import InterpreterEngine

            engine = InterpreterEngine(dataset)
        self.engine = engine

    def evaluate(self, asof: date) -> Results:
        """The truth of every enabled rule's `when` for every account (no store involved)."""
        conditions = {r.name: r.when for r in self.artifact.rules if r.enabled}
        return self.engine.evaluate(conditions, asof)

    def run(self, asof: date, dry_run: bool = False, progress: Progress | None = None) -> RunReport:
        """Evaluate and act as of `asof`, in one transaction (rolled back on a dry run)."""
        report = RunReport(
            asof=asof.isoformat(), spec_hash=self.artifact.spec_hash,
            engine=self.engine.name, dry_run=dry_run, accounts=len(self.dataset.accounts),
            bad_rows=len(self.dataset.bad_rows),
        )
        rules = self.artifact.rules
        with self.store.transaction(commit=not dry_run):
            run_id = self.store.start_run(asof, self.artifact.spec_hash, dry_run)
            state = self.store.load_state([r.name for r in rules])
            started = time.perf_counter()
            results = self._evaluate_rules(asof, progress)
            report.seconds["evaluate"] = round(time.perf_counter() - started, 3)
            started = time.perf_counter()
            closed = self._close_and_score(asof, state, report)
            builder = ActionBuilder(self.artifact, self.dataset, state.pool_cursors)
            for index, rule in enumerate(rules):
                if progress:
                    progress("acting", index, len(rules))
                self._act(rule, results.get(rule.name), state, closed, builder, asof, report)
            self.store.save_pool_cursors(builder.owners.cursors)
            report.owner_fallbacks = builder.owners.fallbacks
            report.unassigned = builder.owners.unassigned
            report.template_errors = builder.renderer.errors
            report.seconds["act"] = round(time.perf_counter() - started, 3)
            self.store.finish_run(run_id, report.to_json())
        return report

    # ------------------------------------------------------------ stages
    def _evaluate_rules(self, asof: date, progress: Progress | None) -> Results:
        enabled = [r for r in self.artifact.rules if r.enabled]
        results: Results = {}
        for index, rule in enumerate(enabled):
            if progress:
                progress("evaluating", index, len(enabled))
            results.update(self.engine.evaluate({rule.name: rule.when}, asof))
        if progress:
            progress("evaluating", len(enabled), len(enabled))
        return results

    def _close_and_score(
        self, asof: date, state: RunState, report: RunReport
    ) -> set[tuple[str, str]]:
        """Auto-close (`close when`) and success checks; returns (rule, account) closed now."""
        closed: set[tuple[str, str]] = set()
        reports = {r.rule: r for r in self._rule_reports(report)}
        close_conditions: dict[str, Any] = {}
        close_accounts: dict[str, list[str]] = {}
        for rule in self.artifact.rules:
            if rule.close_when is None:
                continue
            ids = [acc for (name, acc) in state.open_ctas if name == rule.name]
            if ids:
                close_conditions[rule.name] = rule.close_when
                close_accounts[rule.name] = ids
        if close_conditions:
            truth = self.engine.evaluate(close_conditions, asof, close_accounts)
            for name, by_account in truth.items():
                for account_id, value in by_account.items():
                    if value is True:
                        key = (name, account_id)
                        self.store.close_ctas(state.open_ctas.pop(key), "resolved", asof)
                        state.last_closed[key] = asof
                        closed.add(key)
                        reports[name].auto_closed += 1
        rules = {r.name: r for r in self.artifact.rules}
        success_conditions: dict[str, Any] = {}
        success_accounts: dict[str, list[str]] = {}
        pending: dict[tuple[str, str], list[tuple[int, date]]] = {}
        for cta_id, name, account_id, created in state.pending_success:
            scored = rules.get(name)
            if scored is None or scored.success is None:
                continue
            if asof > created + timedelta(days=scored.success.within):
                self.store.record_success(cta_id, False, asof)
                reports[name].no_success += 1
                continue
            success_conditions[name] = scored.success.when
            success_accounts.setdefault(name, []).append(account_id)
            pending.setdefault((name, account_id), []).append((cta_id, created))
        if success_conditions:
            truth = self.engine.evaluate(success_conditions, asof, success_accounts)
            for name, by_account in truth.items():
                for account_id, value in by_account.items():
                    if value is True:
                        for cta_id, _ in pending.pop((name, account_id), []):
                            self.store.record_success(cta_id, True, asof)
                            reports[name].success += 1
        return closed

    def _rule_reports(self, report: RunReport) -> list[RuleReport]:
        if not report.rules:
            report.rules = [RuleReport(r.name, enabled=r.enabled) for r in self.artifact.rules]
        return report.rules

    def _act(
        self, rule: A.Rule, truth: dict[str, bool | None] | None, state: RunState,
        closed: set[tuple[str, str]], builder: ActionBuilder, asof: date, report: RunReport,
    ) -> None:
        counts = next(r for r in self._rule_reports(report) if r.rule == rule.name)
        if truth is None:
            return
        counts.evaluated = len(truth)
        accounts = self.dataset.accounts
        acted: list[str] = []
        opened: set[str] = set()
        pending: list[CtaRecord] = []

        def flush() -> None:
            for cta, cta_id in zip(pending, self.store.insert_ctas(pending), strict=True):
                if cta_id is not None:
                    opened.add(cta.account_id)
                    report.ctas_opened += 1
                    report.tasks_created += len(cta.tasks)
            pending.clear()

        for account_id, value in truth.items():
            if value is None:
                counts.unknown += 1
                continue
            if not value:
                continue
            counts.fired += 1
            if state.is_open(rule.name, account_id):
                counts.already_open += 1
                continue
            last = state.last_closed.get((rule.name, account_id))
            if (rule.name, account_id) in closed or (
                last is not None and rule.cooldown and asof < last + timedelta(days=rule.cooldown)
            ):  # a CTA that `close when` closed in this very run is not reopened by it
                counts.in_cooldown += 1
                continue
            acted.append(account_id)
            account = accounts[account_id]
            for index, action in enumerate(rule.actions):
                if isinstance(action, A.CtaAction):
                    pending.append(builder.cta(rule, index, action, account, asof))
                else:
                    plan = builder.plan(rule, index, action, account, asof)
                    if self.store.insert_plan(plan) is not None:
                        opened.add(account_id)
                        report.plans_opened += 1
                        report.ctas_opened += len(plan.objectives)
                        report.tasks_created += sum(len(o.tasks) for o in plan.objectives)
            if len(pending) >= _BATCH:
                flush()
        flush()
        for account_id in acted:
            if account_id in opened:
                counts.opened += 1
            else:  # another host opened it between our read and our insert
                counts.already_open += 1
