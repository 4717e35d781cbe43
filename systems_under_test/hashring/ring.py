"""The consistent-hashing ring: virtual nodes, preference lists, balance and movement (pure).

Each member is placed on a 64-bit ring at ``vnodes`` pseudo-random points (``sha256("node#i")``); a
key belongs to the first point clockwise from ``sha256(key)``, and its *preference list* -- the nodes
that store its replicas -- is the first ``n`` distinct members met walking clockwise from there
(Dynamo's scheme). Two properties make this worth the trouble, and ``tests/systems/test_hashring_ring``
plus ``bench/ring.py`` measure both:

* **balance** -- with one point per node the arcs, hence the key counts, vary wildly; many virtual
  points per node average the arcs out (the spread falls roughly as ``1/sqrt(vnodes)``);
* **minimal movement** -- adding or removing one of ``N`` members moves only the keys on the arcs it
  gains or loses, about ``K/N`` of ``K`` keys, where ``hash mod N`` placement would move almost all.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def position(label: str) -> int:
    """A point on the ring: the first 8 bytes of ``sha256(label)`` as an unsigned integer."""
    return int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big")


@dataclass(frozen=True, slots=True)
class Ring:
    """An immutable ring over ``members`` with ``vnodes`` points each."""

    members: tuple[str, ...]
    vnodes: int
    points: tuple[int, ...]
    owners_at: tuple[str, ...]  # owners_at[i] owns points[i]

    @staticmethod
    def build(members: Iterable[str], vnodes: int = 64) -> Ring:
        """Place every member at ``vnodes`` points."""
        ms = tuple(sorted(set(members)))
        if vnodes < 1:
            raise ValueError("vnodes must be >= 1")
        placed = sorted((position(f"{m}#{i}"), m) for m in ms for i in range(vnodes))
        return Ring(ms, vnodes, tuple(p for p, _ in placed), tuple(m for _, m in placed))

    def with_member(self, node: str) -> Ring:
        """The ring after ``node`` joins."""
        return Ring.build((*self.members, node), self.vnodes)

    def without_member(self, node: str) -> Ring:
        """The ring after ``node`` leaves."""
        return Ring.build((m for m in self.members if m != node), self.vnodes)

    def preference(self, key: str, n: int) -> tuple[str, ...]:
        """The first ``n`` distinct members clockwise from the key's position (fewer if the ring is small)."""
        if not self.points:
            return ()
        want = min(n, len(self.members))
        start = bisect.bisect_right(self.points, position(f"key:{key}"))
        out: list[str] = []
        for i in range(len(self.points)):
            node = self.owners_at[(start + i) % len(self.points)]
            if node not in out:
                out.append(node)
                if len(out) == want:
                    break
        return tuple(out)

    def primary(self, key: str) -> str:
        """The first node of the key's preference list."""
        return self.preference(key, 1)[0]


def distribution(ring: Ring, keys: Sequence[str]) -> dict[str, int]:
    """How many of ``keys`` each member is primary for (members with none included as 0)."""
    counts = dict.fromkeys(ring.members, 0)
    for k in keys:
        counts[ring.primary(k)] += 1
    return counts


def spread(counts: dict[str, int]) -> float:
    """Coefficient of variation of the per-node counts: std-dev / mean (0 means perfectly even)."""
    values = list(counts.values())
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return float(var**0.5 / mean) if mean else 0.0


def moved(before: Ring, after: Ring, keys: Sequence[str], n: int = 1) -> int:
    """How many keys change their preference list (as a set) between two rings."""
    return sum(set(before.preference(k, n)) != set(after.preference(k, n)) for k in keys)
