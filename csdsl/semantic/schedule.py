"""Dependency graphs and schedules of playbooks and plans (networkx).

Offsets are whole days from the anchor (CTA creation, or the plan's start), in the
playbook's or plan's calendar: `start = max(day, due of every task in after)`,
`due = start + duration`. An objective waits for every task of the objectives in its
`after`. Hosts get these numbers precomputed and do no graph work.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from csdsl.diagnostics import Diagnostic, error
from csdsl.semantic.model import Schedule, Task, TaskSchedule
from csdsl.source import Span


def _objective_node(name: str) -> str:
    return f"objective {name}"


def build_graph(
    tasks: Iterable[Task], objective_after: dict[str, tuple[str, ...]] | None = None
) -> nx.DiGraph:
    """Tasks and (for plans) objective completion nodes, edges pointing forward in time."""
    graph: nx.DiGraph = nx.DiGraph()
    tasks = list(tasks)
    for t in tasks:
        graph.add_node(t.key, task=t)
    for t in tasks:
        for before in t.after:
            graph.add_edge(before, t.key)
    if objective_after is not None:
        for objective in objective_after:
            graph.add_node(_objective_node(objective), task=None)
        for t in tasks:
            if t.objective is not None:
                graph.add_edge(t.key, _objective_node(t.objective))
        members: dict[str, list[str]] = {}
        for t in tasks:
            if t.objective is not None:
                members.setdefault(t.objective, []).append(t.key)
        for objective, befores in objective_after.items():
            for before in befores:
                graph.add_edge(_objective_node(before), _objective_node(objective))
                for key in members.get(objective, ()):
                    graph.add_edge(_objective_node(before), key)
    return graph


def find_cycles(graph: nx.DiGraph) -> list[list[str]]:
    """One cycle per strongly connected knot, each as the list of its steps."""
    cycles = []
    for component in nx.strongly_connected_components(graph):
        nodes = sorted(component)
        if len(nodes) == 1 and not graph.has_edge(nodes[0], nodes[0]):
            continue
        edges = nx.find_cycle(graph.subgraph(component), source=nodes[0])
        cycles.append([u for u, _ in edges])
    return sorted(cycles)


def cycle_diagnostic(cycle: list[str], span: Span, what: str) -> Diagnostic:
    steps = [*cycle, cycle[0]]
    shown = " → ".join(f"`{s}`" for s in steps)
    return error(
        "CS0400",
        span,
        f"the tasks of {what} depend on each other in a cycle",
        f"cycle: {shown}",
        "remove one `after` so the tasks can be ordered",
    )


def schedule(graph: nx.DiGraph) -> Schedule:
    """Start and due offsets of every task, objective windows, length and critical path."""
    finish: dict[str, int] = {}
    starts: dict[str, int] = {}
    order = list(nx.lexicographical_topological_sort(graph))
    for node in order:
        task: Task | None = graph.nodes[node].get("task")
        ready = max((finish[p] for p in graph.predecessors(node)), default=0)
        if task is None:
            starts[node] = ready
            finish[node] = ready
        else:
            start = max(task.day, ready)
            starts[node] = start
            finish[node] = start + task.duration
    task_keys = [n for n in graph.nodes if graph.nodes[n].get("task") is not None]
    length = max((finish[n] for n in graph.nodes), default=0)
    rank = {node: i for i, node in enumerate(order)}
    path = _critical_path(graph, finish, starts, task_keys, rank)
    on_path = set(path)
    tasks = {key: TaskSchedule(starts[key], finish[key], key in on_path) for key in task_keys}
    objectives: dict[str, tuple[int, int]] = {}
    for node in graph.nodes:
        if graph.nodes[node].get("task") is None:
            objective = node.removeprefix("objective ")
            members = [
                k for k in task_keys if graph.nodes[k]["task"].objective == objective
            ]
            start = min((starts[k] for k in members), default=starts[node])
            objectives[objective] = (start, finish[node])
    return Schedule(tasks, objectives, length, tuple(path))


def _critical_path(
    graph: nx.DiGraph, finish: dict[str, int], starts: dict[str, int], task_keys: list[str],
    rank: dict[str, int],
) -> list[str]:
    """Walk back from the last-due task through the predecessors that held it back."""
    if not task_keys:
        return []
    node = max(task_keys, key=lambda k: (finish[k], rank[k]))  # the last task to finish
    path = [node]
    while True:
        binding = sorted(p for p in graph.predecessors(node) if finish[p] == starts[node])
        if not binding:
            break
        node = binding[0]
        if graph.nodes[node].get("task") is not None:
            path.append(node)
    path.reverse()
    return path
