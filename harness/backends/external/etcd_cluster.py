"""etcd on the local backend: an N-member cluster of ``etcd`` processes with an explicit initial cluster.

Every member listens on 127.0.0.1 with two ports of its own — its client URL (the JSON gateway) and its
peer URL — taken free at the start, so that several runs on one machine never collide. The initial
cluster is static (``--initial-cluster``): no discovery, nothing outside the machine. A killed member
restarts with the same flags and data dir; etcd
then ignores the initial-cluster flags and rejoins from its write-ahead log.

The cluster is ready when every member answers a linearizable read — that needs an elected leader and
the member connected to it, which is what a client needs too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from harness.api import (
    ClusterSpec,
    ExternalStartError,
    HttpJsonConnection,
    Indefinite,
    LocalProcesses,
    Unreachable,
    free_ports,
    require_binary,
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

__all__ = ["EtcdLocalBackend", "status_core"]


class EtcdLocalBackend(LocalProcesses):
    """etcd members as local processes; Kill and Pause faults."""

    system_name = "etcd"
    faketime = FAKETIME
    binaries = (("etcd", "etcd-server"),)

    def __init__(self, spec: ClusterSpec) -> None:
        self.binary = require_binary("etcd", "etcd-server")
        ports = free_ports(2 * len(spec.nodes))
        self.client_ports = {n: ports[2 * i] for i, n in enumerate(spec.nodes)}
        self.peer_ports = {n: ports[2 * i + 1] for i, n in enumerate(spec.nodes)}
        super().__init__(spec)

    def command(self, node: str) -> Sequence[str]:
        """The member's etcd argv."""
        initial = {n: f"http://127.0.0.1:{self.peer_ports[n]}" for n in self.spec.nodes}
        return etcd_command(
            self.binary, node, str(self.data_dir(node)), f"http://127.0.0.1:{self.client_ports[node]}",
            initial[node], initial, f"splitbrain-{self.spec.seed}", self.config,
        )

    async def connect(self, node: str) -> EtcdConnection:
        """Open a gateway connection to ``node``; ``Unreachable`` if refused."""
        http = await HttpJsonConnection.open(node, "127.0.0.1", self.client_ports[node], CONNECT_TIMEOUT)
        return EtcdConnection(node, http, bool(self.config.get("serializable", False)))

    async def _probe(self, node: str) -> str | None:
        """None when ``node`` answers a linearizable read, else what went wrong."""
        return await probe(node, "127.0.0.1", self.client_ports[node])

    async def wait_ready(self, nodes: Sequence[str], timeout: float) -> None:
        """Wait until every member serves a linearizable read (a leader exists and they follow it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pending = list(nodes)
        last: dict[str, str] = {}
        while pending:
            self.check_alive(pending)
            results = await asyncio.gather(*(self._probe(n) for n in pending))
            last = {n: r for n, r in zip(pending, results, strict=True) if r is not None}
            pending = list(last)
            if not pending:
                return
            if loop.time() >= deadline:
                tails = "\n".join(self.procs[n].tail() for n in pending)
                raise ExternalStartError(f"etcd members {', '.join(pending)} not ready within {timeout:g}s "
                                         f"({'; '.join(f'{n}: {w}' for n, w in last.items())}):\n{tails}")
            await asyncio.sleep(0.2)

    async def node_status(self, node: str) -> dict[str, Any]:
        """etcd's maintenance status of ``node`` (leader, raft term and index) plus host facts."""
        p = self.procs[node]
        if not p.alive or p.paused:
            raise Unreachable(f"{node} is {'paused' if p.alive else 'down'}")
        http = await HttpJsonConnection.open(node, "127.0.0.1", self.client_ports[node], PROBE_TIMEOUT)
        try:
            _status, doc = await http.post("/v3/maintenance/status", {}, PROBE_TIMEOUT)
        except Indefinite as e:
            raise Unreachable(str(e)) from None
        finally:
            await http.close()
        return {"type": "status_ok", "node": node, "pid": p.proc.pid if p.proc else None,
                "core": status_core(doc)}
