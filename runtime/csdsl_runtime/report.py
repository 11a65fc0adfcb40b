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
        if self.template_errors or self.template_truncated:
            lines.append(
                f"template problems: {self.template_errors} failed (kept as written), "
                f"{self.template_truncated} cut to their limit; the first ones:"
            )
            lines.extend(f"  {p.line()}" for p in self.template_problems)
        if self.dry_run:
            lines.append("dry run: nothing was stored")
        return "\n".join(lines) + "\n"
