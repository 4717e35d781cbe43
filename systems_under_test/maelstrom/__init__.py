"""``maelstrom``: any external program that speaks Maelstrom's protocol, as a system under test.

The user brings the executable (``--bin``); every node is its own OS process running it, hosted by a
shim (:mod:`systems_under_test.maelstrom.runtime.shim`) that bridges its stdin/stdout to our node network, so
partitions, packet faults, kills and pauses apply to it as to our own nodes. Maelstrom's services
(``lin-kv``, ``seq-kv``, ``lww-kv``, ``lin-tso``) are served by one more process on the same network.
There is no core here: the harness starts the shims (``harness.backends.maelstrom``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from systems_under_test.core import Core
from systems_under_test.registry import SystemDescriptor, Variant

WORKLOADS = ("lin-kv", "echo", "unique-ids", "g-set", "broadcast", "g-counter", "pn-counter", "txn-list-append",
             "txn-rw-register", "kafka", "register")


def _no_core(node_id: str, peer_ids: Sequence[str], rng: random.Random, config: Mapping[str, Any]) -> Core:
    """An external program has no sans-IO core; the shim hosts the program itself."""
    raise RuntimeError("maelstrom runs a user's program as real processes: local or docker backend only")


@dataclass(frozen=True, slots=True)
class ProgramDescriptor(SystemDescriptor):
    """The ``maelstrom`` descriptor: ``maelstrom:<label>`` names any program, so reports tell them apart.

    The label is only a name (``maelstrom:my-raft``); the program is always the one given with ``--bin``.
    A campaign that compares several programs gives each its own label, and the comparison report then
    shows one row per program beside ``paxos`` or ``etcd``.
    """

    def variant(self, name: str) -> Variant:
        """``maelstrom`` or ``maelstrom:<label>`` (any label of letters, digits, ``-``, ``_``, ``.``)."""
        base, sep, label = name.partition(":")
        if base == self.name and sep and label and all(ch.isalnum() or ch in "-_." for ch in label):
            return Variant(name=name, description=f"the program labelled {label!r} (given with --bin)",
                           planted_bug=False, factory=_no_core)
        return SystemDescriptor.variant(self, name)


DESCRIPTOR = ProgramDescriptor(
    name="maelstrom",
    description="your own program speaking Maelstrom's protocol (JSON lines on stdin/stdout), given with --bin; "
    "local and docker backends",
    variants=(
        Variant(name="maelstrom", description="the program given with --bin (and --bin-arg)", planted_bug=False,
                factory=_no_core),
    ),
    workloads=WORKLOADS,
    default_nodes=3,
    min_nodes=1,
    external="harness.backends.maelstrom",
)

__all__ = ["DESCRIPTOR", "WORKLOADS"]
