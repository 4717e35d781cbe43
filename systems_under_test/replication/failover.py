"""Primary/replica store with automatic failover through majority-agreed terms (sans-IO core).

The fixed-primary design blocks for as long as the primary or any replica is unreachable. This
variant replaces the primary when it goes quiet, and stays linearizable while doing so:

* **Terms.** Time is divided into numbered terms with at most one primary each. A replica that has
  not heard from a primary for an election timeout (randomised from the injected rng, so two replicas
  rarely try at once) starts a new term and asks for votes. A node votes at most once per term
  (persisted before the vote leaves) and only for a candidate whose log is at least as up to date as
  its own (higher last term, or same last term and at least as long). A candidate with a majority of
  votes becomes primary.
* **Majority commit.** An entry is committed once a majority has persisted it *and* it belongs to the
  primary's current term (earlier-term entries commit along with it). Any two majorities intersect, so
  every later primary's log holds every committed entry: the vote rule makes the winner at least as
  up to date as some member of each majority.
* **A superseded primary cannot acknowledge.** It needs a majority of acknowledgements in its own term;
  a majority has moved to a higher term and rejects its appends, and the rejection tells it to step
  down. So it can never answer a client after being superseded.
* **Reads go through the log** like writes: answered only when committed in the current term, so a
  deposed primary that has not noticed yet cannot serve a stale read. (Leases would be faster but
  would trust clocks, which the nemesis skews.)
* A new primary appends a ``noop`` in its term, which commits its predecessors' tail without waiting
  for the next client write.

Answers are computed by applying the log in order (a cas is judged against every earlier entry) and
are routed to the node holding the client. Replicas forward requests to the primary they last heard
from; with none known they answer ``11 temporarily-unavailable`` (definite: nothing was sent).
A forward that reaches a node which is no longer primary is dropped: its client times out (``info``),
which is safe, whereas a definite error could be wrong if an earlier copy had been appended.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from systems_under_test import kv
from systems_under_test.core import (
    NOT_SUPPORTED,
    TEMPORARILY_UNAVAILABLE,
    CancelTimer,
    Core,
    Effect,
    Event,
    Log,
    Persist,
    Reply,
    Send,
    SetTimer,
    error_body,
)
from systems_under_test.replication.terms import NOOP, TermEntry, recover_terms, term_record

MALFORMED_REQUEST = 12
ELECTION = "election"
HEARTBEAT = "heartbeat"
MAX_WAITING = 10_000


class Role(Enum):
    """A node's part in the current term."""

    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    PRIMARY = "primary"


def apply_entry(state: dict[str, Any], cmd: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a log command (``noop`` does nothing) and return its answer."""
    if cmd.get("type") == NOOP:
        return {"type": "noop_ok"}
    return kv.apply(state, cmd)


class FailoverCore(Core):
    """One node of the failover store: follower, candidate or primary of the current term."""

    def __init__(
        self,
        node_id: str,
        peer_ids: Sequence[str],
        rng: random.Random,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(node_id, peer_ids, rng, config)
        self.heartbeat = float(self.config.get("heartbeat", 0.05))
        self.election_timeout = float(self.config.get("election_timeout", 0.4))
        self.batch = max(1, int(self.config.get("batch", 64)))
        self.role = Role.FOLLOWER
        self.boot = 0
        self.term = 0
        self.vote: str | None = None
        self.leader: str | None = None
        self.log: list[TermEntry] = []
        self.commit = 0
        self.applied = 0
        self.state: dict[str, Any] = {}
        self.votes: set[str] = set()
        self.next_index: dict[str, int] = {}
        self.match: dict[str, int] = {}
        self.seen: set[str] = set()
        self.waiting: dict[str, str] = {}

    # ----------------------------------------------------------------- handlers

    def on_start(self, now: float, durable: Sequence[dict[str, Any]]) -> list[Effect]:
        """Recover term, vote and log; start as a follower (commit knowledge is volatile)."""
        rec = recover_terms(durable)
        self.boot, self.term, self.vote, self.log = rec.boots, rec.term, rec.vote, list(rec.entries)
        return [
            Persist({"t": "boot"}),
            Log(f"boot {self.boot}: term {self.term}, {len(self.log)} entries"),
            self._election_timer(now),
        ]

    def on_request(self, now: float, client: str, req: dict[str, Any]) -> list[Effect]:
        """Append a client operation (primary) or forward it to the primary this node knows."""
        rid = str(req.get("req_id"))
        if req.get("type") not in kv.KV_OPS:
            return [Reply(rid, error_body(NOT_SUPPORTED, f"unknown request type {req.get('type')!r}",
                                          definite=True))]
        if not kv.is_kv_request(req):
            return [Reply(rid, error_body(MALFORMED_REQUEST, "request has no key", definite=True))]
        cmd = kv.command(req)
        if self.role is not Role.PRIMARY and self.leader is None:
            return [Reply(rid, error_body(TEMPORARILY_UNAVAILABLE, "no primary known", definite=True))]
        op_id = f"{self.node_id}.{self.boot}.{rid}"
        if len(self.waiting) >= MAX_WAITING:
            del self.waiting[next(iter(self.waiting))]
        self.waiting[op_id] = rid
        if self.role is Role.PRIMARY:
            return self._append(self.node_id, op_id, cmd)
        assert self.leader is not None
        return [Send(self.leader, {"type": "forward", "id": op_id, "cmd": cmd})]

    def on_message(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        """Dispatch a peer message; any message of a higher term first makes this node follow it."""
        if src not in self.peer_ids:
            return []
        try:
            kind = msg.get("type")
            if kind == "answer":
                rid = self.waiting.pop(str(msg["id"]), None)
                return [] if rid is None else [Reply(rid, dict(msg["body"]))]
            if kind == "forward":
                if self.role is Role.PRIMARY:
                    return self._append(src, str(msg["id"]), dict(msg["cmd"]))
                return [Log(f"dropping a forward from {src}: not primary")]
            term = int(msg["term"])
            effects: list[Effect] = []
            if term > self.term:
                effects += self._follow(now, term)
            if kind == "request_vote":
                return effects + self._on_request_vote(now, src, msg)
            if kind == "vote":
                return effects + self._on_vote(now, src, msg)
            if kind == "append":
                return effects + self._on_append(now, src, msg)
            if kind == "append_ack":
                return effects + self._on_append_ack(src, msg)
            return effects
        except (KeyError, TypeError, ValueError) as e:
            return [Log(f"ignoring malformed message from {src}: {e!r}")]

    def on_timer(self, now: float, name: str) -> list[Effect]:
        """Election timeout (start an election) or the primary's heartbeat (resend what is unacked)."""
        if name == ELECTION and self.role is not Role.PRIMARY:
            return self.start_election(now)
        if name == HEARTBEAT and self.role is Role.PRIMARY:
            effects: list[Effect] = []
            for p in self.peer_ids:
                self.next_index[p] = self.match[p] + 1
                effects += self._send_append(p)
            return [*effects, SetTimer(HEARTBEAT, now + self.heartbeat)]
        return []

    def status(self) -> dict[str, Any]:
        """Role, term, who leads, and how far the log is committed and applied."""
        out: dict[str, Any] = {"role": self.role.value, "term": self.term, "primary": self.leader,
                               "boot": self.boot, "log": len(self.log), "commit": self.commit,
                               "applied": self.applied}
        if self.role is Role.PRIMARY:
            out["match"] = dict(self.match)
        return out

    # ----------------------------------------------------------------- elections

    def start_election(self, now: float) -> list[Effect]:
        """Start a new term as candidate: vote for itself (persisted) and ask everyone else."""
        self.term += 1
        self.role = Role.CANDIDATE
        self.vote = self.node_id
        self.leader = None
        self.votes = {self.node_id}
        effects: list[Effect] = [Persist(term_record(self.term, self.vote)),
                                 Log(f"election for term {self.term}")]
        last_index, last_term = self._last()
        for p in self.peer_ids:
            effects.append(Send(p, {"type": "request_vote", "term": self.term, "last_index": last_index,
                                    "last_term": last_term}))
        effects.append(self._election_timer(now))
        if len(self.votes) >= self.majority:
            effects += self._become_primary(now)
        return effects

    def _on_request_vote(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        """Grant at most one vote per term, and only to a candidate at least as up to date."""
        last_index, last_term = self._last()
        up_to_date = (int(msg["last_term"]), int(msg["last_index"])) >= (last_term, last_index)
        granted = int(msg["term"]) == self.term and self.vote in (None, src) and up_to_date
        effects: list[Effect] = []
        if granted:
            self.vote = src
            effects += [Persist(term_record(self.term, src)), self._election_timer(now)]
        return [*effects, Send(src, {"type": "vote", "term": self.term, "granted": granted})]

    def _on_vote(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        """Count a vote of the current term; a majority makes this node primary."""
        if self.role is not Role.CANDIDATE or int(msg["term"]) != self.term or not msg.get("granted"):
            return []
        self.votes.add(src)
        return self._become_primary(now) if len(self.votes) >= self.majority else []

    def _become_primary(self, now: float) -> list[Effect]:
        """Take over: append a noop of this term (it commits the inherited tail) and start heartbeats."""
        self.role = Role.PRIMARY
        self.leader = self.node_id
        self.next_index = {p: len(self.log) + 1 for p in self.peer_ids}
        self.match = {p: 0 for p in self.peer_ids}
        self.seen = {e.op_id for e in self.log}
        effects: list[Effect] = [Log(f"primary of term {self.term}"), Event("elected", {"term": self.term}),
                                 CancelTimer(ELECTION)]
        effects += self._append(self.node_id, f"{self.node_id}.{self.boot}.noop{self.term}", {"type": NOOP})
        return [*effects, SetTimer(HEARTBEAT, now + self.heartbeat)]

    def _follow(self, now: float, term: int) -> list[Effect]:
        """A higher term exists: adopt it (persisted, no vote yet) and follow."""
        if self.role is not Role.FOLLOWER:
            self.role = Role.FOLLOWER
        self.term, self.vote, self.leader = term, None, None
        return [Persist(term_record(term, None)), CancelTimer(HEARTBEAT), self._election_timer(now)]

    def _election_timer(self, now: float) -> SetTimer:
        """(Re)arm the election timeout, randomised so that candidates rarely collide."""
        return SetTimer(ELECTION, now + self.election_timeout * (1.0 + self.rng.random()))

    def _last(self) -> tuple[int, int]:
        """(index, term) of the last log entry; (0, 0) for an empty log."""
        return (len(self.log), self.log[-1].term) if self.log else (0, 0)

    # ----------------------------------------------------------------- primary

    def _append(self, origin: str, op_id: str, cmd: dict[str, Any]) -> list[Effect]:
        """Append an operation in the current term, persist it, and replicate it."""
        if op_id in self.seen:
            return []  # a duplicated forward
        self.seen.add(op_id)
        entry = TermEntry(len(self.log) + 1, self.term, cmd, origin, op_id)
        self.log.append(entry)
        effects: list[Effect] = [Persist(entry.to_json())]
        for p in self.peer_ids:
            effects += self._send_append(p)
        return effects + self._advance_commit()

    def _send_append(self, dst: str) -> list[Effect]:
        """Send ``dst`` the entries from its next index (pipelined: next index moves on optimistically)."""
        start = min(self.next_index[dst], len(self.log) + 1)
        chunk = self.log[start - 1 : start - 1 + self.batch]
        prev_term = self.log[start - 2].term if start > 1 else 0
        self.next_index[dst] = start + len(chunk)
        msg = {"type": "append", "term": self.term, "prev_index": start - 1, "prev_term": prev_term,
               "entries": [e.to_json() for e in chunk], "commit": self.commit}
        return [Send(dst, msg)]

    def _on_append_ack(self, src: str, msg: dict[str, Any]) -> list[Effect]:
        """Count a replica's persisted prefix, or back off to where its log diverges."""
        if self.role is not Role.PRIMARY or int(msg["term"]) != self.term:
            return []
        if msg.get("success"):
            self.match[src] = max(self.match[src], min(int(msg["match"]), len(self.log)))
            return self._advance_commit()
        self.next_index[src] = max(1, min(int(msg["match"]) + 1, len(self.log) + 1))
        return self._send_append(src)

    def _advance_commit(self) -> list[Effect]:
        """Commit the highest entry of this term that a majority holds, then apply up to it."""
        for n in range(len(self.log), self.commit, -1):
            if self.log[n - 1].term != self.term:
                break
            holders = 1 + sum(1 for m in self.match.values() if m >= n)
            if holders >= self.majority:
                self.commit = n
                break
        return self._apply()

    def _apply(self) -> list[Effect]:
        """Apply committed entries in order; the primary routes each answer to the waiting client."""
        effects: list[Effect] = []
        while self.applied < self.commit:
            entry = self.log[self.applied]
            body = apply_entry(self.state, entry.cmd)
            self.applied += 1
            if self.role is not Role.PRIMARY or entry.cmd.get("type") == NOOP:
                continue
            if entry.origin == self.node_id:
                rid = self.waiting.pop(entry.op_id, None)
                if rid is not None:
                    effects.append(Reply(rid, body))
            else:
                effects.append(Send(entry.origin, {"type": "answer", "id": entry.op_id, "body": body}))
        return effects

    # ----------------------------------------------------------------- replica

    def _on_append(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        """Accept the primary of the current term: check the log matches at prev, then take its entries."""
        if int(msg["term"]) < self.term:
            return [Send(src, {"type": "append_ack", "term": self.term, "success": False, "match": 0})]
        effects: list[Effect] = []
        if self.role is not Role.FOLLOWER:
            self.role = Role.FOLLOWER
            effects.append(CancelTimer(HEARTBEAT))
        self.leader = src
        effects.append(self._election_timer(now))
        prev, prev_term = int(msg["prev_index"]), int(msg["prev_term"])
        if prev > len(self.log) or (prev > 0 and self.log[prev - 1].term != prev_term):
            return [*effects, Send(src, {"type": "append_ack", "term": self.term, "success": False,
                                         "match": self._mismatch_hint(prev)})]
        entries = [TermEntry.from_json(raw) for raw in msg["entries"]]
        for entry in entries:
            if entry.index <= len(self.log):
                if self.log[entry.index - 1].term == entry.term:
                    continue
                effects += self._truncate(entry.index - 1)
            self.log.append(entry)
            effects.append(Persist(entry.to_json()))
        last_new = prev + len(entries)
        if int(msg["commit"]) > self.commit:
            self.commit = max(self.commit, min(int(msg["commit"]), last_new))
            effects += self._apply()
        return [*effects,
                Send(src, {"type": "append_ack", "term": self.term, "success": True, "match": last_new})]

    def _mismatch_hint(self, prev: int) -> int:
        """Where the primary should resume: skip this node's whole conflicting term, never below commit."""
        if prev > len(self.log):
            return len(self.log)
        conflicting = self.log[prev - 1].term
        i = prev - 1
        while i > self.commit and self.log[i - 1].term == conflicting:
            i -= 1
        return i

    def _truncate(self, keep: int) -> list[Effect]:
        """Drop the log after ``keep`` entries (a deposed primary's uncommitted tail)."""
        effects: list[Effect] = []
        if keep < self.applied:
            # Committed entries are never replaced under majority-agreed terms; if it happens anyway
            # (a variant without quorums), rebuild the state from what is left so the node stays usable.
            effects.append(Log(f"ERROR replacing applied entries {keep + 1}..{self.applied}"))
            self.state = {}
            for e in self.log[:keep]:
                apply_entry(self.state, e.cmd)
            self.applied = keep
            self.commit = min(self.commit, keep)
        del self.log[keep:]
        return effects
