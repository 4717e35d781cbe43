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
    """``hashring:lost-handoff``: during a membership change operations keep using the old replica set.

    The handoff copies each node's data to the new replicas once, early in the change; a write that
    arrives afterwards lands only on the old replicas. When the change commits the new replicas answer
    for the key -- without that write, which is silently lost (reads return the older value).
    """

    both_sets_in_transition = False
