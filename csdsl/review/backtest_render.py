"""The outputs of `csdsl backtest`: text, JSON, CSV and a static HTML page.

Each takes the replayed version as `(label, Backtest)` and, with `--against`, the base
version the same way. The HTML page draws a weekly volume chart per rule with Plotly
(a well-kept library that writes one self-contained file: its JavaScript is inlined
once, so the page opens offline, in a CI artifact or a mail attachment).
"""

from __future__ import annotations

import csv
import html
import io
import json
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csdsl_runtime.backtest import Backtest

Version = tuple[str, "Backtest"]

OWNERS_SHOWN = 15


def render(fmt: str, head: Version, base: Version | None) -> str:
    if fmt == "json":
        return render_json(head, base)
    if fmt == "csv":
        return render_csv(head, base)
    if fmt == "html":
        return render_html(head, base)
    return render_text(head, base)


# ------------------------------------------------------------------ JSON and CSV


def render_json(head: Version, base: Version | None) -> str:
    """RUNTIME.md's object (`days`: per day `opened` and `closed` per rule) of SPEC, with
    `against` holding the same object for BASE."""
    out = {"spec": head[0], **head[1].to_json()}
    if base is not None:
        out["against"] = {"spec": base[0], **base[1].to_json()}
    return json.dumps(out, indent=2, sort_keys=True) + "\n"


def render_csv(head: Version, base: Version | None) -> str:
    """One row per version, day and rule that opened or closed anything."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["version", "date", "rule", "opened", "closed"])
    for role, version in (("spec", head), ("against", base)):
        if version is None:
            continue
        for day in version[1].days:
            for rule in sorted(set(day.opened) | set(day.closed)):
                writer.writerow([role, day.day.isoformat(), rule, day.opened.get(rule, 0),
                                 day.closed.get(rule, 0)])
    return buffer.getvalue()


# ------------------------------------------------------------------ text


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.rjust(w) if i in right else c.ljust(w)
                      for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
            for r in rows]


def render_text(head: Version, base: Version | None) -> str:
    label, result = head
    days = (result.end - result.start).days + 1
    lines = [f"backtest of {label}: {result.start.isoformat()} .. {result.end.isoformat()}, "
             f"{days} days, {result.accounts:,} accounts ({result.seconds.get('total', 0):.1f} s)"]
    if base is not None:
        lines.append(f"against {base[0]} ({base[1].seconds.get('total', 0):.1f} s)")
    lines += [f"note: {c}" for c in result.caveats]
    lines.append("note: the first day opens a CTA for every account its rule already holds "
                 "for (the backlog); weekly figures and floods leave it out")
    lines.append("")
    lines += _rule_table(result, None if base is None else base[1])
    lines.append("")
    lines += _weekly_text("opened per week" if base is None else f"opened per week, {label}",
                          result)
    if base is not None:
        lines += _weekly_text(f"opened per week, {base[0]}", base[1])
    lines += _floods_text("floods", result)
    if base is not None:
        lines += _floods_text(f"floods in {base[0]}", base[1])
    lines += _load_text(result)
    return "\n".join(lines).rstrip() + "\n"


def _weekly_text(title: str, result: Backtest) -> list[str]:
    weeks = result.weeks()
    weekly = result.weekly("opened")
    header = [title] + [w.strftime("%m-%d") for w in weeks]
    rows = [header] + [[rule] + [str(weekly[rule].get(w, 0)) for w in weeks]
                       for rule in result.rules if any(weekly[rule].values())]
    if len(rows) == 1:
        return []
    return [*_table(rows, set(range(1, len(header)))), ""]


def _rule_table(result: Backtest, base: Backtest | None) -> list[str]:
    totals = result.totals()
    backlog = result.backlog
    if base is None:
        rows = [["rule", "backlog", "opened", "closed", "per week (median)"]]
        for rule in result.rules:
            rows.append([rule, str(backlog.get(rule, 0)), str(totals[rule]["opened"]),
                         str(totals[rule]["closed"]), _median(result, rule)])
        return _table(rows, {1, 2, 3, 4})
    before = base.totals()
    rows = [["rule", "opened before", "opened after", "change", "closed before",
             "closed after", "status"]]
    for rule in sorted(set(result.rules) | set(base.rules)):
        a = before.get(rule, {"opened": 0, "closed": 0})
        b = totals.get(rule, {"opened": 0, "closed": 0})
        status = "added" if rule not in base.rules else "removed" if (
            rule not in result.rules) else ""
        rows.append([rule, str(a["opened"]), str(b["opened"]), _delta(a["opened"], b["opened"]),
                     str(a["closed"]), str(b["closed"]), status])
    return _table(rows, {1, 2, 3, 4, 5})


def _median(result: Backtest, rule: str) -> str:
    import statistics

    volumes = list(result.weekly("opened").get(rule, {}).values())
    return f"{statistics.median(volumes):g}" if volumes else "0"


def _delta(before: int, after: int) -> str:
    if before == after:
        return "0"
    sign = "+" if after > before else "-"
    if before == 0:
        return f"{sign}{abs(after - before)}"
    return f"{sign}{abs(after - before)} ({(after - before) / before:+.0%})"


def _floods_text(title: str, result: Backtest) -> list[str]:
    lines: list[str] = []
    if result.floods:
        lines.append(f"{title}:")
        lines += [f"  {f.rule}: {f.opened} in the week of {f.week.isoformat()}, {f.reason()}"
                  for f in result.floods]
        lines.append("")
    breaches = [(day.day, b) for day in result.days for b in day.limit_breaches]
    if breaches:
        lines.append("days that broke a limit (they stored nothing, as on a host):")
        lines += [f"  {day.isoformat()}: {b.get('message', b)}" for day, b in breaches]
        lines.append("")
    return lines


def _load_text(result: Backtest) -> list[str]:
    load = result.owner_load
    if not load:
        return []
    weeks = result.weeks()
    busiest = sorted(load, key=lambda o: (-max(c["open"] for c in load[o].values()), o))
    rows = [["owner: open CTAs / tasks due"] + [w.strftime("%m-%d") for w in weeks]]
    for owner in busiest[:OWNERS_SHOWN]:
        cells = load[owner]
        rows.append([owner] + [f"{cells[w]['open']}/{cells[w]['tasks_due']}" if w in cells
                               else "0/0" for w in weeks])
    lines = _table(rows, set(range(1, len(rows[0]))))
    if len(busiest) > OWNERS_SHOWN:
        lines.append(f"(and {len(busiest) - OWNERS_SHOWN} more owners: --format json or csv "
                     "lists them all)")
    return lines


# ------------------------------------------------------------------ HTML


def render_html(head: Version, base: Version | None) -> str:
    """A static page: a summary, the floods, a weekly chart per rule (opened and closed;
    before and after with `--against`) and the load per owner."""
    import plotly.graph_objects as go

    label, result = head
    charts: list[str] = []
    weeks = [w.isoformat() for w in result.weeks()]
    versions = [("after" if base else "opened", result)]
    if base is not None:
        versions.insert(0, ("before", base[1]))
    rules = sorted(set(result.rules) | (set(base[1].rules) if base else set()))
    for rule in rules:
        figure = go.Figure()
        for name, version in versions:
            opened = version.weekly("opened").get(rule, {})
            figure.add_bar(x=weeks, y=[opened.get(w, 0) for w in version.weeks()], name=name)
        for name, version in versions:
            closed = version.weekly("closed").get(rule, {})
            if any(closed.values()):
                figure.add_scatter(x=weeks, y=[closed.get(w, 0) for w in version.weeks()],
                                   name="closed" if base is None else f"closed ({name})",
                                   mode="lines+markers")
        figure.update_layout(title=f"{rule}: per week", height=260, barmode="group",
                             margin={"l": 40, "r": 10, "t": 40, "b": 30},
                             xaxis_title=None, yaxis_title="CTAs")
        charts.append(f'<section class="rule" id="rule-{html.escape(rule)}">' + figure.to_html(
            full_html=False, include_plotlyjs=not charts, div_id=f"chart-{rule}",
            config={"displaylogo": False, "responsive": True}) + "</section>")
    summary = "\n".join(html.escape(line) for line in render_text(head, base).splitlines())
    title = f"csdsl backtest: {label} {result.start.isoformat()} .. {result.end.isoformat()}"
    return _PAGE.format(title=html.escape(title), summary=summary, charts="\n".join(charts),
                        generated=html.escape(date.today().isoformat()))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }}
pre {{ background: #f6f8fa; padding: 1rem; overflow-x: auto; font-size: 12px; }}
section.rule {{ margin: 0.5rem 0 1rem; }}
</style>
</head>
<body>
<h1>{title}</h1>
<h2>Summary</h2>
<pre id="summary">{summary}</pre>
<h2>Weekly volume per rule</h2>
{charts}
<footer><small>written by csdsl on {generated}</small></footer>
</body>
</html>
"""
