"""Redis through redis-py: the client connection the runner uses, and the admin calls of the failover.

redis-py retries a command after a connection error or timeout by default (three times since 6.0).
For a correctness test that is wrong twice over: a retried write may be applied twice, and the
history would record one op where the server saw several. Every client here is built with no retries
and a single connection, and the outcome of each request is classified by where it failed:

* cannot connect / PING before sending fails -> ``Unreachable`` (nothing was sent: ``fail``);
* the server refused it (``READONLY`` on a replica, ``LOADING``, a script error) -> a definite error;
* timeout or lost connection after sending -> ``Indefinite`` (``info``); the connection is dropped,
  since its next reply would belong to the abandoned request.

A client that was told ``READONLY`` (its server was demoted) reconnects, before its next request, to
whichever node the failover now names primary — what a Sentinel-aware client does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import redis.asyncio as aredis
from redis import exceptions as rx
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from harness.api import Indefinite, Unreachable
from harness.backends.external.redis_kv import (
    TEMPORARILY_UNAVAILABLE,
    commands_for,
    translate_results,
    unsupported,
)

ADMIN_TIMEOUT = 0.5
CONNECT_TIMEOUT = 1.0
REDIS_ERROR = 1000


def make_client(host: str, port: int) -> aredis.Redis:
    """A single-connection redis-py client that never retries."""
    return aredis.Redis(host=host, port=port, single_connection_client=True, retry=Retry(NoBackoff(), 0),
                        socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=None, decode_responses=False)


async def close_client(client: aredis.Redis | None) -> None:
    """Close ``client`` quietly."""
    if client is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.aclose(), ADMIN_TIMEOUT)


class RedisConnection:
    """A runner connection: our kv requests as Redis commands on the routed node."""

    def __init__(
        self, node: str, locate: Callable[[], tuple[str, int]], *, wait: int, wait_timeout_ms: int
    ) -> None:
        self.node = node
        self._locate = locate
        self.wait = wait
        self.wait_timeout_ms = wait_timeout_ms
        self._client: aredis.Redis | None = None
        self.target: tuple[str, int] | None = None

    async def open(self) -> None:
        """Connect to the node ``locate`` names now and PING it; ``Unreachable`` if that fails."""
        await close_client(self._client)
        self._client = None
        host, port = self.target = self._locate()
        client = make_client(host, port)
        try:
            await asyncio.wait_for(client.ping(), CONNECT_TIMEOUT)
        except (rx.RedisError, OSError, TimeoutError) as e:
            await close_client(client)
            raise Unreachable(
                f"{self.node}: cannot reach redis at {host}:{port}: {e or type(e).__name__}"
            ) from None
        self._client = client

    async def call(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Perform ``req``; raises ``Unreachable`` / ``Indefinite`` as described in the module doc."""
        try:
            cmds = commands_for(req, wait=self.wait, wait_timeout_ms=self.wait_timeout_ms)
        except ValueError as e:
            return {**unsupported(str(e)), "req_id": req.get("req_id")}
        if self._client is None:
            await self.open()
        client = self._client
        assert client is not None
        results: list[Any] = []
        try:
            async with asyncio.timeout(timeout):
                for i, argv in enumerate(cmds.argvs):
                    try:
                        results.append(await client.execute_command(*argv))
                    except (rx.ReadOnlyError, rx.BusyLoadingError) as e:
                        if i:
                            raise
                        await self._drop()
                        return {"req_id": req.get("req_id"), "type": "error", "code": TEMPORARILY_UNAVAILABLE,
                                "text": f"redis: {e}", "definite": True}
                    except rx.ResponseError as e:
                        if i:
                            raise
                        return {"req_id": req.get("req_id"), "type": "error", "code": REDIS_ERROR,
                                "text": f"redis: {e}", "definite": True}
        except TimeoutError:
            await self._drop()
            raise Indefinite(f"{self.node}: no reply within {timeout:g}s") from None
        except (rx.RedisError, OSError) as e:
            await self._drop()
            raise Indefinite(f"{self.node}: {type(e).__name__}: {e}") from None
        return {**translate_results(req, results, wait=self.wait), "req_id": req.get("req_id")}

    async def _drop(self) -> None:
        client, self._client = self._client, None
        await close_client(client)

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        await self._drop()


class RedisAdmin:
    """The failover supervisor's admin calls; ``address(node)`` is how the harness reaches a node and
    ``announce(node)`` how the other nodes reach it (they differ on docker)."""

    def __init__(
        self, address: Callable[[str], tuple[str, int]], announce: Callable[[str], tuple[str, int]]
    ) -> None:
        self.address = address
        self.announce = announce

    async def _run(self, node: str, *argv: Any) -> Any:
        client = make_client(*self.address(node))
        try:
            return await asyncio.wait_for(client.execute_command(*argv), ADMIN_TIMEOUT)
        finally:
            await close_client(client)

    async def ping(self, node: str) -> bool:
        """True if ``node`` answered PING in time."""
        try:
            return bool(await self._run(node, "PING"))
        except (rx.RedisError, OSError, TimeoutError):
            return False

    async def replication(self, node: str) -> dict[str, Any] | None:
        """``INFO replication`` of ``node`` (redis-py parses it into a dict), or None."""
        try:
            info = await self._run(node, "INFO", "replication")
        except (rx.RedisError, OSError, TimeoutError):
            return None
        return dict(info) if isinstance(info, dict) else None

    async def replicaof(self, node: str, primary: str | None) -> bool:
        """``REPLICAOF NO ONE`` or ``REPLICAOF host port``; True if acknowledged."""
        argv = ("REPLICAOF", "NO", "ONE") if primary is None else ("REPLICAOF", *self.announce(primary))
        try:
            await self._run(node, *argv)
        except (rx.RedisError, OSError, TimeoutError):
            return False
        return True
