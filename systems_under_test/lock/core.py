"""``LockCore``: a replicated lock service with fencing tokens, plus the fenced storage resource.

Every node is a lock replica (an acceptor of the lock register, ``register.py``) and can drive lock
operations as a proposer (``proposer.py``); one node (config ``resource``, default the last node id)
also hosts the guarded storage resource (``resource.py``). Any node accepts every request and forwards
storage requests to the resource node.

Client requests:

* ``{"type": "acquire", "owner": o, "ttl": s}`` -> ``{"type": "acquire_ok", "owner": o, "token": t,
  "lease": s, "expires": e}`` once the grant is chosen *and* the resource has raised its fence to ``t``;
  busy -> definite error 1001
* ``{"type": "release", "owner": o, "token": t}`` -> ``release_ok``; not the holder -> definite 22
* ``{"type": "write", "owner": o, "token": t, "value": v, "expires": e}`` -> ``{"type": "write_ok",
  "seq": n}`` (n: the write's place in the resource's acceptance order); a stale token -> definite 22
  (``expires`` is only looked at by the ``lock:clock-lease`` variant)
* ``{"type": "read"}`` -> ``{"type": "read_ok", "value": v, "fence": highest accepted token}``

Config: ``resource``, ``ttl`` (default lease, s), ``phase_timeout``, ``max_attempts``, ``backoff``,
``queue_timeout`` (a request still queued behind others after this long is refused, definitely, rather
than granted to a client that has long given up).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from systems_under_test.core import (
    JSON,
    NOT_SUPPORTED,
    TEMPORARILY_UNAVAILABLE,
    TIMEOUT,
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
    route_local,
)
from systems_under_test.lock.proposer import Attempt, Phase
from systems_under_test.lock.register import Acceptor, ballot_of
from systems_under_test.lock.resource import Guard, Resource
from systems_under_test.lock.table import transition

LOCK_OPS = ("acquire", "release")
STORAGE_OPS = ("write", "read")
ROUND_TIMER = "round"


class LockCore(Core):
    """The correct lock service: Paxos-replicated lock register, storage fenced by token."""

    guard = Guard.FENCE

    def __init__(self, node_id: str, peer_ids: Sequence[str], rng: random.Random,
                 config: Mapping[str, JSON] | None = None) -> None:
        super().__init__(node_id, peer_ids, rng, config)
        self.resource_id = str(self.config.get("resource", self.cluster[-1]))
        self.ttl = float(self.config.get("ttl", 2.0))
        self.phase_timeout = float(self.config.get("phase_timeout", 0.5))
        self.max_attempts = int(self.config.get("max_attempts", 5))
        self.backoff = float(self.config.get("backoff", 0.1))
        self.queue_timeout = float(self.config.get("queue_timeout", 1.0))
        self.acceptor = Acceptor()
        self.resource = Resource(self.guard) if node_id == self.resource_id else None
        self.queue: deque[Attempt] = deque()
        self.current: Attempt | None = None
        self.max_round = 0
        self.nonce = rng.getrandbits(48)

    # ------------------------------------------------------------------ host entry points

    def on_start(self, now: float, durable: Sequence[dict[str, JSON]]) -> list[Effect]:
        """Recover the acceptor and (on its node) the resource."""
        self.acceptor.recover(durable)
        self.max_round = self.acceptor.promised[0]
        if self.resource is not None:
            self.resource.recover(durable)
        return []

    def on_request(self, now: float, client: str, req: dict[str, JSON]) -> list[Effect]:
        """Lock ops are driven here; storage ops go to the resource node."""
        rid, kind = str(req.get("req_id")), req.get("type")
        if kind in STORAGE_OPS:
            if kind == "write" and not isinstance(req.get("token"), int):
                return [Reply(rid, error_body(1000, "write needs an integer token", definite=True))]
            payload = {k: v for k, v in req.items() if k != "req_id"}
            msg = {"type": "res_req", "rid": rid, "id": f"{self.node_id}/{self.nonce}/{rid}", "req": payload}
            return self._route(now, [Send(self.resource_id, msg)])
        if kind not in LOCK_OPS or "owner" not in req:
            return [Reply(rid, error_body(NOT_SUPPORTED, f"unsupported request {kind!r}", definite=True))]
        op: dict[str, Any] = {"type": kind, "owner": req["owner"], "id": f"{self.node_id}/{self.nonce}/{rid}"}
        if kind == "acquire":
            op["ttl"] = float(req.get("ttl") or self.ttl)
        else:
            op["token"] = req.get("token")
        self.queue.append(Attempt(op, rid, queued_at=now))
        return self._route(now, self._next(now))

    def on_message(self, now: float, src: str, msg: dict[str, JSON]) -> list[Effect]:
        """Acceptor, proposer and resource messages."""
        return self._route(now, self._dispatch(now, src, msg))

    def on_timer(self, now: float, name: str) -> list[Effect]:
        """The round timer: a back-off ended (start a round) or a round timed out (retry)."""
        a = self.current
        if name != ROUND_TIMER or a is None:
            return []
        if a.phase is Phase.FENCE:
            return self._route(now, self._send_fence(now, a))
        if a.phase is Phase.BACKOFF:
            return self._route(now, self._start_round(now, a))
        return self._route(now, self._retry(now, a, "round timed out"))

    def status(self) -> dict[str, JSON]:
        """The accepted lock state, the promise, and the resource's fence (on the resource node)."""
        out: dict[str, JSON] = {"lock": self.acceptor.state, "promised": list(self.acceptor.promised),
                                "queued": len(self.queue) + (self.current is not None)}
        if self.resource is not None:
            out["resource"] = {"value": self.resource.value, "fence": self.resource.fence}
        return out

    # ------------------------------------------------------------------ proposer

    def _next(self, now: float) -> list[Effect]:
        effects: list[Effect] = []
        while self.current is None and self.queue:
            a = self.queue.popleft()
            if now - a.queued_at > self.queue_timeout:  # its client has given up; nothing was done yet
                effects.append(Reply(a.rid, error_body(TEMPORARILY_UNAVAILABLE, "lock service busy: request "
                                                       "expired in the queue", definite=True)))
                continue
            self.current = a
            effects += self._start_round(now, a)
        return effects

    def _start_round(self, now: float, a: Attempt) -> list[Effect]:
        self.max_round += 1
        a.new_round((self.max_round, self.node_id))
        msg = {"type": "prepare", "op": a.op["id"], "ballot": list(a.ballot)}
        return [*(Send(n, msg) for n in self.cluster), SetTimer(ROUND_TIMER, now + self.phase_timeout)]

    def _retry(self, now: float, a: Attempt, why: str) -> list[Effect]:
        if a.attempts >= self.max_attempts:
            if a.sent_accept:
                body = error_body(TIMEOUT, f"lock op outcome unknown ({why})", definite=False)
            else:
                body = error_body(TEMPORARILY_UNAVAILABLE, f"no quorum for the lock ({why})", definite=True)
            return self._finish(now, body)
        a.phase = Phase.BACKOFF
        return [SetTimer(ROUND_TIMER, now + self.rng.uniform(0.0, self.backoff) * a.attempts)]

    def _finish(self, now: float, body: dict[str, JSON]) -> list[Effect]:
        a = self.current
        assert a is not None
        self.current = None
        return [CancelTimer(ROUND_TIMER), Reply(a.rid, body), *self._next(now)]

    def _on_promise(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        a = self.current
        if a is None or a.phase is not Phase.PREPARE or not a.matches(msg):
            return []
        self.max_round = max(self.max_round, ballot_of(msg["promised"])[0])
        if not msg["ok"]:
            a.refusals.add(src)
            if len(a.refusals) > len(self.cluster) - self.majority:
                return self._retry(now, a, f"ballot {list(a.ballot)} pre-empted")
            return []
        a.promises[src] = (ballot_of(msg["ab"]), msg["state"])
        if len(a.promises) < self.majority:
            return []
        new, body = transition(a.current_state(), a.op, now)
        if new is None:
            return self._finish(now, body)
        a.phase, a.sent_accept, a.body = Phase.ACCEPT, True, body
        out = {"type": "accept", "op": a.op["id"], "ballot": list(a.ballot), "state": new}
        return [Send(n, out) for n in self.cluster]

    def _on_accepted(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        a = self.current
        if a is None or a.phase is not Phase.ACCEPT or not a.matches(msg):
            return []
        self.max_round = max(self.max_round, ballot_of(msg["promised"])[0])
        if not msg["ok"]:
            a.refusals.add(src)
            if len(a.refusals) > len(self.cluster) - self.majority:
                return self._retry(now, a, "accept pre-empted")
            return []
        a.accepts.add(src)
        if len(a.accepts) < self.majority or a.body is None:
            return []
        if a.op["type"] == "acquire":
            a.phase = Phase.FENCE
            return self._send_fence(now, a)
        return [Log(f"{a.op['type']} {a.op['owner']} -> {a.body}"), *self._finish(now, a.body)]

    def _send_fence(self, now: float, a: Attempt) -> list[Effect]:
        """Ask the resource to refuse tokens below the new grant's before the acquirer hears of it."""
        if a.fence_tries >= self.max_attempts:
            return self._finish(now,
                                error_body(TIMEOUT, "granted, but the resource did not confirm the fence",
                                           definite=False))
        a.fence_tries += 1
        assert a.body is not None
        msg = {"type": "fence", "op": a.op["id"], "token": a.body["token"]}
        granted: list[Effect] = (
            [Event("lease-granted", {"token": a.body["token"]})] if a.fence_tries == 1 else []
        )
        return [*granted, Send(self.resource_id, msg), SetTimer(ROUND_TIMER, now + self.phase_timeout)]

    def _on_fenced(self, now: float, msg: dict[str, Any]) -> list[Effect]:
        a = self.current
        if a is None or a.phase is not Phase.FENCE or msg.get("op") != a.op["id"] or a.body is None:
            return []
        return [Log(f"acquire {a.op['owner']} -> {a.body}"), *self._finish(now, a.body)]

    # ------------------------------------------------------------------ acceptor and resource

    def _dispatch(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        kind = msg.get("type")
        if kind in ("prepare", "accept"):
            ballot = ballot_of(msg["ballot"])
            self.max_round = max(self.max_round, ballot[0])
            if kind == "prepare":
                ans, reply = self.acceptor.prepare(ballot), "promise"
            else:
                ans, reply = self.acceptor.accept(ballot, msg["state"]), "accepted"
            effects: list[Effect] = [] if ans.record is None else [Persist(ans.record)]
            return [*effects, Send(src, ans.to_msg(reply, str(msg["op"]), ballot))]
        if kind == "promise":
            return self._on_promise(now, src, msg)
        if kind == "accepted":
            return self._on_accepted(now, src, msg)
        if kind == "res_req" and self.resource is not None:
            return self._on_storage(now, src, msg)
        if kind == "fence" and self.resource is not None:
            record = self.resource.raise_fence(int(msg["token"]))
            persisted: list[Effect] = [] if record is None else [Persist(record)]
            return [*persisted, Send(src, {"type": "fenced", "op": msg["op"], "token": msg["token"]})]
        if kind == "fenced":
            return self._on_fenced(now, msg)
        if kind == "res_reply":
            return [Reply(str(msg["rid"]), dict(msg["body"]))]
        return []

    def _on_storage(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        assert self.resource is not None
        req = msg["req"]
        effects: list[Effect] = []
        if req["type"] == "read":
            body = self.resource.read()
        else:
            expires = req.get("expires")
            body, record = self.resource.write(str(msg["id"]), int(req["token"]), req.get("value"),
                                               None if expires is None else float(expires), now)
            if record is not None:
                effects.append(Persist(record))
        return [*effects, Send(src, {"type": "res_reply", "rid": msg["rid"], "body": body})]

    def _route(self, now: float, effects: list[Effect]) -> list[Effect]:
        """Deliver messages addressed to this node in-process, in order; pass everything else out."""
        return route_local(self.node_id, effects, lambda src, msg: self._dispatch(now, src, msg))
