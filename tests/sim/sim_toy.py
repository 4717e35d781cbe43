"""A tiny counter/echo core for simulator tests: just enough protocol to observe the host's behaviour."""

from __future__ import annotations

from typing import Any

from systems_under_test.core import CancelTimer, Core, Log, Persist, Reply, Send, SetTimer


class ToyCore(Core):
    """Counts durable increments and volatile ones, ticks a timer, answers pings from peers.

    Requests: ``inc`` (durable +1, persisted), ``vinc`` (volatile +1), ``get``, ``now`` (its clock),
    ``ping`` (sends ``ping`` to every peer; replies once all pongs arrived), ``arm`` (``at``: arm the
    timer ``"alarm"``), ``disarm``, ``rand`` (a draw from the injected rng).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.durable_count = 0
        self.volatile_count = 0
        self.ticks = 0
        self.alarms: list[float] = []
        self.started_with: list[dict[str, Any]] = []
        self.waiting: dict[str, set[str]] = {}

    def on_start(self, now: float, durable: Any) -> list[Any]:
        self.started_with = list(durable)
        self.durable_count = sum(r.get("inc", 0) for r in durable)
        tick = float(self.config.get("tick", 0.0))
        return [SetTimer("tick", now + tick)] if tick else []

    def on_timer(self, now: float, name: str) -> list[Any]:
        if name == "tick":
            self.ticks += 1
            return [SetTimer("tick", now + float(self.config["tick"]))]
        self.alarms.append(now)
        return [Log(f"alarm at {now:.3f}")]

    def on_message(self, now: float, src: str, msg: dict[str, Any]) -> list[Any]:
        if msg["type"] == "ping":
            return [Send(src, {"type": "pong", "id": msg["id"]})]
        if msg["type"] == "pong":
            left = self.waiting.get(msg["id"])
            if left is not None:
                left.discard(src)
                if not left:
                    del self.waiting[msg["id"]]
                    return [Reply(msg["id"], {"type": "ping_ok"})]
        return []

    def on_request(self, now: float, client: str, req: dict[str, Any]) -> list[Any]:
        rid = req["req_id"]
        kind = req["type"]
        if kind == "inc":
            self.durable_count += 1
            return [Persist({"inc": 1}), Reply(rid, {"type": "inc_ok", "value": self.durable_count})]
        if kind == "vinc":
            self.volatile_count += 1
            return [Reply(rid, {"type": "vinc_ok", "value": self.volatile_count})]
        if kind == "get":
            body = {"type": "get_ok", "durable": self.durable_count, "volatile": self.volatile_count,
                    "ticks": self.ticks, "client": client, "seen_req_id": rid}
            return [Reply(rid, body)]
        if kind == "now":
            return [Reply(rid, {"type": "now_ok", "now": now})]
        if kind == "ping":
            self.waiting[rid] = set(self.peer_ids)
            return [Send(p, {"type": "ping", "id": rid}) for p in self.peer_ids]
        if kind == "arm":
            return [SetTimer("alarm", float(req["at"])), Reply(rid, {"type": "arm_ok"})]
        if kind == "disarm":
            return [CancelTimer("alarm"), Reply(rid, {"type": "disarm_ok"})]
        if kind == "rand":
            return [Reply(rid, {"type": "rand_ok", "value": self.rng.random()})]
        return super().on_request(now, client, req)

    def status(self) -> dict[str, Any]:
        return {"durable": self.durable_count, "volatile": self.volatile_count}


def toy_factory(node_id: str, peers: Any, rng: Any, config: Any) -> ToyCore:
    """CoreFactory for ToyCore."""
    return ToyCore(node_id, peers, rng, config)
