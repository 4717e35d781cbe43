"""``paxos``: a multi-Paxos replicated key-value store (read / write / cas / add per key, linearizable).

See ``core.py`` for the protocol and its design choices (stable leader, reads through the log, no leases)
and ``variants.py`` for the planted bugs.
"""

from __future__ import annotations

from systems_under_test.paxos.core import PaxosCore
from systems_under_test.paxos.variants import MinorityAcceptCore, NoPersistCore, StaleReadCore
from systems_under_test.registry import SystemDescriptor, Variant

DESCRIPTOR = SystemDescriptor(
    name="paxos",
    description="multi-Paxos replicated key-value store: stable leader, majority quorums, reads through the "
                "log",
    variants=(
        Variant("paxos", "correct multi-Paxos; linearizable under partitions, crashes and clock faults",
                False, PaxosCore),
        Variant("paxos:no-persist", "acceptors keep promises and accepted values only in memory, "
                "so a crash makes them forget their votes", True, NoPersistCore),
        Variant("paxos:stale-read", "every node answers reads from its local applied state instead of "
                "through the log", True, StaleReadCore),
        Variant("paxos:minority-accept", "the leader counts duplicate phase-2 votes from the same acceptor "
                "(its own included), committing without a real majority", True, MinorityAcceptCore),
    ),
    workloads=("register", "set"),
    default_nodes=5,
    min_nodes=1,
)

__all__ = ["DESCRIPTOR", "MinorityAcceptCore", "NoPersistCore", "PaxosCore", "StaleReadCore"]
