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

from harness.api import CONTAINER_STATE_DIR, ClusterSpec, DockerProcesses, NodePlan
from harness.backends.external.redis_nodes import FAKETIME, RedisFailover, redis_command

CLIENT_PORT = 6379


class RedisDockerBackend(RedisFailover, DockerProcesses):
    """redis-server containers with harness-driven failover."""

    client_port = CLIENT_PORT
    system_name = "redis"
    faketime = FAKETIME

    def __init__(self, spec: ClusterSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self._init_redis()

    def address(self, node: str) -> tuple[str, int]:
        """The container's address: the harness and the other nodes reach it the same way."""
        return self._plan(node).ip, CLIENT_PORT

    def server_command(self, plan: NodePlan, plans: Sequence[NodePlan]) -> list[str]:
        """redis-server; every node but the first starts as its replica."""
        primary = None if plan.node == plans[0].node else (plans[0].ip, CLIENT_PORT)
        return redis_command(
            "redis-server", CLIENT_PORT, CONTAINER_STATE_DIR, primary, self.config, bind="0.0.0.0"
        )

    async def wait_serving(self, timeout: float) -> None:
        """Every node answers and every replica's link to the primary is up; then start the supervisor."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            waiting = await self._not_replicating(self.spec.nodes)
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
        self._write_failover_log(dest)

    async def node_status(self, node: str) -> dict[str, Any]:
        """``INFO replication`` of the node plus the supervisor's view."""
        return await self._redis_status(node)

    async def start(self, node: str) -> None:
        """Restart the container; it comes back in its original role, so it is deposed unless primary."""
        await super().start(node)
        if node != self.supervisor.primary:
            self.supervisor.deposed.add(node)
