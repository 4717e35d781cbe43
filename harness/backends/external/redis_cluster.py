"""Redis on the local backend: one primary and asynchronous replicas as ``redis-server`` processes.

``n1`` starts as the primary, the others with ``--replicaof`` it; replicas sync diskless with no delay
(``repl-diskless-sync-delay 0``) so a restarted replica is back in milliseconds, and notice a silent
primary within ``repl_timeout`` seconds (their vote drives failover under partitions). The
append-only file is on (fsync every second, Redis's default trade-off), so a killed node restarts with
its data — minus, possibly, its last second.

Failover is the harness's :class:`~harness.backends.external.failover.Supervisor`. A restarted node comes
back as
a replica of whoever is primary then, as Sentinel would reconfigure it.

Client routing (config ``route``): ``primary`` (default) — a client talks to the current primary and
moves on after an error, like a Sentinel-aware client; ``node`` — a client talks to its own node, so
reads on replicas are served from their (asynchronous, possibly stale) copy and writes there are
refused with ``READONLY``.

Config: ``wait`` (0: no WAIT; -1: a majority of the cluster, i.e. ``n // 2`` replicas; k: k replicas),
``wait_timeout_ms`` (500), ``route``, ``down_after`` (1.0 s), ``demote_every`` (1.0 s: how often a
deposed primary is told to follow the new one), ``repl_timeout`` (2 s), ``appendonly`` (true),
``keep_data`` (false).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.api import ClusterSpec, ExternalStartError, LocalProcesses, free_ports, require_binary
from harness.backends.external.redis_nodes import FAKETIME, RedisFailover, redis_command, redis_core

__all__ = ["RedisLocalBackend", "redis_core"]


class RedisLocalBackend(RedisFailover, LocalProcesses):
    """redis-server processes with harness-driven failover; Kill and Pause faults."""

    system_name = "redis"
    faketime = FAKETIME
    binaries = (("redis-server", "redis-server"),)

    def __init__(self, spec: ClusterSpec) -> None:
        self.binary = require_binary("redis-server", "redis-server")
        self.ports = dict(zip(spec.nodes, free_ports(len(spec.nodes)), strict=True))
        super().__init__(spec)
        self._init_redis()

    def address(self, node: str) -> tuple[str, int]:
        """Where the harness (and the other nodes) reach ``node``."""
        return "127.0.0.1", self.ports[node]

    def command(self, node: str) -> Sequence[str]:
        """redis-server argv; every node but the current primary follows the primary."""
        primary = self.supervisor.primary
        return redis_command(self.binary, self.ports[node], str(self.data_dir(node)),
                             None if node == primary else self.address(primary), self.config)

    async def wait_ready(self, nodes: Sequence[str], timeout: float) -> None:
        """Wait until every node answers and every replica's link to the primary is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.check_alive(nodes)
            waiting = await self._not_replicating(nodes)
            if not waiting:
                break
            if loop.time() >= deadline:
                tails = "\n".join(self.procs[n].tail() for n in waiting)
                raise ExternalStartError(
                    f"redis nodes {', '.join(waiting)} not ready within {timeout:g}s:\n{tails}"
                )
            await asyncio.sleep(0.1)

    async def setup(self) -> None:
        """Start the nodes, wait for replication, then start the failover supervisor."""
        await super().setup()
        self.supervisor.start()

    async def teardown(self) -> None:
        """Stop the supervisor, then the nodes."""
        await self.supervisor.stop()
        await super().teardown()

    def collect_logs(self, dest: Path) -> None:
        """Node logs plus ``failover.log``."""
        super().collect_logs(dest)
        self._write_failover_log(dest)

    async def node_status(self, node: str) -> dict[str, Any]:
        """The node's ``INFO replication``, the supervisor's view and the process id."""
        status = await self._redis_status(node)
        p = self.procs[node]
        return {**status, "pid": p.proc.pid if p.proc else None}

    async def start(self, node: str) -> None:
        """Restart a killed node as a replica of the current primary (or as primary if it still is one)."""
        self.supervisor.deposed.discard(node)
        await super().start(node)
