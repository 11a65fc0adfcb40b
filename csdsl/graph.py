"""Pictures of schedules for pull requests: Mermaid (Gantt, flowchart) and Graphviz DOT.

Drawn from the compiled artifact, so a chart shows exactly what hosts will schedule.
"""

from __future__ import annotations

from datetime import date

from csdsl_runtime.artifact import Artifact, Plan, Playbook, Task
from csdsl_runtime.dates import add_days


def find(artifact: Artifact, name: str) -> Playbook | Plan | None:
    """The playbook or plan of that name."""
    items: list[Playbook | Plan] = [*artifact.playbooks, *artifact.plans]
    return next((item for item in items if item.name == name), None)


def _label(text: str) -> str:
    """Mermaid and DOT both choke on some punctuation inside labels."""
    text = " ".join(text.split())  # a newline or tab would end the chart line
    return text.replace('"', "'").replace(":", " -").replace("#", "").replace(";", ",")


def _node_id(key: str) -> str:
    return key.replace(".", "__")


def mermaid(item: Playbook | Plan, start: date, holidays: str | None = None) -> str:
    """A Gantt chart: one bar per task, critical tasks marked `crit`, plans by objective.
    Business days skip the public holidays of `holidays` (the artifact's region), as a
    host's do."""
    title = item.title or item.name
    lines = [
        "gantt",
        f"  title {_label(title)} ({item.name}, {item.calendar} days)",
        "  dateFormat YYYY-MM-DD",
        "  axisFormat %b %d",
    ]
    sections: list[tuple[str, tuple[Task, ...], str]] = []
    if isinstance(item, Playbook):
        sections.append(("Tasks", item.tasks, ""))
    else:
        for objective in item.objectives:
            sections.append((objective.title, objective.tasks, objective.key + "."))
    critical = set(item.critical_path)
    for heading, tasks, prefix in sections:
        lines.append(f"  section {_label(heading)}")
        for task in tasks:
            begin = add_days(start, task.start, item.calendar, holidays)
            end = add_days(start, task.due, item.calendar, holidays)
            tags = []
            if prefix + task.key in critical:
                tags.append("crit")
            if task.type == "milestone" or task.due == task.start:
                tags.append("milestone")
            tags.append(_node_id(prefix + task.key))
            days = max((end - begin).days, 0)
            lines.append(
                f"  {_label(task.title)} :{', '.join(tags)}, {begin.isoformat()}, {days}d"
            )
    if isinstance(item, Plan) and item.due is not None:
        due = add_days(start, item.due, "calendar")
        lines.append("  section Due")
        lines.append(f"  Plan due :milestone, plan_due, {due.isoformat()}, 0d")
    return "\n".join(lines) + "\n"


def dot(item: Playbook | Plan) -> str:
    """A dependency graph: tasks as boxes (critical in bold), objectives as clusters."""
    lines = [
        f'digraph "{item.name}" {{',
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
    ]
    critical = set(item.critical_path)

    def node(task: Task, key: str, indent: str) -> str:
        style = ", penwidth=2" if key in critical else ""
        label = f"{_label(task.title)}\\nday {task.start}–{task.due}"
        return f'{indent}"{key}" [label="{label}"{style}];'

    edges: list[str] = []
    if isinstance(item, Playbook):
        for task in item.tasks:
            lines.append(node(task, task.key, "  "))
            edges.extend(f'  "{a}" -> "{task.key}";' for a in task.after)
    else:
        for objective in item.objectives:
            lines.append(f'  subgraph "cluster_{objective.key}" {{')
            lines.append(f'    label="{_label(objective.title)} (due day {objective.due})";')
            for task in objective.tasks:
                key = f"{objective.key}.{task.key}"
                lines.append(node(task, key, "    "))
                edges.extend(f'  "{a}" -> "{key}";' for a in task.after)
            lines.append("  }")
            for before in objective.after:
                edges.append(f'  "cluster_{before}" -> "cluster_{objective.key}" [style=dashed];')
    lines.extend(e for e in edges if "cluster_" not in e)
    lines.extend(_objective_edges(item))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _objective_edges(item: Playbook | Plan) -> list[str]:
    """Objective-level `after`, drawn from the last task of one to the first of the other."""
    if isinstance(item, Playbook):
        return []
    by_key = {o.key: o for o in item.objectives}
    out = []
    for objective in item.objectives:
        for before in objective.after:
            source = by_key[before]
            if source.tasks and objective.tasks:
                last = f"{source.key}.{source.tasks[-1].key}"
                first = f"{objective.key}.{objective.tasks[0].key}"
                out.append(f'  "{last}" -> "{first}" [style=dashed, label="objective after"];')
    return out
