"""The docker backend's TCP client: replies matched by req_id, and failures mapped to fail vs info."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable

import pytest

from harness.backends.base import Indefinite, Unreachable
from harness.backends.docker.wire import TcpConnection, control_request

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_replies_out_of_order_reach_their_callers_and_silence_is_indefinite() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held: list[dict[str, object]] = []
        while line := await reader.readline():
            req = json.loads(line)
            if req["type"] == "never":
                continue
            held.append(req)
            if len(held) == 2:  # answer the second request first
                for r in reversed(held):
                    writer.write(
                        json.dumps({"req_id": r["req_id"], "type": f"{r['type']}_ok"}).encode() + b"\n"
                    )
                held.clear()
        writer.close()

    async def body() -> None:
        server, port = await serve(handler)
        conn = await TcpConnection("n1", "127.0.0.1", port).open()
        a, b = await asyncio.gather(conn.call({"type": "read", "req_id": 1}, 2.0),
                                    conn.call({"type": "write", "req_id": 2}, 2.0))
        assert (a["type"], b["type"]) == ("read_ok", "write_ok")
        with pytest.raises(Indefinite, match="no reply"):
            await conn.call({"type": "never", "req_id": 3}, 0.2)
        await conn.close()
        with pytest.raises(Unreachable):
            await conn.call({"type": "read", "req_id": 4}, 1.0)
        server.close()

    asyncio.run(body())


def test_connection_lost_after_sending_is_indefinite() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()  # the node took the request and died

    async def body() -> None:
        server, port = await serve(handler)
        conn = await TcpConnection("n1", "127.0.0.1", port).open()
        with pytest.raises(Indefinite, match="connection lost"):
            await conn.call({"type": "write", "req_id": 1}, 2.0)
        await conn.close()
        server.close()

    asyncio.run(body())


def test_refused_connections_are_unreachable() -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def body() -> None:
        with pytest.raises(Unreachable):
            await TcpConnection("n1", "127.0.0.1", port).open()
        with pytest.raises(Unreachable):
            await control_request("127.0.0.1", port, {"type": "status"}, timeout=1.0)

    asyncio.run(body())
