"""``etcd``: the real etcd 3.4 (Debian's ``etcd-server``) as a third-party system under test.

A harness earns trust by finding what is known to be there in systems it did not write. etcd's
linearizable reads (the default) go through raft's ReadIndex and must pass the register workload under
partitions, kills and pauses; serializable reads (``etcd:serializable``) are answered from the local
member's state without consulting the leader, so a member cut off from the majority — or one just woken
from a pause — may return a value that has since been overwritten: a stale read the checker must find.

There is no core here: the harness starts the ``etcd`` binary itself and talks to its JSON gateway
(``harness.backends.external.etcd_cluster``). Only the descriptor lives in this package.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from systems_under_test.core import Core
from systems_under_test.registry import SystemDescriptor, Variant


def _no_core(node_id: str, peer_ids: Sequence[str], rng: random.Random, config: Mapping[str, Any]) -> Core:
    """etcd has no sans-IO core; it runs as its own process on the local or docker backend."""
    raise RuntimeError("etcd is a third-party system: it has no core in this project and runs only on the "
                       "local or docker backend (not in the simulator or the node runtime)")


DESCRIPTOR = SystemDescriptor(
    name="etcd",
    description="etcd 3.4 (Debian's etcd-server), a raft-replicated key-value store, reached over its JSON "
    "gateway; third-party, local and docker backends only",
    variants=(
        Variant(
            name="etcd",
            description="linearizable reads (raft ReadIndex): reads, writes and cas transactions are "
                        "linearizable",
            planted_bug=False,
            factory=_no_core,
            config={"serializable": False},
        ),
        Variant(
            name="etcd:serializable",
            description="serializable reads answered from the contacted member's local state: stale reads "
            "possible (not a bug of etcd: a documented weaker read)",
            planted_bug=False,
            factory=_no_core,
            config={"serializable": True},
        ),
    ),
    workloads=("register",),
    default_nodes=3,
    min_nodes=1,
    external="harness.backends.external.etcd_cluster",
)

__all__ = ["DESCRIPTOR"]
