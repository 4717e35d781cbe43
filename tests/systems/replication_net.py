"""A tiny in-test host for replication cores: effects in, messages and replies out, no IO, no sleeping.

It plays the host's part of the core contract (JSON round-trips, Persist kept per node across
crashes, messages in flight that a test delivers, drops, duplicates or reorders at will) so tests
can drive exact interleavings and assert on the effects themselves.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from systems_under_test.core import CancelTimer, Core, Effect, Persist, Reply, Send, SetTimer
from systems_under_test.registry import resolve


def roundtrip(obj: Any) -> Any:
    """What crosses a wire: a JSON copy."""
    return json.loads(json.dumps(obj))


@dataclass
class Net:
    """A cluster of cores with explicit message delivery."""

    variant: str = "replication"
    size: int = 3
    now: float = 0.0
    nodes: list[str] = field(default_factory=list)
    cores: dict[str, Core] = field(default_factory=dict)
    durable: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    inflight: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    replies: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    reply_log: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    blocked: set[tuple[str, str]] = field(default_factory=set)  # (src, dst) links that drop messages
    timers: dict[str, dict[str, float]] = field(default_factory=dict)  # node -> armed timer -> node time
    config: dict[str, Any] = field(default_factory=dict)
    _req: int = 0

    def __post_init__(self) -> None:
        self.nodes = [f"n{i}" for i in range(1, self.size + 1)]
        for n in self.nodes:
            self.durable[n] = []
            self.start(n)

    def start(self, node: str) -> list[Effect]:
        """(Re)start ``node`` from its durable records."""
        _, variant = resolve(self.variant)
        core = variant.make_core(node, self.nodes, random.Random(f"7/{node}"), self.config)
        self.cores[node] = core
        self.timers[node] = {}
        return self.run(node, core.on_start(self.now, roundtrip(self.durable[node])))

    def crash(self, node: str) -> None:
        """Lose everything volatile of ``node``, including messages in flight to it."""
        del self.cores[node]
        self.timers[node] = {}
        self.inflight = [m for m in self.inflight if m[1] != node]

    def run(self, node: str, effects: list[Effect]) -> list[Effect]:
        """Carry out ``effects`` of ``node`` (the test host's side of the contract)."""
        for eff in effects:
            if isinstance(eff, Persist):
                self.durable[node].append(roundtrip(eff.record))
            elif isinstance(eff, Send):
                self.inflight.append((node, eff.dst, roundtrip(eff.msg)))
            elif isinstance(eff, Reply):
                body = roundtrip(eff.body)
                self.replies[(node, eff.req_id)] = body
                self.reply_log.append((node, eff.req_id, body))
            elif isinstance(eff, SetTimer):
                self.timers[node][eff.name] = eff.at
            elif isinstance(eff, CancelTimer):
                self.timers[node].pop(eff.name, None)
        return effects

    def request(self, node: str, req: dict[str, Any]) -> tuple[str, list[Effect]]:
        """Send a client request to ``node``; returns the host req_id and the effects."""
        self._req += 1
        rid = f"r{self._req}"
        effects = self.cores[node].on_request(self.now, "client", roundtrip({**req, "req_id": rid}))
        return rid, self.run(node, effects)

    def deliver_one(self, index: int = 0, *, dup: bool = False) -> list[Effect]:
        """Deliver the message at ``index`` of the in-flight list (optionally leaving a copy)."""
        src, dst, msg = self.inflight[index] if dup else self.inflight.pop(index)
        if (src, dst) in self.blocked or dst not in self.cores:
            return []
        return self.run(dst, self.cores[dst].on_message(self.now, src, roundtrip(msg)))

    def deliver_all(self, limit: int = 10_000) -> None:
        """Deliver in order until nothing is in flight."""
        for _ in range(limit):
            if not self.inflight:
                return
            self.deliver_one()
        raise AssertionError("messages never quiesced")

    def tick(self, dt: float = 0.1) -> None:
        """Advance time by ``dt`` and fire every timer that falls due, in time order."""
        end = self.now + dt
        while True:
            due = [(at, node, name) for node, armed in self.timers.items() if node in self.cores
                   for name, at in armed.items() if at <= end]
            if not due:
                break
            at, node, name = min(due)
            self.now = max(self.now, at)
            del self.timers[node][name]
            self.run(node, self.cores[node].on_timer(self.now, name))
        self.now = end

    def settle(self, rounds: int = 50) -> None:
        """Tick and deliver until quiet (what happens after a heal)."""
        for _ in range(rounds):
            self.tick()
            self.deliver_all()


def of_type(effects: list[Effect], kind: type) -> list[Any]:
    """The effects of one class."""
    return [e for e in effects if isinstance(e, kind)]


def first_index(effects: list[Effect], kind: type) -> int:
    """Position of the first effect of ``kind`` (len(effects) if none)."""
    return next((i for i, e in enumerate(effects) if isinstance(e, kind)), len(effects))


def timers(effects: list[Effect]) -> list[str]:
    """Names of the timers armed by ``effects``."""
    return [e.name for e in effects if isinstance(e, SetTimer)]
