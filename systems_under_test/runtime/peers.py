"""Outgoing peer links: one lazily dialled TCP connection per peer, re-dialled with backoff.

Peer messages are best effort, like the network they model: a message sent while the peer is down
waits in a bounded queue (the oldest are dropped when it is full, as a congested network would), and
a message written to a connection that then breaks is lost. The protocols above retransmit what
matters. Bounding the queue matters when a peer is paused (SIGSTOP): its socket buffer fills and
without a bound this node's memory would grow for as long as the pause lasts.

The first line on every connection is a hello naming the sender, which is how the receiving node
tells peer connections from client connections on the same port.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from collections.abc import Callable

HELLO_KEY = "splitbrain_peer"
MAX_QUEUE = 2000
MAX_BACKOFF = 0.5


TOKEN_KEY = "token"


def hello_line(node: str, token: str | None = None) -> bytes:
    """The first line a node sends on a connection it dials to a peer (with the run's token, if any)."""
    hello: dict[str, str] = {HELLO_KEY: node}
    if token:
        hello[TOKEN_KEY] = token
    return (json.dumps(hello) + "\n").encode()


def parse_address(text: str) -> tuple[str, int]:
    """``"127.0.0.1:7001"`` -> ``("127.0.0.1", 7001)``; raises ``ValueError`` on a bad address."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"bad address {text!r}: expected HOST:PORT")
    return host, int(port)


class PeerLink:
    """The connection this node dials to one peer, with its send queue and reconnect loop."""

    def __init__(self, me: str, peer: str, address: tuple[str, int], log: Callable[[str], None],
                 token: str | None = None) -> None:
        self.me = me
        self.token = token
        self.peer = peer
        self.address = address
        self._log = log
        self._queue: collections.deque[bytes] = collections.deque(maxlen=MAX_QUEUE)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.connected = False
        self.sent = 0

    def send(self, line: bytes) -> None:
        """Queue one framed message (never blocks; starts the link on first use)."""
        if self._closed:
            return
        self._queue.append(line)
        self._wakeup.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"peer-{self.peer}")

    async def close(self) -> None:
        """Stop the link and drop anything queued."""
        self._closed = True
        self._queue.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        """Dial, send, and re-dial after a failure, with exponential backoff."""
        backoff = 0.02
        while not self._closed:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(*self.address), timeout=1.0)
            except (OSError, TimeoutError):
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 0.02
            self.connected = True
            self._log(f"connected to peer {self.peer}")
            try:
                await self._pump(reader, writer)
            except (OSError, EOFError) as e:
                self._log(f"link to peer {self.peer} broke: {e!r}")
            finally:
                self.connected = False
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Write queued messages until the peer closes the connection."""
        writer.write(hello_line(self.me, self.token))
        eof = asyncio.ensure_future(reader.read())  # peers never write back: completes at EOF
        try:
            while True:
                while self._queue:
                    writer.write(self._queue.popleft())
                    self.sent += 1
                await writer.drain()
                if self._queue:
                    continue
                self._wakeup.clear()
                waiter = asyncio.ensure_future(self._wakeup.wait())
                done, _ = await asyncio.wait({waiter, eof}, return_when=asyncio.FIRST_COMPLETED)
                if eof in done:
                    waiter.cancel()
                    raise EOFError("peer closed the connection")
        finally:
            eof.cancel()
