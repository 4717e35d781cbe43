"""The node host: carries out a sans-IO core's effects over TCP, timers, and a durable file.

One asyncio loop per process. Every event (client line, peer line, timer) calls the core, and the
returned effects are carried out in order (:meth:`NodeHost.execute`). ``Persist`` records are written
at once and fsynced lazily: right before the first ``Send``/``Reply`` that follows them, so one sync
covers a whole batch and nothing leaves the node before what it depends on is durable.

Clients and peers share the listen port. A connection whose first line is a peer hello carries peer
messages (subject to partition drops); anything else is a client connection carrying requests. Each
client request gets a host-made ``req_id`` unique in this process's lifetime before it reaches the
core (clients on different connections may reuse ids), and the client's own id is restored on the
reply. A line that is not a JSON object with a ``type`` (also one nested too deeply to decode) gets a
definite ``12 malformed-request`` error and the connection stays open: a bad client must not take the
node down. A client that never reads its replies is not read from either (backpressure): the node
stops taking its requests while the connection's write buffer is full, so its memory stays bounded.

When the run gave the node a token (:data:`options.TOKEN_ENV`), a peer hello must carry it; a hello
without it, or with another, is logged and the connection closed — no local process can pose as a
peer. (The control channel checks the same token, see :mod:`control`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import importlib
import json
import os
import random
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from systems_under_test.core import (
    CRASH,
    CancelTimer,
    Core,
    Effect,
    Event,
    Log,
    Persist,
    Reply,
    Send,
    SetTimer,
    error_body,
    event_line,
)
from systems_under_test.registry import resolve
from systems_under_test.runtime import durable
from systems_under_test.runtime.faults import Faults
from systems_under_test.runtime.nodelog import NodeLog
from systems_under_test.runtime.options import Options
from systems_under_test.runtime.peers import HELLO_KEY, TOKEN_KEY, PeerLink

MALFORMED_REQUEST = 12
UNAUTHORIZED = 1001  # system-specific code (>= 1000): a control request without the run's token
LINE_LIMIT = 16 * 1024 * 1024
WRITE_HIGH_WATER = 1024 * 1024  # bytes of unsent replies before a client connection stops being read
T = TypeVar("T")


@dataclass(slots=True)
class ClientConn:
    """One client connection and the host req_ids of its requests still awaiting a reply."""

    name: str
    writer: asyncio.StreamWriter
    outstanding: set[str] = field(default_factory=set)
    closed: bool = False


@dataclass(slots=True)
class Counters:
    """Traffic counters shown in the status reply."""

    requests: int = 0
    replies: int = 0
    malformed: int = 0
    msgs_in: int = 0
    dropped_in: int = 0
    msgs_out: int = 0
    dropped_out: int = 0
    core_errors: int = 0


def _dumps(obj: Any) -> bytes:
    """One newline-terminated JSON frame."""
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def seeded(seed: int, node: str, purpose: str) -> random.Random:
    """A child rng derived from the run seed, distinct per node and purpose (string seeds are stable)."""
    return random.Random(f"{seed}/{node}/{purpose}")


def make_core(opts: Options) -> Core:
    """The node's core: from the ``--core`` factory the backend named, else the system registry."""
    peers = [p for p in opts.peers if p != opts.node]
    rng = seeded(opts.seed, opts.node, "core")
    if opts.core is None:
        _, variant = resolve(opts.system)
        return variant.make_core(opts.node, peers, rng, opts.config)
    module, _, qualname = opts.core.partition(":")
    factory: Any = importlib.import_module(module)
    for part in qualname.split("."):
        factory = getattr(factory, part)
    core: Core = factory(opts.node, peers, rng, dict(opts.config))
    return core


class NodeHost:
    """Hosts one core: clients, peers, timers, durability, faults."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.node = opts.node
        self.log = NodeLog(opts.log, opts.node)
        self.core: Core = make_core(opts)
        self.packet_rng = seeded(opts.seed, opts.node, "packet")
        self.faults = Faults()
        self.counters = Counters()
        self.durable: durable.DurableLog | None = None
        self.links: dict[str, PeerLink] = {}
        self.timers: dict[str, tuple[float, asyncio.TimerHandle]] = {}
        self.pending: dict[str, tuple[ClientConn, Any]] = {}
        self.conns: set[asyncio.StreamWriter] = set()
        self._next_req = 0
        self._next_conn = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    # ----------------------------------------------------------------- clock and lifecycle

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (set by :meth:`start`)."""
        assert self._loop is not None, "host not started"
        return self._loop

    def now(self) -> float:
        """This node's clock: the loop's monotonic time plus the clock-fault offset."""
        return self.loop.time() + self.faults.clock_offset

    def note(self, text: str) -> None:
        """Write a line to the node log, stamped with the node clock."""
        self.log.write(text, self.now() if self._loop is not None else None)

    def start(self) -> int:
        """Recover durable records and start the core; returns how many records were recovered."""
        self._loop = asyncio.get_running_loop()
        path = self.opts.data_dir / durable.FILE_NAME
        records = durable.load(path)
        self.durable = durable.DurableLog(path)
        self.note(f"starting {self.opts.system} node {self.node}: {len(records)} durable records")
        self.execute(self.core.on_start(self.now(), records))
        return len(records)

    async def stop(self) -> None:
        """Disarm timers, close connections and links, and make every record durable."""
        for _, handle in self.timers.values():
            handle.cancel()
        self.timers.clear()
        for writer in list(self.conns):
            writer.close()
        for link in self.links.values():
            await link.close()
        if self.durable is not None:
            self.durable.close()
        self.note("stopped")
        self.log.close()

    def set_faults(self, faults: Faults) -> None:
        """Install a new fault state. Armed timers keep their remaining time: they run on the loop's
        monotonic clock, which a clock jump does not move (a timeout armed for 1 s still fires in 1 s)."""
        self.faults = faults

    # ----------------------------------------------------------------- effects

    def execute(self, effects: list[Effect]) -> None:
        """Carry out effects in order; sync durable records before the first Send/Reply after them."""
        assert self.durable is not None
        for eff in effects:
            if isinstance(eff, Persist):
                self.durable.append(eff.record)
            elif isinstance(eff, Send):
                self.durable.sync()
                self._send(eff.dst, eff.msg)
            elif isinstance(eff, Reply):
                self.durable.sync()
                self._reply(eff.req_id, eff.body)
            elif isinstance(eff, SetTimer):
                self._arm(eff.name, eff.at)
            elif isinstance(eff, CancelTimer):
                self._disarm(eff.name)
            elif isinstance(eff, Log):
                self.note(eff.text)
            elif isinstance(eff, Event):
                self.note(event_line(eff))
            else:
                self.note(f"ERROR unknown effect {eff!r}")

    def _guarded(self, what: str, fn: Callable[..., T], *args: Any) -> T | None:
        """Call into the core; a raised exception is logged (with traceback) and yields ``None``."""
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001 - a core bug must not kill the node host
            self.counters.core_errors += 1
            self.note(f"ERROR core raised in {what}:\n{traceback.format_exc()}")
            return None

    def _send(self, dst: str, msg: dict[str, Any]) -> None:
        """Send a peer message through this node's outgoing packet faults."""
        if dst == self.node:
            self.loop.call_soon(self._deliver, self.node, msg)
            return
        address = self.opts.peers.get(dst)
        if address is None:
            self.note(f"ERROR send to unknown node {dst!r}")
            return
        link = self.links.get(dst)
        if link is None:
            link = self.links[dst] = PeerLink(self.node, dst, address, self.note, self.opts.token)
        packet = self.faults.packet
        if packet.loss > 0 and self.packet_rng.random() < packet.loss:
            self.counters.dropped_out += 1
            return
        copies = 2 if packet.dup > 0 and self.packet_rng.random() < packet.dup else 1
        line = _dumps(msg)
        for _ in range(copies):
            self.counters.msgs_out += 1
            if packet.delay > 0:
                self.loop.call_later(packet.delay, link.send, line)
            else:
                link.send(line)

    def _reply(self, req_id: str, body: dict[str, Any]) -> None:
        """Answer a client request under the client's own req_id (dropped if the client is gone)."""
        entry = self.pending.pop(req_id, None)
        if entry is None:
            self.note(f"reply to unknown request {req_id!r} dropped")
            return
        conn, client_req_id = entry
        conn.outstanding.discard(req_id)
        if conn.closed:
            return
        self.counters.replies += 1
        conn.writer.write(_dumps({**body, "req_id": client_req_id}))

    def _arm(self, name: str, at: float) -> None:
        """(Re)arm timer ``name`` for node time ``at``."""
        self._disarm(name)
        handle = self.loop.call_at(at - self.faults.clock_offset, self._fire, name)
        self.timers[name] = (at, handle)

    def _disarm(self, name: str) -> None:
        """Cancel timer ``name`` if armed."""
        armed = self.timers.pop(name, None)
        if armed is not None:
            armed[1].cancel()

    def _fire(self, name: str) -> None:
        """A timer fired: it is disarmed, then the core handles it."""
        self.timers.pop(name, None)
        effects = self._guarded(f"on_timer({name!r})", self.core.on_timer, self.now(), name)
        self.execute(effects or [])

    def _deliver(self, src: str, msg: Any) -> None:
        """Hand a peer message to the core unless a partition drops it."""
        if src in self.faults.drop_from:
            self.counters.dropped_in += 1
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            self.note(f"ERROR malformed peer message from {src}: {msg!r:.200}")
            return
        self.counters.msgs_in += 1
        effects = self._guarded(f"on_message from {src}", self.core.on_message, self.now(), src, msg)
        self.execute(effects or [])

    # ----------------------------------------------------------------- connections

    async def on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection on the listen port: a peer (hello first) or a client."""
        self.conns.add(writer)
        try:
            first = await reader.readline()
            if not first:
                return
            hello = _parse(first)
            if isinstance(hello, dict) and isinstance(hello.get(HELLO_KEY), str):
                if not self.authorized(hello.get(TOKEN_KEY)):
                    self.note(f"ERROR rejected peer hello claiming {hello[HELLO_KEY]!r:.40} from "
                              f"{_peername(writer)}: {'no' if TOKEN_KEY not in hello else 'wrong'} token; "
                              "closing")
                    return
                await self._serve_peer(hello[HELLO_KEY], reader)
            else:
                await self._serve_client(first, reader, writer)
        except (OSError, ValueError, asyncio.IncompleteReadError) as e:
            self.note(f"connection error: {e!r}")
        finally:
            self.conns.discard(writer)
            writer.close()

    async def _serve_peer(self, src: str, reader: asyncio.StreamReader) -> None:
        """Deliver every message of a peer connection."""
        if src not in self.opts.peers:
            self.note(f"ERROR peer hello from unknown node {src!r}; closing")
            return
        self.note(f"peer {src} connected")
        while line := await reader.readline():
            self._deliver(src, _parse(line))
        self.note(f"peer {src} disconnected")

    async def _serve_client(
        self, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Handle every request line of a client connection."""
        self._next_conn += 1
        conn = ClientConn(f"c{self._next_conn}", writer)
        with contextlib.suppress(AttributeError, RuntimeError):
            writer.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        try:
            line = first
            while line:
                self._client_line(conn, line)
                await writer.drain()  # backpressure: no more requests while its replies pile up unread
                line = await reader.readline()
        finally:
            conn.closed = True
            for rid in conn.outstanding:
                self.pending.pop(rid, None)

    def _client_line(self, conn: ClientConn, line: bytes) -> None:
        """Turn one client line into a core request (or a malformed-request error)."""
        if not line.strip():
            return
        req = _parse(line)
        if not isinstance(req, dict) or not isinstance(req.get("type"), str) or "req_id" not in req:
            self.counters.malformed += 1
            rid = req.get("req_id") if isinstance(req, dict) else None
            text = "malformed request: expected a JSON object with type and req_id"
            conn.writer.write(_dumps({**error_body(MALFORMED_REQUEST, text, definite=True), "req_id": rid}))
            return
        self.counters.requests += 1
        self._next_req += 1
        hid = str(self._next_req)
        self.pending[hid] = (conn, req["req_id"])
        conn.outstanding.add(hid)
        effects = self._guarded(f"on_request {req.get('type')}", self.core.on_request, self.now(), conn.name,
                                {**req, "req_id": hid})
        if effects is None:
            effects = [Reply(hid, error_body(CRASH, "the node failed handling this request", definite=False))]
        self.execute(effects)

    def authorized(self, token: Any) -> bool:
        """Whether ``token`` is the run's token (always true when the node was given none)."""
        if self.opts.token is None:
            return True
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.opts.token.encode())

    # ----------------------------------------------------------------- status

    def status(self) -> dict[str, Any]:
        """The control channel's status reply."""
        core_status = self._guarded("status", self.core.status)
        return {
            "type": "status_ok",
            "node": self.node,
            "system": self.opts.system,
            "pid": os.getpid(),
            "time": self.now(),
            "core": core_status if core_status is not None else {"error": "status raised"},
            "faults": self.faults.to_json(),
            "timers": sorted(self.timers),
            "links": {p: link.connected for p, link in sorted(self.links.items())},
            "counters": asdict(self.counters),
            "durable": {
                "appended": self.durable.appended if self.durable else 0,
                "syncs": self.durable.syncs if self.durable else 0,
            },
        }


def _parse(line: bytes) -> Any:
    """Decode one JSON line; ``None`` when it is not JSON (or nested too deeply to decode)."""
    with contextlib.suppress(ValueError, RecursionError):
        return json.loads(line)
    return None


def _peername(writer: asyncio.StreamWriter) -> str:
    """``host:port`` of a connection's other end, for log lines."""
    peer = writer.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
