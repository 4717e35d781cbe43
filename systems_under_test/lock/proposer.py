"""The proposer half of the lock register: drives one Paxos round per lock operation, with retries.

A node runs its lock operations one at a time (a FIFO queue), so it never duels with itself. A round
that loses to a higher ballot, or times out, is retried with a higher ballot after a random back-off
(drawn from the core's rng). The client's answer follows from how far the operation got:

* success once a majority accepted the new state (or a retry finds the operation already applied) --
  for an acquire, only after the resource has also raised its fence to the new token;
* a *definite* error when the transition itself refuses (lock busy, not the holder), or when every
  attempt failed before any ACCEPT was sent -- nothing can have changed;
* an *indefinite* error when attempts ran out after an ACCEPT was sent (a minority may hold the new
  state and a later round could still adopt it), or when the resource never confirmed the fence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from systems_under_test.lock.register import ZERO, Ballot, ballot_of


class Phase(Enum):
    """Where the operation in flight is."""

    PREPARE = 1
    ACCEPT = 2
    FENCE = 3  # an acquire was chosen; waiting for the resource to raise its fence to the new token
    BACKOFF = 4


@dataclass(slots=True)
class Attempt:
    """The lock operation a node is currently driving (mutable proposer bookkeeping)."""

    op: dict[str, Any]  # {"type", "owner", "id", "ttl" | "token"}
    rid: str
    queued_at: float = 0.0
    ballot: Ballot = ZERO
    phase: Phase = Phase.BACKOFF
    attempts: int = 0
    sent_accept: bool = False
    fence_tries: int = 0
    promises: dict[str, tuple[Ballot, dict[str, Any] | None]] = field(default_factory=dict)
    accepts: set[str] = field(default_factory=set)
    refusals: set[str] = field(default_factory=set)
    body: dict[str, Any] | None = None  # the success reply, once a new state is proposed

    def new_round(self, ballot: Ballot) -> None:
        """Start phase 1 with ``ballot``, forgetting the previous round's answers."""
        self.ballot, self.phase, self.attempts = ballot, Phase.PREPARE, self.attempts + 1
        self.promises, self.accepts, self.refusals, self.body = {}, set(), set(), None

    def current_state(self) -> dict[str, Any] | None:
        """The highest-ballot state among the promises: the register's value."""
        best: tuple[Ballot, dict[str, Any] | None] = (ZERO, None)
        for ab, state in self.promises.values():
            if state is not None and ab >= best[0]:
                best = (ab, state)
        return best[1]

    def matches(self, msg: dict[str, Any]) -> bool:
        """True if ``msg`` answers this attempt's current round."""
        return msg.get("op") == self.op["id"] and ballot_of(msg["ballot"]) == self.ballot
