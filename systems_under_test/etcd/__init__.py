"""``etcd``: the real etcd 3.4 (Debian's ``etcd-server``) as a third-party system under test.

A harness earns trust by finding what is known to be there in systems it did not write. etcd's
linearizable reads (the default) go through raft's ReadIndex and must pass the register workload under
partitions, kills and pauses; serializable reads (``etcd:serializable``) are answered from the local
member's state without consulting the leader, so a member cut off from the majority — or one just woken
from a pause — may return a value that has since been overwritten: a stale read the checker must find.

There is no core here: the harness starts the ``etcd`` binary itself and talks to its JSON gateway
(``harness.backends.external.etcd_cluster`` and ``etcd_docker``, written on the public plugin
API ``harness.api`` like any plugin's). Only the descriptor lives in this package.
"""

from __future__ import annotations

from systems_under_test.registry import SystemDescriptor, Variant

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
            factory=None,
            config={"serializable": False},
        ),
        Variant(
            name="etcd:serializable",
            description="serializable reads answered from the contacted member's local state: stale reads "
            "possible (not a bug of etcd: a documented weaker read)",
            planted_bug=False,
            factory=None,
            config={"serializable": True},
            weaker_by_design=True,
        ),
    ),
    workloads=("register",),
    default_nodes=3,
    min_nodes=1,
    # How its nodes start, stop, take faults and are reached on each backend (written on harness.api;
    # named as strings because this package may import only the standard library).
    backends={"local": "harness.backends.external.etcd_cluster:EtcdLocalBackend",
              "docker": "harness.backends.external.etcd_docker:EtcdDockerBackend"},
)

__all__ = ["DESCRIPTOR"]
