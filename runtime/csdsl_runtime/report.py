"""The run report: what a run did, per rule, in numbers a CS ops team can check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
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

SHOW = 20
"""The CTAs, closes and plans a dry run's text report lists per rule (the JSON has all)."""


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
    changes: dict[str, list[dict[str, Any]]] | None = None
    """What a dry run would store, read back before its rollback (None on a real run):
    `open`, the CTA objects of `csdsl ctas --format json` it would open (plan objectives
    aside); `close`, the CTAs `close when` would close, as they would be after it
    (outcome `resolved`, open tasks cancelled); `plans`, the plan objects of
    `csdsl plans --format json` it would open, with their objectives."""

    def to_json(self) -> dict[str, Any]:
        """The report as `csdsl run --format json` prints it: `changes` on a dry run only."""
        if self.changes is None:
            out = asdict(self)
            del out["changes"]
            return out
        out = asdict(replace(self, changes=None))  # the changes are JSON already: no copy
        out["changes"] = self.changes
        return out

    def render(self, show: int = SHOW) -> str:
        """The summary, then on a dry run what it would change (`show` per rule and
        list, 0: all)."""
        return self.render_summary() + self.render_changes(show)

    def render_changes(self, show: int = SHOW) -> str:
        """On a dry run: the CTAs it would open, those it would close and the plans it
        would open, the first `show` of each rule in each list (0: all), and that
        nothing was stored; nothing on a real run."""
        if not self.dry_run:
            return ""
        lines: list[str] = []
        cut = False
        changes = self.changes or {}
        opened, closed, plans = (changes.get(k, []) for k in ("open", "close", "plans"))
        objectives = sum(len(p["objectives"]) for p in plans)
        if opened:
            besides = f" (and {objectives} as plan objectives, below)" if objectives else ""
            lines.append(f"\nwould open {_count(len(opened), 'CTA')}{besides}:")
            cut |= _listing(
                lines, ("rule", "account", "owner", "due", "tasks", "title"),
                [(c["rule"], (c["rule"], c["account_id"], c["owner"] or "-", c["due"],
                              str(len(c["tasks"])), c["title"])) for c in opened],
                show, right={4})
        if closed:
            lines.append(f"\nwould close {_count(len(closed), 'CTA')} (`close when` holds; "
                         "outcome resolved):")
            cut |= _listing(
                lines, ("id", "rule", "account", "owner", "created", "title"),
                [(c["rule"], (str(c["id"]), c["rule"], c["account_id"], c["owner"] or "-",
                              c["created"], c["title"])) for c in closed],
                show, right={0})
        if plans:
            lines.append(f"\nwould open {_count(len(plans), 'plan')} "
                         f"(with {_count(objectives, 'objective CTA')}):")
            cut |= _listing(
                lines, ("rule", "account", "plan", "owner", "due", "objectives", "title"),
                [(p["rule"], (p["rule"], p["account_id"], p["plan"], p["owner"] or "-",
                              p["due"], str(len(p["objectives"])), p["title"]))
                 for p in plans],
                show, right={5})
        if lines:
            lines.append("")
        if cut:
            lines.append(f"(the first {show} of each rule: `--format json` lists them all)")
        lines.append("dry run: nothing was stored")
        return "\n".join(lines) + "\n"

    def render_summary(self) -> str:
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
        return "\n".join(lines) + "\n"


def _count(n: int, noun: str) -> str:
    """`1 CTA`, `3 CTAs`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _listing(lines: list[str], head: tuple[str, ...],
             rows: Sequence[tuple[str, tuple[str, ...]]], show: int, right: set[int]) -> bool:
    """Add to `lines` an indented fixed-width table of (rule, row): the first `show` rows
    of each rule (0: all), in the order rules first appear, each rule's rest as
    `... and K more`; whether some were left out. Columns in `right` are right-aligned;
    the last one is left ragged."""
    by_rule: dict[str, list[tuple[str, ...]]] = {}
    for rule, row in rows:
        by_rule.setdefault(rule, []).append(row)
    shown: list[tuple[str, ...] | str] = []
    for rule, found in by_rule.items():
        kept = found if show <= 0 else found[:show]
        shown.extend(kept)
        if len(found) > len(kept):
            shown.append(f"... and {len(found) - len(kept)} more of {rule}")
    table = [head, *(r for r in shown if not isinstance(r, str))]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]

    def line(row: tuple[str, ...]) -> str:
        return "  " + "  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                                for i, cell in enumerate(row)).rstrip()

    lines.append(line(head))
    lines.extend(f"  {r}" if isinstance(r, str) else line(r) for r in shown)
    return len(table) - 1 < len(rows)
