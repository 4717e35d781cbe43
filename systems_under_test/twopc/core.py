"""``TwoPCCore``: one node of the sharded two-phase-commit store (participant everywhere, coordinator on one).

Layout: every node is a participant owning the keys that hash to it (``shards.owner``); one node (config
``coordinator``, default the first node id) also coordinates every transaction. Any node accepts client
requests and forwards them to the coordinator, which answers through the same node. A fixed coordinator
keeps the protocol the textbook one -- a coordinator crash blocks in-doubt participants until it comes
back, which is exactly the behaviour the tests and the nemesis are meant to exercise.

Client requests:

* ``{"type": "txn", "txn": [["r", k, null], ["w", k, v], ["append", k, v], ...]}`` ->
  ``{"type": "txn_ok", "txn": [...reads filled in...]}`` (Elle's list-append / rw-register forms)
* ``{"type": "transfer", "from": a, "to": b, "amount": n}`` -> ``transfer_ok``; a transfer that would
  make ``a`` negative fails definitely with 22 (precondition-failed)
* ``{"type": "balances", "keys": [..]}`` (keys default to every configured account) ->
  ``{"type": "balances_ok", "value": {account: balance}}`` -- a read-only transaction under shared locks,
  so it sees a consistent cut: the bank total is conserved in every ``ok`` read
* a lock conflict aborts definitely with 30 (txn-conflict), missing votes with 14 (abort); a request
  the coordinator never answers (crash, partition) times out at the client (``info``).

Config: ``coordinator``, ``accounts`` (``{name: initial balance}``, default five accounts of 20),
``vote_timeout``, ``doubt_timeout``, ``query_interval``, ``resend_interval`` (seconds).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from systems_under_test.core import JSON, Core, Effect, Reply, Send, error_body, route_local
from systems_under_test.twopc.coordinator import Coordinator
from systems_under_test.twopc.participant import Participant
from systems_under_test.twopc.shards import owner, split, validate

DEFAULT_ACCOUNTS: dict[str, int] = {f"acct{i}": 20 for i in range(5)}
REQUEST_TYPES = ("txn", "transfer", "balances")


class TwoPCCore(Core):
    """A participant on every node, plus the coordinator on the configured node."""

    log_decisions = True  # the durable COMMIT decision (switched off by ``twopc:no-decision-log``)

    def __init__(self, node_id: str, peer_ids: Sequence[str], rng: random.Random,
                 config: Mapping[str, JSON] | None = None) -> None:
        super().__init__(node_id, peer_ids, rng, config)
        self.coordinator_id = str(self.config.get("coordinator", self.cluster[0]))
        accounts = self.config.get("accounts", DEFAULT_ACCOUNTS)
        self.accounts: dict[str, int] = {str(k): int(v) for k, v in dict(accounts).items()}
        mine = {k: v for k, v in self.accounts.items() if owner(k, self.cluster) == node_id}
        self.participant = Participant(node_id, mine, self.config)
        self.coordinator: Coordinator | None = None
        if node_id == self.coordinator_id:
            self.coordinator = Coordinator(node_id, self.config, log_decisions=self.log_decisions)
        self.nonce = rng.getrandbits(48)  # distinguishes this boot's request ids from a previous boot's

    # ------------------------------------------------------------------ host entry points

    def on_start(self, now: float, durable: Sequence[dict[str, JSON]]) -> list[Effect]:
        """Recover the participant (and coordinator) from the log; in-doubt transactions ask again."""
        self.participant.recover(durable)
        effects: list[Effect] = []
        if self.coordinator is not None:
            effects += self.coordinator.recover(now, durable)
        effects += self.participant.resume(now)
        return self._route(now, effects)

    def on_message(self, now: float, src: str, msg: dict[str, JSON]) -> list[Effect]:
        """Dispatch a peer message to the participant or the coordinator."""
        return self._route(now, self._dispatch(now, src, msg))

    def on_request(self, now: float, client: str, req: dict[str, JSON]) -> list[Effect]:
        """Run the request here if this is the coordinator, else forward it there."""
        rid = str(req.get("req_id"))
        kind = req.get("type")
        if kind not in REQUEST_TYPES:
            return [Reply(rid, error_body(10, f"unsupported request {kind!r}; use {REQUEST_TYPES}",
                                          definite=True))]
        try:
            self._transaction(req)
        except (ValueError, KeyError, TypeError) as e:
            return [Reply(rid, error_body(1000, f"malformed {kind} request: {e}", definite=True))]
        payload = {k: v for k, v in req.items() if k != "req_id"}
        msg = {"type": "fwd", "origin": self.node_id, "rid": rid, "key": f"{self.node_id}/{self.nonce}/{rid}",
               "req": payload}
        return self._route(now, [Send(self.coordinator_id, msg)])

    def on_timer(self, now: float, name: str) -> list[Effect]:
        """Doubt timers belong to the participant; vote and resend timers to the coordinator."""
        kind, _, txid = name.partition(":")
        effects: list[Effect] = []
        if kind == "doubt":
            effects = self.on_doubt(now, txid)
        elif self.coordinator is not None and kind == "vote":
            effects = self.coordinator.on_vote_timeout(now, txid)
        elif self.coordinator is not None and kind == "resend":
            effects = self.coordinator.on_resend(now, txid)
        return self._route(now, effects)

    def on_doubt(self, now: float, txid: str) -> list[Effect]:
        """An in-doubt participant's timer fired (the correct participant keeps asking and waiting)."""
        return self.participant.on_doubt(now, txid)

    def status(self) -> dict[str, JSON]:
        """Role, in-doubt transactions and locked keys (what an operator looks at during a 2PC stall)."""
        out: dict[str, JSON] = {
            "role": "coordinator" if self.coordinator is not None else "participant",
            "coordinator": self.coordinator_id,
            "in_doubt": self.participant.in_doubt(),
            "locked": self.participant.locked_keys(),
        }
        if self.coordinator is not None:
            out["pending"] = sorted(self.coordinator.pending)
            out["boot"] = self.coordinator.boot
        return out

    # ------------------------------------------------------------------ internals

    def _transaction(self, req: Mapping[str, JSON]) -> list[list[JSON]]:
        """Translate a client request into micro-ops (raises ValueError on a malformed request)."""
        kind = req["type"]
        if kind == "txn":
            return validate(req.get("txn"))
        if kind == "transfer":
            amount = req["amount"]
            if not isinstance(amount, int) or amount < 0 or req["from"] == req["to"]:
                raise ValueError("a transfer needs distinct accounts and a non-negative integer amount")
            return [["add", str(req["from"]), -amount], ["add", str(req["to"]), amount]]
        keys = req.get("keys") or sorted(self.accounts)
        return [["r", str(k), None] for k in keys]

    def _dispatch(self, now: float, src: str, msg: Mapping[str, JSON]) -> list[Effect]:
        kind = msg.get("type")
        if kind == "prepare":
            return self.participant.on_prepare(now, src, msg)
        if kind == "decision":
            return self.participant.on_decision(now, src, msg)
        if kind == "fwd_reply":
            return [Reply(str(msg["rid"]), dict(msg["body"]))]
        c = self.coordinator
        if c is None:
            return []
        if kind == "fwd":
            req: dict[str, Any] = dict(msg["req"])
            txn = self._transaction(req)
            shards = split(txn, self.cluster)
            reply_to = {"node": str(msg["origin"]), "rid": str(msg["rid"])}
            return c.begin(now, str(req["type"]), txn, shards, reply_to, str(msg["key"]))
        if kind == "vote":
            return c.on_vote(now, src, msg)
        if kind == "ack":
            return c.on_ack(now, src, msg)
        if kind == "query":
            return c.on_query(now, src, msg)
        return []

    def _route(self, now: float, effects: list[Effect]) -> list[Effect]:
        """Deliver messages addressed to this node in-process, in order; pass everything else out."""
        return route_local(self.node_id, effects, lambda src, msg: self._dispatch(now, src, msg))
