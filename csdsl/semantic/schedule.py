"""Dependency graphs and schedules of playbooks and plans.

Offsets are whole days from the anchor (CTA creation, or the plan's start), in the
playbook's or plan's calendar: `start = max(day, due of every task in after)`,
`due = start + duration`. An objective waits for every task of the objectives in its
`after`. Hosts get these numbers precomputed and do no graph work.

The graph work is three textbook algorithms (Tarjan's strongly connected components, a
depth-first search for one cycle, Kahn's topological order taking the smallest name
first) on a small adjacency map. They replaced networkx, whose import alone took 0.1 s
of every `csdsl check`; tests/test_schedule_graph.py holds them to networkx's results
on random graphs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from csdsl.diagnostics import Diagnostic, error
from csdsl.semantic.model import Schedule, Task, TaskSchedule
from csdsl.source import Span


@dataclass(slots=True)
class Graph:
    """A directed graph: nodes (tasks, or None for an objective's completion) and edges,
    both kept in insertion order, each edge once."""

    nodes: dict[str, Task | None] = field(default_factory=dict)
    succ: dict[str, dict[str, None]] = field(default_factory=dict)
    pred: dict[str, dict[str, None]] = field(default_factory=dict)

    def add_node(self, key: str, task: Task | None) -> None:
        if key not in self.nodes:
            self.succ[key] = {}
            self.pred[key] = {}
        self.nodes[key] = task

    def add_edge(self, before: str, after: str) -> None:
        for key in (before, after):
            if key not in self.nodes:
                self.add_node(key, None)
        self.succ[before][after] = None
        self.pred[after][before] = None


def _objective_node(name: str) -> str:
    return f"objective {name}"


def build_graph(
    tasks: Iterable[Task], objective_after: dict[str, tuple[str, ...]] | None = None
) -> Graph:
    """Tasks and (for plans) objective completion nodes, edges pointing forward in time."""
    graph = Graph()
    tasks = list(tasks)
    for t in tasks:
        graph.add_node(t.key, t)
    for t in tasks:
        for before in t.after:
            graph.add_edge(before, t.key)
    if objective_after is not None:
        for objective in objective_after:
            graph.add_node(_objective_node(objective), None)
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


def strongly_connected_components(graph: Graph) -> list[set[str]]:
    """Tarjan's algorithm, without recursion (a plan may chain thousands of tasks)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    for root in graph.nodes:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(graph.succ[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.succ[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _find_cycle(graph: Graph, component: set[str], source: str) -> list[str]:
    """The first cycle a depth-first walk of the edges inside `component` meets from
    `source`, as its steps. Each edge is walked once, in insertion order; a node met
    again goes on with the edges it has left (as networkx's `find_cycle` does)."""
    edges: dict[str, Iterator[str]] = {}
    path: list[str] = []  # the walk from the source to where it is now
    position: dict[str, int] = {}

    def enter(node: str) -> None:
        position[node] = len(path)
        path.append(node)
        if node not in edges:
            edges[node] = (n for n in graph.succ[node] if n in component)

    enter(source)
    while path:
        head = next(edges[path[-1]], None)
        if head is None:  # no edge left here: back up
            del position[path.pop()]
        elif head in position:
            return path[position[head]:]
        else:
            enter(head)
    raise AssertionError("a strongly connected component has a cycle")


def find_cycles(graph: Graph) -> list[list[str]]:
    """One cycle per strongly connected knot, each as the list of its steps."""
    cycles = []
    for component in strongly_connected_components(graph):
        nodes = sorted(component)
        if len(nodes) == 1 and nodes[0] not in graph.succ[nodes[0]]:
            continue
        cycles.append(_find_cycle(graph, component, nodes[0]))
    return sorted(cycles)


def _topological_order(graph: Graph) -> list[str]:
    """Kahn's algorithm taking the smallest ready name first: one order for one graph."""
    waiting = {n: len(graph.pred[n]) for n in graph.nodes}
    ready = [n for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for child in graph.succ[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    return order


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


def schedule(graph: Graph) -> Schedule:
    """Start and due offsets of every task, objective windows, length and critical path."""
    finish: dict[str, int] = {}
    starts: dict[str, int] = {}
    order = _topological_order(graph)
    for node in order:
        task = graph.nodes[node]
        ready = max((finish[p] for p in graph.pred[node]), default=0)
        if task is None:
            starts[node] = ready
            finish[node] = ready
        else:
            start = max(task.day, ready)
            starts[node] = start
            finish[node] = start + task.duration
    task_keys = [n for n, task in graph.nodes.items() if task is not None]
    length = max((finish[n] for n in graph.nodes), default=0)
    rank = {node: i for i, node in enumerate(order)}
    path = _critical_path(graph, finish, starts, task_keys, rank)
    on_path = set(path)
    tasks = {key: TaskSchedule(starts[key], finish[key], key in on_path) for key in task_keys}
    objectives: dict[str, tuple[int, int]] = {}
    for node, task in graph.nodes.items():
        if task is None:
            objective = node.removeprefix("objective ")
            members = [k for k in task_keys if _objective_of(graph, k) == objective]
            start = min((starts[k] for k in members), default=starts[node])
            objectives[objective] = (start, finish[node])
    return Schedule(tasks, objectives, length, tuple(path))


def _objective_of(graph: Graph, key: str) -> str | None:
    task = graph.nodes[key]
    return task.objective if task is not None else None


def _critical_path(
    graph: Graph, finish: dict[str, int], starts: dict[str, int], task_keys: list[str],
    rank: dict[str, int],
) -> list[str]:
    """Walk back from the last-due task through the predecessors that held it back."""
    if not task_keys:
        return []
    node = max(task_keys, key=lambda k: (finish[k], rank[k]))  # the last task to finish
    path = [node]
    while True:
        binding = sorted(p for p in graph.pred[node] if finish[p] == starts[node])
        if not binding:
            break
        node = binding[0]
        if graph.nodes[node] is not None:
            path.append(node)
    path.reverse()
    return path
