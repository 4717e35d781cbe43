"""Chain replication as a sans-IO core: the head orders writes, the tail answers reads.

The nodes, sorted by id, form a fixed chain ``head -> ... -> tail``. A client may talk to any node; that
node (the *origin*) forwards the request:

* a write goes to the head, which gives it the next sequence number, applies and persists it and sends
  it down the chain. Every node applies updates strictly in sequence order, persists each one before
  passing it on, and acknowledges it to its predecessor; a node resends what its successor has not
  acknowledged on a timer, so a lost message or a restarted node only delays the chain. When the tail
  has applied an update it is *committed*: the tail tells the origin, which answers the client.
* a read goes to the tail and is answered from the tail's state. The tail holds exactly the committed
  updates, so reads are linearizable.

A crash loses only volatile state: each node's updates are persisted, and a restarted node rebuilds its
store and log from them. Origins tag forwarded requests with a per-incarnation token, so an answer
meant for a request of an earlier incarnation is never given to a new request that reuses its id.

The planted bug (:class:`AnyReplicaReadsCore`) is the classic mistake of serving reads at whichever
replica the client reached: a node upstream of the tail has applied writes that are not committed yet,
so one client can read a new value at the head and a later client an older one at the tail.

Standard library only (plus the core contract), as every core must be: it also runs inside a container.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from systems_under_test.core import (
    NOT_SUPPORTED,
    Core,
    Effect,
    Persist,
    Reply,
    Send,
    SetTimer,
    error_body,
)

RESEND = "resend"


class ChainCore(Core):
    """One node of the chain: its store, its log of applied updates and its place in the chain."""

    def __init__(self, node_id: str, peer_ids: Sequence[str], rng: random.Random,
                 config: Mapping[str, Any] | None = None) -> None:
        super().__init__(node_id, peer_ids, rng, config)
        chain = self.cluster
        i = chain.index(node_id)
        self.head, self.tail = chain[0], chain[-1]
        self.pred = chain[i - 1] if i > 0 else None
        self.succ = chain[i + 1] if i + 1 < len(chain) else None
        self.resend_every = float(self.config.get("resend_every", 0.1))
        self.batch = int(self.config.get("resend_batch", 32))
        self.store: dict[str, Any] = {}
        self.log: list[dict[str, Any]] = []  # applied updates, in sequence order (seq = index + 1)
        self.succ_acked = 0  # highest seq the successor confirmed
        self.pending: dict[str, str] = {}  # forwarded request tag -> client req_id
        self.token = ""
        self.next_tag = 0

    @property
    def applied(self) -> int:
        """Sequence number of the last update this node applied."""
        return len(self.log)

    def on_start(self, now: float, durable: Sequence[dict[str, Any]]) -> list[Effect]:
        """Rebuild the store and log from the persisted updates; start the resend timer."""
        for rec in durable:
            if rec["seq"] == self.applied + 1:
                self._apply(rec)
        self.token = f"{self.rng.getrandbits(32):08x}"
        return [SetTimer(RESEND, now + self.resend_every)]

    # ----- client requests --------------------------------------------------------------------------

    def on_request(self, now: float, client: str, req: dict[str, Any]) -> list[Effect]:
        """Forward a write to the head and a read to the tail; answer when their answer comes back."""
        rid = str(req.get("req_id"))
        kind = req.get("type")
        if kind not in ("read", "write"):
            return [Reply(rid, error_body(NOT_SUPPORTED, f"chain supports read and write, not {kind!r}",
                                          definite=True))]
        if kind == "read":
            local = self.read_locally(rid, str(req["key"]))
            if local is not None:
                return local
        self.next_tag += 1
        tag = f"{self.node_id}/{self.token}/{self.next_tag}"
        self.pending[tag] = rid
        if kind == "read":
            return self._deliver(self.tail,
                                 {"type": "read_fwd", "key": req["key"], "tag": tag, "origin": self.node_id})
        return self._deliver(self.head, {"type": "write_fwd", "key": req["key"], "value": req.get("value"),
                                         "tag": tag, "origin": self.node_id})

    def read_locally(self, rid: str, key: str) -> list[Effect] | None:
        """Reads are the tail's to answer: here only when this node is the tail."""
        if self.node_id == self.tail:
            return [Reply(rid, {"type": "read_ok", "value": self.store.get(key)})]
        return None

    # ----- messages ------------------------------------------------------------------------------------

    def on_message(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        """Chain traffic: forwarded requests, updates, acknowledgements and answers to origins."""
        kind = msg.get("type")
        if kind == "write_fwd" and self.node_id == self.head:
            update = {"seq": self.applied + 1, "key": msg["key"], "value": msg["value"], "tag": msg["tag"],
                      "origin": msg["origin"]}
            return self._accept(update)
        if kind == "update":
            if msg["seq"] == self.applied + 1:
                return self._accept(dict(msg["update"]))
            return self._deliver(
                src, {"type": "ack", "seq": self.applied}
            )  # duplicate or gap: say where we are
        if kind == "ack":
            self.succ_acked = max(self.succ_acked, int(msg["seq"]))
            return []
        if kind == "read_fwd" and self.node_id == self.tail:
            return self._deliver(msg["origin"], {"type": "answer", "tag": msg["tag"],
                                                 "body": {"type": "read_ok",
                                                          "value": self.store.get(msg["key"])}})
        if kind == "answer":
            rid = self.pending.pop(str(msg["tag"]), None)
            return [] if rid is None else [Reply(rid, dict(msg["body"]))]
        return []

    def on_timer(self, now: float, name: str) -> list[Effect]:
        """Resend to the successor every update it has not acknowledged (a bounded batch at a time)."""
        out: list[Effect] = [SetTimer(RESEND, now + self.resend_every)]
        if self.succ is not None:
            for rec in self.log[self.succ_acked:self.succ_acked + self.batch]:
                out.append(Send(self.succ, {"type": "update", "seq": rec["seq"], "update": rec}))
        return out

    # ----- the chain -----------------------------------------------------------------------------------

    def _apply(self, update: dict[str, Any]) -> None:
        self.store[str(update["key"])] = update["value"]
        self.log.append(update)

    def _accept(self, update: dict[str, Any]) -> list[Effect]:
        """Apply the next update, persist it, then pass it on (or, at the tail, commit it)."""
        self._apply(update)
        out: list[Effect] = [Persist(update)]
        if self.pred is not None:
            out += self._deliver(self.pred, {"type": "ack", "seq": update["seq"]})
        if self.succ is not None:
            out += self._deliver(self.succ, {"type": "update", "seq": update["seq"], "update": update})
        else:  # the tail: the update is committed
            out += self._deliver(str(update["origin"]), {"type": "answer", "tag": update["tag"],
                                                         "body": {"type": "write_ok"}})
        return out

    def _deliver(self, dst: str, msg: dict[str, Any]) -> list[Effect]:
        """Send ``msg`` to ``dst``, handling it at once when ``dst`` is this node."""
        if dst == self.node_id:
            return self.on_message(0.0, self.node_id, msg)
        return [Send(dst, msg)]

    def status(self) -> dict[str, Any]:
        """Role in the chain (the head is the one that orders writes) and progress."""
        role = "head" if self.node_id == self.head else ("tail" if self.node_id == self.tail else "middle")
        return {"role": "leader" if role == "head" else role, "chain_role": role, "applied": self.applied}


class AnyReplicaReadsCore(ChainCore):
    """``chain:any-replica-reads``: every node answers reads from its own store.

    Tempting — reads scale with the chain length and skip a hop — and harmless while the chain is idle.
    But a node upstream of the tail holds writes that are not committed yet: a read at the head can
    return a value that a later read at the tail does not show, and that is not linearizable.
    """

    def read_locally(self, rid: str, key: str) -> list[Effect] | None:
        """Answer from the local store, whichever node this is (the bug)."""
        return [Reply(rid, {"type": "read_ok", "value": self.store.get(key)})]
