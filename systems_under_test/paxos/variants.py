"""Planted-bug variants of the Paxos core: each one a realistic mistake in the protocol path.

None of them announces itself: the node runs, elects leaders and answers clients as usual; only the
right fault exposes the mistake, and then only in the clients' answers -- which is what the checkers see.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from systems_under_test import kv
from systems_under_test.core import Effect, Reply
from systems_under_test.paxos.core import PaxosCore


class NoPersistCore(PaxosCore):
    """``paxos:no-persist``: the acceptor keeps its promise and accepted values only in memory.

    Looks harmless while nodes stay up: every answer is still correct. After a crash the acceptor has
    forgotten what it voted for, so a new leader's phase 1 can miss a chosen value and overwrite it --
    acknowledged writes vanish once a majority of nodes has restarted.
    """

    def _persist(self, records: Iterable[dict[str, Any]]) -> list[Effect]:
        """Skip the durable write: the in-memory acceptor state is (wrongly) taken as enough."""
        return []


class StaleReadCore(PaxosCore):
    """``paxos:stale-read``: every node answers reads from its own applied state, skipping the log.

    The tempting optimisation of serving reads locally. A follower that is partitioned away (or merely
    behind) answers with an old value after a newer write was acknowledged elsewhere.
    """

    def _serve_locally(self, now: float, rid: str, cmd: dict[str, Any]) -> list[Effect] | None:
        """Reads are answered at once from the local state machine; other commands are replicated."""
        if kv.read_only(cmd):
            return [Reply(rid, kv.apply(self.learner.state, cmd))]
        return None


class MinorityAcceptCore(PaxosCore):
    """``paxos:minority-accept``: the leader counts phase-2 votes without checking who cast them.

    Every acceptance is appended to the slot's tally, so a retransmitted or duplicated answer from the
    same acceptor -- including the leader's own acceptor, which votes again on every retransmission --
    counts again. A leader cut off into a minority soon "chosen"s values that no majority ever accepted,
    and acknowledges writes a later leader will overwrite.
    """

    def _count_vote(self, slot: int, voter: str) -> int:
        """Append the vote and return the tally (missing: the distinct-acceptor check)."""
        votes = self.votes.setdefault(slot, [])
        votes.append(voter)
        return len(votes)
