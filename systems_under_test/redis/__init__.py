"""``redis``: the real Redis 7.0 (Debian's ``redis-server``) with replicas and operator-style failover.

Redis replication is asynchronous: the primary acknowledges a write before any replica has it. When the
primary is cut off or crashes and a replica is promoted — what Sentinel, or an operator, does — writes
the old primary acknowledged but had not yet shipped are gone, and a client still talking to the old
primary reads and writes a history the new primary never sees. ``WAIT n`` makes the primary hold the
acknowledgement until ``n`` replicas have the write; it narrows what is lost but is not consensus
(``redis:wait``). Neither variant is a planted bug: both are Redis as documented, and the harness must
show what they lose.

There is no core here: the harness starts ``redis-server`` processes and drives failover itself
(``harness.backends.external.redis_cluster`` and ``redis_docker``, written on the public plugin
API ``harness.api`` like any plugin's). Only the descriptor lives in this package.
"""

from __future__ import annotations

from systems_under_test.registry import SystemDescriptor, Variant

DESCRIPTOR = SystemDescriptor(
    name="redis",
    description="Redis 7.0 (Debian's redis-server): one primary, asynchronous replicas, failover by "
                "promoting "
    "the most up-to-date replica; third-party, local and docker backends only",
    variants=(
        Variant(
            name="redis",
            description="asynchronous replication: a failover may lose acknowledged writes and clients of a "
            "deposed primary may read stale values",
            planted_bug=False,
            factory=None,
            config={"wait": 0},
            weaker_by_design=True,
        ),
        Variant(
            name="redis:wait",
            description="every write waits (WAIT) for a majority of the cluster to hold it before it is "
            "acknowledged; fewer losses, still not linearizable",
            planted_bug=False,
            factory=None,
            config={"wait": -1},
            weaker_by_design=True,
        ),
    ),
    workloads=("register", "set"),
    default_nodes=3,
    min_nodes=1,
    # How its nodes start, stop, take faults and are reached on each backend (written on harness.api;
    # named as strings because this package may import only the standard library).
    backends={"local": "harness.backends.external.redis_cluster:RedisLocalBackend",
              "docker": "harness.backends.external.redis_docker:RedisDockerBackend"},
)

__all__ = ["DESCRIPTOR"]
