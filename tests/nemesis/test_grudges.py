"""Grudge builders: symmetric, complete partitions drawn reproducibly from a seeded rng."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from nemesis.grudges import bridge, complete_grudge, isolate, isolate_one, random_halves

NODES = [f"n{i}" for i in range(1, 6)]


def _symmetric(grudge: dict[str, list[str]]) -> bool:
    return all(a in grudge.get(b, []) for a, drops in grudge.items() for b in drops)


def test_complete_grudge() -> None:
    g = complete_grudge([["n1"], ["n2", "n3"]])
    assert g == {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}


def test_isolate() -> None:
    assert isolate(["n1", "n2", "n3"], "n2") == {"n1": ["n2"], "n2": ["n1", "n3"], "n3": ["n2"]}


@given(st.integers(min_value=1, max_value=9), st.integers(min_value=0, max_value=2**32))
def test_halves_and_isolation_are_symmetric_partitions_of_every_node(n: int, seed: int) -> None:
    nodes = [f"n{i}" for i in range(1, n + 1)]
    for builder in (random_halves, isolate_one):
        g = builder(nodes, random.Random(seed))
        assert set(g) == set(nodes)
        assert _symmetric(g)
        assert all(node not in drops for node, drops in g.items())
        assert g == builder(nodes, random.Random(seed)), "same seed, same grudge"


def test_halves_leave_a_majority_side() -> None:
    for seed in range(20):
        g = random_halves(NODES, random.Random(seed))
        sides = {tuple(sorted(set(NODES) - set(drops))) for drops in g.values()}
        assert sorted(len(s) for s in sides) == [2, 3]


def test_isolate_one_cuts_exactly_one_node() -> None:
    g = isolate_one(NODES, random.Random(1))
    lonely = [n for n, drops in g.items() if len(drops) == len(NODES) - 1]
    assert len(lonely) == 1
    assert all(drops == lonely for n, drops in g.items() if n != lonely[0])


def test_bridge_node_sees_both_sides() -> None:
    g = bridge(NODES, random.Random(2))
    bridges = [n for n, drops in g.items() if not drops]
    assert len(bridges) == 1
    assert all(bridges[0] not in drops for drops in g.values())
    assert _symmetric(g)
