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
from collections.abc import Mapping, Sequence
from typing import Any

from harness.backends.base import ClusterSpec, Indefinite, Unreachable
from harness.backends.external.etcd_kv import gateway_call, translate_reply, unsupported
from harness.backends.external.http import HttpJsonConnection
from harness.backends.external.local_base import ExternalStartError, LocalExternalBackend
from harness.backends.external.procs import require_binary
from harness.backends.local import free_ports

CONNECT_TIMEOUT = 2.0
PROBE_TIMEOUT = 2.0


async def probe(node: str, host: str, port: int) -> str | None:
    """None when the member at ``host:port`` answers a linearizable read, else what went wrong."""
    try:
        http = await HttpJsonConnection.open(node, host, port, PROBE_TIMEOUT)
    except Unreachable as e:
        return str(e)
    try:
        status, doc = await http.post("/v3/kv/range", {"key": "c3BsaXRicmFpbg=="}, PROBE_TIMEOUT)
    except (Unreachable, Indefinite) as e:
        return str(e)
    finally:
        await http.close()
    return None if status == 200 else f"HTTP {status}: {doc.get('error', doc)}"


def etcd_command(binary: str, node: str, data_dir: str, client_url: str, peer_url: str,
                 initial_cluster: Mapping[str, str], token: str, config: Mapping[str, Any]) -> list[str]:
    """The argv of one etcd member (shared by the local and docker backends)."""
    return [
        binary, "--name", node, "--data-dir", data_dir,
        "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
        "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
        "--initial-cluster", ",".join(f"{n}={u}" for n, u in initial_cluster.items()),
        "--initial-cluster-state", "new", "--initial-cluster-token", token,
        "--heartbeat-interval", str(int(config.get("heartbeat_ms", 100))),
        "--election-timeout", str(int(config.get("election_ms", 1000))),
        "--logger", "zap", "--log-outputs", "stderr",
    ]


def status_core(doc: dict[str, Any]) -> dict[str, Any]:
    """etcd's maintenance status as a ``Core.status()``-like dict: ``role`` leader/follower, raft facts.

    The nemesis's ``primaries`` targets read ``role``; etcd names its leader only by member id.
    """
    me = str((doc.get("header") or {}).get("member_id", ""))
    leader = str(doc.get("leader", ""))
    role = "leader" if me and leader == me else ("follower" if leader not in ("", "0") else "candidate")
    return {"role": role, "member_id": me, "leader_id": leader, "raft_term": doc.get("raftTerm"),
            "raft_index": doc.get("raftIndex"), "version": doc.get("version")}


class EtcdConnection:
    """A client connection to one member: our kv requests over its JSON gateway."""

    def __init__(self, node: str, http: HttpJsonConnection, serializable: bool) -> None:
        self.node = node
        self._http = http
        self.serializable = serializable

    async def call(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Perform ``req``; ``Unreachable`` if it was certainly not sent, ``Indefinite`` on timeout/loss."""
        try:
            path, body = gateway_call(req, serializable=self.serializable)
        except ValueError as e:
            return {**unsupported(req, str(e)), "req_id": req.get("req_id")}
        status, doc = await self._http.post(path, body, timeout)
        return {**translate_reply(req, status, doc), "req_id": req.get("req_id")}

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        await self._http.close()


class EtcdLocalBackend(LocalExternalBackend):
    """etcd members as local processes; Kill and Pause faults."""

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


# The docker flavour by name (imported on demand: it needs the docker backend's modules and imports this one).
BACKENDS: dict[str, Any] = {
    "local": EtcdLocalBackend,
    "docker": "harness.backends.external.etcd_docker:EtcdDockerBackend",
}
