"""The shim: hosts one external Maelstrom-protocol program and bridges its stdin/stdout to our network.

The program under test is an executable that reads JSON messages (``{"src", "dest", "body"}``), one
per line, on stdin and writes them on stdout. The shim owns that process and puts it on the harness's
node network exactly where one of our own nodes would be:

* messages the program addresses to another node (or to a service) leave through our peer links, so
  the cooperative faults of :mod:`systems_under_test.runtime.faults` apply to them unchanged:
  partitions drop what arrives from a node in this node's grudge (the services host included: every
  service reply arrives from ``services``, whatever service sent it), packet faults delay/drop/duplicate
  what it sends. The control channel is the runtime's own (``status``/``partition``/``packet``/``heal``).
* client requests arrive on the listen port as our client protocol (``type`` + ``req_id``); the shim
  turns each into a Maelstrom message from a client id (``c1``, ``c2``, ...) with a fresh ``msg_id``
  and turns the program's reply (``in_reply_to``) back into a client reply. An error reply gets
  ``definite`` from Maelstrom's table (codes outside it: indefinite).
* the program runs in the node's data directory (what it writes there survives a kill), in the
  shim's process group (SIGKILL/SIGSTOP of the group hit both) and with the kernel's parent-death
  signal set, so it dies with the shim even if the shim is SIGKILLed alone.

Bad programs never hang or crash the harness: a line that is not JSON, or has no ``dest``/``body``,
is logged (the first few), counted and skipped; overlong lines are cut off by the reader's bound; a
program that stops reading its stdin gets messages dropped once the pipe buffer passes a bound; a
reply to a msg_id nobody waits for is counted and dropped. When the program exits on its own the
shim logs its status and exits with status 3, which the backend sees as a crashed node.

When the run gives the shim a token (in its environment, as our node runtime gets it; removed before
the program starts, so the program never sees it), control requests and peer connections must carry
it: anything else is logged and the connection closed, so a local process cannot fault the node.

Counters (``status`` over the control channel, and a stats file refreshed every second) give the
report per-node message counts and the bad-output counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hmac
import json
import os
import random
import resource
import signal
import sys
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from systems_under_test.maelstrom.errors import annotate
from systems_under_test.maelstrom.services import SERVICE_NAMES, SERVICES_HOST, Services
from systems_under_test.runtime.faults import Faults
from systems_under_test.runtime.nodelog import NodeLog
from systems_under_test.runtime.peers import HELLO_KEY, TOKEN_KEY, PeerLink, hello_line

LINE_LIMIT = 1024 * 1024  # a longer stdout line is cut off and counted as malformed
STDIN_LIMIT = 4 * 1024 * 1024  # bytes queued for a program that does not read its stdin
LOGGED_BAD_LINES = 20
INIT_MSG_ID = 1
EXIT_PROGRAM_DIED = 3
EXIT_NO_INIT = 4
UNAUTHORIZED = 1001  # as our node runtime: a control request without the run's token
STATS_EVERY = 1.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class ShimOptions:
    """Everything one shim process needs (see :func:`parse_args`)."""

    node: str
    nodes: tuple[str, ...]  # cluster node ids, handed to the program in init
    listen: tuple[str, int]
    peers: dict[str, tuple[str, int]]  # every addressable name (nodes and services) -> address
    control: tuple[str, int]
    data_dir: Path
    command: tuple[str, ...] = ()  # the program and its arguments; empty = host the services
    log: Path | None = None
    stats: Path | None = None
    seed: int = 0
    init_timeout: float = 10.0
    parent_pid: int | None = None
    after_init: tuple[dict[str, Any], ...] = ()  # bodies sent from the harness right after init_ok
    token: str | None = None  # the run's shared secret for control and peer connections (None: open)


@dataclass(slots=True)
class ShimCounters:
    """What the shim saw; reported in ``status`` and the stats file."""

    client_requests: int = 0
    client_replies: int = 0
    msgs_out: int = 0  # messages the program sent to other nodes or services
    msgs_in: int = 0  # messages from peers handed to the program
    dropped_in: int = 0  # dropped by a partition
    dropped_out: int = 0  # dropped by packet loss
    service_msgs: int = 0  # of msgs_out, those addressed to a service
    malformed: int = 0  # stdout lines that are not a message
    unknown_dest: int = 0
    unknown_reply: int = 0  # replies to a msg_id no client waits for
    late_replies: int = 0  # replies to a client that already gave up
    stdin_dropped: int = 0  # messages dropped because the program does not read its stdin
    error_codes: Counter[str] = field(default_factory=Counter)
    msg_types: Counter[str] = field(default_factory=Counter)  # body types the program sent to peers

    def to_json(self) -> dict[str, Any]:
        """A JSON-able copy."""
        out: dict[str, Any] = {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]
        out["error_codes"] = dict(self.error_codes)
        out["msg_types"] = dict(self.msg_types.most_common(30))
        return out


@dataclass(slots=True)
class _Client:
    name: str
    writer: asyncio.StreamWriter
    outstanding: set[int] = field(default_factory=set)
    closed: bool = False


class BatchingLink(PeerLink):
    """Our peer link, writing everything queued in one ``write`` (one syscall per batch, not per message).

    Routing speed is messages per second; a program sends many small messages in a burst, and the
    runtime's link (made for our own nodes' lower rates) writes them one at a time.
    """

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(hello_line(self.me, self.token))
        eof = asyncio.ensure_future(reader.read())  # peers never write back: completes at EOF
        try:
            while True:
                if self._queue:
                    batch = b"".join(self._queue)
                    self.sent += len(self._queue)
                    self._queue.clear()
                    writer.write(batch)
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


def _peername(writer: asyncio.StreamWriter) -> str:
    """``host:port`` of a connection's other end, for log lines."""
    peer = writer.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)


def _die_with_parent() -> None:
    """In the program's child between fork and exec: SIGKILL it when the shim dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


async def read_lines(
    reader: asyncio.StreamReader,
    on_line: Callable[[bytes], None],
    on_overlong: Callable[[], None],
    limit: int = LINE_LIMIT,
) -> None:
    """Call ``on_line`` with every non-empty newline-terminated line until EOF, reading in large chunks.

    Chunks rather than ``readline`` because routing speed is lines per second: one await per 64 KiB
    instead of one per line. A line longer than ``limit`` is dropped whole (``on_overlong``), so a
    program that floods its stdout without newlines cannot grow our memory.
    """
    pending = b""
    skipping = False
    while chunk := await reader.read(65536):
        pending += chunk
        if b"\n" not in chunk:
            if len(pending) > limit:
                if not skipping:
                    on_overlong()
                pending, skipping = b"", True
            continue
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if skipping:
                skipping = False  # the tail of an overlong line
                continue
            if line.strip():
                on_line(line + b"\n")
        if len(pending) > limit:
            on_overlong()
            pending, skipping = b"", True


def _line(obj: Any) -> bytes:
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


class Shim:
    """One node of an external program (or the services host) on the harness network."""

    def __init__(self, opts: ShimOptions) -> None:
        self.opts = opts
        self.node = opts.node
        self.log = NodeLog(opts.log, opts.node)
        self.faults = Faults()
        self.drop_to: frozenset[str] = frozenset()  # peers whose grudge names this node (docker: see send)
        self.counters = ShimCounters()
        self.links: dict[str, PeerLink] = {}
        self._stdin: list[bytes] = []  # lines for the program, written together at the end of this loop turn
        self.conns: set[asyncio.StreamWriter] = set()
        self.clients: dict[str, _Client] = {}
        self.pending: dict[int, tuple[_Client, Any]] = {}
        self.rng = random.Random(f"{opts.seed}/{opts.node}/packet")
        self.services = Services(random.Random(f"{opts.seed}/services")) if not opts.command else None
        self.proc: asyncio.subprocess.Process | None = None
        self.stop = asyncio.Event()
        self.exit_code = 0
        self.ready = False
        self._init_reply: asyncio.Future[dict[str, Any]] | None = None
        self._next_msg = INIT_MSG_ID
        self._next_client = 0
        self._bad_logged = 0
        self._tasks: list[asyncio.Task[Any]] = []
        self._early: deque[bytes] = deque(maxlen=1000)  # messages for the program before init_ok

    # ------------------------------------------------------------------ helpers used by the control channel

    def authorized(self, token: Any) -> bool:
        """Whether ``token`` is the run's token (always true when the shim was given none)."""
        if self.opts.token is None:
            return True
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.opts.token.encode())

    def note(self, text: str) -> None:
        """One line in the node log."""
        self.log.write(text)

    def set_faults(self, faults: Faults) -> None:
        """Install a new fault state (partition drops, packet faults; the clock offset is ignored)."""
        self.faults = faults

    def status(self) -> dict[str, Any]:
        """The control channel's status reply."""
        return {
            "type": "status_ok",
            "node": self.node,
            "system": "maelstrom",
            "pid": os.getpid(),
            "program_pid": self.proc.pid if self.proc is not None else None,
            "time": asyncio.get_running_loop().time(),
            "core": {"ready": self.ready},
            "faults": self.faults.to_json(),
            "counters": self.counters.to_json(),
            "links": {p: link.connected for p, link in sorted(self.links.items())},
        }

    def write_stats(self) -> None:
        """Write the counters to the stats file (atomically)."""
        if self.opts.stats is None:
            return
        tmp = self.opts.stats.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            max_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the shim's own peak memory
            tmp.write_text(
                json.dumps(
                    {
                        "node": self.node,
                        "exit_code": self.exit_code,
                        "max_rss_kb": max_rss_kb,
                        **self.counters.to_json(),
                    }
                )
            )
            tmp.replace(self.opts.stats)

    def _bad(self, why: str, line: bytes) -> None:
        self.counters.malformed += 1
        if self._bad_logged < LOGGED_BAD_LINES:
            self._bad_logged += 1
            self.note(f"bad output from the program ({why}): {line[:200]!r}")
            if self._bad_logged == LOGGED_BAD_LINES:
                self.note("further bad output is counted, not logged")

    # ------------------------------------------------------------------ the program

    async def start_program(self) -> None:
        """Spawn the program, send ``init`` and wait for ``init_ok``; ``RuntimeError`` with the reason."""
        self.opts.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.opts.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=str(self.opts.data_dir),
                limit=LINE_LIMIT,
                preexec_fn=_die_with_parent,
            )
        except OSError as e:
            raise RuntimeError(f"cannot start {self.opts.command[0]}: {e}") from None
        self.note(f"started {' '.join(self.opts.command)} as pid {self.proc.pid} in {self.opts.data_dir}")
        loop = asyncio.get_running_loop()
        self._init_reply = loop.create_future()
        self._tasks.append(loop.create_task(self._read_stdout()))
        waiter = loop.create_task(self.proc.wait())
        self._to_program(
            _line(
                {
                    "src": "c0",
                    "dest": self.node,
                    "body": {
                        "type": "init",
                        "msg_id": INIT_MSG_ID,
                        "node_id": self.node,
                        "node_ids": list(self.opts.nodes),
                    },
                }
            )
        )
        done, _ = await asyncio.wait(
            {self._init_reply, waiter}, timeout=self.opts.init_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if self._init_reply in done:
            body = self._init_reply.result()
            if body.get("type") != "init_ok":
                raise RuntimeError(f"answered init with {json.dumps(body)[:300]} instead of init_ok")
            self.ready = True
            self._tasks.append(loop.create_task(self._watch_exit(waiter)))
            for body in self.opts.after_init:
                self._next_msg += 1
                self._to_program(
                    _line({"src": "c0", "dest": self.node, "body": {**body, "msg_id": self._next_msg}})
                )
            for line in self._early:
                self._to_program(line)
            self._early.clear()
            return
        waiter.cancel()
        if self.proc.returncode is not None:
            raise RuntimeError(f"exited with status {self.proc.returncode} before answering init")
        raise RuntimeError(f"did not answer init within {self.opts.init_timeout:g}s")

    async def _watch_exit(self, waiter: asyncio.Task[int]) -> None:
        status = await waiter
        self.note(f"the program exited on its own with status {status}: this node has crashed")
        print(
            f"node {self.node}: the program exited on its own with status {status}",
            file=sys.stderr,
            flush=True,
        )
        self.exit_code = EXIT_PROGRAM_DIED
        self.stop.set()

    def _to_program(self, line: bytes) -> None:
        """Queue one message line for the program's stdin; all lines of one loop turn go in one write."""
        if not self._stdin:
            asyncio.get_running_loop().call_soon(self._flush_stdin)
        self._stdin.append(line)

    def _flush_stdin(self) -> None:
        """Write the queued lines (dropped, and counted, once too much waits for a program not reading)."""
        lines, self._stdin = self._stdin, []
        proc = self.proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing() or not lines:
            return
        transport = proc.stdin.transport
        if transport.get_write_buffer_size() > STDIN_LIMIT:  # type: ignore[attr-defined]
            self.counters.stdin_dropped += len(lines)
            return
        with contextlib.suppress(OSError, RuntimeError):
            proc.stdin.write(b"".join(lines))

    async def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await read_lines(
                self.proc.stdout,
                self._from_program,
                lambda: self._bad(f"line longer than {LINE_LIMIT} bytes", b""),
            )

    def _from_program(self, line: bytes) -> None:
        """Route one line the program wrote."""
        try:
            msg = json.loads(line)
        except ValueError:
            self._bad("not JSON", line)
            return
        if (
            not isinstance(msg, dict)
            or not isinstance(msg.get("dest"), str)
            or not isinstance(msg.get("body"), dict)
        ):
            self._bad("not a message with dest and body", line)
            return
        dest, body = msg["dest"], msg["body"]
        if not self.ready:
            fut = self._init_reply
            if body.get("in_reply_to") == INIT_MSG_ID and fut is not None and not fut.done():
                fut.set_result(body)
            else:
                self.note(f"message before init_ok ignored: {line[:200]!r}")
            return
        if dest == "c0":
            return  # replies to the harness's own setup messages (topology_ok)
        if dest == self.node:
            self._to_program(line if line.endswith(b"\n") else line + b"\n")
        elif dest in self.opts.peers:
            self._send(dest, line if line.endswith(b"\n") else line + b"\n", body)
        elif dest in self.clients:
            self._reply(self.clients[dest], body)
        elif dest[:1] == "c" and dest[1:].isdigit() and int(dest[1:]) <= self._next_client:
            self.counters.late_replies += 1  # the client gave up (timed out) and hung up
        else:
            self.counters.unknown_dest += 1
            if self.counters.unknown_dest <= LOGGED_BAD_LINES:
                self.note(f"message to unknown destination {dest!r} dropped")

    # ------------------------------------------------------------------ the network

    def _send(self, dest: str, line: bytes, body: dict[str, Any]) -> None:
        """Send one message to a peer node or a service, through this node's packet faults.

        ``drop_to`` is set only where partitions are firewall rules (docker): there TCP would carry a
        message across a short partition once it heals, so the sender drops what a partitioned peer
        would not have received, as Maelstrom's network does.
        """
        self.counters.msgs_out += 1
        if dest in self.drop_to:
            self.counters.dropped_out += 1
            return
        if dest not in self.opts.nodes:
            self.counters.service_msgs += 1
        self.counters.msg_types[str(body.get("type"))] += 1
        link = self.links.get(dest)
        if link is None:
            link = self.links[dest] = BatchingLink(
                self.node, dest, self.opts.peers[dest], self.note, self.opts.token
            )
        packet = self.faults.packet
        if packet.active:
            if packet.loss > 0 and self.rng.random() < packet.loss:
                self.counters.dropped_out += 1
                return
            copies = 2 if packet.dup > 0 and self.rng.random() < packet.dup else 1
            for _ in range(copies):
                if packet.delay > 0:
                    asyncio.get_running_loop().call_later(packet.delay, link.send, line)
                else:
                    link.send(line)
            return
        link.send(line)

    def _deliver(self, src: str, line: bytes) -> None:
        """A message from peer ``src``: drop it if partitioned, else hand it to the program or a service."""
        if src in self.faults.drop_from:
            self.counters.dropped_in += 1
            return
        self.counters.msgs_in += 1
        if self.services is not None:
            try:
                msg = json.loads(line)
            except ValueError:
                return
            reply = self.services.handle(msg) if isinstance(msg, dict) else None
            if reply is not None and reply["dest"] in self.opts.peers:
                self._send(reply["dest"], _line(reply), reply["body"])
            return
        if not self.ready:
            self._early.append(line)
            return
        self._to_program(line)

    async def on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A peer (hello first) or a client connection on the listen port."""
        self.conns.add(writer)
        try:
            first = await reader.readline()
            if not first:
                return
            hello: Any = None
            with contextlib.suppress(ValueError):
                hello = json.loads(first)
            if isinstance(hello, dict) and isinstance(hello.get(HELLO_KEY), str):
                src = hello[HELLO_KEY]
                if not self.authorized(hello.get(TOKEN_KEY)):
                    self.note(
                        f"ERROR rejected peer connection claiming to be {src} from {_peername(writer)}: "
                        f"{'wrong' if TOKEN_KEY in hello else 'no'} token; closing"
                    )
                    return
                await read_lines(
                    reader,
                    lambda line: self._deliver(src, line),
                    lambda: self.note(f"overlong line from {src} dropped"),
                )
            else:
                await self._serve_client(first, reader, writer)
        except (OSError, ValueError, asyncio.IncompleteReadError) as e:
            self.note(f"connection error: {e!r}")
        finally:
            self.conns.discard(writer)
            writer.close()

    # ------------------------------------------------------------------ clients

    async def _serve_client(
        self, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._next_client += 1
        client = _Client(f"c{self._next_client}", writer)
        self.clients[client.name] = client
        try:
            line = first
            while line:
                self._client_line(client, line)
                line = await reader.readline()
        finally:
            client.closed = True
            self.clients.pop(client.name, None)
            for mid in client.outstanding:
                self.pending.pop(mid, None)

    def _client_line(self, client: _Client, line: bytes) -> None:
        if not line.strip():
            return
        req: Any = None
        with contextlib.suppress(ValueError):
            req = json.loads(line)
        if not isinstance(req, dict) or not isinstance(req.get("type"), str) or "req_id" not in req:
            rid = req.get("req_id") if isinstance(req, dict) else None
            client.writer.write(
                _line(
                    {
                        "type": "error",
                        "code": 12,
                        "text": "malformed request",
                        "definite": True,
                        "req_id": rid,
                    }
                )
            )
            return
        if self.services is not None:
            client.writer.write(
                _line(
                    {
                        "type": "error",
                        "code": 10,
                        "text": "the services host takes no clients",
                        "definite": True,
                        "req_id": req["req_id"],
                    }
                )
            )
            return
        if not self.ready:  # a program must see init before anything else (docker clients dial early)
            client.writer.write(
                _line(
                    {
                        "type": "error",
                        "code": 11,
                        "text": "the node is not initialised yet",
                        "definite": True,
                        "req_id": req["req_id"],
                    }
                )
            )
            return
        self.counters.client_requests += 1
        self._next_msg += 1
        mid = self._next_msg
        self.pending[mid] = (client, req["req_id"])
        client.outstanding.add(mid)
        body = {k: v for k, v in req.items() if k != "req_id"}
        body["msg_id"] = mid
        self._to_program(_line({"src": client.name, "dest": self.node, "body": body}))

    def _reply(self, client: _Client, body: dict[str, Any]) -> None:
        mid = body.get("in_reply_to")
        entry = self.pending.pop(mid, None) if isinstance(mid, int) else None
        if entry is None or entry[0] is not client:
            self.counters.unknown_reply += 1
            if self.counters.unknown_reply <= LOGGED_BAD_LINES:
                self.note(f"reply to {client.name} for unknown msg_id {mid!r} dropped")
            return
        client.outstanding.discard(mid)  # type: ignore[arg-type]
        if body.get("type") == "error":
            body = annotate(body)
            self.counters.error_codes[str(body.get("code"))] += 1
        self.counters.client_replies += 1
        if not client.closed:
            client.writer.write(_line({**body, "req_id": entry[1]}))

    # ------------------------------------------------------------------ shutdown

    def control_request(self, req: Any) -> dict[str, Any]:
        """One authorized control request: the runtime's handling, plus ``drop_to``, which a ``partition``
        sets (to its ``drop_to`` list, none if it has none) and a ``heal`` clears; a refused request
        changes nothing."""
        from systems_under_test.runtime.control import handle_control

        if isinstance(req, dict):
            req.pop("token", None)
        reply = handle_control(self, req, frozenset(self.opts.peers) | {SERVICES_HOST})  # type: ignore[arg-type]
        if isinstance(req, dict) and reply.get("type") in ("partition_ok", "heal_ok"):
            given = req.get("drop_to") if reply["type"] == "partition_ok" else None
            names = {str(n) for n in given} if isinstance(given, list) else set()
            if SERVICES_HOST in names:  # a program addresses the services by their own names
                names.update(SERVICE_NAMES)
            self.drop_to = frozenset(names)
        return reply

    async def serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The runtime's control channel (see :meth:`control_request`)."""
        self.conns.add(writer)
        try:
            while line := await reader.readline():
                req: Any = None
                with contextlib.suppress(ValueError):
                    req = json.loads(line)
                if not self.authorized(req.get("token") if isinstance(req, dict) else None):
                    self.note(
                        f"ERROR rejected control request from {_peername(writer)}: "
                        f"{'wrong' if isinstance(req, dict) and 'token' in req else 'no'} token; closing"
                    )
                    writer.write(
                        _line(
                            {
                                "type": "error",
                                "code": UNAUTHORIZED,
                                "definite": True,
                                "text": "unauthorized: the run token is required",
                            }
                        )
                    )
                    await writer.drain()
                    return
                writer.write(_line(self.control_request(req)))
                await writer.drain()
        except (OSError, ValueError) as e:
            self.note(f"control connection error: {e!r}")
        finally:
            self.conns.discard(writer)
            writer.close()

    async def close(self) -> None:
        """Kill the program, close links and connections, write the final stats."""
        for t in self._tasks:
            t.cancel()
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.proc.wait(), 2.0)
        for writer in list(self.conns):
            writer.close()
        for link in self.links.values():
            await link.close()
        self.write_stats()
        self.note("stopped")
        self.log.close()
