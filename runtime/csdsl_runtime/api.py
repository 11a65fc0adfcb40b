"""The host API: load an artifact, read data, run the rules as of a day, read CTAs back.

    from csdsl_runtime import Runtime, load, open_store, read_dataset
    artifact = load("spec.json")
    runtime = Runtime(artifact, read_dataset("data/", artifact.schema_), open_store())
    report = runtime.run(date(2026, 11, 20))

A run is one store transaction: evaluate every enabled rule for every account, close
CTAs whose `close when` holds (outcome `resolved`), record `success within` outcomes,
then open CTAs and plans for firing rules that have none open, are out of cooldown and
have re-armed since their last close (see `decide`). A run that would break a rule's
`max N per run` or a spec `limit` stores nothing and raises `limits.LimitError`.

Time runs forward. A run dated before the store's latest run is refused
(`OutOfOrderError`) unless it is a backfill (`run(asof, backfill=True)`). Every run sees
the store as it was on its day: a CTA created after that day, or closed after it, counts
as open (nothing opens beside it) and is never closed or scored by the run, so no close
or success is ever dated before a creation. A backfill thus opens, dated on its day, only
the CTAs no later run already opened, and closes and scores only CTAs created on or
before its day. `retire` closes the open CTAs of rules no longer in the spec, which every
run report lists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from csdsl_runtime import artifact as A
from csdsl_runtime import limits
from csdsl_runtime.actions import ActionBuilder
from csdsl_runtime.batch import AccountColumns, BatchBuilder
from csdsl_runtime.data import BadDataError, Dataset
from csdsl_runtime.decide import Decisions, decide
from csdsl_runtime.engines import CODE_OF_TRUTH, Engine, Results, conditions_of
from csdsl_runtime.records import OpenWork, RunState
from csdsl_runtime.report import SHOW, RuleReport, RunReport
from csdsl_runtime.stores.base import Store
from csdsl_runtime.stores.sql import OutOfOrderError, StoreError

if TYPE_CHECKING:
    from csdsl_runtime.frame import Frame

_CHUNK = 50_000
"""Accounts a rule opens CTAs for per store call: large batches, bounded memory."""

Truths = tuple[list[str], npt.NDArray[np.int8]]
"""A rule's truth column (1 true, 0 false, -1 unknown) and the account ids it is aligned with."""

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called while a long run advances."""

__all__ = ["LifecycleReport", "OutOfOrderError", "Runtime", "removed_rules", "retire"]


@dataclass(slots=True)
class LifecycleReport(RunReport):
    """The run report, with where the run stands in the store's time and its spec changes.

    `backfill`: the run is dated before the store's latest run (`latest_run`).
    `older_spec_ctas`: open CTAs that earlier spec versions opened, per version and rule.
    `removed_rules`: the rules with open CTAs or plans in the store that the artifact no
    longer has, with their counts (`removed_rule_ctas`: their open CTAs in all).
    """

    backfill: bool = False
    latest_run: str | None = None
    removed_rules: dict[str, OpenWork] = field(default_factory=dict)
    removed_rule_ctas: int = 0
    playbook_changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per playbook whose `on change` policy updated open CTAs of earlier spec versions:
    the policy, the CTAs, the tasks added and cancelled."""
    older_spec_ctas: dict[str, dict[str, int]] = field(default_factory=dict)
    """Open CTAs created under earlier spec versions: spec hash -> rule -> count. They
    keep the tasks and titles of the version that opened them."""

    def render(self, show: int = SHOW) -> str:
        lines = [RunReport.render_summary(self)]
        if self.backfill:
            lines.append(
                f"backfill: dated before the store's latest run ({self.latest_run}); CTAs "
                "created after that day were neither closed nor scored\n"
            )
        for name, change in self.playbook_changes.items():
            lines.append(f"playbook {name} changed (on change {change['policy']}): "
                         f"{change['ctas']} open CTAs updated, {change['tasks_added']} tasks "
                         f"added, {change['tasks_cancelled']} cancelled\n")
        if self.older_spec_ctas:
            total = sum(sum(by_rule.values()) for by_rule in self.older_spec_ctas.values())
            versions = "; ".join(
                f"{spec[:19]}: " + ", ".join(f"{rule} {n}" for rule, n in by_rule.items())
                for spec, by_rule in self.older_spec_ctas.items())
            lines.append(f"open CTAs from earlier spec versions: {total} ({versions})\n")
        if self.removed_rules:
            each = "; ".join(
                f"{rule}: {work.describe()}" for rule, work in self.removed_rules.items()
            )
            lines.append(
                f"rules no longer in the spec: {len(self.removed_rules)}, with "
                f"{self.removed_rule_ctas} open CTAs ({each}); "
                "`csdsl retire SPEC` closes them\n"
            )
        lines.append(self.render_changes(show))
        return "".join(lines)


def removed_rules(artifact: A.Artifact, store: Store) -> dict[str, OpenWork]:
    """The rules with open CTAs or plans in the store that `artifact` does not have."""
    names = {r.name for r in artifact.rules}
    return {rule: work for rule, work in store.open_work_by_rule().items() if rule not in names}


def retire(
    artifact: A.Artifact, store: Store, day: date, rules: Collection[str] | None = None,
    dry_run: bool = False,
) -> dict[str, OpenWork]:
    """Close the open CTAs of rules no longer in `artifact` with outcome `retired` (their
    open tasks cancelled, their open plans cancelled), dated `day`; only those of `rules`
    when given. What was retired, per rule. A rule still in the artifact is refused
    (`StoreError`): the next run would open its CTAs again. So is a `day` before the
    creation of one of them (`OutOfOrderError`). A dry run changes nothing.
    """
    names = {r.name for r in artifact.rules}
    if rules is None:
        chosen = set(removed_rules(artifact, store))
    else:
        kept = sorted(set(rules) & names)
        if kept:
            raise StoreError(
                f"{', '.join(f'`{r}`' for r in kept)} still in the spec: only the CTAs of "
                "rules removed from it are retired (close others with `csdsl close`)"
            )
        chosen = set(rules)
    reason = f"retired: the rule is no longer in the spec ({artifact.spec_hash})"
    return store.retire_rules(chosen, day, reason, dry_run=dry_run)


class Runtime:
    """Runs one compiled spec against one data set and one store."""

    def __init__(
        self,
        artifact: A.Artifact,
        dataset: Dataset | Frame,
        store: Store,
        engine: Engine | None = None,
        on_bad_data: str = "fail",
        evidence: bool = True,
    ) -> None:
        """`evidence`: keep, with each CTA or plan a run opens, the deciding values of its
        rule's `when` (`csdsl explain CTA_ID`); off, a first run of many CTAs is faster."""
        if on_bad_data not in ("fail", "skip"):
            raise ValueError("on_bad_data must be `fail` or `skip`")
        if dataset.bad_rows and on_bad_data == "fail":
            raise BadDataError(dataset.bad_rows)
        from csdsl_runtime.verify import verify

        verify(artifact)  # ArtifactError; once per artifact (`load` has verified it already)
        self.artifact = artifact
        self.dataset = dataset
        self.store = store
        if engine is None and isinstance(dataset, Dataset):
            from csdsl_runtime.engines.interpreter import InterpreterEngine

            engine = InterpreterEngine(dataset, artifact.schema_)
        elif engine is None:  # a frame's tables are what the SQL engine reads
            from csdsl_runtime.engines.sql import SqlEngine

            engine = SqlEngine(dataset)
        self.engine = engine
        self.evidence = evidence
        self._opened: list[tuple[A.Rule, list[int]]] = []  # this run's, for the evidence
        self._later: dict[str, Any] = {}  # `close when` and `success` truth columns, if computed
        self._columns: tuple[Dataset | Frame, AccountColumns] | None = None

    def _account_columns(self) -> AccountColumns:
        """The accounts as columns in the order of the truth columns (a frame's read from
        its tables when first needed, without an `AccountData` per account)."""
        kept = self._columns
        if kept is not None and kept[0] is self.dataset:  # a host may swap the data
            return kept[1]
        columns = AccountColumns.of_dataset(self.dataset, self.artifact.schema_) \
            if isinstance(self.dataset, Dataset) else AccountColumns.of_frame(self.dataset)
        self._columns = (self.dataset, columns)  # a backtest's runs read them once
        return columns

    def evaluate(self, asof: date) -> Results:
        """The truth of every enabled rule's `when` for every account (no store involved)."""
        conditions = {r.name: r.when for r in self.artifact.rules if r.enabled}
        return self.engine.evaluate(conditions, asof)

    def run(
        self, asof: date, dry_run: bool = False, progress: Progress | None = None, *,
        backfill: bool = False,
    ) -> LifecycleReport:
        """Evaluate and act as of `asof`, in one transaction (rolled back on a dry run).

        A day before the store's latest run raises `OutOfOrderError` unless `backfill`.
        """
        accounts = self._account_columns()
        self._opened = []  # a run that failed before its end leaves nothing behind
        report = LifecycleReport(
            asof=asof.isoformat(), spec_hash=self.artifact.spec_hash,
            engine=self.engine.name, dry_run=dry_run, accounts=len(accounts.ids),
            bad_rows=len(self.dataset.bad_rows),
        )
        rules = self.artifact.rules
        with self.store.transaction(commit=not dry_run):
            self._check_time(asof, backfill, report)
            run_id = self.store.start_run(asof, self.artifact.spec_hash, dry_run)
            state = self.store.load_state(
                [r.name for r in rules], asof,
                scored=[r.name for r in rules if r.success is not None],
                windows={r.name: r.at_most.days for r in rules if r.at_most is not None})
            report.removed_rules = removed_rules(self.artifact, self.store)
            report.removed_rule_ctas = sum(w.ctas for w in report.removed_rules.values())
            started = time.perf_counter()
            results = self._evaluate_rules(asof, progress)
            report.seconds["evaluate"] = round(time.perf_counter() - started, 3)
            started = time.perf_counter()
            ids = accounts.ids
            if any(got is not ids and got != ids for got, _ in results.values()):
                raise AssertionError("the truth columns and the account columns are not aligned")
            decisions = decide(rules, state, ids, {k: c for k, (_, c) in results.items()},
                               self._later_columns(asof, state, ids), asof,
                               None if state.is_empty() else accounts.index)
            self._apply(decisions, report, asof)
            breaches = limits.before_writing(self.artifact, decisions)
            if breaches and not dry_run:
                raise limits.LimitError(breaches)  # rolls the run back: nothing stored
            builder = ActionBuilder(self.artifact, self.dataset, state.pool_cursors)
            self._follow_playbook_changes(builder, report)
            report.older_spec_ctas = self.store.open_under_other_specs(self.artifact.spec_hash)
            batches = BatchBuilder(builder, accounts)
            for index, rule in enumerate(rules):
                if progress:
                    progress("acting", index, len(rules))
                if rule.name in results:
                    self._act(rule, decisions.rules[rule.name].opens, batches, asof, report,
                              run_id)
            if self.evidence:
                started_evidence = time.perf_counter()
                self._keep_evidence(accounts.ids, asof, run_id)
                report.seconds["evidence"] = round(time.perf_counter() - started_evidence, 3)
            if self.artifact.limits is not None and (
                    self.artifact.limits.open_ctas_per_owner is not None):
                owner_breaches = limits.after_writing(
                    self.artifact, self.store.open_ctas_by_owner(run_id))
                if owner_breaches and not dry_run:
                    raise limits.LimitError(owner_breaches)
                breaches += owner_breaches
            report.limit_breaches = [b.to_json() for b in breaches]
            self.store.save_pool_cursors(builder.owners.cursors)
            report.owner_fallbacks = builder.owners.fallbacks
            report.unassigned = builder.owners.unassigned
            gaps = sorted(builder.owners.gaps.values(),
                          key=lambda g: (-g.count, g.rule, g.where, g.outcome))
            report.owner_gaps = [{"rule": g.rule, "where": g.where, "owner": g.chain,
                                  "outcome": g.outcome, "count": g.count,
                                  "accounts": g.accounts, "line": g.line()} for g in gaps]
            report.empty_pools = [p.name for p in self.artifact.schema_.pools
                                  if not self.dataset.pools.get(p.name)]
            builder.renderer.fill(report)  # template errors, truncations, the first ones
            report.seconds["act"] = round(time.perf_counter() - started, 3)
            self.store.finish_run(run_id, report.to_json())
            if dry_run:  # what it would store, read back before the rollback
                started = time.perf_counter()
                report.changes = self._changes(run_id, decisions)
                report.seconds["changes"] = round(time.perf_counter() - started, 3)
        return report

    def _changes(self, run_id: int, decisions: Decisions) -> dict[str, list[dict[str, Any]]]:
        """A dry run's `changes`: the CTAs and plans run `run_id` opened (their ids null:
        the rollback takes them back) and the CTAs `close when` closed, as `csdsl ctas`
        and `csdsl plans` would show them."""
        closing = [cta_id for _, _, cta_ids in decisions.closes for cta_id in cta_ids]
        closed = [c for c in self.store.ctas_by_id(closing) if c.outcome == "resolved"]
        opened, plans = self.store.ctas_of_run(run_id), self.store.plans_of_run(run_id)
        for cta in [*opened, *(o for p in plans for o in p.objectives)]:
            cta.id = cta.plan_id = None
            for task in cta.tasks:
                task.id = task.cta_id = None
        for plan in plans:
            plan.id = None
        return {"open": [c.to_json() for c in opened], "close": [c.to_json() for c in closed],
                "plans": [p.to_json() for p in plans]}

    # ------------------------------------------------------------ stages
    def _check_time(self, asof: date, backfill: bool, report: LifecycleReport) -> None:
        """Refuse a day before the store's latest run, unless a backfill."""
        self.store.lock_runs()  # held to the end of the run's transaction
        latest = self.store.latest_run()
        report.latest_run = latest.isoformat() if latest else None
        if latest is None or asof >= latest:
            return
        if not backfill:
            raise OutOfOrderError(
                f"the store's latest run is as of {latest.isoformat()}: a run as of "
                f"{asof.isoformat()} would go back in time; run it as a backfill "
                "(`--backfill`, or `backfill=True`) if that is what you mean"
            )
        report.backfill = True

    def _evaluate_rules(self, asof: date, progress: Progress | None) -> dict[str, Truths]:
        """All enabled rules in one call, as truth columns aligned with account ids: an
        engine shares what rules have in common (the SQL engine computes each window once
        for every rule that reads it), and the run reads only the firing positions of each
        column, instead of a dict entry per account and rule."""
        enabled = [r for r in self.artifact.rules if r.enabled]
        if progress:
            progress("evaluating", 0, len(enabled))
        self._later = {}
        columns = getattr(self.engine, "evaluate_columns", None)
        # A columnar engine's cost is its pass over the data, not the accounts: the
        # `close when` and `success` conditions join that one pass, instead of a pass
        # each for the few open CTAs, and stay columns, read for those CTAs' accounts only.
        conditions = conditions_of(self.artifact, lifecycle=columns is not None)
        results: dict[str, Truths] = {}
        if columns is None:  # a row engine: its results become columns over one id list
            ids = list(self.dataset.accounts)
            for key, by_account in self.engine.evaluate(conditions, asof).items():
                codes = map(CODE_OF_TRUTH.__getitem__, map(by_account.get, ids))
                results[key] = (ids, np.fromiter(codes, dtype=np.int8, count=len(ids)))
        else:
            ids = self.engine.ids  # type: ignore[attr-defined]
            for key, column in columns(conditions, asof).items():
                if ":" in key:
                    self._later[key] = column
                else:
                    results[key] = (ids, column)
        if progress:
            progress("evaluating", len(enabled), len(enabled))
        return results

    def _later_columns(self, asof: date, state: RunState, ids: list[str]
                       ) -> dict[str, npt.NDArray[np.int8]]:
        """The `close when` and `success` columns (`close:RULE`, `success:RULE`): those
        of the run's one evaluation when a columnar engine computed them, else evaluated
        now for the accounts with an open or pending CTA of the rule only (the rest of
        the column unknown: `decide` reads no other entry)."""
        rules = {r.name: r for r in self.artifact.rules}
        if all(f"close:{name}" in self._later for name, r in rules.items()
               if r.close_when is not None) and all(
                f"success:{name}" in self._later for name, r in rules.items()
                if r.success is not None):
            return self._later  # a columnar engine computed them all with the rules
        wanted: dict[str, tuple[Any, set[str]]] = {}
        for name, account_id in state.open_ctas:
            rule = rules.get(name)
            if rule is not None and rule.close_when is not None:
                wanted.setdefault(f"close:{name}", (rule.close_when, set()))[1].add(account_id)
        for _, name, account_id, _ in state.pending_success:
            rule = rules.get(name)
            if rule is not None and rule.success is not None:
                wanted.setdefault(f"success:{name}", (rule.success.when, set()))[1].add(
                    account_id)
        if all(key in self._later for key in wanted):
            return self._later
        out = dict(self._later)
        missing = {k: v for k, v in wanted.items() if k not in out}
        truth = self.engine.evaluate({k: c for k, (c, _) in missing.items()}, asof,
                                     {k: sorted(a) for k, (_, a) in missing.items()})
        positions = {account: i for i, account in enumerate(ids)}
        for key, by_account in truth.items():
            column = np.full(len(ids), -1, dtype=np.int8)
            for account_id, value in by_account.items():
                at = positions.get(account_id)
                if at is not None:
                    column[at] = CODE_OF_TRUTH[value]
            out[key] = column
        return out

    def _apply(self, decisions: Decisions, report: RunReport, asof: date) -> None:
        """Write the closes and success checks `decide` made; copy its counts."""
        closing = [cta_id for _, _, cta_ids in decisions.closes for cta_id in cta_ids]
        if closing:  # one call: three statements for all, not three per CTA
            self.store.close_ctas(closing, "resolved", asof)
        rearmed = [(name, account) for name, got in decisions.rules.items()
                   for account in got.rearmed]
        if rearmed:
            self.store.rearm(rearmed, asof)
        for cta_id, reached in decisions.successes:
            self.store.record_success(cta_id, reached, asof)
        for counts in self._rule_reports(report):
            got = decisions.rules[counts.rule]
            counts.auto_closed, counts.success = got.auto_closed, got.success
            counts.no_success = got.no_success
            counts.evaluated, counts.unknown = got.evaluated, got.unknown
            counts.fired, counts.in_cooldown = got.fired, got.in_cooldown
            counts.already_open = got.already_open
            counts.not_rearmed, counts.at_most = got.not_rearmed, got.at_most
            counts.rearmed = len(got.rearmed)

    def _follow_playbook_changes(self, builder: ActionBuilder, report: LifecycleReport
                                 ) -> None:
        """A playbook's `on change` policy for the open CTAs an earlier spec version
        opened with it: `append` adds the tasks they lack (by key), `replace` cancels
        their open tasks and adds the playbook's own but those done; either way dated
        from the CTA's creation, as a new CTA of that day would have them, and the CTA
        then follows this version. `keep` (the default) changes nothing."""
        rules = {r.name: r for r in self.artifact.rules}
        spec_hash = self.artifact.spec_hash
        for playbook in self.artifact.playbooks:
            if playbook.on_change == "keep":
                continue
            for cta in self.store.open_ctas_from_other_specs(playbook.name, spec_hash):
                rule = rules.get(cta.rule)
                account = self.dataset.accounts.get(cta.account_id)
                if rule is None or rule.playbook != playbook.name or account is None:
                    continue
                fresh = builder.playbook_tasks(rule, cta.action, playbook, account,
                                               cta.created, cta.owner)
                if playbook.on_change == "append":
                    have = {t.key for t in cta.tasks}
                    add, cancel = [t for t in fresh if t.key not in have], []
                else:
                    done = {t.key for t in cta.tasks if t.status == "done"}
                    add = [t for t in fresh if t.key not in done]
                    cancel = [t.id for t in cta.tasks if t.status == "open" and t.id is not None]
                    # what the playbook says, not the dates a move or a completion gave them
                    shown = sorted((t.key, t.title, t.type, t.priority, t.description)
                                   for t in cta.tasks if t.status == "open")
                    if shown == sorted((t.key, t.title, t.type, t.priority, t.description)
                                       for t in add):
                        add, cancel = [], []  # the same tasks: nothing to replace
                assert cta.id is not None
                self.store.update_tasks(cta.id, cancel, add, spec_hash)
                if not add and not cancel:
                    continue  # its playbook did not change; it follows this version now
                got = report.playbook_changes.setdefault(playbook.name, {
                    "policy": playbook.on_change, "ctas": 0, "tasks_added": 0,
                    "tasks_cancelled": 0})
                got["ctas"] += 1
                got["tasks_added"] += len(add)
                got["tasks_cancelled"] += len(cancel)

    def _rule_reports(self, report: RunReport) -> list[RuleReport]:
        if not report.rules:
            report.rules = [RuleReport(r.name, enabled=r.enabled) for r in self.artifact.rules]
        return report.rules

    def _act(self, rule: A.Rule, opens: npt.NDArray[np.int64], batches: BatchBuilder,
             asof: date, report: RunReport, run_id: int) -> None:
        """Open the CTAs and plans `decide` chose for a rule, in chunks; one that another
        host opened meanwhile counts as already open."""
        counts = next(r for r in self._rule_reports(report) if r.rule == rule.name)
        rows: list[int] = opens.tolist()
        per_row = sum(isinstance(a, A.PlanAction) for a in rule.actions)  # plans per account
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start:start + _CHUNK]
            ctas, plans = batches.open(rule, chunk, asof)
            opened = [False] * len(chunk)
            for batch in ctas:
                for k, done in enumerate(self.store.insert_cta_columns(batch, run_id)):
                    if done:
                        opened[k] = True
                        report.ctas_opened += 1
                        report.tasks_created += len(batch.tasks)
            for k, plan in enumerate(plans):  # row by row, each row's plans in spec order
                if self.store.insert_plan(plan, run_id) is not None:
                    opened[k // per_row] = True
                    report.plans_opened += 1
                    report.ctas_opened += len(plan.objectives)
                    report.tasks_created += sum(len(o.tasks) for o in plan.objectives)
            count = sum(opened)
            if self.evidence and count:
                self._opened.append((rule, [row for row, done in zip(chunk, opened, strict=True)
                                            if done]))
            counts.opened += count
            counts.already_open += len(chunk) - count  # another host opened it meanwhile

    def _keep_evidence(self, ids: list[str], asof: date, run_id: int) -> None:
        """Trace each rule's `when` for the accounts it opened CTAs or plans for in this
        run, with the reference interpreter's values, and store the traces: months later
        `csdsl explain CTA_ID` shows why it opened, whatever the data became since. The
        series of all those accounts are read from a frame at once, in one query per
        metric and event."""
        import json

        from csdsl_runtime.explain import trace
        from csdsl_runtime.ir import missing_values

        opened, self._opened = self._opened, []
        if not opened:
            return
        missing = missing_values(self.artifact.schema_)
        dataset = self.dataset
        dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        rules_of: dict[str, list[A.Rule]] = {}
        for rule, chosen in opened:
            for row in chosen:
                rules_of.setdefault(ids[row], []).append(rule)
        if isinstance(dataset, Dataset):
            chunks: Any = [{a: dataset.accounts[a] for a in rules_of}]
        else:
            metrics, events = _read_by([rule.when for rule, _ in opened])
            chunks = dataset.series_chunks(rules_of, metrics, events)
        for accounts in chunks:  # a frame's series, 20,000 accounts at a time
            found = [(rule.name, account_id, asof,
                      dumps(trace(rule.when, account, asof, missing).to_json()))
                     for account_id, account in accounts.items()
                     for rule in rules_of[account_id]]
            self.store.insert_evidence(found, run_id, self.artifact.spec_hash)


def _read_by(conditions: list[A.Expr]) -> tuple[set[str], set[str]]:
    """The metrics and events some conditions read."""
    from csdsl_runtime.explain import walk

    metrics: set[str] = set()
    events: set[str] = set()
    for condition in conditions:
        for _, node in walk(condition):
            if isinstance(node, A.Latest | A.Window | A.Change):
                metrics.add(node.metric)
            elif isinstance(node, A.Count | A.Exists | A.DaysSince):
                event = node.event
                if event is not None:
                    events.add(event)
    return metrics, events
