"""Budgets that fail loud: a rule's `max N per run` and the spec's `limit`s.

A run that would break one stores nothing: `Runtime.run` raises `LimitError` inside the
run's transaction, which rolls it back, and `csdsl run` exits 1 with the breach named
(the limit, the rule, the count it would have reached). A dry run reports the same
breaches (`RunReport.limit_breaches`) without failing. No limit applies that the spec
does not state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from csdsl_runtime import artifact as A
from csdsl_runtime.decide import Decisions


@dataclass(frozen=True, slots=True)
class Breach:
    """One limit a run would break."""

    limit: str  # as the spec writes it: `max 200 per run`, `limit new ctas per run 5000`
    allowed: int
    count: int  # what the run would have reached
    rule: str | None = None  # the rule that breaks it (a rule's `max`), or the largest part
    owner: str | None = None  # `limit open ctas per owner`: whose
    rules: dict[str, int] = field(default_factory=dict)
    """The rules behind the count: CTAs each would open (or has given the owner)."""

    def message(self) -> str:
        if self.owner is not None:
            parts = ", ".join(f"{n} from `{r}`" for r, n in sorted(self.rules.items()))
            return (f"`{self.limit}`: owner `{self.owner}` would have {self.count} open "
                    f"CTAs (allowed {self.allowed}; this run gives them {parts})")
        if self.rule is not None and not self.rules:
            return (f"`{self.limit}` of rule `{self.rule}`: it would open {self.count} "
                    f"(allowed {self.allowed})")
        parts = ", ".join(f"`{r}` {n}" for r, n in sorted(self.rules.items(),
                                                           key=lambda x: (-x[1], x[0]))[:5])
        return (f"`{self.limit}`: the run would open {self.count} CTAs (allowed "
                f"{self.allowed}; the most from {parts})")

    def to_json(self) -> dict[str, object]:
        return {"limit": self.limit, "allowed": self.allowed, "count": self.count,
                "rule": self.rule, "owner": self.owner, "rules": dict(self.rules),
                "message": self.message()}


class LimitError(Exception):
    """The run would break a limit: nothing was stored."""

    def __init__(self, breaches: Sequence[Breach]) -> None:
        self.breaches = list(breaches)
        lines = [b.message() for b in self.breaches]
        super().__init__("the run would break a limit, so it stored nothing:\n  "
                         + "\n  ".join(lines) + "\n(raise the limit in the spec, or find "
                         "why so many fire: `csdsl run --dry-run` shows the same counts)")


def ctas_per_account(rule: A.Rule, plans: Mapping[str, A.Plan]) -> int:
    """The CTAs a rule opens for one account: one per CTA action, and a plan's
    objectives."""
    count = 0
    for action in rule.actions:
        if isinstance(action, A.CtaAction):
            count += 1
        else:
            plan = plans.get(action.plan)
            count += len(plan.objectives) if plan is not None else 0
    return count


def before_writing(artifact: A.Artifact, decisions: Decisions) -> list[Breach]:
    """The limits that the decided openings break: each rule's `max N per run` and
    `limit new ctas per run`, both counting CTAs (a plan's objectives are CTAs)."""
    breaches = []
    plans = {p.name: p for p in artifact.plans}
    new: dict[str, int] = {}
    for rule in artifact.rules:
        decided = decisions.rules.get(rule.name)
        if decided is None or not decided.opens.size:
            continue
        new[rule.name] = int(decided.opens.size) * ctas_per_account(rule, plans)
        if rule.max_per_run is not None and new[rule.name] > rule.max_per_run:
            breaches.append(Breach(f"max {rule.max_per_run} per run", rule.max_per_run,
                                   new[rule.name], rule=rule.name))
    limits = artifact.limits
    total = sum(new.values())
    if limits is not None and limits.new_ctas_per_run is not None and (
            total > limits.new_ctas_per_run):
        largest = max(new, key=lambda r: (new[r], r))
        breaches.append(Breach(f"limit new ctas per run {limits.new_ctas_per_run}",
                               limits.new_ctas_per_run, total, rule=largest,
                               rules={r: n for r, n in new.items() if n}))
    return breaches


def after_writing(artifact: A.Artifact, load: Mapping[str, tuple[int, dict[str, int]]]
                  ) -> list[Breach]:
    """`limit open ctas per owner`: the owners this run gave CTAs to who now hold more
    open CTAs than allowed (an owner already over it whom the run gave nothing is left
    alone: the run did not break it)."""
    limits = artifact.limits
    if limits is None or limits.open_ctas_per_owner is None:
        return []
    allowed = limits.open_ctas_per_owner
    breaches = []
    for owner, (total, rules) in sorted(load.items()):
        if total > allowed:
            largest = max(rules, key=lambda r: (rules[r], r))
            breaches.append(Breach(f"limit open ctas per owner {allowed}", allowed, total,
                                   rule=largest, owner=owner, rules=dict(rules)))
    return breaches
