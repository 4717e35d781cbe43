"""The participant side of two-phase commit: locks, the durable PREPARED record, and doubt.

A participant owns one shard. On PREPARE it takes its locks *no-wait* (a conflicting lock means an
immediate NO vote, so the transaction aborts definitely instead of deadlocking), evaluates its slice,
and -- only if it can commit -- persists PREPARED (reads, would-be writes, coordinator) *before* voting
YES: a YES vote is a promise to commit if told to, and a promise must survive a crash.

Once it has voted YES the participant is *in doubt*: it may neither commit nor abort on its own, since
the coordinator may have decided either way. It keeps its locks and asks the coordinator, again and
again, until it learns the outcome. That blocking is the price of 2PC's atomicity; the planted bug
``twopc:unilateral-commit`` refuses to pay it and commits on timeout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from systems_under_test.core import JSON, CancelTimer, Effect, Event, Log, Persist, Send, SetTimer
from systems_under_test.twopc.shards import evaluate, lock_modes

COMMIT, ABORT = "commit", "abort"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A transaction this participant voted YES on and has not yet learned the outcome of."""

    txid: str
    coord: str
    reads: tuple[tuple[int, JSON], ...]
    writes: dict[str, JSON]
    modes: dict[str, bool]  # key -> exclusive?

    def record(self) -> dict[str, JSON]:
        """The durable PREPARED record."""
        return {"t": "prepared", "txid": self.txid, "coord": self.coord,
                "reads": [list(r) for r in self.reads],
                "writes": self.writes, "modes": self.modes}

    @staticmethod
    def from_record(rec: Mapping[str, JSON]) -> Prepared:
        """Rebuild from a PREPARED record."""
        reads = tuple((int(p), v) for p, v in rec["reads"])
        return Prepared(str(rec["txid"]), str(rec["coord"]), reads, dict(rec["writes"]), dict(rec["modes"]))


def doubt_timer(txid: str) -> str:
    """The name of the timer that makes an in-doubt participant act on ``txid``."""
    return f"doubt:{txid}"


class Participant:
    """One shard's participant state; each handler returns the effects to carry out."""

    def __init__(self, node_id: str, initial: Mapping[str, JSON], config: Mapping[str, JSON]) -> None:
        self.node_id = node_id
        self.data: dict[str, JSON] = dict(initial)
        self.prepared: dict[str, Prepared] = {}
        self.outcomes: dict[str, str] = {}  # what this participant learned or did, per txid
        self.xlocks: dict[str, str] = {}
        self.slocks: dict[str, set[str]] = {}
        self.doubt_timeout = float(config.get("doubt_timeout", 1.0))
        self.query_interval = float(config.get("query_interval", 0.5))

    # ------------------------------------------------------------------ recovery

    def recover(self, records: Sequence[Mapping[str, JSON]]) -> None:
        """Rebuild data, locks and in-doubt transactions from the durable records."""
        for rec in records:
            kind = rec.get("t")
            if kind == "prepared":
                p = Prepared.from_record(rec)
                self.prepared[p.txid] = p
            elif kind in (COMMIT, ABORT):
                txid = str(rec["txid"])
                done = self.prepared.pop(txid, None)
                if kind == COMMIT and done is not None:
                    self.data.update(done.writes)
                self.outcomes[txid] = str(kind)
        for p in self.prepared.values():
            self._lock(p.txid, p.modes)

    def resume(self, now: float) -> list[Effect]:
        """After a restart: every transaction still PREPARED is in doubt; ask its coordinator."""
        effects: list[Effect] = []
        for p in self.prepared.values():
            effects.append(Log(f"in doubt after restart: {p.txid}"))
            effects += self._in_doubt(now, p)
        return effects

    # ------------------------------------------------------------------ locks

    def _conflicts(self, txid: str, modes: Mapping[str, bool]) -> str | None:
        for key, exclusive in modes.items():
            holder = self.xlocks.get(key)
            if holder is not None and holder != txid:
                return f"{key} locked by {holder}"
            readers = self.slocks.get(key, set()) - {txid}
            if exclusive and readers:
                return f"{key} read-locked by {min(readers)}"
        return None

    def _lock(self, txid: str, modes: Mapping[str, bool]) -> None:
        for key, exclusive in modes.items():
            if exclusive:
                self.xlocks[key] = txid
            else:
                self.slocks.setdefault(key, set()).add(txid)

    def _unlock(self, txid: str, modes: Mapping[str, bool]) -> None:
        for key in modes:
            if self.xlocks.get(key) == txid:
                del self.xlocks[key]
            readers = self.slocks.get(key)
            if readers is not None:
                readers.discard(txid)
                if not readers:
                    del self.slocks[key]

    def locked_keys(self) -> list[str]:
        """Keys currently locked by some transaction (for status and tests)."""
        return sorted(set(self.xlocks) | set(self.slocks))

    # ------------------------------------------------------------------ protocol

    def on_prepare(self, now: float, src: str, msg: Mapping[str, JSON]) -> list[Effect]:
        """PREPARE: lock no-wait, evaluate, persist PREPARED, then vote YES -- or vote NO at once."""
        txid = str(msg["txid"])
        if txid in self.prepared:  # a duplicate: repeat the vote
            return [self._vote(src, txid, self.prepared[txid])]
        if txid in self.outcomes:
            known = self.outcomes[txid]
            return [Send(src, {"type": "vote", "txid": txid, "yes": known == COMMIT, "reason": "decided"})]
        ops = [(int(pos), list(mop)) for pos, mop in msg["ops"]]
        modes = lock_modes(ops)
        conflict = self._conflicts(txid, modes)
        if conflict is not None:
            return [Send(src, {"type": "vote", "txid": txid, "yes": False, "reason": "conflict",
                               "text": conflict})]
        ev = evaluate(self.data, ops)
        if ev.refusal is not None:
            return [Send(src, {"type": "vote", "txid": txid, "yes": False, "reason": "precondition",
                               "text": ev.refusal})]
        p = Prepared(txid, src, tuple(sorted(ev.reads.items())), ev.writes, modes)
        self.prepared[txid] = p
        self._lock(txid, modes)
        return [Persist(p.record()), Event("prepared", {"txid": txid}), self._vote(src, txid, p),
                SetTimer(doubt_timer(txid), now + self.doubt_timeout)]

    def _vote(self, dst: str, txid: str, p: Prepared) -> Send:
        return Send(dst, {"type": "vote", "txid": txid, "yes": True, "reads": [list(r) for r in p.reads]})

    def on_decision(self, now: float, src: str, msg: Mapping[str, JSON]) -> list[Effect]:
        """COMMIT/ABORT from the coordinator: install or drop the writes, release locks, acknowledge."""
        txid, outcome = str(msg["txid"]), str(msg["outcome"])
        effects = self.finish(txid, outcome, why="coordinator")
        return [*effects, Send(src, {"type": "ack", "txid": txid})]

    def finish(self, txid: str, outcome: str, *, why: str) -> list[Effect]:
        """Apply ``outcome`` to a prepared transaction (durably), or just remember it if not prepared."""
        p = self.prepared.pop(txid, None)
        if p is None:
            self.outcomes.setdefault(txid, outcome)
            return []
        self.outcomes[txid] = outcome
        if outcome == COMMIT:
            self.data.update(p.writes)
        self._unlock(txid, p.modes)
        return [Persist({"t": outcome, "txid": txid}), CancelTimer(doubt_timer(txid)),
                Log(f"{outcome} {txid} ({why})")]

    def on_doubt(self, now: float, txid: str) -> list[Effect]:
        """The doubt timer fired: still no outcome, so ask the coordinator again (and keep waiting)."""
        p = self.prepared.get(txid)
        if p is None:
            return []
        return self._in_doubt(now, p)

    def _in_doubt(self, now: float, p: Prepared) -> list[Effect]:
        return [Send(p.coord, {"type": "query", "txid": p.txid}),
                SetTimer(doubt_timer(p.txid), now + self.query_interval)]

    def in_doubt(self) -> list[str]:
        """Transactions this participant voted YES on and has no outcome for."""
        return sorted(self.prepared)
