"""Planted-bug variants of the consistent-hashing store."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from systems_under_test.core import JSON
from systems_under_test.hashring.core import HashRingCore


class SloppyCore(HashRingCore):
    """``hashring:sloppy``: reads and writes wait for one replica (R = W = 1) -- fast and available.

    With ``r + w <= n`` a read quorum need not meet the last write quorum: a write acknowledged by one
    side of a partition is invisible to a read served by the other side, which returns the old value.
    """

    def __init__(self, node_id: str, peer_ids: Sequence[str], rng: random.Random,
                 config: Mapping[str, JSON] | None = None) -> None:
        super().__init__(node_id, peer_ids, rng, config)
        self.r = self.w = 1


class LostHandoffCore(HashRingCore):
    """``hashring:lost-handoff``: a naive streaming handoff -- snapshot, bulk-load, drop.

    When the ring changes, each node snapshots its keys and streams the snapshot (paced) to the keys'
    new replicas, which *ingest* each copy as the key's state: installed over the local copy, like a
    bulk load, instead of going through the write path that keeps the higher version. Meanwhile the old
    replica set alone serves reads and writes, and once a node's stream is acknowledged it drops the
    keys it no longer replicates. Each piece looks harmless while nothing is written during the
    handoff; the race is a write that lands after the snapshots were taken. It reaches the replicas
    that keep the key, and then a snapshot copy sent later by another node arrives and rolls it back;
    it is neither forwarded to the new replicas nor re-sent, and the node that hands the key over
    drops it. After the commit the write survives on at most a minority of the new replica set, so a
    read quorum of the others returns the older value: an acknowledged write is lost. Quorum overlap
    cannot mask this, because the write is gone from the nodes that answer for the key, not just stale
    on one of them. (The correct store copies the current version, keeps the higher version on
    receipt, and needs quorums in both replica sets during the transition.)
    """

    both_sets_in_transition = False
    snapshot_handoff = True
    ingest_handoff = True
    drop_after_handoff = True
