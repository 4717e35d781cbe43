"""Membership changes with data handoff: the manager's side and every node's handoff stream.

A join or leave is requested at any node and carried out by one *manager* node (config ``manager``,
default the first node id), which serialises changes -- only one transition at a time. It runs:

1. **transition** -- a new epoch whose configuration names the old and the new member sets; the
   manager persists it and sends it (as a HANDOFF request) to every node of either set;
2. **handoff** -- each such node adopts the transition configuration (from then on it refuses requests
   made under the old one), then sends every key it stores to the key's new replicas (keeping the
   higher version), re-sending until each copy is acknowledged, and reports HANDOFF-DONE. Copies are
   paced (``handoff_batch`` per ``handoff_interval``), as real stores throttle streaming so that a
   membership change does not starve client traffic -- so a transition lasts as long as its data takes
   (default one copy per 0.1 s: seconds for a few dozen keys, a window spanning many client writes). Each
   copy carries the key's *current* version when it is sent and the receiver keeps the higher one, so a
   copy can never undo a write that reached the receiver directly;
3. **commit** -- once every node has reported, the manager persists the new stable configuration,
   broadcasts it, and answers the client.

A manager that crashes in the middle finds the transition in its log and runs it again from step 1;
a node that is down stalls the change (safe, not live) until it is back. Nodes that miss the final
broadcast learn the new epoch from the next replica that refuses their stale requests.

``hashring:lost-handoff`` switches on the naive alternatives (``snapshot_handoff``, ``ingest_handoff``,
``drop_after_handoff`` on the core, plus old-set-only quorums): a snapshot stream, installed blindly,
after which handed-over keys are dropped -- see ``variants.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from systems_under_test.core import (
    TEMPORARILY_UNAVAILABLE,
    Effect,
    Event,
    Log,
    Persist,
    Reply,
    Send,
    SetTimer,
    error_body,
)
from systems_under_test.hashring.config import RingConfig
from systems_under_test.hashring.storage import Version

if TYPE_CHECKING:
    from systems_under_test.hashring.core import HashRingCore

MANAGER_TIMER = "manager"
HANDOFF_TIMER = "handoff"


@dataclass(slots=True)
class Change:
    """The membership change the manager is running (mutable bookkeeping)."""

    target: RingConfig  # the transition configuration
    reply_to: dict[str, Any] | None  # {"node", "rid", "kind"} of the client waiting, if any
    done: set[str] = field(default_factory=set)


class Membership:
    """Manager and handoff logic of one node; handlers return effects for the core to route."""

    def __init__(self, core: HashRingCore) -> None:
        self.core = core
        self.change: Change | None = None
        self.stream_epoch = -1
        self.pending: dict[str, tuple[str, str]] = {}  # handoff put id -> (destination, key)
        self.snapshot: dict[str, tuple[Version, Any]] = {}  # streamed copies, if taken at the start
        self.cursor = 0  # where the next paced batch of copies starts
        self.collected_epoch = -1  # the last transition after which this node dropped keys it handed over

    @property
    def is_manager(self) -> bool:
        """True on the node that serialises membership changes."""
        return self.core.node_id == self.core.manager_id

    # ------------------------------------------------------------------ manager

    def resume(self, now: float) -> list[Effect]:
        """After a restart: a manager whose log ends in a transition drives it to the end."""
        cfg = self.core.cfg
        if not self.is_manager or not cfg.in_transition:
            return []
        self.change = Change(cfg, None)
        return [Log(f"resuming membership change to epoch {cfg.epoch}"), *self._request_handoff(now)]

    def on_request(self, now: float, msg: dict[str, Any]) -> list[Effect]:
        """A forwarded join/leave: start a transition (one at a time)."""
        req, reply_to = msg["req"], {"node": msg["origin"], "rid": msg["rid"], "kind": msg["req"]["type"]}
        node, cfg = str(req.get("node")), self.core.cfg
        if node not in self.core.cluster:
            return self._answer(reply_to, error_body(1000, f"unknown node {node!r}", definite=True))
        if self.change is not None or cfg.in_transition:
            return self._answer(reply_to,
                                error_body(TEMPORARILY_UNAVAILABLE, "a membership change is running",
                                           definite=True))
        members = set(cfg.members)
        members = members | {node} if req["type"] == "join" else members - {node}
        if not members:
            return self._answer(reply_to, error_body(1000, "the last member cannot leave", definite=True))
        if members == set(cfg.members):
            return self._answer(reply_to, {"type": f"{req['type']}_ok", "members": list(cfg.members)})
        target = RingConfig(cfg.epoch + 1, cfg.members, tuple(sorted(members)))
        self.change = Change(target, reply_to)
        effects = self.core.adopt(target)
        return [*effects, Log(f"membership {req['type']} {node}: epoch {target.epoch}"),
                Event("handoff-started", {"epoch": target.epoch}), *self._request_handoff(now)]

    def _request_handoff(self, now: float) -> list[Effect]:
        assert self.change is not None
        msg = {"type": "handoff", "config": self.change.target.to_json()}
        effects: list[Effect] = [Send(n, msg) for n in self.change.target.everyone()
                                 if n not in self.change.done]
        return [*effects, SetTimer(MANAGER_TIMER, now + self.core.retry_interval)]

    def on_done(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        """A node finished its handoff; commit once all have."""
        ch = self.change
        if ch is None or int(msg["epoch"]) != ch.target.epoch:
            return []
        ch.done.add(src)
        if not set(ch.target.everyone()) <= ch.done:
            return []
        assert ch.target.joining is not None
        final = RingConfig(ch.target.epoch + 1, ch.target.joining)
        self.change = None
        effects = self.core.adopt(final)
        note = {"type": "config", "config": final.to_json()}
        effects += [Send(n, note) for n in self.core.cluster]
        effects.append(Log(f"membership committed: epoch {final.epoch} members {list(final.members)}"))
        if ch.reply_to is not None:
            effects += self._answer(ch.reply_to,
                                    {"type": f"{ch.reply_to['kind']}_ok", "members": list(final.members)})
        return effects

    def on_manager_timer(self, now: float) -> list[Effect]:
        """Re-send HANDOFF to the nodes that have not reported yet."""
        return [] if self.change is None else self._request_handoff(now)

    def _answer(self, reply_to: dict[str, Any], body: dict[str, Any]) -> list[Effect]:
        if reply_to["node"] == self.core.node_id:
            return [Reply(str(reply_to["rid"]), body)]
        return [Send(str(reply_to["node"]), {"type": "fwd_reply", "rid": reply_to["rid"], "body": body})]

    # ------------------------------------------------------------------ every node: the handoff stream

    def on_handoff(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        """Adopt the transition, then copy every stored key to its new replicas (once per epoch)."""
        target = RingConfig.from_json(msg["config"])
        effects = self.core.adopt(target)
        if target.epoch == self.stream_epoch:
            return effects + (self._streamed() if not self.pending else [])
        if target.epoch < self.core.cfg.epoch or target.joining is None:
            return effects + self._done(target.epoch)  # that transition is over already
        self.stream_epoch, self.pending = target.epoch, {}
        ring = self.core.rings.ring(target.joining)
        for key in sorted(self.core.store.items):
            for dst in ring.preference(key, self.core.n):
                if dst != self.core.node_id:
                    self.pending[f"h:{self.core.node_id}:{target.epoch}:{dst}:{key}"] = (dst, key)
        self.snapshot = dict(self.core.store.items) if self.core.snapshot_handoff else {}
        self.cursor = 0
        effects += self._send_pending()
        if not self.pending:
            return effects + self._streamed()
        return [*effects, SetTimer(HANDOFF_TIMER, now + self.core.handoff_interval)]

    def _send_pending(self) -> list[Effect]:
        """The next batch of unacknowledged copies (cycling, so each is re-sent until acknowledged)."""
        cfg = self.core.cfg
        ids = sorted(self.pending)
        if self.cursor >= len(ids):
            self.cursor = 0
        batch = ids[self.cursor:self.cursor + self.core.handoff_batch]
        self.cursor += len(batch)
        out: list[Effect] = []
        for hid in batch:
            dst, key = self.pending[hid]
            version, value = self.snapshot[key] if key in self.snapshot else self.core.store.get(key)
            out.append(Send(dst,
                            {"type": "put", "op": hid, "key": key, "version": list(version), "value": value,
                             "epoch": cfg.epoch, "config": cfg.to_json()}))
        return out

    def on_handoff_ack(self, now: float, hid: str) -> list[Effect]:
        """A copy was stored; report to the manager when the last one is."""
        if self.pending.pop(hid, None) is None or self.pending:
            return []
        return self._streamed()

    def on_handoff_timer(self, now: float) -> list[Effect]:
        """Send the next batch of copies (first sends, then re-sends of unacknowledged ones)."""
        if not self.pending:
            return []
        return [*self._send_pending(), SetTimer(HANDOFF_TIMER, now + self.core.handoff_interval)]

    def _streamed(self) -> list[Effect]:
        """Every copy of this node's stream is stored: report done (first dropping handed-over keys, if so
        configured -- only safe if nothing can reach those keys here after the snapshot)."""
        effects: list[Effect] = []
        cfg = self.core.cfg
        if (self.core.drop_after_handoff and self.collected_epoch != self.stream_epoch
                and cfg.epoch == self.stream_epoch and cfg.joining is not None):
            self.collected_epoch = self.stream_epoch
            ring = self.core.rings.ring(cfg.joining)
            for key in sorted(self.core.store.items):
                if self.core.node_id not in ring.preference(key, self.core.n):
                    record = self.core.store.drop(key)
                    if record is not None:
                        effects.append(Persist(record))
            self.snapshot = {}
        return effects + self._done(self.stream_epoch)

    def _done(self, epoch: int) -> list[Effect]:
        return [Send(self.core.manager_id, {"type": "handoff_done", "epoch": epoch})]
