"""``replication``: a primary/replica key-value store with a fixed primary (DESIGN §3).

Variants: ``replication`` (fixed primary, synchronous replication to every replica, linearizable), the
planted bug ``replication:async`` (acknowledges before replicating; replicas serve stale local reads),
``replication:failover`` (majority-elected primary per term, majority commit; linearizable) and the
planted bug ``replication:split-brain`` (self-promotion on timeout without a quorum).
"""

from __future__ import annotations

from systems_under_test.registry import SystemDescriptor, Variant
from systems_under_test.replication.core import ReplicationCore, Role
from systems_under_test.replication.failover import FailoverCore
from systems_under_test.replication.variants import AsyncReplicationCore, SplitBrainCore

DESCRIPTOR = SystemDescriptor(
    name="replication",
    description="primary/replica key-value store: a fixed primary orders writes and replicates them to "
                "every replica",
    variants=(
        Variant(
            name="replication",
            description="synchronous replication: acknowledged only once every replica persisted it; "
            "reads served by the primary",
            planted_bug=False,
            factory=ReplicationCore,
        ),
        Variant(
            name="replication:async",
            description="acknowledges writes before replicating them; replicas answer reads from their own "
            "possibly stale copy",
            planted_bug=True,
            factory=AsyncReplicationCore,
        ),
        Variant(
            name="replication:failover",
            description="automatic failover: a primary elected by a majority per term, majority commit, "
            "reads through the log",
            planted_bug=False,
            factory=FailoverCore,
        ),
        Variant(
            name="replication:split-brain",
            description="failover on timeout without a quorum: a stale replica promotes itself and "
            "overwrites acknowledged writes after the partition heals",
            planted_bug=True,
            factory=SplitBrainCore,
        ),
    ),
    workloads=("register", "set"),
    default_nodes=3,
    min_nodes=1,
)

__all__ = ["DESCRIPTOR", "AsyncReplicationCore", "FailoverCore", "ReplicationCore", "Role", "SplitBrainCore"]
