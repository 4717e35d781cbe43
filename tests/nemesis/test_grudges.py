"""Grudge builders: properties over cluster sizes 1..9 and seeds, plus the exact small cases."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from nemesis.grudges import (
    BUILDERS,
    bridge,
    complete_grudge,
    isolate,
    isolate_group,
    isolate_one,
    majorities_ring,
    majority_size,
    minority,
    random_halves,
    views,
)

NODES = [f"n{i}" for i in range(1, 6)]
sizes = st.integers(min_value=1, max_value=9)
seeds = st.integers(min_value=0, max_value=2**32)


def _nodes(n: int) -> list[str]:
    return [f"n{i}" for i in range(1, n + 1)]


def _symmetric(grudge: dict[str, list[str]]) -> bool:
    return all(a in grudge.get(b, []) for a, drops in grudge.items() for b in drops)


def _sides(grudge: dict[str, list[str]]) -> list[frozenset[str]]:
    """The components of a symmetric, component-shaped grudge."""
    return sorted(set(views(grudge).values()), key=lambda s: (len(s), sorted(s)))


def test_complete_grudge() -> None:
    g = complete_grudge([["n1"], ["n2", "n3"]])
    assert g == {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}


def test_isolate() -> None:
    assert isolate(["n1", "n2", "n3"], "n2") == {"n1": ["n2"], "n2": ["n1", "n3"], "n3": ["n2"]}
    assert isolate_group(NODES, ["n4", "n2"])["n2"] == ["n1", "n3", "n5"]


@given(sizes, seeds)
def test_every_builder_covers_every_node_never_drops_itself_and_is_seeded(n: int, seed: int) -> None:
    nodes = _nodes(n)
    for name, builder in BUILDERS.items():
        g = builder(nodes, random.Random(seed))
        assert set(g) == set(nodes), name
        assert all(node not in drops and set(drops) <= set(nodes) for node, drops in g.items()), name
        assert g == builder(nodes, random.Random(seed)), f"{name}: same seed, same grudge"


@given(sizes, seeds)
def test_halves_are_symmetric_with_sizes_differing_by_at_most_one(n: int, seed: int) -> None:
    g = random_halves(_nodes(n), random.Random(seed))
    assert _symmetric(g)
    sides = _sides(g)
    if n == 1:
        assert sides == [frozenset({"n1"})]
    else:
        assert len(sides) == 2 and abs(len(sides[0]) - len(sides[1])) <= 1
        assert len(sides[1]) >= majority_size(n) - (n % 2 == 0), "the larger half is a majority for odd n"


@given(sizes, seeds)
def test_isolate_one_cuts_exactly_one_node(n: int, seed: int) -> None:
    g = isolate_one(_nodes(n), random.Random(seed))
    assert _symmetric(g)
    if n > 1:
        lonely = [x for x, drops in g.items() if len(drops) == n - 1]
        assert len(lonely) == 1 or n == 2
        assert sorted(len(s) for s in _sides(g)) == [1, n - 1]


@given(sizes, seeds)
def test_minority_majority_split(n: int, seed: int) -> None:
    g = minority(_nodes(n), random.Random(seed))
    assert _symmetric(g)
    sides = _sides(g)
    if n < 2:
        assert sides == [frozenset(_nodes(n))], "one node cannot be split"
        return
    assert len(sides) == 2
    small, big = sides
    assert 1 <= len(small) <= max(1, (n - 1) // 2)
    assert len(big) >= majority_size(n) or n == 2


@given(sizes, seeds)
def test_majorities_ring_every_node_sees_a_majority_and_views_differ(n: int, seed: int) -> None:
    nodes = _nodes(n)
    g = majorities_ring(nodes, random.Random(seed))
    seen = views(g)
    assert all(node in seen[node] for node in nodes)
    assert all(len(v) == majority_size(n) for v in seen.values()), "exactly a majority each"
    if n >= 3:
        assert len(set(seen.values())) == n, "no two nodes see the same majority"
    else:
        assert all(v == frozenset(nodes) for v in seen.values()), "n <= 2: the only majority is everyone"
    if n >= 5:
        # the point of the ring: some pair that cannot hear each other both see a majority
        assert any(g[a] for a in nodes)


@given(sizes, seeds)
def test_bridge_node_sees_both_sides_and_the_sides_do_not_see_each_other(n: int, seed: int) -> None:
    g = bridge(_nodes(n), random.Random(seed))
    assert _symmetric(g)
    if n < 3:
        assert g == random_halves(_nodes(n), random.Random(seed)), "too small for a bridge: halves"
        return
    bridges = [x for x, drops in g.items() if not drops]
    assert len(bridges) == 1
    b = bridges[0]
    assert all(b not in drops for drops in g.values()), "everyone hears the bridge"
    left = {x for x in g if x != b and g[x]}
    sides = {frozenset(views(g)[x] - {b}) for x in left}
    assert len(sides) == 2 and frozenset().union(*sides) == set(g) - {b}
    assert all(len(s) * 2 <= n for s in sides), "neither side is a majority without the bridge"


def test_ring_of_five_is_a_ring() -> None:
    g = majorities_ring(NODES, random.Random(3))
    # every node drops exactly the two nodes opposite it on the ring
    assert all(len(drops) == 2 for drops in g.values())
    assert _symmetric(g)
