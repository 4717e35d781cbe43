"""Grudge builders: pure functions from a node list (and a seeded rng) to a partition.

A grudge maps each node to the nodes it drops traffic *from* (Jepsen's shape). Most partitions are
built from components: every node drops traffic from every node outside its own component, which
makes the partition symmetric. Two are deliberately not component-shaped, because they are the ones
that break protocols whose authors imagined only clean splits: the *bridge* (two sides that cannot
talk, joined by one node that talks to both, so both sides may believe they have a majority through
it) and the *majorities ring* (every node sees a majority, but no two nodes see the same one, so any
"I can reach a majority" leader check passes on several nodes at once). Builders take an explicit
``random.Random`` so a schedule is reproducible; every builder returns an entry for every node.

Small clusters cannot express every shape; builders then degrade to the closest one and say so:
a cluster of one cannot be split at all (empty grudge), the bridge needs three nodes (else halves),
and with two nodes the only majority is both nodes, so a majorities ring is fully connected.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

GrudgeValue = dict[str, list[str]]


def complete_grudge(components: Sequence[Sequence[str]]) -> GrudgeValue:
    """Each node drops traffic from every node not in its own component (a symmetric partition)."""
    everyone = [n for comp in components for n in comp]
    grudge: GrudgeValue = {}
    for comp in components:
        inside = set(comp)
        for node in comp:
            grudge[node] = sorted(n for n in everyone if n not in inside)
    return dict(sorted(grudge.items()))


def random_halves(nodes: Sequence[str], rng: random.Random) -> GrudgeValue:
    """Shuffle the nodes and cut them into a smaller and a larger half (the larger keeps a majority)."""
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    cut = len(shuffled) // 2
    return complete_grudge([shuffled[:cut], shuffled[cut:]])


def isolate_one(nodes: Sequence[str], rng: random.Random) -> GrudgeValue:
    """Cut one random node off from all the others."""
    victim = rng.choice(list(nodes))
    return complete_grudge([[victim], [n for n in nodes if n != victim]])


def isolate(nodes: Sequence[str], victim: str) -> GrudgeValue:
    """Cut ``victim`` off from all the others."""
    return complete_grudge([[victim], [n for n in nodes if n != victim]])


def bridge(nodes: Sequence[str], rng: random.Random) -> GrudgeValue:
    """Two halves joined by one bridge node that still sees both sides (< 3 nodes: random halves)."""
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    if len(shuffled) < 3:
        return random_halves(nodes, rng)
    mid = len(shuffled) // 2
    left, bridge_node, right = shuffled[:mid], shuffled[mid], shuffled[mid + 1 :]
    grudge: GrudgeValue = {n: sorted(right) for n in left}
    grudge.update({n: sorted(left) for n in right})
    grudge[bridge_node] = []
    return dict(sorted(grudge.items()))


def isolate_group(nodes: Sequence[str], group: Sequence[str]) -> GrudgeValue:
    """Cut the nodes of ``group`` off from the rest (they still talk among themselves)."""
    inside = set(group)
    return complete_grudge([[n for n in nodes if n in inside], [n for n in nodes if n not in inside]])


def majority_size(n: int) -> int:
    """The smallest majority of ``n`` nodes."""
    return n // 2 + 1


def minority(nodes: Sequence[str], rng: random.Random) -> GrudgeValue:
    """Cut a random minority (1 .. (n-1)//2 nodes, together) off from the majority."""
    if len(nodes) < 2:
        return complete_grudge([list(nodes)])
    k = rng.randint(1, max(1, (len(nodes) - 1) // 2))
    return isolate_group(nodes, rng.sample(list(nodes), k))


def majorities_ring(nodes: Sequence[str], rng: random.Random) -> GrudgeValue:
    """Every node sees a majority (itself included), and for n >= 3 no two nodes see the same one.

    The nodes are shuffled onto a ring; node ``i`` sees the window of ``majority_size(n)`` consecutive
    ring positions around it (for an even window one more on the right than on the left) and drops
    everything else. Windows start at different positions, so views differ whenever the window is
    smaller than the ring (n >= 3). Views are not symmetric for even windows: one-way links are part
    of what this partition tests.
    """
    ring = list(nodes)
    rng.shuffle(ring)
    n = len(ring)
    m = majority_size(n)
    left = (m - 1) // 2
    grudge: GrudgeValue = {}
    for i, node in enumerate(ring):
        view = {ring[(i - left + j) % n] for j in range(m)}
        grudge[node] = sorted(x for x in ring if x not in view)
    return dict(sorted(grudge.items()))


def views(grudge: GrudgeValue) -> dict[str, frozenset[str]]:
    """What each node still hears from (itself included) under ``grudge``."""
    everyone = set(grudge) | {x for v in grudge.values() for x in v}
    return {n: frozenset(everyone - set(grudge.get(n, ()))) for n in sorted(everyone)}


BUILDERS = {
    "halves": random_halves,
    "one": isolate_one,
    "minority": minority,
    "ring": majorities_ring,
    "bridge": bridge,
}
"""Grudge builders by name (``partition:<name>``); ``primaries`` is resolved while the run goes."""
