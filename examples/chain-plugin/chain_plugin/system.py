"""``chain``: the descriptor of a chain-replicated key-value store, registered with splitbrain as a plugin.

This module is the entry point (``splitbrain.systems: chain = "chain_plugin.system:SYSTEM"``): it describes
the
system — its variants, each a sans-IO core, and the workloads it speaks. splitbrain's hosts run the cores
on every backend; nothing here starts a process.
"""

from __future__ import annotations

from chain_plugin.core import AnyReplicaReadsCore, ChainCore
from harness.api import SystemDescriptor, Variant

SYSTEM = SystemDescriptor(
    name="chain",
    description="chain replication (example plugin): the head orders writes, the tail answers reads",
    variants=(
        Variant("chain", "correct chain replication: writes commit at the tail, reads are served by the tail",
                False, ChainCore),
        Variant("chain:any-replica-reads", "every replica answers reads from its own store, so a read "
                "upstream of the tail can see a write that is not committed yet", True, AnyReplicaReadsCore),
    ),
    workloads=("chain-kv", "register"),
    default_nodes=3,
    min_nodes=1,
)

__all__ = ["SYSTEM"]
