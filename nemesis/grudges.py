"""Grudge builders: pure functions from a node list (and a seeded rng) to a partition.

A grudge maps each node to the nodes it drops traffic *from* (Jepsen's shape). Partitions are built
from components: every node drops traffic from every node outside its own component, which makes the
partition symmetric. Builders take an explicit ``random.Random`` so a schedule is reproducible.
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
    """Two halves joined by one bridge node that still sees both sides (not symmetric by components)."""
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


BUILDERS = {"halves": random_halves, "one": isolate_one, "bridge": bridge}
