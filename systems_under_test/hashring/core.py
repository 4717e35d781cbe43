"""``HashRingCore``: a Dynamo-style sharded key-value store on a consistent-hashing ring.

Placement: keys live on the ``n`` nodes of their preference list (``ring.py``, virtual nodes).
Consistency -- the design choice: **quorum registers with versioned writes (multi-writer ABD)**. Any
node coordinates a client request:

* **write** -- phase 1 asks the key's replicas for their versions and waits for ``r`` answers;
  phase 2 stores ``(highest counter + 1, unique writer id)`` on the replicas and waits for ``w`` acks;
* **read** -- phase 1 as above, taking the highest ``(version, value)``; unless ``w`` of the answers
  already agree on it, phase 2 writes it back (read repair) before answering. The write-back is what
  makes reads linearizable: a read that returned a value has left it on a write quorum, so no later
  read can return anything older.

With ``r + w > n`` every read quorum meets every write quorum, and the store is **linearizable per
key for read and write** (what ``check_register`` and the cas-register model verify). It deliberately
offers **no compare-and-set or add**: those need consensus, not quorums, and answer a definite
``10 not-supported`` (so they show up as ``fail`` and constrain nothing). Membership changes
(``membership.py``) keep the guarantee: during a transition each operation needs its quorums in both
the old and the new replica set, and replicas refuse requests made under an outdated configuration.

Client requests: the kv ``read`` / ``write`` shapes (``systems_under_test/kv.py``), plus
``{"type": "join" | "leave", "node": id}`` (answered ``join_ok`` / ``leave_ok`` once the handoff is
done). Config: ``n``, ``r``, ``w``, ``vnodes``, ``members`` (initial ring members, default every node),
``manager``, ``op_timeout``, ``retry_interval``, ``handoff_batch`` / ``handoff_interval`` (handoff
pacing: copies sent per tick, tick length; default 1 per 0.1 s).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from systems_under_test.core import (
    JSON,
    NOT_SUPPORTED,
    TEMPORARILY_UNAVAILABLE,
    TIMEOUT,
    CancelTimer,
    Core,
    Effect,
    Persist,
    Reply,
    Send,
    SetTimer,
    error_body,
    route_local,
)
from systems_under_test.hashring.config import RingConfig, Rings, quorum
from systems_under_test.hashring.membership import HANDOFF_TIMER, MANAGER_TIMER, Membership
from systems_under_test.hashring.storage import NO_VERSION, Store, Version, version_of

DEFAULTS: dict[str, float] = {"n": 3, "r": 2, "w": 2, "vnodes": 64, "op_timeout": 1.0, "retry_interval": 0.3,
                              "handoff_batch": 1, "handoff_interval": 0.1}


@dataclass(slots=True)
class KvOp:
    """A read or write this node coordinates (mutable bookkeeping)."""

    id: str
    rid: str
    kind: str
    key: str
    value: Any
    cfg: RingConfig
    phase: int = 1
    replies: dict[str, tuple[Version, Any]] = field(default_factory=dict)
    acks: set[str] = field(default_factory=set)
    version: Version = NO_VERSION
    result: Any = None


class HashRingCore(Core):
    """The correct store: r + w > n quorums, read repair, two-set quorums during membership changes."""

    # The handoff discipline (hashring:lost-handoff flips all four): quorums in both replica sets during a
    # transition; copies read from the store when sent, not from a snapshot; copies go through the
    # versioned write path, never a blind overwrite; no key dropped before the change commits.
    both_sets_in_transition = True
    snapshot_handoff = False
    ingest_handoff = False
    drop_after_handoff = False

    def __init__(self, node_id: str, peer_ids: Sequence[str], rng: random.Random,
                 config: Mapping[str, JSON] | None = None) -> None:
        super().__init__(node_id, peer_ids, rng, config)
        knob = {k: self.config.get(k, v) for k, v in DEFAULTS.items()}
        self.n, self.r, self.w = int(knob["n"]), int(knob["r"]), int(knob["w"])
        self.op_timeout, self.retry_interval = float(knob["op_timeout"]), float(knob["retry_interval"])
        self.handoff_batch = max(1, int(knob["handoff_batch"]))
        self.handoff_interval = float(knob["handoff_interval"])
        self.rings = Rings(int(knob["vnodes"]))
        members = self.config.get("members") or self.cluster
        self.cfg = RingConfig(0, tuple(sorted(str(m) for m in members)))
        self.manager_id = str(self.config.get("manager", self.cluster[0]))
        self.store = Store()
        self.ops: dict[str, KvOp] = {}
        self.seq = 0
        self.nonce = rng.getrandbits(48)
        self.membership = Membership(self)

    # ------------------------------------------------------------------ host entry points

    def on_start(self, now: float, durable: Sequence[dict[str, JSON]]) -> list[Effect]:
        """Recover the store and the newest configuration; a manager resumes an unfinished change."""
        self.store.recover(durable)
        for rec in durable:
            if rec.get("t") == "config" and int(rec["epoch"]) > self.cfg.epoch:
                self.cfg = RingConfig.from_json(rec)
        return self._route(now, self.membership.resume(now))

    def on_request(self, now: float, client: str, req: dict[str, JSON]) -> list[Effect]:
        """Coordinate a read/write here; forward a membership change to the manager."""
        rid, kind = str(req.get("req_id")), req.get("type")
        if kind in ("join", "leave"):
            msg = {"type": "member_req", "origin": self.node_id, "rid": rid,
                   "req": {"type": kind, "node": req.get("node")}}
            return self._route(now, [Send(self.manager_id, msg)])
        if kind not in ("read", "write") or "key" not in req:
            return [Reply(rid, error_body(NOT_SUPPORTED, f"{kind!r} is not supported: quorum registers offer "
                                          "read and write only", definite=True))]
        self.seq += 1
        op = KvOp(f"{self.node_id}.{self.nonce}.{self.seq}", rid, str(kind), str(req["key"]),
                  req.get("value"),
                  self.cfg)
        self.ops[op.id] = op
        return self._route(now, [*self._phase1(op), SetTimer(f"op:{op.id}", now + self.op_timeout)])

    def on_message(self, now: float, src: str, msg: dict[str, JSON]) -> list[Effect]:
        """Replica, coordinator and membership messages."""
        return self._route(now, self._dispatch(now, src, msg))

    def on_timer(self, now: float, name: str) -> list[Effect]:
        """Operation deadlines and the membership retry timers."""
        if name == MANAGER_TIMER:
            return self._route(now, self.membership.on_manager_timer(now))
        if name == HANDOFF_TIMER:
            return self._route(now, self.membership.on_handoff_timer(now))
        op = self.ops.get(name.removeprefix("op:"))
        if op is None:
            return []
        if op.kind == "write" and op.phase == 1:
            body = error_body(TEMPORARILY_UNAVAILABLE, "no read quorum: nothing was written", definite=True)
        else:
            body = error_body(TIMEOUT, f"no {'read' if op.phase == 1 else 'write'} quorum in time",
                              definite=False)
        return self._finish(op, body)

    def status(self) -> dict[str, JSON]:
        """Epoch, members, keys stored here, operations in flight."""
        return {"epoch": self.cfg.epoch, "members": list(self.cfg.members),
                "joining": None if self.cfg.joining is None else list(self.cfg.joining),
                "keys": len(self.store.items), "ops": len(self.ops)}

    # ------------------------------------------------------------------ configuration

    def adopt(self, cfg: RingConfig) -> list[Effect]:
        """Move to ``cfg`` if it is newer (durably: a restart must not bring back an old epoch)."""
        if cfg.epoch <= self.cfg.epoch:
            return []
        self.cfg = cfg
        return [Persist({"t": "config", **cfg.to_json()})]

    def replica_sets(self, cfg: RingConfig, key: str) -> list[tuple[str, ...]]:
        """The replica sets whose quorums an operation on ``key`` needs under ``cfg``."""
        return self.rings.replica_sets(cfg, key, self.n, both=self.both_sets_in_transition)

    # ------------------------------------------------------------------ coordinator

    def _targets(self, op: KvOp) -> list[str]:
        return sorted({n for s in self.replica_sets(op.cfg, op.key) for n in s})

    def _phase1(self, op: KvOp) -> list[Effect]:
        op.phase, op.replies = 1, {}
        msg = {"type": "get", "op": op.id, "key": op.key, "epoch": op.cfg.epoch, "config": op.cfg.to_json()}
        return [Send(n, msg) for n in self._targets(op)]

    def _phase2(self, op: KvOp) -> list[Effect]:
        op.phase, op.acks = 2, set()
        msg = {"type": "put", "op": op.id, "key": op.key, "version": list(op.version), "value": op.result,
               "epoch": op.cfg.epoch, "config": op.cfg.to_json()}
        return [Send(n, msg) for n in self._targets(op)]

    def _on_got(self, src: str, op: KvOp, msg: dict[str, Any]) -> list[Effect]:
        if op.phase != 1:
            return []
        op.replies[src] = (version_of(msg["version"]), msg["value"])
        sets = self.replica_sets(op.cfg, op.key)
        if not quorum(sets, op.replies, self.r):
            return []
        best = max(op.replies.values(), key=lambda vv: vv[0])
        if op.kind == "write":
            self.seq += 1
            op.version, op.result = (best[0][0] + 1, f"{self.node_id}.{self.nonce}.{self.seq}"), op.value
            return self._phase2(op)
        op.version, op.result = best
        agreeing = [n for n, (v, _) in op.replies.items() if v == best[0]]
        if quorum(sets, agreeing, self.w):
            return self._finish(op, {"type": "read_ok", "value": op.result})
        return self._phase2(op)

    def _on_put_ok(self, src: str, op: KvOp) -> list[Effect]:
        if op.phase != 2:
            return []
        op.acks.add(src)
        if not quorum(self.replica_sets(op.cfg, op.key), op.acks, self.w):
            return []
        body = {"type": "write_ok"} if op.kind == "write" else {"type": "read_ok", "value": op.result}
        return self._finish(op, body)

    def _on_stale(self, op: KvOp | None, msg: dict[str, Any]) -> list[Effect]:
        effects = self.adopt(RingConfig.from_json(msg["config"]))
        if op is None or op.cfg.epoch >= self.cfg.epoch:
            return effects
        op.cfg = self.cfg  # retry the current phase under the newer configuration (same version)
        return effects + (self._phase1(op) if op.phase == 1 else self._phase2(op))

    def _finish(self, op: KvOp, body: dict[str, JSON]) -> list[Effect]:
        del self.ops[op.id]
        return [CancelTimer(f"op:{op.id}"), Reply(op.rid, body)]

    # ------------------------------------------------------------------ dispatch and the replica

    def _dispatch(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        kind = msg.get("type")
        if kind in ("get", "put"):
            return self._replica(src, msg)
        if kind in ("got", "put_ok", "stale"):
            op = self.ops.get(str(msg["op"]))
            if kind == "stale":
                return self._on_stale(op, msg)
            if kind == "put_ok" and str(msg["op"]).startswith("h:"):
                return self.membership.on_handoff_ack(now, str(msg["op"]))
            if op is None or int(msg["epoch"]) != op.cfg.epoch:
                return []
            return self._on_got(src, op, msg) if kind == "got" else self._on_put_ok(src, op)
        if kind == "config":
            return self.adopt(RingConfig.from_json(msg["config"]))
        if kind == "handoff":
            return self.membership.on_handoff(now, src, msg)
        if kind == "handoff_done" and self.membership.is_manager:
            return self.membership.on_done(now, src, msg)
        if kind == "member_req" and self.membership.is_manager:
            return self.membership.on_request(now, msg)
        if kind == "fwd_reply":
            return [Reply(str(msg["rid"]), dict(msg["body"]))]
        return []

    def _replica(self, src: str, msg: dict[str, Any]) -> list[Effect]:
        """Serve a get/put -- unless it was made under an older configuration than this node's."""
        epoch = int(msg["epoch"])
        if epoch < self.cfg.epoch:
            return [Send(src, {"type": "stale", "op": msg["op"], "config": self.cfg.to_json()})]
        effects = self.adopt(RingConfig.from_json(msg["config"]))
        key = str(msg["key"])
        if msg["type"] == "get":
            version, value = self.store.get(key)
            return [*effects,
                    Send(src, {"type": "got", "op": msg["op"], "epoch": epoch, "version": list(version),
                               "value": value})]
        record: dict[str, Any] | None
        if self.ingest_handoff and str(msg["op"]).startswith("h:"):
            record = self.store.install(key, version_of(msg["version"]), msg["value"])
        else:
            record = self.store.put(key, version_of(msg["version"]), msg["value"])
        if record is not None:
            effects.append(Persist(record))
        return [*effects, Send(src, {"type": "put_ok", "op": msg["op"], "epoch": epoch})]

    def _route(self, now: float, effects: list[Effect]) -> list[Effect]:
        """Deliver messages addressed to this node in-process, in order; pass everything else out."""
        return route_local(self.node_id, effects, lambda src, msg: self._dispatch(now, src, msg))
