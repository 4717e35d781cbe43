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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.backends.base import ClusterSpec, Unreachable
from harness.backends.external.failover import Policy, Supervisor
from harness.backends.external.local_base import ExternalStartError, LocalExternalBackend
from harness.backends.external.procs import require_binary
from harness.backends.external.redis_client import RedisAdmin, RedisConnection
from harness.backends.local import free_ports


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


class RedisLocalBackend(RedisFailover, LocalExternalBackend):
    """redis-server processes with harness-driven failover; Kill and Pause faults."""

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


# The docker flavour by name (imported on demand: it needs the docker backend's modules and imports this one).
BACKENDS: dict[str, Any] = {"local": RedisLocalBackend,
                            "docker": "harness.backends.external.redis_docker:RedisDockerBackend"}
