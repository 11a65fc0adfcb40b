"""`csdsl diff` output: text for a terminal, JSON for scripts, Markdown for a pull request.

All three read the same data (`diff_model.SpecDiff`, `diff_volume.Volume`). The Markdown
is GitHub-flavoured and bounded: a summary table first, details in `<details>`
sections, long lists cut with "and N more", the whole comment kept under GitHub's
65,536 characters.
"""

from __future__ import annotations

import html
import json
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from csdsl.review.diff_model import ItemDiff, PropertyChange, SpecDiff
from csdsl.review.diff_volume import Example, RuleVolume, Volume

__all__ = ["Report", "render_json", "render_markdown", "render_text"]

_SIGN = {"added": "+", "removed": "-", "changed": "~"}
_INLINE = 100
"""A property change fits on one line (`name: before → after`) up to this width."""
_MARKDOWN_LIMIT = 60_000
"""GitHub refuses comments over 65,536 characters: room for a bot's own header."""
_ACCOUNTS_SHOWN = 10
_PROPERTIES_SHOWN = 40
_SECTIONS_SHOWN = 60
_OWNERS_SHOWN = 15


@dataclass(frozen=True, slots=True)
class Report:
    """What `csdsl diff` compared and found."""

    base: str
    head: str
    base_hash: str
    head_hash: str
    base_environment: str | None
    head_environment: str | None
    diff: SpecDiff
    volume: Volume | None
    environments: Mapping[str, SpecDiff] = field(default_factory=dict)
    """Without an environment option: each environment either side declares, compared
    (a side without it counts as its base spec), less the base spec's own changes."""

    @property
    def changed(self) -> bool:
        return self.diff.changed or any(d.changed for d in self.environments.values())

    def changed_environments(self) -> list[tuple[str, SpecDiff]]:
        return [(name, d) for name, d in self.environments.items() if d.changed]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _counts(items: Iterable[ItemDiff]) -> str:
    """`1 rule changed, 2 tasks added`: per kind and status, in the diff's order."""
    seen: dict[tuple[str, str], int] = {}
    for item in items:
        seen[(item.kind, item.status)] = seen.get((item.kind, item.status), 0) + 1
    return ", ".join(f"{_plural(n, kind)} {status}" for (kind, status), n in seen.items())


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n) if n < 0 else "0"


def _shown(value: str | None) -> str:
    return "(none)" if value is None else value


def _account(account: str, name: str | None) -> str:
    return f"{account} ({name})" if name else account


def _more(names: Sequence[str], shown: int) -> str:
    head = ", ".join(names[:shown])
    rest = len(names) - shown
    return head + (f" and {rest} more" if rest > 0 else "")


def _besides(report: Report) -> str:
    """An environment's diff leaves out what the base spec's says already."""
    return " (besides the base spec's)" if report.diff.changed else ""


def _span(volume: Volume) -> str:
    """`as of 2026-11-20`, or `over the 7 days to 2026-11-20, after a warm-up day`."""
    if volume.days == 1:
        return f"as of {volume.asof.isoformat()}"
    return f"over the {volume.days} days to {volume.asof.isoformat()}, after a warm-up day"


def _rules_to_show(report: Report) -> list[str]:
    """Rules the diff names, then those whose volume differs (sorted)."""
    named = [i.name for i in report.diff.of_kind("rule")]
    volume = report.volume
    differing = [] if volume is None else [
        r for r, v in volume.rules.items() if v.differs and r not in named]
    return named + sorted(differing)


# ---------------------------------------------------------------- text


def _property_lines(change: PropertyChange, status: str, indent: str) -> list[str]:
    a, b = change.before, change.after
    if status != "changed" or a is None or b is None:
        value = b if a is None else a
        if status == "changed":  # set, or unset, within a changed item
            sign = "+" if a is None else "-"
            return _block(f"{sign} {change.name}", _shown(value), indent)
        return _block(change.name, _shown(value), indent)
    condition = change.name.endswith(("when", "success"))  # read best one above the other
    if not condition and "\n" not in a and "\n" not in b \
            and len(a) + len(b) + len(change.name) < _INLINE:
        return [f"{indent}{change.name}: {a} → {b}"]
    lines = [f"{indent}{change.name}:"]
    lines += [f"{indent}  - {line}" for line in a.splitlines()]
    lines += [f"{indent}  + {line}" for line in b.splitlines()]
    return lines


def _block(name: str, value: str, indent: str) -> list[str]:
    rows = value.splitlines() or [""]
    if len(rows) == 1:
        return [f"{indent}{name}: {rows[0]}"]
    return [f"{indent}{name}:"] + [f"{indent}  {row}" for row in rows]


def _item_head(item: ItemDiff) -> str:
    title = f" {json.dumps(item.title, ensure_ascii=False)}" if item.title else ""
    if item.kind == item.name:  # a spec-wide setting
        return f"{_SIGN[item.status]} {item.kind}"
    return f"{_SIGN[item.status]} {item.kind} {item.name}{title}"


def _setting_line(item: ItemDiff) -> str | None:
    """`~ environment: staging → production` on one line."""
    if len(item.changes) != 1 or item.changes[0].name != "value":
        return None
    change = item.changes[0]
    name = item.kind if item.kind == item.name else f"{item.kind} {item.name}"
    if item.status != "changed":
        return f"{_SIGN[item.status]} {name}: {_shown(change.after or change.before)}"
    return f"{_SIGN[item.status]} {name}: {_shown(change.before)} → {_shown(change.after)}"


def render_text(report: Report, examples: int = 3) -> str:
    """A terminal's view: every changed item, then, with data, the volume per rule."""
    diff = report.diff
    lines = [f"csdsl diff {report.base} → {report.head}"]
    if not report.changed:
        note = " (the compiled artifacts differ only in the order of their declarations)" \
            if diff.reordered_only else ""
        lines.append(f"no change in meaning{note}")
    elif not diff.changed:
        lines.append("no change in the base spec")
    else:
        lines.append(f"{_plural(len(diff.items), 'change')}: {_counts(diff.items)}")
    lines += _items_text(diff.items, "")
    for name, found in report.changed_environments():
        lines.append("")
        lines.append(f"environment {name}: {_plural(len(found.items), 'change')}: "
                     f"{_counts(found.items)}{_besides(report)}")
        lines += _items_text(found.items, "  ")
    if report.volume is not None:
        lines.append("")
        lines += _volume_text(report, examples)
    return "\n".join(lines) + "\n"


def _items_text(items: Iterable[ItemDiff], indent: str) -> list[str]:
    lines: list[str] = []
    for item in items:
        lines.append("")
        setting = _setting_line(item)
        if setting is not None:
            lines.append(indent + setting)
            continue
        lines.append(indent + _item_head(item))
        for change in item.changes:
            lines += _property_lines(change, item.status, indent + "    ")
    return lines


def _volume_text(report: Report, examples: int) -> list[str]:
    volume = report.volume
    assert volume is not None
    lines = [f"on {volume.data} {_span(volume)} "
             f"({_plural(volume.accounts, 'account')}):"]
    status = {i.name: i.status for i in report.diff.of_kind("rule")}
    shown = _rules_to_show(report)
    rows = [("rule", "status", "base", "head", "delta")]
    for name in shown:
        v = volume.rules[name]
        rows.append((name, status.get(name, "same"), str(v.base), str(v.head),
                     _signed(v.delta)))
    rows.append(("all rules", "", str(volume.base_total), str(volume.head_total),
                 _signed(volume.head_total - volume.base_total)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                 *(c.rjust(w) for c, w in zip(row[2:], widths[2:], strict=True))]
        lines.append("  " + "  ".join(cells).rstrip())
    lines.append(f"  CTAs opened: {volume.base_total} → {volume.head_total}; plans opened: "
                 f"{volume.base_plans} → {volume.head_plans}")
    for side, breaches in (("base", volume.base_breaches), ("head", volume.head_breaches)):
        for message in breaches:
            lines.append(f"  {side} would break a limit: {message}")
    lines += _owners_text(volume)
    if volume.days > 1 and any(volume.rules[n].newly or volume.rules[n].stopped
                               for n in shown):
        lines.append("")
        lines.append(f"  the accounts below: a first run as of {volume.asof.isoformat()}")
    for name in shown:
        v = volume.rules[name]
        if v.base_plans != v.head_plans:
            lines.append(f"  {name}: plans {v.base_plans} → {v.head_plans}")
        lines += _accounts_text(v, examples)
    return lines


def _owners_text(volume: Volume) -> list[str]:
    changes = volume.owner_changes()
    if not changes:
        return []
    rows = [("owner", "base", "head", "delta")]
    rows += [(o, str(b), str(h), _signed(h - b)) for o, b, h in changes[:_OWNERS_SHOWN]]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["", f"  CTAs per owner (plan objectives included), for the "
                 f"{_plural(len(changes), 'owner')} whose count differs:"]
    for row in rows:
        cells = [row[0].ljust(widths[0]),
                 *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))]
        lines.append("    " + "  ".join(cells).rstrip())
    if len(changes) > _OWNERS_SHOWN:
        lines.append(f"    and {len(changes) - _OWNERS_SHOWN} more")
    return lines


def _accounts_text(v: RuleVolume, examples: int) -> list[str]:
    lines: list[str] = []
    for label, accounts, found in (("newly open for", v.newly, v.new_examples),
                                   ("no longer open for", v.stopped, v.stopped_examples)):
        if not accounts:
            continue
        lines.append("")
        lines.append(f"  {v.rule}: {label} {_plural(len(accounts), 'account')}: "
                     f"{_more(accounts, _ACCOUNTS_SHOWN)}")
        for example in found[:examples]:
            lines += _example_text(example)
    return lines


def _example_text(example: Example) -> list[str]:
    lines = [f"    {_account(example.account, example.name)}:"]
    for side, text in (("head", example.head), ("base", example.base)):
        if text is None:
            continue
        rows = text.splitlines()
        lines.append(f"      {side}: {rows[0]}")
        lines += [f"        {row}" for row in rows[1:]]
    return lines


# ---------------------------------------------------------------- JSON


def render_json(report: Report) -> str:
    """The contract's keys (`changed`, `rules`, with data `volume`) and the details."""
    diff = report.diff
    out: dict[str, Any] = {
        "changed": report.changed,
        "base": {"spec": report.base, "spec_hash": report.base_hash,
                 "environment": report.base_environment},
        "head": {"spec": report.head, "spec_hash": report.head_hash,
                 "environment": report.head_environment},
        "rules": {"added": diff.rule_names("added"), "removed": diff.rule_names("removed"),
                  "changed": diff.rule_names("changed")},
        "items": [i.to_json() for i in diff.items],
        "environments": {name: _diff_json(d) for name, d in report.environments.items()},
    }
    volume = report.volume
    if volume is not None:
        out["volume"] = {r: {"base": v.base, "head": v.head} for r, v in volume.rules.items()}
        out["owners"] = {o: {"base": b, "head": h} for o, b, h in volume.owner_changes()}
        out["data"] = {
            "path": volume.data, "as_of": volume.asof.isoformat(), "days": volume.days,
            "warm_up": volume.warm_up.isoformat() if volume.days > 1 else None,
            "accounts": volume.accounts,
            "ctas": {"base": volume.base_total, "head": volume.head_total},
            "plans": {"base": volume.base_plans, "head": volume.head_plans},
            "limit_breaches": {"base": volume.base_breaches, "head": volume.head_breaches},
        }
        out["accounts"] = {
            r: {"plans": {"base": v.base_plans, "head": v.head_plans},
                "newly": v.newly, "stopped": v.stopped,
                "examples": {"newly": [e.to_json() for e in v.new_examples],
                             "stopped": [e.to_json() for e in v.stopped_examples]}}
            for r, v in volume.rules.items() if v.differs
        }
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def _diff_json(diff: SpecDiff) -> dict[str, Any]:
    return {"changed": diff.changed,
            "rules": {"added": diff.rule_names("added"),
                      "removed": diff.rule_names("removed"),
                      "changed": diff.rule_names("changed")},
            "items": [i.to_json() for i in diff.items]}


# ---------------------------------------------------------------- Markdown


def _code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace(chr(10), ' ')}{pad}{fence}"


def _fenced(body: str, language: str = "") -> list[str]:
    longest, run = 0, 0
    for ch in body:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *body.splitlines(), fence]


def _diff_lines(item: ItemDiff) -> str:
    rows: list[str] = []
    for change in item.changes[:_PROPERTIES_SHOWN]:
        a, b = change.before, change.after
        if a is not None:
            rows += [f"- {change.name}: {line}" for line in a.splitlines()]
        if b is not None:
            rows += [f"+ {change.name}: {line}" for line in b.splitlines()]
    rest = len(item.changes) - _PROPERTIES_SHOWN
    if rest > 0:
        rows.append(f"  ... and {rest} more")
    return "\n".join(rows)


def render_markdown(report: Report, examples: int = 3) -> str:
    """A pull-request comment: the summary table, then one `<details>` per item."""
    diff, volume = report.diff, report.volume
    lines = [f"### csdsl diff: {_code(report.base)} → {_code(report.head)}", ""]
    if not diff.changed:
        lines.append("**No change in meaning.**" if not report.changed else
                     "**No change in the base spec.**")
        if volume is not None:
            lines.append("")
            lines.append(f"On {_code(volume.data)} {_span(volume)}, both "
                         f"open {_plural(volume.head_total, 'CTA')} and "
                         f"{_plural(volume.head_plans, 'plan')}.")
        if not report.changed:
            return "\n".join(lines) + "\n"
        lines.append("")
        return _bounded(lines + _environments_markdown(report, 0))
    lines.append(f"{_plural(len(diff.items), 'change')}: {_counts(diff.items)}.")
    lines.append("")
    status = {i.name: i.status for i in diff.of_kind("rule")}
    shown = _rules_to_show(report)
    if shown:
        lines.append("| rule | status | base CTAs | head CTAs | delta |")
        lines.append("|---|---|---:|---:|---:|")
        for name in shown[:_SECTIONS_SHOWN]:
            v = volume.rules.get(name) if volume is not None else None
            cells = ("–", "–", "–") if v is None else (str(v.base), str(v.head),
                                                      _signed(v.delta))
            lines.append(f"| {_code(name)} | {status.get(name, 'same')} | "
                         + " | ".join(cells) + " |")
        if len(shown) > _SECTIONS_SHOWN:
            lines.append(f"| and {len(shown) - _SECTIONS_SHOWN} more | | | | |")
        if volume is not None:
            lines.append(f"| **all rules** | | {volume.base_total} | {volume.head_total} | "
                         f"{_signed(volume.head_total - volume.base_total)} |")
        lines.append("")
    if volume is not None:
        lines.append(f"On {_code(volume.data)} {_span(volume)} "
                     f"({_plural(volume.accounts, 'account')}); plans opened: "
                     f"{volume.base_plans} → {volume.head_plans}.")
        for side, breaches in (("base", volume.base_breaches),
                               ("head", volume.head_breaches)):
            for message in breaches:
                lines.append(f"\n:warning: the {side} would break a limit: "
                             f"{html.escape(message)}")
        lines.append("")
        lines += _owners_markdown(volume)
        if volume.days > 1 and any(volume.rules[n].newly or volume.rules[n].stopped
                                   for n in shown if n in volume.rules):
            lines += [f"The accounts in the details: a first run as of "
                      f"{volume.asof.isoformat()}.", ""]
    others = [i for i in diff.items if i.kind != "rule"]
    if others and shown:  # without rules the first line said it all
        lines.append("Other changes: " + _counts(others) + ".")
        lines.append("")
    sections: list[list[str]] = []
    by_rule = {i.name: i for i in diff.of_kind("rule")}
    for name in shown:
        sections.append(_rule_section(by_rule.get(name), name, volume, examples))
    for item in others:
        sections.append(_item_section(item))
    for section in sections[:_SECTIONS_SHOWN]:
        lines += section
    if len(sections) > _SECTIONS_SHOWN:
        lines.append(f"and {len(sections) - _SECTIONS_SHOWN} more changes: run "
                     f"`csdsl diff` for all of them")
    return _bounded(lines + _environments_markdown(report, len(sections)))


def _owners_markdown(volume: Volume) -> list[str]:
    changes = volume.owner_changes()
    if not changes:
        return []
    lines = [f"CTAs per owner (plan objectives included), for the "
             f"{_plural(len(changes), 'owner')} whose count differs:", "",
             "| owner | base CTAs | head CTAs | delta |", "|---|---:|---:|---:|"]
    lines += [f"| {_code(o)} | {b} | {h} | {_signed(h - b)} |"
              for o, b, h in changes[:_OWNERS_SHOWN]]
    if len(changes) > _OWNERS_SHOWN:
        lines.append(f"| and {len(changes) - _OWNERS_SHOWN} more | | | |")
    return [*lines, ""]


def _environments_markdown(report: Report, shown: int) -> list[str]:
    """A heading per environment whose diff says more than the base spec's, then its
    items; `shown`: the sections listed already (all count towards the bound)."""
    lines: list[str] = []
    for name, found in report.changed_environments():
        lines.append(f"#### Environment {_code(name)}: {_plural(len(found.items), 'change')}"
                     f": {_counts(found.items)}{_besides(report)}.")
        lines.append("")
        for item in found.items:
            shown += 1
            if shown > _SECTIONS_SHOWN:
                lines.append("and more changes: run `csdsl diff` for all of them")
                lines.append("")
                break
            lines += _item_section(item)
    return lines


def _bounded(lines: list[str]) -> str:
    """The comment, its details cut to fit under GitHub's limit."""
    text = "\n".join(lines) + "\n"
    if len(text) > _MARKDOWN_LIMIT:
        cut = text[:_MARKDOWN_LIMIT].rsplit("\n<details>", 1)[0]
        text = cut + ("\n\n*The details were cut to fit a comment: run `csdsl diff` for "
                      "all of them.*\n")
    return text


def _summary(item: ItemDiff) -> str:
    title = f" ({html.escape(item.title)})" if item.title else ""
    return f"<b>{item.status}</b> {item.kind} <code>{html.escape(item.name)}</code>{title}"


def _item_section(item: ItemDiff) -> list[str]:
    return ["<details>", f"<summary>{_summary(item)}</summary>", "",
            *_fenced(_diff_lines(item), "diff"), "", "</details>", ""]


def _rule_section(item: ItemDiff | None, name: str, volume: Volume | None,
                  examples: int) -> list[str]:
    v = volume.rules.get(name) if volume is not None else None
    if item is not None:
        head = _summary(item)
    else:
        head = f"<b>same</b> rule <code>{html.escape(name)}</code>, opens differently"
    if v is not None:
        head += f": {v.base} → {v.head} CTAs"
    lines = ["<details>", f"<summary>{head}</summary>", ""]
    if item is not None:
        lines += [*_fenced(_diff_lines(item), "diff"), ""]
    if v is not None:
        for label, accounts, found in (("Newly open for", v.newly, v.new_examples),
                                       ("No longer open for", v.stopped,
                                        v.stopped_examples)):
            if not accounts:
                continue
            listed = _more([_code(a) for a in accounts], _ACCOUNTS_SHOWN)
            lines.append(f"{label} {_plural(len(accounts), 'account')}: {listed}")
            lines.append("")
            for example in found[:examples]:
                lines.append(f"{_code(_account(example.account, example.name))}:")
                lines.append("")
                body = textwrap.dedent("\n".join(_example_text(example)[1:]))
                lines += [*_fenced(body), ""]
        if v.base_plans != v.head_plans:
            lines += [f"Plans opened: {v.base_plans} → {v.head_plans}", ""]
    lines += ["</details>", ""]
    return lines
