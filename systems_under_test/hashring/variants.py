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
    """``hashring:lost-handoff``: old owners serve during a handoff, stream a snapshot, then drop the keys.

    The classic streaming handoff, minus its hard part. When the ring changes, each node takes a
    snapshot of its keys and streams it (paced) to the keys' new replicas; meanwhile the old replica set
    keeps serving reads and writes alone, and once a node's stream is acknowledged it garbage-collects
    the keys it no longer replicates. A write that arrives after the snapshot is neither forwarded to the
    new replicas nor re-sent: if its write quorum included a node that hands the key over, after the
    commit it sits on a minority of the new replica set (or nowhere), and a read quorum of the others
    returns the older value -- an acknowledged write is lost. Quorums cannot mask this: the copy is not
    merely stale somewhere, it is gone from the nodes that answer for the key. (The correct store needs
    quorums in both replica sets during the transition, which puts every such write on the new set too.)
    """

    both_sets_in_transition = False
    snapshot_handoff = True
    drop_after_handoff = True
    ingest_handoff = True
