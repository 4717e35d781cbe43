"""``hashring``: a sharded key-value store on consistent hashing (virtual nodes, N replicas, R/W quorums,
join/leave with data handoff).

See ``ring.py`` for placement, balance and movement; ``core.py`` for the quorum protocol and what it
guarantees (linearizable read/write per key; no compare-and-set); ``config.py`` and ``membership.py``
for membership changes; ``variants.py`` for the planted bugs.
"""

from __future__ import annotations

from systems_under_test.hashring.core import HashRingCore
from systems_under_test.hashring.variants import LostHandoffCore, SloppyCore
from systems_under_test.registry import SystemDescriptor, Variant

DESCRIPTOR = SystemDescriptor(
    name="hashring",
    description="Dynamo-style store on a consistent-hashing ring: N=3 replicas, R=W=2 quorums with read "
    "repair, join/leave with handoff",
    variants=(
        Variant("hashring", "correct: R + W > N, versioned writes, read repair, two-set quorums during "
                "membership changes (linearizable read/write per key; no cas)", False, HashRingCore),
        Variant("hashring:sloppy", "R = W = 1: reads may miss the latest write (stale reads under "
                "partition)", True, SloppyCore),
        Variant("hashring:lost-handoff", "join/leave handoff streams a snapshot that receivers install over "
                "their own copies (and old owners alone serve meanwhile): writes during the handoff are "
                "lost", True, LostHandoffCore),
    ),
    workloads=("register",),
    default_nodes=5,
    min_nodes=1,
)

__all__ = ["DESCRIPTOR", "HashRingCore", "LostHandoffCore", "SloppyCore"]
