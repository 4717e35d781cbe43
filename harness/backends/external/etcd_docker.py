"""etcd on the docker backend: one member per container, peers on the run's internal network.

Partitions are real here (iptables inside each container drops peer traffic), which is what etcd's
serializable reads are weak against: a member cut off from the majority keeps answering them from its
own, aging state, while its linearizable reads stall until it rejoins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from harness.api import (
    CONTAINER_STATE_DIR,
    ClusterSpec,
    DockerProcesses,
    HttpJsonConnection,
    Indefinite,
    NodePlan,
    Unreachable,
)
from harness.backends.external.etcd_client import (
    CONNECT_TIMEOUT,
    FAKETIME,
    PROBE_TIMEOUT,
    EtcdConnection,
    etcd_command,
    probe,
    status_core,
)

CLIENT_PORT = 2379
PEER_PORT = 2380


class EtcdDockerBackend(DockerProcesses):
    """etcd members in containers."""

    client_port = CLIENT_PORT
    system_name = "etcd"
    faketime = FAKETIME

    def __init__(self, spec: ClusterSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)

    def server_command(self, plan: NodePlan, plans: Sequence[NodePlan]) -> list[str]:
        """``etcd`` with the static initial cluster of every container's address."""
        initial = {p.node: f"http://{p.ip}:{PEER_PORT}" for p in plans}
        return etcd_command("etcd", plan.node, f"{CONTAINER_STATE_DIR}/etcd", f"http://{plan.ip}:{CLIENT_PORT}",
                            initial[plan.node], initial, f"splitbrain-{self.spec.seed}", self.config)

    async def connect(self, node: str) -> EtcdConnection:  # type: ignore[override]
        """A gateway connection to ``node``'s container."""
        http = await HttpJsonConnection.open(node, self._plan(node).ip, CLIENT_PORT, CONNECT_TIMEOUT)
        return EtcdConnection(node, http, bool(self.config.get("serializable", False)))

    async def _probe(self, node: str) -> str | None:
        """None when ``node`` answers a linearizable read, else what went wrong."""
        return await probe(node, self._plan(node).ip, CLIENT_PORT)

    async def wait_serving(self, timeout: float) -> None:
        """Every member answers a linearizable read."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            problems = {n: p for n in self.spec.nodes if (p := await self._probe(n)) is not None}
            if not problems:
                return
            if loop.time() >= deadline:
                raise RuntimeError(f"etcd not serving within {timeout:g}s: {problems}")
            await asyncio.sleep(0.2)

    async def node_status(self, node: str) -> dict[str, Any]:
        """etcd's maintenance status of ``node``."""
        if node in self._paused or node in self._down:
            raise Unreachable(f"{node} is {'paused' if node in self._paused else 'down'}")
        http = await HttpJsonConnection.open(node, self._plan(node).ip, CLIENT_PORT, PROBE_TIMEOUT)
        try:
            _status, doc = await http.post("/v3/maintenance/status", {}, PROBE_TIMEOUT)
        except Indefinite as e:
            raise Unreachable(str(e)) from None
        finally:
            await http.close()
        return {"type": "status_ok", "node": node, "core": status_core(doc),
                "docker": {"ip": self._plan(node).ip}}
