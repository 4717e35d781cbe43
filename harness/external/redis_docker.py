"""Redis on the docker backend: one redis-server per container, failover by the harness's supervisor.

A container's command is fixed when it is created, so a killed node restarts with its *original*
role — the old primary comes back as a primary, with whatever its append-only file kept. The
supervisor then treats it as deposed and tells it to follow the current primary as soon as it answers,
as Sentinel does with a returning old master; until then it accepts writes that will be discarded.

Under a partition the harness can still reach every container (iptables only drops peer traffic), so
the supervisor's PING never fails; the replicas' vote (``master_link_status``) is what detects an
isolated primary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.backend import ClusterSpec, Unreachable
from harness.docker import cluster
from harness.external.docker_nodes import ExternalDockerBackend
from harness.external.failover import Policy, Supervisor
from harness.external.redis_client import RedisAdmin, RedisConnection
from harness.external.redis_cluster import redis_command, redis_core, wait_count

CLIENT_PORT = 6379


class RedisDockerBackend(ExternalDockerBackend):
    """redis-server containers with harness-driven failover."""

    client_port = CLIENT_PORT

    def __init__(self, spec: ClusterSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.wait = wait_count(self.config, len(spec.nodes))
        self.wait_timeout_ms = int(self.config.get("wait_timeout_ms", 500))
        self.route = str(self.config.get("route", "primary"))
        if self.route not in ("primary", "node"):
            raise ValueError(f"redis config route must be 'primary' or 'node', not {self.route!r}")
        self.events: list[str] = []
        admin = RedisAdmin(self.address, self.address)
        policy = Policy(down_after=float(self.config.get("down_after", 1.0)),
                        demote_every=float(self.config.get("demote_every", 1.0)))
        self.supervisor = Supervisor(spec.nodes, spec.nodes[0], admin, policy, self._log)

    def _log(self, text: str) -> None:
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            now = 0.0
        self.events.append(f"{now:.3f} {text}")

    def address(self, node: str) -> tuple[str, int]:
        """The container's address: the harness and the other nodes reach it the same way."""
        return self._plan(node).ip, CLIENT_PORT

    def server_command(self, plan: cluster.NodePlan, plans: Sequence[cluster.NodePlan]) -> list[str]:
        """redis-server; every node but the first starts as its replica."""
        primary = None if plan.node == plans[0].node else (plans[0].ip, CLIENT_PORT)
        return redis_command("redis-server", CLIENT_PORT, cluster.STATE_DIR, primary, self.config, bind="0.0.0.0")

    async def wait_serving(self, timeout: float) -> None:
        """Every node answers and every replica's link to the primary is up; then start the supervisor."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        admin = self.supervisor.admin
        while True:
            infos = await asyncio.gather(*(admin.replication(n) for n in self.spec.nodes))
            waiting = [n for n, i in zip(self.spec.nodes, infos)
                       if i is None or (n != self.supervisor.primary and i.get("master_link_status") != "up")]
            if not waiting:
                break
            if loop.time() >= deadline:
                raise RuntimeError(f"redis nodes {', '.join(waiting)} not replicating within {timeout:g}s")
            await asyncio.sleep(0.1)
        self.supervisor.start()

    async def teardown(self) -> None:
        """Stop the supervisor, then remove the containers."""
        await self.supervisor.stop()
        await super().teardown()

    def collect_logs(self, dest: Path) -> None:
        """Container logs plus ``failover.log``."""
        super().collect_logs(dest)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "failover.log").write_text("\n".join(self.events) + "\n", encoding="utf-8")

    async def connect(self, node: str) -> RedisConnection:  # type: ignore[override]
        """A connection routed per ``route`` (see ``harness.external.redis_cluster``)."""
        if self.route == "primary":
            def locate() -> tuple[str, int]:
                return self.address(self.supervisor.primary)
        else:
            def locate() -> tuple[str, int]:
                return self.address(node)
        conn = RedisConnection(node, locate, wait=self.wait, wait_timeout_ms=self.wait_timeout_ms)
        await conn.open()
        return conn

    async def node_status(self, node: str) -> dict[str, Any]:
        """``INFO replication`` of the node plus the supervisor's view."""
        info = await self.supervisor.admin.replication(node)
        if info is None:
            raise Unreachable(f"{node} does not answer")
        return {"type": "status_ok", "node": node, "core": redis_core(info), "primary": self.supervisor.primary,
                "failovers": self.supervisor.failovers}

    async def start(self, node: str) -> None:
        """Restart the container; it comes back in its original role, so it is deposed unless primary."""
        await super().start(node)
        if node != self.supervisor.primary:
            self.supervisor.deposed.add(node)
