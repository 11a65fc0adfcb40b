"""The store a run writes to, as a protocol: what `Runtime`, `retire` and `removed_rules`
call, and nothing else.

`SqlStore` (SQLite, PostgreSQL) is the built-in one; another store (a plugin) has to
keep the same guarantees: a run is one transaction, rolled back on error or on a dry
run; at most one open CTA per (rule, account, action) and one active plan, enforced by
the store itself so that concurrent hosts create no duplicates (an insert that would
break it returns None for that record); nothing is dated before its creation; and a
close disarms its rule for the account in the same transaction (`rearm` undoes it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Any, Protocol, runtime_checkable

from csdsl_runtime.records import (
    CtaColumns,
    CtaRecord,
    OpenWork,
    PlanRecord,
    RunState,
    TaskRecord,
)


@runtime_checkable
class Store(Protocol):
    """Where CTAs, tasks, plans and runs are kept."""

    url: str

    def transaction(self, commit: bool = True) -> AbstractContextManager[None]:
        """One atomic unit; `commit=False` rolls everything back (a dry run)."""
        ...

    def lock_runs(self) -> None:
        """Serialise runs on this store until the transaction ends."""
        ...

    def latest_run(self) -> date | None:
        """The as-of day of the latest stored (not dry) run; None before any."""
        ...

    def start_run(self, asof: date, spec_hash: str, dry_run: bool) -> int:
        """Record a run; its id."""
        ...

    def finish_run(self, run_id: int, report: dict[str, Any]) -> None:
        """Store the run's report (the JSON of `csdsl run --format json`)."""
        ...

    def load_state(self, rules: Sequence[str], asof: date | None = None,
                   scored: Collection[str] | None = None,
                   windows: Mapping[str, int] | None = None) -> RunState:
        """What a run needs of earlier runs, as the store was on `asof`; `windows`: the
        days of each rule's re-enrolment limit, whose recent creations it counts."""
        ...

    def rearm(self, keys: Sequence[tuple[str, str]], asof: date) -> None:
        """These (rule, account) have re-armed: forget their closes dated before `asof`."""
        ...

    def open_ctas_by_owner(self, run_id: int) -> dict[str, tuple[int, dict[str, int]]]:
        """Per owner given a CTA by run `run_id`: their open CTAs in all, and per rule
        the ones the run created (for `limit open ctas per owner`)."""
        ...

    def save_pool_cursors(self, cursors: dict[str, int]) -> None:
        """The round-robin position of each pool, for the next run."""
        ...

    def insert_ctas(self, ctas: Sequence[CtaRecord], run_id: int | None = None
                    ) -> list[int | None]:
        """Insert CTAs with their tasks; the id of each, None for one already open."""
        ...

    def insert_cta_columns(self, batch: CtaColumns, run_id: int | None = None) -> list[bool]:
        """Insert one action's CTAs with their tasks, in bulk; whether each went in
        (False: one was open already)."""
        ...

    def insert_plan(self, plan: PlanRecord, run_id: int | None = None) -> int | None:
        """Insert a plan with its objective CTAs; None when one is already active."""
        ...

    def close_ctas(self, ids: Sequence[int], outcome: str, day: date,
                   reason: str | None = None) -> None:
        """Close open CTAs with an outcome; their open tasks are cancelled."""
        ...

    def record_success(self, cta_id: int, success: bool, day: date) -> None:
        """Decide a CTA's `success within`."""
        ...

    def open_under_other_specs(self, spec_hash: str) -> dict[str, dict[str, int]]:
        """Open CTAs created under spec versions other than `spec_hash`, per version and
        rule."""
        ...

    def open_ctas_from_other_specs(self, playbook: str, spec_hash: str) -> list[CtaRecord]:
        """Open CTAs with this playbook that another spec version opened, with tasks."""
        ...

    def update_tasks(self, cta_id: int, cancel: Sequence[int], add: Sequence[TaskRecord],
                     spec_hash: str) -> None:
        """Cancel and add tasks of an open CTA, now under spec version `spec_hash`."""
        ...

    def ctas_of_run(self, run_id: int) -> list[CtaRecord]:
        """The CTAs run `run_id` created, plan objectives aside, with their tasks, by id
        (a dry run reads back what it would store, before its rollback)."""
        ...

    def plans_of_run(self, run_id: int) -> list[PlanRecord]:
        """The plans run `run_id` created, with their objective CTAs and their tasks."""
        ...

    def ctas_by_id(self, ids: Collection[int]) -> list[CtaRecord]:
        """The CTAs with these ids (those that exist), with their tasks, by id."""
        ...

    def open_work_by_rule(self) -> dict[str, OpenWork]:
        """Per rule, its open CTAs (objectives included) and open plans."""
        ...

    def insert_evidence(self, rows: Sequence[tuple[str, str, date, str]], run_id: int | None,
                        spec_hash: str) -> None:
        """Keep the deciding values (rule, account_id, created, trace JSON) of new CTAs."""
        ...

    def cta_evidence(self, cta_id: int) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """A CTA's JSON and the deciding values kept when it was opened."""
        ...

    def retire_rules(self, rules: Collection[str], day: date, reason: str,
                     dry_run: bool = False) -> dict[str, OpenWork]:
        """Close the open CTAs and plans of these rules with outcome `retired`."""
        ...
