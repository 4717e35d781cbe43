"""An in-process fake cluster for runner tests: one shared kv state, faults as flags, every call logged.

It implements the Backend interface and the Net/Kill capabilities (not Pause/Clock/Packet, so tests
can check that missing capabilities are refused). A partitioned node's writes hang until the client
times out — the way a correct primary/replica system behaves when it cannot replicate.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from harness.backends.base import ClusterSpec, Indefinite, Unreachable
from systems_under_test import kv


class FakeConnection:
    def __init__(self, cluster: FakeCluster, node: str) -> None:
        self.cluster = cluster
        self.node = node
        self.closed = False

    async def call(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        c = self.cluster
        if self.closed:
            raise Unreachable("closed")
        await asyncio.sleep(c.latency)
        if self.node in c.down:
            raise Indefinite(f"{self.node} is down")
        if c.grudge.get(self.node) and req["type"] != "read":
            await asyncio.sleep(timeout)
            raise Indefinite("no reply")
        if c.crash_on_call:
            raise RuntimeError("boom")
        body = kv.apply(c.state, kv.command(req))
        return {**body, "req_id": req["req_id"]}

    async def close(self) -> None:
        self.closed = True


class FakeCluster:
    name = "fake"

    def __init__(self, spec: ClusterSpec, **_: Any) -> None:
        self.spec = spec
        self.state: dict[str, Any] = {}
        self.down: set[str] = set()
        self.grudge: dict[str, list[str]] = {}
        self.events: list[Any] = []
        self.crash_on_call = False
        self.latency = 0.001

    async def setup(self) -> None:
        self.events.append("setup")

    async def teardown(self) -> None:
        self.events.append("teardown")

    async def connect(self, node: str) -> FakeConnection:
        if node in self.down:
            raise Unreachable(f"{node} refuses connections")
        return FakeConnection(self, node)

    async def node_status(self, node: str) -> dict[str, Any]:
        return {"node": node, "core": {}}

    def collect_logs(self, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for n in self.spec.nodes:
            (dest / f"{n}.log").write_text(f"fake log of {n}\n")

    async def partition(self, grudge: Any) -> None:
        self.events.append(("partition", dict(grudge)))
        self.grudge = {k: list(v) for k, v in grudge.items()}

    async def heal(self) -> None:
        self.events.append(("heal",))
        self.grudge = {}

    async def kill(self, node: str) -> None:
        self.events.append(("kill", node))
        self.down.add(node)

    async def start(self, node: str) -> None:
        self.events.append(("start", node))
        self.down.discard(node)


class NetOnlyCluster(FakeCluster):
    """A fake without the Kill capability."""

    kill = None  # type: ignore[assignment]
    start = None  # type: ignore[assignment]


def make(cluster: ClusterSpec, **kw: Any) -> FakeCluster:
    """Backend-registry factory."""
    return FakeCluster(cluster, **kw)
