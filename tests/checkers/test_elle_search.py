"""The cycle search against brute force: every simple cycle of small random dependency graphs."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.elle.cycles import SPECS, accepts_labels, classify, find_cycle
from checkers.elle.graph import REALTIME, RW, WR, WW, DepGraph, label, sccs

EDGE_BITS = [WW, WR, RW, REALTIME, WW | REALTIME, RW | REALTIME, WR | RW]
# For these classes a closed walk of the class always contains a simple cycle of the class, so the
# search is complete, not only sound.
COMPLETE = {"G0", "G1c", "G-single-item"}

edges = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.sampled_from(EDGE_BITS)), max_size=20)


@settings(max_examples=300, deadline=None)
@given(edges=edges)
def test_search_is_sound_and_complete_where_promised(edges: list[tuple[int, int, int]]) -> None:
    g = DepGraph(7)
    nxg = nx.DiGraph()
    for a, b, bits in edges:
        if a != b:
            g.link(a, b, bits)
            nxg.add_edge(a, b)
    cycles = list(nx.simple_cycles(nxg))
    comps = sccs(g)
    for spec in SPECS:
        if spec.name.endswith("-process"):
            continue

        def labels(c: list[int] | tuple[int, ...], usable: int = spec.usable) -> list[int]:
            return [label(g.rels(c[i], c[(i + 1) % len(c)]), usable) for i in range(len(c))]

        exists = any(accepts_labels(labels(c), spec) for c in cycles)
        found = None
        for comp in comps:
            found, timed_out = find_cycle(g, comp, spec, budget=10**7)
            assert not timed_out
            if found:
                break
        if found is not None:
            verts, labs = found
            assert len(set(verts)) == len(verts), "cycles are simple"
            assert list(labs) == labels(verts)
            assert accepts_labels(labs, spec)
            assert exists
            if spec.name in COMPLETE:
                assert classify(labels(verts, 31)) in (spec.name, "G0", "G1c")
        if spec.name in COMPLETE and exists:
            assert found is not None, spec.name
