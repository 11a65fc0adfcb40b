"""The schedule's graph algorithms give networkx's answers, on random graphs.

csdsl dropped networkx at run time (its import cost every `csdsl check` 0.1 s); the
cycles it prints and the order it schedules in must not change, so each algorithm is
held here to the networkx function it replaced.
"""

from __future__ import annotations

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

from csdsl.semantic.schedule import (
    Graph,
    _topological_order,
    find_cycles,
    strongly_connected_components,
)

NAMES = st.sampled_from([f"t{i}" for i in range(9)] + ["objective a", "objective b", "k.x"])
EDGES = st.lists(st.tuples(NAMES, NAMES), max_size=30)


def _both(nodes: list[str], edges: list[tuple[str, str]]) -> tuple[Graph, nx.DiGraph]:
    ours, theirs = Graph(), nx.DiGraph()
    for n in nodes:
        ours.add_node(n, None)
        theirs.add_node(n)
    for a, b in edges:
        ours.add_edge(a, b)
        theirs.add_edge(a, b)
    return ours, theirs


def _networkx_cycles(graph: nx.DiGraph) -> list[list[str]]:
    """csdsl's cycle report as it was written with networkx."""
    cycles = []
    for component in nx.strongly_connected_components(graph):
        nodes = sorted(component)
        if len(nodes) == 1 and not graph.has_edge(nodes[0], nodes[0]):
            continue
        edges = nx.find_cycle(graph.subgraph(component), source=nodes[0])
        cycles.append([u for u, _ in edges])
    return sorted(cycles)


@given(st.lists(NAMES, unique=True), EDGES)
def test_components_and_cycles_are_networkx_s(nodes: list[str],
                                              edges: list[tuple[str, str]]) -> None:
    ours, theirs = _both(nodes, edges)
    assert sorted(map(sorted, strongly_connected_components(ours))) == \
        sorted(map(sorted, nx.strongly_connected_components(theirs)))
    assert find_cycles(ours) == _networkx_cycles(theirs)


@given(st.lists(NAMES, unique=True), EDGES)
def test_the_order_is_networkx_s_lexicographic_topological_order(
        nodes: list[str], edges: list[tuple[str, str]]) -> None:
    acyclic = [(a, b) for a, b in edges if a < b]  # forward edges only: a DAG
    ours, theirs = _both(nodes, acyclic)
    assert _topological_order(ours) == list(nx.lexicographical_topological_sort(theirs))


def test_a_long_chain_needs_no_recursion() -> None:
    graph = Graph()
    for i in range(20_000):
        graph.add_edge(f"t{i:05d}", f"t{i + 1:05d}")
    graph.add_edge("t20000", "t00000")
    (cycle,) = find_cycles(graph)
    assert len(cycle) == 20_001 and cycle[0] == "t00000"
