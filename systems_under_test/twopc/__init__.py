"""``twopc``: a sharded store with cross-shard transactions by two-phase commit (bank and list-append).

See ``core.py`` for the layout (a fixed coordinator, every node a participant owning keys by hash) and
the client requests, ``participant.py`` / ``coordinator.py`` for the protocol and its durability rules,
``variants.py`` for the planted bugs.
"""

from __future__ import annotations

from systems_under_test.registry import SystemDescriptor, Variant
from systems_under_test.twopc.core import TwoPCCore
from systems_under_test.twopc.variants import NoDecisionLogCore, UnilateralCommitCore

DESCRIPTOR = SystemDescriptor(
    name="twopc",
    description="sharded store with cross-shard transactions by two-phase commit (no-wait locking, "
    "presumed abort)",
    variants=(
        Variant("twopc", "correct 2PC: PREPARED and COMMIT decisions durable, in-doubt participants block",
                False, TwoPCCore),
        Variant("twopc:unilateral-commit", "an in-doubt participant commits on its own when the coordinator "
                "does not answer in time", True, UnilateralCommitCore),
        Variant("twopc:no-decision-log",
                "the coordinator does not log its COMMIT decisions, so after a crash "
                "it presumes ABORT for transactions it had committed", True, NoDecisionLogCore),
    ),
    workloads=("bank", "list-append"),
    default_nodes=3,
    min_nodes=1,
)

__all__ = ["DESCRIPTOR", "NoDecisionLogCore", "TwoPCCore", "UnilateralCommitCore"]
