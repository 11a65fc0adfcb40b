"""Both versions of a spec run on the same data, in memory: what each would open that day.

Each side is a dry run (`Runtime.run(asof, dry_run=True)`) of the reference interpreter
on a fresh in-memory store, as a spec test runs (`csdsl.spectest.run`): the CTAs and
plans it would open are read back from the run's `changes` and nothing is kept. The data
is read once per schema: the same rows, validated by each side's own declarations when
they differ. For the accounts one side opens for and the other does not, the rule's
condition is traced (`csdsl_runtime.explain`) to show the values behind the difference.

Per owner (the CSM, pool member or whoever the rule's `owner` picks; `(unassigned)` for
none), the CTAs each side opens are counted from the same run's `changes`.

With `days` > 1 the counts are a week's (or N days'), not a first run's backlog: each
side is replayed with the full lifecycle (`csdsl_runtime.backtest`, cooldowns, open CTAs
and `close when` included) over N + 1 days ending at `asof`, the data read as
`csdsl backtest` reads it; the first day is a warm-up (it opens a CTA for every account
a rule is already true for, which a running host has open already) and is not counted.
The accounts and their traces stay those of the dry run as of `asof`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from csdsl.review.diff_inputs import DiffError

if TYPE_CHECKING:
    from csdsl_runtime.artifact import Artifact, Rule
    from csdsl_runtime.data import AccountData, Dataset

__all__ = ["UNASSIGNED", "Example", "RuleVolume", "Volume", "measure"]

UNASSIGNED = "(unassigned)"


@dataclass(frozen=True, slots=True)
class Example:
    """One account whose outcome differs: the traced condition on each side that has
    the rule (`render` text, and the JSON trace)."""

    account: str
    name: str | None
    base: str | None
    head: str | None
    base_json: dict[str, Any] | None = None
    head_json: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"account": self.account, "name": self.name, "base": self.base_json,
                "head": self.head_json}


@dataclass(slots=True)
class RuleVolume:
    """What one rule opens that day on each side (0 where it does not exist)."""

    rule: str
    base: int = 0
    head: int = 0
    base_plans: int = 0
    head_plans: int = 0
    newly: list[str] = field(default_factory=list)
    """Accounts the head opens for and the base does not."""
    stopped: list[str] = field(default_factory=list)
    """Accounts the base opens for and the head no longer does."""
    new_examples: list[Example] = field(default_factory=list)
    stopped_examples: list[Example] = field(default_factory=list)

    @property
    def delta(self) -> int:
        return self.head - self.base

    @property
    def differs(self) -> bool:
        return bool(self.base != self.head or self.base_plans != self.head_plans
                    or self.newly or self.stopped)


@dataclass(slots=True)
class Volume:
    data: str
    asof: date
    accounts: int
    rules: dict[str, RuleVolume]
    base_total: int = 0
    head_total: int = 0
    base_plans: int = 0
    head_plans: int = 0
    base_breaches: list[str] = field(default_factory=list)
    head_breaches: list[str] = field(default_factory=list)
    """The limits each side's run would break (a real run would store nothing)."""
    days: int = 1
    """1: a first run as of `asof`; N > 1: what the N days to `asof` open, replayed
    after a warm-up day (`warm_up`)."""
    owners: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per owner, the CTAs (base, head) open, a plan's objectives included; every owner
    either side opens any for."""

    @property
    def warm_up(self) -> date:
        """The replayed day before the counted ones (with `days` > 1)."""
        return self.asof - timedelta(days=self.days)

    def owner_changes(self) -> list[tuple[str, int, int]]:
        """(owner, base, head) for the owners whose count differs, largest change
        first (then by name)."""
        changed = [(o, b, h) for o, (b, h) in self.owners.items() if b != h]
        return sorted(changed, key=lambda c: (-abs(c[2] - c[1]), c[0]))


def _read(location: str, artifact: Artifact) -> Dataset:
    from csdsl_runtime.data import BadDataError
    from csdsl_runtime.sources import SourceError, read_dataset

    try:
        dataset = read_dataset(location, artifact.schema_)
    except SourceError as exc:
        raise DiffError(f"cannot read the data: {exc}") from None
    except OSError as exc:
        raise DiffError(f"cannot read the data at `{location}`: {exc}") from None
    if dataset.bad_rows:
        raise DiffError(f"{BadDataError(dataset.bad_rows)}\nbad data in `{location}`: fix "
                        "the rows above")
    return dataset


def _dry_run(artifact: Artifact, dataset: Dataset, asof: date, role: str) -> Any:
    from csdsl_runtime.api import Runtime
    from csdsl_runtime.limits import LimitError
    from csdsl_runtime.loader import ArtifactError
    from csdsl_runtime.stores import StoreError, open_store

    store = open_store("sqlite:///:memory:")
    try:
        runtime = Runtime(artifact, dataset, store, evidence=False)
        return runtime.run(asof, dry_run=True)
    except ArtifactError as exc:
        raise DiffError(f"{role}: {exc}") from None
    except (StoreError, LimitError) as exc:
        raise DiffError(f"{role}: the run as of {asof.isoformat()} failed: {exc}") from None
    except OverflowError:
        raise DiffError(f"--as-of {asof.isoformat()}: the dates of the run would be out of "
                        "range") from None
    finally:
        store.close()


def _opened(report: Any) -> tuple[Counter[str], Counter[str], dict[str, set[str]]]:
    """CTAs and plans per rule, and the accounts each rule opens anything for."""
    changes = report.changes or {}
    ctas: Counter[str] = Counter(c["rule"] for c in changes.get("open", []))
    plans: Counter[str] = Counter(p["rule"] for p in changes.get("plans", []))
    accounts: dict[str, set[str]] = {}
    for record in [*changes.get("open", []), *changes.get("plans", [])]:
        accounts.setdefault(record["rule"], set()).add(record["account_id"])
    return ctas, plans, accounts


def _owners(report: Any) -> Counter[str]:
    """The CTAs a dry run opens, per owner: a plan's objectives are CTAs too (as in
    the store, and so in a backtest's `owner_load`)."""
    changes = report.changes or {}
    ctas = [*changes.get("open", []),
            *(o for p in changes.get("plans", []) for o in p.get("objectives", []))]
    return Counter(c.get("owner") or UNASSIGNED for c in ctas)


def _joined(base: Counter[str], head: Counter[str]) -> dict[str, tuple[int, int]]:
    return {o: (base[o], head[o]) for o in sorted(set(base) | set(head))}


def measure(base: Artifact, head: Artifact, data: str, asof: date, examples: int,
            days: int = 1) -> Volume:
    """Run both sides on `data` as of `asof`; examples are traced for every rule whose
    set of accounts differs (at most `examples` of each kind per rule). With `days` > 1
    the counts are those of the replayed `days` days to `asof` (`_replayed`)."""
    base_data = _read(data, base)
    head_data = base_data if head.schema_ == base.schema_ else _read(data, head)
    base_report = _dry_run(base, base_data, asof, "BASE")
    head_report = _dry_run(head, head_data, asof, "HEAD")
    b_ctas, b_plans, b_accounts = _opened(base_report)
    h_ctas, h_plans, h_accounts = _opened(head_report)
    base_rules = {r.name: r for r in base.rules}
    head_rules = {r.name: r for r in head.rules}
    volume = Volume(data=data, asof=asof, accounts=len(head_data.accounts), rules={},
                    base_total=sum(b_ctas.values()), head_total=sum(h_ctas.values()),
                    base_plans=sum(b_plans.values()), head_plans=sum(h_plans.values()),
                    base_breaches=[str(b["message"]) for b in base_report.limit_breaches],
                    head_breaches=[str(b["message"]) for b in head_report.limit_breaches],
                    days=days, owners=_joined(_owners(base_report), _owners(head_report)))
    if days > 1:
        b_week = _replayed(base, data, asof, days, "BASE")
        h_week = b_week if head == base else _replayed(head, data, asof, days, "HEAD")
        b_ctas, b_plans = b_week.ctas, b_week.plans
        h_ctas, h_plans = h_week.ctas, h_week.plans
        volume.base_total, volume.head_total = sum(b_ctas.values()), sum(h_ctas.values())
        volume.base_plans, volume.head_plans = sum(b_plans.values()), sum(h_plans.values())
        volume.base_breaches, volume.head_breaches = b_week.breaches, h_week.breaches
        volume.owners = _joined(b_week.owners, h_week.owners)
    for name in sorted(set(base_rules) | set(head_rules)):
        got = RuleVolume(name, b_ctas[name], h_ctas[name], b_plans[name], h_plans[name])
        was, now = b_accounts.get(name, set()), h_accounts.get(name, set())
        got.newly = sorted(now - was)
        got.stopped = sorted(was - now)
        old, new = base_rules.get(name), head_rules.get(name)
        got.new_examples = [
            _example(a, old, new, base, head, base_data, head_data, asof)
            for a in got.newly[:examples]]
        got.stopped_examples = [
            _example(a, old, new, base, head, base_data, head_data, asof)
            for a in got.stopped[:examples]]
        volume.rules[name] = got
    return volume


@dataclass(slots=True)
class _Week:
    """What one side opens in the replayed days after the warm-up."""

    ctas: Counter[str]
    plans: Counter[str]
    owners: Counter[str]
    breaches: list[str]


def _replayed(artifact: Artifact, data: str, asof: date, days: int, role: str) -> _Week:
    """Replay `days` + 1 days to `asof` (`csdsl_runtime.backtest`, on the data read as
    `csdsl backtest` reads it) and count the last `days`, per rule and per owner."""
    from csdsl_runtime.backtest import backtest
    from csdsl_runtime.data import BadDataError
    from csdsl_runtime.frame import read_frame
    from csdsl_runtime.loader import ArtifactError
    from csdsl_runtime.sources import SourceError

    start = asof - timedelta(days=days)
    try:
        frame = read_frame(data, artifact.schema_)
    except SourceError as exc:
        raise DiffError(f"cannot read the data: {exc}") from None
    except OSError as exc:
        raise DiffError(f"cannot read the data at `{data}`: {exc}") from None
    try:
        if frame.bad_rows:
            raise DiffError(f"{BadDataError(frame.bad_rows)}\nbad data in `{data}`: fix "
                            "the rows above")
        whole = backtest(artifact, frame, start, asof)
    except ArtifactError as exc:
        raise DiffError(f"{role}: {exc}") from None
    except OverflowError:
        raise DiffError(f"--as-of {asof.isoformat()} --days {days}: the dates of the "
                        "replay would be out of range") from None
    finally:
        frame.close()
    plan_rules = {r.name for r in artifact.rules
                  if any(a.kind == "plan" for a in r.actions)}
    week = _Week(Counter(), Counter(), Counter(), [])
    for day in whole.days[1:]:
        for rule, n in day.opened.items():  # a plan rule's are plans
            (week.plans if rule in plan_rules else week.ctas)[rule] += n
        week.breaches += [f"{day.day.isoformat()}: {b.get('message')}"
                          for b in day.limit_breaches]
        week.owners.update(day.owners)
    return week


def _example(account: str, old: Rule | None, new: Rule | None, base: Artifact,
             head: Artifact, base_data: Dataset, head_data: Dataset, asof: date) -> Example:
    b_acc, h_acc = base_data.accounts.get(account), head_data.accounts.get(account)
    known = h_acc or b_acc
    name = known.fields.get("name") if known is not None else None
    b_text, b_json = _traced(old, b_acc, base, asof)
    h_text, h_json = _traced(new, h_acc, head, asof)
    return Example(account, name if isinstance(name, str) else None, b_text, h_text,
                   b_json, h_json)


def _traced(rule: Rule | None, account: AccountData | None, artifact: Artifact, asof: date
            ) -> tuple[str | None, dict[str, Any] | None]:
    if rule is None or account is None:
        return None, None
    from csdsl_runtime.explain import render, trace
    from csdsl_runtime.ir import missing_values

    traced = trace(rule.when, account, asof, missing_values(artifact.schema_))
    text = render(traced)
    if not rule.enabled:
        text += "\n(the rule is disabled)"
    return text, traced.to_json()
