"""``lock``: a Paxos-replicated lease lock service with fencing tokens, and a fenced storage resource.

See ``core.py`` for the requests, ``register.py``/``proposer.py`` for the replicated lock register,
``table.py`` for grants and leases, ``resource.py`` for the fence and ``variants.py`` for the bugs.
"""

from __future__ import annotations

from systems_under_test.lock.core import LockCore
from systems_under_test.lock.variants import ClockLeaseCore, NoFencingCore
from systems_under_test.registry import SystemDescriptor, Variant

DESCRIPTOR = SystemDescriptor(
    name="lock",
    description="lease lock service replicated by single-register Paxos, fencing tokens checked by a "
    "storage resource",
    variants=(
        Variant("lock", "correct: tokens strictly increase, the resource rejects writes with a stale token",
                False, LockCore),
        Variant("lock:no-fencing", "the resource ignores fencing tokens (unsafe when a holder pauses past "
                "its lease)", True, NoFencingCore),
        Variant("lock:clock-lease", "the resource trusts the wall-clock lease deadline instead of the token "
                "(unsafe under clock skew)", True, ClockLeaseCore),
    ),
    workloads=("lock",),
    default_nodes=3,
    min_nodes=1,
)

__all__ = ["DESCRIPTOR", "ClockLeaseCore", "LockCore", "NoFencingCore"]
