"""System descriptors and the registry of every system under test (DESIGN §3).

Each ``systems_under_test/<name>/__init__.py`` exposes ``DESCRIPTOR``: the system's name, its variants
(correct first, planted bugs marked with a one-line description of the bug), the core factory and the
workloads it supports. Adding a system means adding its package and one line to ``_SYSTEM_MODULES``;
the runner never changes.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from systems_under_test.core import Core

CoreFactory = Callable[[str, Sequence[str], random.Random, Mapping[str, Any]], Core]

# Packages that define a DESCRIPTOR, in the order `splitbrain systems` lists them.
_SYSTEM_MODULES: tuple[str, ...] = (
    "systems_under_test.replication",
    "systems_under_test.paxos",
    "systems_under_test.twopc",
    "systems_under_test.lock",
    "systems_under_test.hashring",
    "systems_under_test.etcd",
    "systems_under_test.redis",
    "systems_under_test.maelstrom",
)


@dataclass(frozen=True, slots=True)
class Variant:
    """One implementation of a system: the correct one or a planted bug."""

    name: str  # full name, e.g. "replication" or "replication:async"
    description: str
    planted_bug: bool
    factory: CoreFactory
    config: Mapping[str, Any] = field(default_factory=dict)

    def make_core(
        self, node_id: str, peer_ids: Sequence[str], rng: random.Random, config: Mapping[str, Any] | None = None
    ) -> Core:
        """Build this variant's core for ``node_id`` with the variant's config overlaid by ``config``."""
        merged = {**self.config, **(config or {})}
        return self.factory(node_id, peer_ids, rng, merged)


@dataclass(frozen=True, slots=True)
class SystemDescriptor:
    """What the harness needs to know about a system under test."""

    name: str
    description: str
    variants: tuple[Variant, ...]  # correct variant first
    workloads: tuple[str, ...]  # first is the default
    default_nodes: int = 3
    min_nodes: int = 1
    # A third-party system (etcd, redis) has no core: this names the ``harness`` module that installs,
    # starts and reaches it (a string, since systems_under_test may not import harness). None = ours.
    external: str | None = None

    def variant(self, name: str) -> Variant:
        """The variant called ``name`` (``"sys"`` or ``"sys:bug"``); raises ``UnknownName``."""
        for v in self.variants:
            if v.name == name:
                return v
        raise UnknownName(f"unknown variant {name!r} of system {self.name!r}", [v.name for v in self.variants])


class UnknownName(LookupError):
    """A system, variant or workload name that does not exist; carries the valid choices."""

    def __init__(self, message: str, choices: Sequence[str]) -> None:
        super().__init__(f"{message}; valid choices: {', '.join(choices)}")
        self.choices = tuple(choices)


def systems() -> dict[str, SystemDescriptor]:
    """Every registered system, by name, in listing order."""
    out: dict[str, SystemDescriptor] = {}
    for mod_name in _SYSTEM_MODULES:
        desc: SystemDescriptor = importlib.import_module(mod_name).DESCRIPTOR
        out[desc.name] = desc
    return out


def resolve(name: str) -> tuple[SystemDescriptor, Variant]:
    """Resolve ``"sys"`` or ``"sys:variant"`` to its descriptor and variant, or raise ``UnknownName``."""
    all_systems = systems()
    base = name.split(":", 1)[0]
    if base not in all_systems:
        raise UnknownName(f"unknown system {base!r}", list(all_systems))
    desc = all_systems[base]
    return desc, desc.variant(name)
