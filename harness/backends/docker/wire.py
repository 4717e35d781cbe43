"""Talking to a node in a container over TCP: client connections and control requests.

The wire format is the runtime's (newline-framed JSON, replies matched by ``req_id``, several requests
in flight). What matters for the history is the mapping of failures: a request that certainly never
left (connect refused, or the write failed before anything was sent) is ``Unreachable`` -> ``fail``;
once bytes may have reached the node, a timeout or a dropped connection is ``Indefinite`` -> ``info``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from harness.backends.base import Indefinite, Unreachable

_LINE_LIMIT = 16 * 1024 * 1024


class TcpConnection:
    """A client connection to one node: concurrent ``call``s multiplexed by ``req_id``."""

    def __init__(self, node: str, host: str, port: int) -> None:
        self.node = node
        self._addr = (host, port)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._pump: asyncio.Task[None] | None = None
        self._closed = False

    async def open(self, timeout: float = 2.0) -> TcpConnection:
        """Connect; raises ``Unreachable`` when the node does not accept the connection."""
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(*self._addr, limit=_LINE_LIMIT), timeout
            )
        except (TimeoutError, OSError) as e:
            raise Unreachable(f"{self.node}: cannot connect to {self._addr[0]}:{self._addr[1]}: {e!r}") from e
        self._pump = asyncio.get_running_loop().create_task(self._read_replies())
        return self

    async def _read_replies(self) -> None:
        """Route each reply line to the call waiting for its ``req_id``; on EOF fail every waiter."""
        assert self._reader is not None
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError:
                    continue
                fut = self._pending.pop(msg.get("req_id"), None) if isinstance(msg, dict) else None
                if fut is not None and not fut.done():
                    fut.set_result(msg)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(Indefinite(f"{self.node}: connection lost"))
            self._pending.clear()

    async def call(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``req`` and await its reply; raises ``Unreachable`` or ``Indefinite``."""
        if self._writer is None or self._closed or self._pump is None or self._pump.done():
            raise Unreachable(f"{self.node}: connection is closed")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req["req_id"]] = fut
        try:
            self._writer.write(json.dumps(req).encode() + b"\n")
        except (OSError, RuntimeError) as e:
            self._pending.pop(req["req_id"], None)
            raise Unreachable(f"{self.node}: send failed: {e!r}") from e
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError as e:
            raise Indefinite(f"{self.node}: no reply within {timeout}s") from e
        finally:
            # timed out or cancelled (Ctrl-C): forget the request so a late reply or EOF finds no waiter
            self._pending.pop(req["req_id"], None)

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        self._closed = True
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(BaseException):
                await self._pump


async def control_request(host: str, port: int, req: dict[str, Any], timeout: float = 3.0) -> dict[str, Any]:
    """One request on a node's control channel (a fresh connection each time); raises ``Unreachable``."""
    writer = None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=_LINE_LIMIT), timeout
        )
        writer.write(json.dumps(req).encode() + b"\n")
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (TimeoutError, OSError) as e:
        raise Unreachable(f"control {host}:{port}: {e!r}") from e
    finally:
        if writer is not None:
            writer.close()
    if not line:
        raise Unreachable(f"control {host}:{port}: connection closed without a reply")
    reply: dict[str, Any] = json.loads(line)
    if reply.get("type") == "error":
        raise RuntimeError(f"control {host}:{port} refused {req.get('type')}: {reply.get('text', reply)}")
    return reply
