"""A replicated register rewritten by single-register Paxos ("CAS-Paxos"): the lock table's memory.

The lock service must not have a single point of truth that a crash loses, yet it must hand out fencing
tokens that strictly increase -- two acquirers must never both build on the same old state. Both needs
are met by treating the lock state as one register that is only ever changed by a full Paxos round:

1. the proposer picks a ballot ``(round, node)`` above every ballot it has seen and sends PREPARE;
2. a majority of acceptors promise it, each reporting the state it accepted last (with that ballot);
3. the highest-ballot state among the promises is the current state; the proposer applies the lock
   transition (grant, release, or refuse) to it;
4. it sends ACCEPT of the new state; a majority accepting makes the change durable and visible to every
   later proposer, since any later majority intersects this one.

Every change is therefore linearizable and a token is the previous token plus one. The acceptor
persists its promise and accepted state before answering, so a crashed and restarted acceptor still
keeps its word. This module is the acceptor half plus the ballot type; ``proposer.py`` drives rounds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Ballot = tuple[int, str]
"""``(round, node_id)``; tuple order, so node ids break ties between equal rounds."""

ZERO: Ballot = (0, "")


def ballot_of(raw: Any) -> Ballot:
    """Decode a ballot from its JSON form ``[round, node]``."""
    return (int(raw[0]), str(raw[1]))


@dataclass(frozen=True, slots=True)
class Answer:
    """An acceptor's answer: granted or not, the promise it holds, and what it accepted last."""

    ok: bool
    promised: Ballot
    accepted_ballot: Ballot
    state: dict[str, Any] | None
    record: dict[str, Any] | None  # to persist before the answer leaves the node

    def to_msg(self, kind: str, op: str, ballot: Ballot) -> dict[str, Any]:
        """The reply message to the proposer of ``op``."""
        return {"type": kind, "op": op, "ballot": list(ballot), "ok": self.ok,
                "promised": list(self.promised),
                "ab": list(self.accepted_ballot), "state": self.state}


class Acceptor:
    """One node's acceptor for the lock register."""

    def __init__(self) -> None:
        self.promised: Ballot = ZERO
        self.accepted_ballot: Ballot = ZERO
        self.state: dict[str, Any] | None = None

    def recover(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Replay durable acceptor records (the last one describes the acceptor completely)."""
        for rec in records:
            if rec.get("t") == "acceptor":
                self.promised = ballot_of(rec["promised"])
                self.accepted_ballot = ballot_of(rec["ab"])
                self.state = rec["state"]

    def _record(self) -> dict[str, Any]:
        return {"t": "acceptor", "promised": list(self.promised), "ab": list(self.accepted_ballot),
                "state": self.state}

    def prepare(self, ballot: Ballot) -> Answer:
        """Phase 1: promise ``ballot`` if it is the highest seen; report the accepted state either way."""
        if ballot <= self.promised:
            return Answer(False, self.promised, self.accepted_ballot, self.state, None)
        self.promised = ballot
        return Answer(True, self.promised, self.accepted_ballot, self.state, self._record())

    def accept(self, ballot: Ballot, state: dict[str, Any]) -> Answer:
        """Phase 2: accept ``state`` unless a higher ballot was promised meanwhile."""
        if ballot < self.promised:
            return Answer(False, self.promised, self.accepted_ballot, None, None)
        self.promised = ballot
        self.accepted_ballot = ballot
        self.state = dict(state)
        return Answer(True, self.promised, self.accepted_ballot, None, self._record())
