"""The coordinator side of two-phase commit: votes, the durable decision, and presumed abort.

The coordinator sends PREPARE to every shard a transaction touches, collects votes, and decides: COMMIT
only if every participant voted YES, ABORT otherwise (a NO vote, or votes missing when the vote timer
fires). A COMMIT decision is persisted *before* any participant or client hears of it -- that record is
the commit point: once it is durable the transaction is committed even if every node crashes, and the
client may be told ``ok``. ABORT is never logged ("presumed abort"): a participant asking about a
transaction the coordinator has no decision for gets ABORT, which is right because a transaction whose
COMMIT was never durably decided was never acknowledged as committed to anyone.

Transaction ids carry the coordinator's boot number (persisted at every start), so a restarted
coordinator never reuses an id and can tell an old undecided transaction (presumed aborted) from one
it is still collecting votes for. The planted bug ``twopc:no-decision-log`` skips the durable decision:
after a crash the coordinator "decides again" by presumption and aborts what it had committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from systems_under_test.core import ABORT as ABORT_CODE
from systems_under_test.core import (
    JSON,
    PRECONDITION_FAILED,
    TXN_CONFLICT,
    CancelTimer,
    Effect,
    Event,
    Log,
    Persist,
    Reply,
    Send,
    SetTimer,
    error_body,
)
from systems_under_test.twopc.participant import ABORT, COMMIT

_ABORT_CODES = {"conflict": TXN_CONFLICT, "precondition": PRECONDITION_FAILED}


@dataclass(slots=True)
class Pending:
    """A transaction collecting votes (mutable coordinator bookkeeping, not a value)."""

    txid: str
    kind: str  # the client request type: txn / transfer / balances
    txn: list[list[JSON]]
    shards: dict[str, list[list[JSON]]]  # participant -> [[pos, micro-op], ...]
    reply_to: dict[str, JSON]  # {"node": origin node, "rid": request id at the origin}
    votes: dict[str, bool] = field(default_factory=dict)
    reads: dict[int, JSON] = field(default_factory=dict)
    reason: str = ""


@dataclass(slots=True)
class Decided:
    """A decided transaction whose participants have not all acknowledged the decision."""

    outcome: str
    participants: tuple[str, ...]
    acked: set[str] = field(default_factory=set)


def vote_timer(txid: str) -> str:
    """Name of the timer after which missing votes count as NO."""
    return f"vote:{txid}"


def resend_timer(txid: str) -> str:
    """Name of the timer that re-sends a decision to participants that have not acknowledged it."""
    return f"resend:{txid}"


class Coordinator:
    """The coordinator's state; each handler returns the effects to carry out."""

    def __init__(self, node_id: str, config: Mapping[str, JSON], *, log_decisions: bool = True) -> None:
        self.node_id = node_id
        self.log_decisions = log_decisions
        self.vote_timeout = float(config.get("vote_timeout", 1.0))
        self.resend_interval = float(config.get("resend_interval", 0.5))
        self.boot = 0
        self.counter = 0
        self.pending: dict[str, Pending] = {}
        self.decided: dict[str, Decided] = {}
        self.outcomes: dict[str, str] = {}  # every decision this coordinator knows of
        self.started: set[str] = set()  # client request keys already turned into transactions

    def recover(self, now: float, records: Sequence[Mapping[str, JSON]]) -> list[Effect]:
        """Reload boot count and decisions; persist the new boot; re-send unacknowledged decisions."""
        for rec in records:
            kind = rec.get("t")
            if kind == "boot":
                self.boot = max(self.boot, int(rec["n"]))
            elif kind == "decision":
                txid = str(rec["txid"])
                self.outcomes[txid] = str(rec["outcome"])
                self.decided[txid] = Decided(str(rec["outcome"]), tuple(rec["participants"]))
            elif kind == "done":
                self.decided.pop(str(rec["txid"]), None)
        self.boot += 1
        effects: list[Effect] = [Persist({"t": "boot", "n": self.boot})]
        for txid in sorted(self.decided):
            effects.append(SetTimer(resend_timer(txid), now))
        return effects

    def begin(self, now: float, kind: str, txn: list[list[JSON]], shards: Mapping[str, Any],
              reply_to: dict[str, JSON], request_key: str) -> list[Effect]:
        """Start a transaction: PREPARE to every shard it touches, and arm the vote timer."""
        if request_key in self.started:  # a duplicated forward: the first copy is already running
            return []
        self.started.add(request_key)
        self.counter += 1
        txid = f"{self.node_id}.{self.boot}.{self.counter}"
        parts = {node: [[pos, mop] for pos, mop in ops] for node, ops in sorted(shards.items())}
        self.pending[txid] = Pending(txid, kind, txn, parts, reply_to)
        effects: list[Effect] = [Log(f"begin {txid} {kind} on {sorted(parts)}")]
        for node, ops in parts.items():
            effects.append(Send(node, {"type": "prepare", "txid": txid, "ops": ops}))
        effects.append(SetTimer(vote_timer(txid), now + self.vote_timeout))
        return effects

    def on_vote(self, now: float, src: str, msg: Mapping[str, JSON]) -> list[Effect]:
        """Count a vote; decide once a NO arrives or every participant has voted YES."""
        txid = str(msg["txid"])
        p = self.pending.get(txid)
        if p is None:  # already decided (or an old, presumed-aborted transaction): tell the voter
            return [Send(src, {"type": "decision", "txid": txid, "outcome": self.outcome(txid)})]
        if src not in p.shards or src in p.votes:
            return []
        p.votes[src] = bool(msg.get("yes"))
        if not p.votes[src]:
            p.reason = str(msg.get("reason", "no"))
            text = str(msg.get("text", ""))
            return self.decide(now, txid, ABORT, f"{src} voted no: {p.reason} {text}".strip())
        for pos, value in msg.get("reads", []):
            p.reads[int(pos)] = value
        if len(p.votes) == len(p.shards):
            return self.decide(now, txid, COMMIT, "all voted yes")
        return []

    def on_vote_timeout(self, now: float, txid: str) -> list[Effect]:
        """Votes still missing: decide ABORT (nobody can have committed, so this is safe)."""
        p = self.pending.get(txid)
        if p is None:
            return []
        p.reason = "timeout"
        missing = sorted(set(p.shards) - set(p.votes))
        return self.decide(now, txid, ABORT, f"no vote from {missing}")

    def decide(self, now: float, txid: str, outcome: str, why: str) -> list[Effect]:
        """Record the decision (durably for COMMIT), tell the participants and the client."""
        p = self.pending.pop(txid)
        self.outcomes[txid] = outcome
        effects: list[Effect] = [CancelTimer(vote_timer(txid)), Log(f"decide {outcome} {txid}: {why}")]
        participants = tuple(sorted(p.shards))
        if outcome == COMMIT and self.log_decisions:
            effects.append(Persist({"t": "decision", "txid": txid, "outcome": outcome,
                                    "participants": list(participants)}))
        self.decided[txid] = Decided(outcome, participants)
        effects.append(Event("decided", {"txid": txid, "outcome": outcome}))
        for node in participants:
            effects.append(Send(node, {"type": "decision", "txid": txid, "outcome": outcome}))
        effects.append(SetTimer(resend_timer(txid), now + self.resend_interval))
        effects += self._answer(p, outcome)
        return effects

    def _answer(self, p: Pending, outcome: str) -> list[Effect]:
        if outcome == COMMIT:
            body = self._ok_body(p)
        else:
            code = _ABORT_CODES.get(p.reason, ABORT_CODE)
            body = error_body(code, f"transaction {p.txid} aborted ({p.reason})", definite=True)
        node, rid = str(p.reply_to["node"]), str(p.reply_to["rid"])
        if node == self.node_id:
            return [Reply(rid, body)]
        return [Send(node, {"type": "fwd_reply", "rid": rid, "body": body})]

    def _ok_body(self, p: Pending) -> dict[str, JSON]:
        if p.kind == "transfer":
            return {"type": "transfer_ok"}
        filled = [[f, k, p.reads.get(i) if f == "r" else v] for i, (f, k, v) in enumerate(p.txn)]
        if p.kind == "balances":
            return {"type": "balances_ok",
                    "value": {k: p.reads.get(i) for i, (_f, k, _v) in enumerate(p.txn)}}
        return {"type": "txn_ok", "txn": filled}

    def on_ack(self, now: float, src: str, msg: Mapping[str, JSON]) -> list[Effect]:
        """A participant applied the decision; once all have, the decision need not be re-sent."""
        txid = str(msg["txid"])
        d = self.decided.get(txid)
        if d is None:
            return []
        d.acked.add(src)
        if d.acked >= set(d.participants):
            del self.decided[txid]
            done: list[Effect] = [CancelTimer(resend_timer(txid))]
            if d.outcome == COMMIT and self.log_decisions:
                done.append(Persist({"t": "done", "txid": txid}))
            return done
        return []

    def on_resend(self, now: float, txid: str) -> list[Effect]:
        """Re-send a decision to the participants that have not acknowledged it yet."""
        d = self.decided.get(txid)
        if d is None:
            return []
        effects: list[Effect] = [Send(n, {"type": "decision", "txid": txid, "outcome": d.outcome})
                                 for n in d.participants if n not in d.acked]
        return [*effects, SetTimer(resend_timer(txid), now + self.resend_interval)]

    def on_query(self, now: float, src: str, msg: Mapping[str, JSON]) -> list[Effect]:
        """An in-doubt participant asks; answer if decided (or presumed aborted), else it waits."""
        txid = str(msg["txid"])
        if txid in self.pending:
            return []  # still collecting votes: the decision will be sent to every participant
        return [Send(src, {"type": "decision", "txid": txid, "outcome": self.outcome(txid)})]

    def outcome(self, txid: str) -> str:
        """The decision for ``txid``: the logged one, or ABORT by presumption."""
        return self.outcomes.get(txid, ABORT)
