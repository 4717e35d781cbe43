"""Primary/replica key-value store with a fixed primary (sans-IO core).

The lowest node id is the primary and orders every operation. Any node accepts client requests; a
replica forwards them to the primary, which answers back through that replica (an answer that never
comes makes the client time out: history ``info``).

Why this is linearizable (the correct variant):

* Every mutating command (write, cas, add — also a cas whose comparison fails, because its answer is an
  observation of the state) is appended to the primary's log and persisted there *before* it is sent
  to any replica, so an entry a replica holds can never be lost by a primary crash, and every replica's
  log is a prefix of the primary's.
* An entry is *committed* once every replica has acknowledged persisting it; only then is it applied
  to the state the primary reads from and only then is the client answered. Answers are computed by
  applying commands in log order, so a cas is judged against the state produced by every earlier
  entry — exactly what a serial execution in log order gives.
* Reads are answered by the primary from the committed state. A primary that restarts does not know
  which entries were committed before the crash, so it serves no read until everything it recovered
  is committed again (``read barrier``); otherwise it could forget a write it had already acknowledged.
* A replica that missed entries (loss, partition, restart) reports how much it holds; the primary
  resends from there, periodically and whenever a replica reports a gap.

The price: while a replica is unreachable, writes block (clients time out). Failover is not part of
this design.

The planted bug lives in :mod:`systems_under_test.replication.variants`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from systems_under_test import kv
from systems_under_test.core import (
    NOT_SUPPORTED,
    Core,
    Effect,
    Log,
    Persist,
    Reply,
    Send,
    SetTimer,
    error_body,
)
from systems_under_test.replication.log import Entry, boot_record, primary_of, recover

MALFORMED_REQUEST = 12
TICK = "tick"
MAX_WAITING = 10_000  # unanswered client requests remembered per node (the oldest are forgotten)


class Role(Enum):
    """Whether this node orders operations or follows the primary's log."""

    PRIMARY = "primary"
    REPLICA = "replica"


class ReplicationCore(Core):
    """One node of the primary/replica store; the correct (synchronous replication) variant."""

    def __init__(
        self,
        node_id: str,
        peer_ids: Sequence[str],
        rng: random.Random,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(node_id, peer_ids, rng, config)
        self.primary = primary_of(self.cluster)
        self.role = Role.PRIMARY if node_id == self.primary else Role.REPLICA
        self.heartbeat = float(self.config.get("heartbeat", 0.05))
        self.batch = max(1, int(self.config.get("batch", 64)))
        self.boot = 0
        self.log: list[Entry] = []
        self.state: dict[str, Any] = {}
        self.applied = 0  # entries applied to ``state``
        self.commit = 0  # primary: entries every replica has persisted
        self.read_barrier = 0  # primary: reads wait until commit reaches this
        self.match: dict[str, int] = {p: 0 for p in self.peer_ids}  # primary: persisted per replica
        self.heard: set[str] = set()  # primary: replicas whose log length is known since boot
        self.resent_from: dict[str, int] = {}  # primary: gap reports already answered
        self.seen: dict[str, int] = {}  # primary: op id -> log index (duplicate forwards)
        self.blocked_reads: list[tuple[str, str, dict[str, Any]]] = []  # (origin, op id, cmd)
        self.waiting: dict[str, str] = {}  # op id -> host req_id of a client request received here

    # ----------------------------------------------------------------- variant hooks

    def commit_target(self) -> int:
        """How far the primary may commit: what every replica has persisted."""
        return min([len(self.log), *self.match.values()])

    def reads_locally(self) -> bool:
        """Whether this node answers reads from its own state instead of asking the primary."""
        return self.role is Role.PRIMARY

    # ----------------------------------------------------------------- handlers

    def on_start(self, now: float, durable: Sequence[dict[str, Any]]) -> list[Effect]:
        """Rebuild the log from durable records; the primary starts re-replicating its tail."""
        rec = recover(durable)
        self.boot = rec.boots
        self.log = list(rec.entries)
        effects: list[Effect] = [Persist(boot_record())]
        if self.role is Role.REPLICA:
            for entry in self.log:
                kv.apply(self.state, entry.cmd)
            self.applied = len(self.log)
            return [*effects,
                    Log(f"replica boot {self.boot}: {len(self.log)} entries, primary {self.primary}")]
        self.seen = {e.op_id: e.index for e in self.log}
        self.read_barrier = len(self.log)
        effects.append(Log(f"primary boot {self.boot}: {len(self.log)} entries to re-replicate"))
        effects += self._probe_all()
        effects += self._advance_commit()
        effects.append(SetTimer(TICK, now + self.heartbeat))
        return effects

    def on_request(self, now: float, client: str, req: dict[str, Any]) -> list[Effect]:
        """Answer a key-value request: locally, via the log (primary), or by forwarding it."""
        rid = str(req.get("req_id"))
        if req.get("type") not in kv.KV_OPS:
            return [Reply(rid, error_body(NOT_SUPPORTED, f"unknown request type {req.get('type')!r}",
                                          definite=True))]
        if not kv.is_kv_request(req):
            return [Reply(rid, error_body(MALFORMED_REQUEST, "request has no key", definite=True))]
        cmd = kv.command(req)
        if kv.read_only(cmd) and self.reads_locally() and self.role is Role.REPLICA:
            return [Reply(rid, kv.apply(self.state, cmd))]
        op_id = f"{self.node_id}.{self.boot}.{rid}"
        self.remember(op_id, rid)
        if self.role is Role.PRIMARY:
            return self._submit(self.node_id, op_id, cmd)
        return [Send(self.primary, {"type": "forward", "id": op_id, "cmd": cmd})]

    def on_message(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        """Dispatch a peer message by its type."""
        kind = msg.get("type")
        try:
            if kind == "forward" and self.role is Role.PRIMARY:
                return self._submit(src, str(msg["id"]), dict(msg["cmd"]))
            if kind == "answer":
                rid = self.waiting.pop(str(msg["id"]), None)
                return [] if rid is None else [Reply(rid, dict(msg["body"]))]
            if kind == "append" and self.role is Role.REPLICA and src == self.primary:
                return self._on_append(msg)
            if kind == "ack" and self.role is Role.PRIMARY and src in self.match:
                return self._on_ack(src, int(msg["match"]), bool(msg.get("gap")))
        except (KeyError, TypeError, ValueError) as e:
            return [Log(f"ignoring malformed {kind!r} from {src}: {e!r}")]
        return []

    def on_timer(self, now: float, name: str) -> list[Effect]:
        """The primary's periodic resend to replicas that are behind."""
        if name != TICK or self.role is not Role.PRIMARY:
            return []
        effects: list[Effect] = []
        for r in self.peer_ids:
            if r not in self.heard:
                effects += self._probe(r)
            elif self.match[r] < len(self.log):
                effects += self._send_from(r, self.match[r] + 1)
        effects.append(SetTimer(TICK, now + self.heartbeat))
        return effects

    def status(self) -> dict[str, Any]:
        """Role, primary, and how far the log is persisted, committed and applied."""
        out: dict[str, Any] = {
            "role": self.role.value,
            "primary": self.primary,
            "boot": self.boot,
            "log": len(self.log),
            "applied": self.applied,
        }
        if self.role is Role.PRIMARY:
            out["commit"] = self.commit
            out["match"] = dict(self.match)
            out["read_barrier"] = self.read_barrier
        return out

    def remember(self, op_id: str, rid: str) -> None:
        """Wait for the answer to ``op_id``; bounded, since a lost forward is never answered."""
        if len(self.waiting) >= MAX_WAITING:
            del self.waiting[next(iter(self.waiting))]  # its client has long timed out
        self.waiting[op_id] = rid

    # ----------------------------------------------------------------- primary

    def _submit(self, origin: str, op_id: str, cmd: dict[str, Any]) -> list[Effect]:
        """Primary: serve a read from committed state, or append a mutating command to the log."""
        if kv.read_only(cmd):
            if self.commit < self.read_barrier:
                self.blocked_reads.append((origin, op_id, cmd))
                return []
            return self._answer(origin, op_id, kv.apply(self.state, cmd))
        if op_id in self.seen:
            return []  # a duplicated forward: the first copy is already in the log
        entry = Entry(len(self.log) + 1, cmd, origin, op_id)
        self.log.append(entry)
        self.seen[op_id] = entry.index
        effects: list[Effect] = [Persist(entry.to_json())]
        effects += self._before_replicating()
        for r in self.peer_ids:
            effects.append(Send(r, {"type": "append", "prev": entry.index - 1, "entries": [entry.to_json()]}))
        effects += self._advance_commit()
        return effects

    def _before_replicating(self) -> list[Effect]:
        """Effects placed between persisting a new entry and sending it to replicas (none here)."""
        return []

    def _advance_commit(self) -> list[Effect]:
        """Apply newly committed entries in log order, answer their clients, release blocked reads."""
        target = self.commit_target()
        effects: list[Effect] = []
        while self.applied < target:
            entry = self.log[self.applied]
            body = kv.apply(self.state, entry.cmd)
            self.applied += 1
            effects += self._answer(entry.origin, entry.op_id, body)
        self.commit = max(self.commit, target)
        if self.blocked_reads and self.commit >= self.read_barrier:
            blocked, self.blocked_reads = self.blocked_reads, []
            for origin, op_id, cmd in blocked:
                effects += self._answer(origin, op_id, kv.apply(self.state, cmd))
        return effects

    def _answer(self, origin: str, op_id: str, body: dict[str, Any]) -> list[Effect]:
        """Route an answer to the waiting client: directly, or through the node that received it."""
        if origin == self.node_id:
            rid = self.waiting.pop(op_id, None)
            return [] if rid is None else [Reply(rid, body)]
        return [Send(origin, {"type": "answer", "id": op_id, "body": body})]

    def _on_ack(self, src: str, match: int, gap: bool) -> list[Effect]:
        """Record what ``src`` has persisted; commit what everyone has; fill a reported gap at once."""
        if match > len(self.log):
            return [Log(f"{src} claims {match} entries but the log has {len(self.log)}; ignored")]
        self.heard.add(src)
        self.match[src] = max(self.match[src], match)
        effects = self._advance_commit()
        if gap and self.match[src] < len(self.log) and self.resent_from.get(src) != self.match[src]:
            self.resent_from[src] = self.match[src]
            effects += self._send_from(src, self.match[src] + 1)
        return effects

    def _send_from(self, dst: str, start: int) -> list[Effect]:
        """Send one batch of entries beginning at index ``start``."""
        chunk = self.log[start - 1 : start - 1 + self.batch]
        msg = {"type": "append", "prev": start - 1, "entries": [e.to_json() for e in chunk]}
        return [Send(dst, msg)]

    def _probe(self, dst: str) -> list[Effect]:
        """An empty append: the replica answers with how many entries it holds."""
        return [Send(dst, {"type": "append", "prev": len(self.log), "entries": []})]

    def _probe_all(self) -> list[Effect]:
        """Probe every replica (after a primary restart, their progress is unknown)."""
        return [e for r in self.peer_ids for e in self._probe(r)]

    # ----------------------------------------------------------------- replica

    def _on_append(self, msg: dict[str, Any]) -> list[Effect]:
        """Replica: persist the entries that extend the log, then acknowledge how many it holds."""
        prev = int(msg["prev"])
        if prev > len(self.log):
            return [Send(self.primary, {"type": "ack", "match": len(self.log), "gap": True})]
        effects: list[Effect] = []
        for raw in msg["entries"]:
            entry = Entry.from_json(raw)
            if entry.index != len(self.log) + 1:
                continue  # already held (duplicate or resend): logs are prefixes of the primary's
            self.log.append(entry)
            effects.append(Persist(entry.to_json()))
            kv.apply(self.state, entry.cmd)
            self.applied += 1
        effects.append(Send(self.primary, {"type": "ack", "match": len(self.log)}))
        return effects
