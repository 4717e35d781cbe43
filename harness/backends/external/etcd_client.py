"""What etcd's local and docker backends share: its command line, readiness probe, status and client.

etcd is reached over its JSON gateway (``/v3/kv/...``, base64 keys and values); a member is ready when
it answers a linearizable read, which needs an elected leader and the member connected to it — what a
client needs too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.api import HttpJsonConnection, Indefinite, Unreachable
from harness.backends.external.etcd_kv import gateway_call, translate_reply, unsupported

# What libfaketime does to etcd, measured on these machines: why clock faults on it are out of scope.
FAKETIME = "does not affect etcd (Go reads the clock through the vDSO)"

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
