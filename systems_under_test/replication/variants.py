"""The planted-bug variants of the primary/replica store.

``replication:async`` — asynchronous replication:

A common way to make a primary/replica store fast: the primary acknowledges a write as soon as it
has applied it locally and ships it to replicas in the background, and replicas answer reads from
their own copy so reads scale out. Each step looks harmless; together they lose linearizability. A
replica cut off from the primary (or merely slow) keeps serving the value it last saw, so a client can
read an old value after another client's write was acknowledged — a stale read.

``replication:split-brain`` — failover without a quorum: a replica that stops hearing from the primary
promotes itself at once instead of winning a majority vote. It looks like a sensible availability
trade-off, but nothing then stops a replica with a stale log from becoming primary; when the
partition heals its higher term wins and it overwrites entries the old primary had committed and
acknowledged — acknowledged writes are lost.
"""

from __future__ import annotations

from systems_under_test.core import Effect, Log, Persist
from systems_under_test.replication.core import ReplicationCore
from systems_under_test.replication.failover import FailoverCore
from systems_under_test.replication.terms import term_record


class AsyncReplicationCore(ReplicationCore):
    """Acknowledges writes before replicating them and serves reads from any replica's local copy."""

    def commit_target(self) -> int:
        """Everything the primary has persisted counts as done: it does not wait for replicas."""
        return len(self.log)

    def reads_locally(self) -> bool:
        """Every node answers reads from its own, possibly stale, state."""
        return True

    def _before_replicating(self) -> list[Effect]:
        """Apply and acknowledge the new entry before it is sent to any replica."""
        return self._advance_commit()


class SplitBrainCore(FailoverCore):
    """Promotes itself to primary when its election timer fires, without asking for votes."""

    def start_election(self, now: float) -> list[Effect]:
        """Take the next term and become primary at once: no quorum, no log comparison."""
        self.term += 1
        self.vote = self.node_id
        effects: list[Effect] = [
            Persist(term_record(self.term, self.vote)),
            Log(f"self-promoted in term {self.term}"),
        ]
        return effects + self._become_primary(now)
