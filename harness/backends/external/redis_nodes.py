"""What Redis's local and docker backends share: settings, command line, status and the failover mixin.

Redis replication is asynchronous and has no failover of its own here: the harness's
:class:`~harness.backends.external.failover.Supervisor` plays Sentinel/operator (see
``harness.backends.external.redis_cluster`` for the local backend, ``redis_docker`` for containers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.api import ClusterSpec, Unreachable
from harness.backends.external.failover import Policy, Supervisor
from harness.backends.external.redis_client import RedisAdmin, RedisConnection

# What libfaketime does to redis-server, measured on these machines: why clock faults on it are out of scope.
FAKETIME = "hangs redis-server"


def wait_count(config: dict[str, Any], nodes: int) -> int:
    """How many replicas a write waits for: ``wait`` -1 means a majority of the cluster (``nodes // 2``)."""
    wait = int(config.get("wait", 0))
    return nodes // 2 if wait < 0 else min(wait, nodes - 1)


def redis_command(binary: str, port: int, data_dir: str, primary: tuple[str, int] | None,
                  config: dict[str, Any], bind: str = "127.0.0.1") -> list[str]:
    """The argv of one redis-server (shared by the local and docker backends)."""
    argv = [
        binary, "--port", str(port), "--bind", bind, "--protected-mode", "no", "--daemonize", "no",
        "--dir", data_dir, "--save", "", "--logfile", "",
        "--appendonly", "yes" if config.get("appendonly", True) else "no", "--appendfsync", "everysec",
        "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
        "--repl-timeout", str(int(config.get("repl_timeout", 2))), "--repl-ping-replica-period", "1",
    ]
    if primary is not None:
        argv += ["--replicaof", primary[0], str(primary[1])]
    return argv


def redis_core(info: dict[str, Any]) -> dict[str, Any]:
    """``INFO replication`` as a ``Core.status()``-like dict (``role`` primary/replica, for ``primaries``).

    A deposed primary that has not been told yet still says ``master``: during that window there are
    two primaries, and the nemesis's ``primaries`` targets both, as Jepsen's does.
    """
    role = "primary" if info.get("role") == "master" else "replica"
    return {"role": role, **{k: info[k] for k in ("master_repl_offset", "master_link_status", "master_port",
                                                   "connected_slaves") if k in info}}


class RedisFailover:
    """What both Redis backends share: settings, the failover supervisor and its log, routing, status.

    Mixed in before the local or docker base class; each backend supplies ``address(node)``.
    """

    config: Any
    spec: ClusterSpec
    address: Callable[[str], tuple[str, int]]  # supplied by each backend: where the harness reaches a node

    def _init_redis(self) -> None:
        """Read the Redis settings and build the (not yet started) failover supervisor."""
        nodes = self.spec.nodes
        self.wait = wait_count(self.config, len(nodes))
        self.wait_timeout_ms = int(self.config.get("wait_timeout_ms", 500))
        self.route = str(self.config.get("route", "primary"))
        if self.route not in ("primary", "node"):
            raise ValueError(f"redis config route must be 'primary' or 'node', not {self.route!r}")
        self.events: list[str] = []
        admin = RedisAdmin(self.address, self.address)
        policy = Policy(down_after=float(self.config.get("down_after", 1.0)),
                        demote_every=float(self.config.get("demote_every", 1.0)))
        self.supervisor = Supervisor(nodes, nodes[0], admin, policy, self._log)

    def _log(self, text: str) -> None:
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            now = 0.0
        self.events.append(f"{now:.3f} {text}")

    async def _not_replicating(self, nodes: Sequence[str]) -> list[str]:
        """The nodes that do not answer yet, or are replicas whose link to the primary is not up."""
        infos = await asyncio.gather(*(self.supervisor.admin.replication(n) for n in nodes))
        return [n for n, i in zip(nodes, infos, strict=True)
                if i is None or (n != self.supervisor.primary and i.get("master_link_status") != "up")]

    def _write_failover_log(self, dest: Path) -> None:
        """``failover.log``: the supervisor's decisions, loop-clock stamped."""
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "failover.log").write_text("\n".join(self.events) + "\n", encoding="utf-8")

    async def connect(self, node: str) -> RedisConnection:
        """A connection routed per ``route``; ``Unreachable`` if its node does not answer."""
        if self.route == "primary":
            def locate() -> tuple[str, int]:
                return self.address(self.supervisor.primary)
        else:
            def locate() -> tuple[str, int]:
                return self.address(node)
        conn = RedisConnection(node, locate, wait=self.wait, wait_timeout_ms=self.wait_timeout_ms)
        await conn.open()
        return conn

    async def _redis_status(self, node: str) -> dict[str, Any]:
        """The node's ``INFO replication`` plus who the supervisor thinks is primary."""
        info = await self.supervisor.admin.replication(node)
        if info is None:
            raise Unreachable(f"{node} does not answer")
        return {"type": "status_ok", "node": node, "core": redis_core(info),
                "primary": self.supervisor.primary,
                "failovers": self.supervisor.failovers}
