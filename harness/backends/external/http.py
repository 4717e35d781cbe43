"""A minimal HTTP/1.1 JSON client on asyncio streams, for etcd's JSON gateway.

Why not ``urllib``: it blocks, and a blocked worker thread cannot be abandoned when an op times out —
the runner must be able to give up on a request at once (history ``info``) and move on. Why not a
third-party HTTP library: the gateway needs only ``POST`` with a JSON body on one keep-alive connection,
which fits in a page, and every failure can then be classified exactly: the connection could not be
opened (the request certainly did not happen) versus it broke or timed out after the request was sent
(it may have happened).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from harness.backends.base import Indefinite, Unreachable

MAX_BODY = 16 * 1024 * 1024


class HttpJsonConnection:
    """One keep-alive HTTP/1.1 connection; requests are sent one at a time."""

    def __init__(
        self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self.name = name
        self.host = host
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self._broken: str | None = None

    @classmethod
    async def open(cls, name: str, host: str, port: int, timeout: float) -> HttpJsonConnection:
        """Connect; ``Unreachable`` if the connection cannot be opened within ``timeout``."""
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError) as e:
            raise Unreachable(f"{name}: cannot connect to {host}:{port}: {e or type(e).__name__}") from None
        return cls(name, reader, writer, f"{host}:{port}")

    async def post(self, path: str, body: dict[str, Any], timeout: float) -> tuple[int, dict[str, Any]]:
        """POST ``body`` as JSON; returns (status, decoded JSON reply).

        Raises ``Unreachable`` if the connection was already known broken (nothing was sent) and
        ``Indefinite`` if it breaks or times out once the request may have been sent. A connection that
        timed out is marked broken: its next reply would belong to the abandoned request.
        """
        if self._broken is not None:
            raise Unreachable(f"{self.name}: {self._broken}")
        async with self._lock:
            try:
                return await asyncio.wait_for(self._exchange(path, body), timeout)
            except TimeoutError:
                self._broken = "connection abandoned after a timeout"
                raise Indefinite(f"{self.name}: no reply within {timeout:g}s") from None
            except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                self._broken = f"connection lost: {e or type(e).__name__}"
                raise Indefinite(f"{self.name}: {self._broken}") from None

    async def _exchange(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payload = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: keep-alive\r\n\r\n")
        self._writer.write(head.encode() + payload)
        await self._writer.drain()
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionResetError("connection closed before a reply")
        parts = status_line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError(f"bad status line {status_line!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        while (line := await self._reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            data = await self._read_chunked()
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if length > MAX_BODY:
                raise ValueError(f"reply body too large ({length} bytes)")
            data = await self._reader.readexactly(length)
        else:
            data = await self._reader.read(MAX_BODY)
            self._broken = "server closed the connection after its reply"
        if headers.get("connection", "").lower() == "close":
            self._broken = "server closed the connection after its reply"
        try:
            doc = json.loads(data) if data.strip() else {}
        except json.JSONDecodeError:
            doc = {"error": data.decode("utf-8", errors="replace")[:500]}
        return status, doc if isinstance(doc, dict) else {"result": doc}

    async def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            size = int((await self._reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await self._reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            out += await self._reader.readexactly(size)
            await self._reader.readexactly(2)
            if len(out) > MAX_BODY:
                raise ValueError("reply body too large")

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        self._broken = self._broken or "closed"
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, RuntimeError):
            pass
