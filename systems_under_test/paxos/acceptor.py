"""Ballots and the acceptor half of Paxos: the promise and the accepted values, with their durable records.

An acceptor is the memory of the protocol. Safety rests on two promises it keeps across crashes: it
never accepts a proposal whose ballot is lower than one it promised, and it reports every value it
accepted to any later proposer that asks (phase 1). Both are only true if the promise and the accepted
values are on disk *before* the acceptor's answer leaves the node, which is why every state change here
returns the records to persist and the caller emits them ahead of the reply.

Durable record format (one JSON object per change, replayed in order by :meth:`Acceptor.replay`):

* ``{"promised": [round, node]}`` -- the acceptor promised this ballot;
* ``{"accepted": slot, "ballot": [round, node], "cmd": {...}}`` -- accepted ``cmd`` in ``slot`` (this
  also implies a promise of that ballot, so no separate promise record is written for it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Ballot = tuple[int, str]
"""A proposal number: ``(round, node_id)``; ordered as a tuple, so node ids break ties between rounds."""

ZERO: Ballot = (0, "")


def ballot_of(raw: Any) -> Ballot:
    """Decode a ballot from its JSON form ``[round, node]``."""
    return (int(raw[0]), str(raw[1]))


def ballot_json(b: Ballot) -> list[Any]:
    """Encode a ballot as JSON (a list: JSON has no tuples)."""
    return [b[0], b[1]]


@dataclass(frozen=True, slots=True)
class Accepted:
    """The value an acceptor accepted in one slot, and the ballot it accepted it in."""

    ballot: Ballot
    cmd: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Vote:
    """An acceptor's answer to a prepare or accept: granted or not, and the records to persist first."""

    ok: bool
    records: tuple[dict[str, Any], ...] = ()


GRANTED = Vote(True)
REFUSED = Vote(False)


class Acceptor:
    """One node's acceptor state; pure bookkeeping, no I/O."""

    def __init__(self) -> None:
        self.promised: Ballot = ZERO
        self.accepted: dict[int, Accepted] = {}

    def replay(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Rebuild the state from durable records written by :meth:`promise` and :meth:`accept`."""
        for rec in records:
            if "promised" in rec:
                self.promised = max(self.promised, ballot_of(rec["promised"]))
            elif "accepted" in rec:
                b = ballot_of(rec["ballot"])
                self.promised = max(self.promised, b)
                slot = int(rec["accepted"])
                old = self.accepted.get(slot)
                if old is None or old.ballot <= b:
                    self.accepted[slot] = Accepted(b, dict(rec["cmd"]))

    def promise(self, b: Ballot) -> Vote:
        """Phase 1b: promise ``b`` unless a higher ballot was already promised."""
        if b < self.promised:
            return REFUSED
        if b == self.promised:
            return GRANTED  # a retransmitted prepare: the promise is already durable
        self.promised = b
        return Vote(True, ({"promised": ballot_json(b)},))

    def accept(self, b: Ballot, slot: int, cmd: dict[str, Any]) -> Vote:
        """Phase 2b: accept ``cmd`` in ``slot`` at ballot ``b`` unless a higher ballot was promised."""
        if b < self.promised:
            return REFUSED
        self.promised = b
        old = self.accepted.get(slot)
        if old is not None and old.ballot == b and old.cmd == cmd:
            return GRANTED  # retransmission: already durable
        self.accepted[slot] = Accepted(b, cmd)
        return Vote(True, ({"accepted": slot, "ballot": ballot_json(b), "cmd": cmd},))

    def accepted_from(self, first_slot: int) -> list[list[Any]]:
        """Every accepted value at ``slot >= first_slot`` as JSON rows ``[slot, ballot, cmd]``."""
        accepted = self.accepted
        # Filter before sorting: the accepted map keeps every slot ever voted on, the tail asked for
        # (from the commit index on) is usually a handful.
        return [
            [slot, ballot_json(accepted[slot].ballot), accepted[slot].cmd]
            for slot in sorted(s for s in accepted if s >= first_slot)
        ]
