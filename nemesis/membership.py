"""Membership faults through the system's own client requests (``join`` / ``leave``).

A node leaving the cluster and coming back is not something a backend does to a process: the system
has to agree to it and hand data off, so the nemesis asks the system, through an ordinary client
connection, exactly as an operator would. That works on every backend alike. Only systems that
implement the requests can take these faults; any other is refused before the run starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from nemesis.capabilities import Membership

MEMBERSHIP_SYSTEMS = frozenset({"hashring"})
"""Systems (base names) that answer ``{"type": "join" | "leave", "node": id}`` client requests."""

TIMEOUT = 10.0
"""Seconds to wait for a change: the reply comes only once the data handoff is done."""
TEMPORARILY_UNAVAILABLE = 11
BUSY_RETRY = 0.2
"""A system runs one change at a time and answers 11 meanwhile; ask again this often."""


def refusal(system: str | None) -> str | None:
    """Why ``system`` cannot take membership faults, or None if it can (or is not known here)."""
    if system is None:
        return None
    base = system.split(":", 1)[0]
    if base in MEMBERSHIP_SYSTEMS:
        return None
    return (f"system {base!r} has no membership changes (join/leave); "
            f"the member package needs one of: {', '.join(sorted(MEMBERSHIP_SYSTEMS))}")


class ClientMembership:
    """The Membership capability carried out by client requests sent to a live node."""

    def __init__(self, backend: Any, nodes: Sequence[str], timeout: float = TIMEOUT) -> None:
        self.backend = backend
        self.nodes = tuple(nodes)
        self.timeout = timeout
        self._req = 0

    async def leave(self, node: str) -> None:
        """Ask the cluster to remove ``node``; raises with the system's answer if it refuses."""
        await self._change("leave", node)

    async def join(self, node: str) -> None:
        """Ask the cluster to add ``node`` back."""
        await self._change("join", node)

    async def _call_until_idle(self, conn: Any, kind: str, node: str) -> dict[str, Any]:
        """Send the change; while the system answers "busy" (another change runs), ask again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            self._req += 1
            req = {"type": kind, "node": node, "req_id": self._req}
            reply: dict[str, Any] = await conn.call(req, max(0.001, deadline - loop.time()))
            if reply.get("code") != TEMPORARILY_UNAVAILABLE or loop.time() + BUSY_RETRY >= deadline:
                return reply
            await asyncio.sleep(BUSY_RETRY)

    async def _change(self, kind: str, node: str) -> None:
        # Ask a node other than the one changing (it may be on its way out), first node first: systems
        # with a membership manager default it to the first node, which saves a forwarding hop.
        errors: list[str] = []
        for via in [n for n in self.nodes if n != node] or [node]:
            try:
                conn = await self.backend.connect(via)
            except Exception as e:  # noqa: BLE001 - try the next node
                errors.append(f"{via}: {e}")
                continue
            try:
                reply = await self._call_until_idle(conn, kind, node)
            finally:
                await conn.close()
            if reply.get("type") == f"{kind}_ok":
                return
            raise RuntimeError(f"{kind} {node} refused by {via}: {reply.get('text', reply)}")
        raise RuntimeError(f"{kind} {node}: no node reachable ({'; '.join(errors)})")


def membership_of(backend: Any, nodes: Sequence[str]) -> Membership:
    """The backend itself if it implements Membership natively, else the client-request adapter."""
    if isinstance(backend, Membership):
        return backend
    return ClientMembership(backend, nodes)
