"""Nemesis packages: named fault families a user selects with ``--nemesis partition,kill``.

A package knows how to draw one fault (with a seeded rng) and how to undo it, and which backend
capability it needs, so a schedule can be built and refused up front without touching a backend.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nemesis import grudges
from nemesis.faults import FaultKind, FaultOp
from systems_under_test.registry import UnknownName


def _minority(nodes: Sequence[str], rng: random.Random) -> list[str]:
    """A random non-empty minority of the nodes (one node for clusters of 1 or 2), sorted."""
    k = max(1, (len(nodes) - 1) // 2)
    return sorted(rng.sample(list(nodes), rng.randint(1, k)))


def _start_partition(nodes: Sequence[str], rng: random.Random) -> FaultOp:
    builder = rng.choice([grudges.random_halves, grudges.isolate_one])
    return FaultOp(FaultKind.START_PARTITION, builder(nodes, rng))


def _bump_clock(nodes: Sequence[str], rng: random.Random) -> FaultOp:
    targets = _minority(nodes, rng)
    return FaultOp(FaultKind.BUMP_CLOCK, {n: round(rng.uniform(-10.0, 10.0), 3) for n in targets})


def _start_packet(nodes: Sequence[str], rng: random.Random) -> FaultOp:
    return FaultOp(
        FaultKind.START_PACKET,
        {
            "nodes": sorted(nodes),
            "delay": round(rng.uniform(0.0, 0.1), 3),
            "loss": round(rng.uniform(0.0, 0.3), 3),
            "dup": round(rng.uniform(0.0, 0.1), 3),
        },
    )


def _undo(op: FaultOp) -> FaultOp:
    """The op that reverses ``op``."""
    kind = op.kind
    if kind is FaultKind.START_PARTITION:
        return FaultOp(FaultKind.STOP_PARTITION, None)
    if kind is FaultKind.KILL:
        return FaultOp(FaultKind.START, op.value)
    if kind is FaultKind.PAUSE:
        return FaultOp(FaultKind.RESUME, op.value)
    if kind is FaultKind.BUMP_CLOCK:
        return FaultOp(FaultKind.RESET_CLOCK, sorted(op.value))
    if kind is FaultKind.START_PACKET:
        return FaultOp(FaultKind.STOP_PACKET, op.value["nodes"])
    raise ValueError(f"{kind.value} is not a fault start")


@dataclass(frozen=True, slots=True)
class Package:
    """A fault family: its name, required capability, and how to draw one fault."""

    name: str
    capability: str
    description: str
    draw: Callable[[Sequence[str], random.Random], FaultOp]

    def undo(self, op: FaultOp) -> FaultOp:
        """The op that heals ``op``."""
        return _undo(op)


PACKAGES: Mapping[str, Package] = {
    p.name: p
    for p in (
        Package("partition", "net", "network partitions: random halves or one node isolated", _start_partition),
        Package("kill", "kill", "crash a minority of nodes (SIGKILL) and restart them later",
                lambda nodes, rng: FaultOp(FaultKind.KILL, _minority(nodes, rng))),
        Package("pause", "pause", "freeze a minority of nodes (SIGSTOP) and resume them later",
                lambda nodes, rng: FaultOp(FaultKind.PAUSE, _minority(nodes, rng))),
        Package("clock", "clock", "offset a minority of node clocks by up to +-10 s", _bump_clock),
        Package("packet", "packet", "delay, drop and duplicate peer messages", _start_packet),
    )
}


def resolve_packages(names: Sequence[str]) -> tuple[Package, ...]:
    """The packages called ``names`` (``"none"`` or empty = no faults); raises ``UnknownName``."""
    out: list[Package] = []
    for name in names:
        name = name.strip()
        if not name or name == "none":
            continue
        if name == "all":
            out.extend(p for p in PACKAGES.values() if p not in out)
            continue
        if name not in PACKAGES:
            raise UnknownName(f"unknown nemesis {name!r}", [*PACKAGES, "all", "none"])
        if PACKAGES[name] not in out:
            out.append(PACKAGES[name])
    return tuple(out)


def describe() -> list[dict[str, Any]]:
    """Name, capability and description of every package (for ``splitbrain systems``)."""
    return [{"name": p.name, "capability": p.capability, "description": p.description} for p in PACKAGES.values()]
