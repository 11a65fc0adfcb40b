"""The run report: what a run did, per rule, in numbers a CS ops team can check."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class RuleReport:
    rule: str
    enabled: bool = True
    evaluated: int = 0
    fired: int = 0
    unknown: int = 0
    opened: int = 0
    already_open: int = 0
    in_cooldown: int = 0
    not_rearmed: int = 0
    """Fired, but held: its CTA or plan for the account closed and the condition has not
    been not true on a run since (edge-triggered re-arming)."""
    at_most: int = 0
    """Fired, but held by the rule's re-enrolment limit (`at most N every D d`)."""
    rearmed: int = 0
    """Accounts for which the rule re-armed on this run."""
    auto_closed: int = 0
    success: int = 0
    no_success: int = 0


@dataclass(slots=True)
class TemplateProblem:
    """A title or description that failed to render, or was cut to its limit."""

    rule: str
    account: str
    where: str  # `CTA title`, `task \`call\` description`, ...
    reason: str
    outcome: str  # `error`: kept as written (cut to the limit); `truncated`: cut, ending in `…`

    def line(self) -> str:
        kept = "kept as written" if self.outcome == "error" else "truncated"
        return f"{self.rule} / {self.account}: {self.where}: {self.reason} ({kept})"


_GAP_LINES = 10
"""Owner gaps the text report shows (the JSON has them all)."""


@dataclass(slots=True)
class RunReport:
    asof: str
    spec_hash: str
    engine: str
    dry_run: bool
    accounts: int = 0
    rules: list[RuleReport] = field(default_factory=list)
    ctas_opened: int = 0
    plans_opened: int = 0
    tasks_created: int = 0
    owner_fallbacks: int = 0
    unassigned: int = 0
    bad_rows: int = 0
    template_errors: int = 0
    template_truncated: int = 0
    template_problems: list[TemplateProblem] = field(default_factory=list)
    """The first few distinct template errors and truncations (all are counted above)."""
    owner_gaps: list[dict[str, Any]] = field(default_factory=list)
    """Behind `owner_fallbacks` and `unassigned`: per rule, place (`CTA`, "task `x`"...)
    and owner chain, the count and the first accounts (`actions.OwnerGap`), the
    largest first."""
    empty_pools: list[str] = field(default_factory=list)
    """Declared pools that the data gives no members (their draws fall through)."""
    limit_breaches: list[dict[str, Any]] = field(default_factory=list)
    """The limits the run would break (`limits.Breach.to_json`): a dry run lists them;
    a real run that breaks one stores nothing and raises `LimitError`."""
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        """A fixed-width table, one line per rule, then the totals."""
        head = ("rule", "evaluated", "fired", "unknown", "opened", "open", "cooldown",
                "closed", "success")
        rows = [head]
        for r in self.rules:
            if not r.enabled:
                rows.append((r.rule, "disabled", "", "", "", "", "", "", ""))
                continue
            rows.append((r.rule, str(r.evaluated), str(r.fired), str(r.unknown), str(r.opened),
                         str(r.already_open), str(r.in_cooldown), str(r.auto_closed),
                         f"{r.success}/{r.success + r.no_success}"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        lines = [
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            ).rstrip()
            for row in rows
        ]
        verb = "would open" if self.dry_run else "opened"
        lines.append("")
        lines.append(
            f"as of {self.asof}: {self.accounts} accounts, {verb} {self.ctas_opened} CTAs, "
            f"{self.plans_opened} plans, {self.tasks_created} tasks"
        )
        lines.append(
            f"owner fallbacks: {self.owner_fallbacks}, unassigned CTAs: {self.unassigned}, "
            f"bad data rows skipped: {self.bad_rows}, template errors: {self.template_errors}"
        )
        if self.empty_pools:
            lines.append("declared pools with no members in the data: "
                         + ", ".join(self.empty_pools))
        if self.owner_gaps:
            lines.append("owners not found:")
            lines.extend(f"  {g['line']}" for g in self.owner_gaps[:_GAP_LINES])
            if len(self.owner_gaps) > _GAP_LINES:
                lines.append(f"  ... and {len(self.owner_gaps) - _GAP_LINES} more "
                             "(`--format json` lists them all)")
        if self.template_errors or self.template_truncated:
            lines.append(
                f"template problems: {self.template_errors} failed (kept as written), "
                f"{self.template_truncated} cut to their limit; the first ones:"
            )
            lines.extend(f"  {p.line()}" for p in self.template_problems)
        held = [(r.rule, r.not_rearmed) for r in self.rules if r.not_rearmed]
        if held:
            lines.append(
                f"held until re-armed (closed, and not yet not true since): "
                f"{sum(n for _, n in held)} ("
                + ", ".join(f"{rule} {n}" for rule, n in held) + ")")
        capped = [(r.rule, r.at_most) for r in self.rules if r.at_most]
        if capped:
            lines.append("held by a re-enrolment limit: "
                         + ", ".join(f"{rule} {n}" for rule, n in capped))
        for breach in self.limit_breaches:
            lines.append(f"would break {breach['message']}")
        if self.dry_run:
            lines.append("dry run: nothing was stored")
        return "\n".join(lines) + "\n"
