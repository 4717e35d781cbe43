"""The local backend: one OS process per node on 127.0.0.1 ports, no root needed (DESIGN §4).

Each node runs ``python -m systems_under_test.runtime`` in its own session (so a terminal's Ctrl-C
reaches only the harness, which then tears down in order, and so a SIGKILL to the process group takes
the node and anything it spawned). Crashes are real (SIGKILL, data dir kept for the restart), pauses
are real (SIGSTOP/SIGCONT); network, packet and clock faults are cooperative — applied by the node's
runtime through its control channel, since there is no root for iptables.

A node that is down or frozen cannot take control commands, so the backend keeps the desired fault
state (grudge, packet faults, clock offsets) and re-sends a node's share whenever it comes back
(restart or resume).

No node outlives the harness (:mod:`harness.backends.procguard`): each node is started with the kernel's
parent-death signal (SIGKILL, which also ends a SIGSTOPped node), a watchdog process outside every node
group kills the run's node groups once the harness is gone, the run's pid file lets ``splitbrain
cleanup`` find leftovers, and every node gets ``--parent-pid`` to exit on its own as well. Nodes share
a per-run secret token (passed in their environment, never on the command line, which any local user
can read) that their control and peer ports require.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import signal
import socket
import sys
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import systems_under_test
from harness.backends.base import ClusterSpec, Indefinite, SetupError, Unreachable
from harness.backends.procguard import PidFile, die_with_parent
from harness.backends.seeds import derive_seed
from systems_under_test.runtime.options import TOKEN_ENV

READY_TIMEOUT = 20.0
CONTROL_TIMEOUT = 3.0
STOP_GRACE = 2.0
PROJECT_ROOT = Path(systems_under_test.__file__).resolve().parent.parent


class NodeStartError(SetupError):
    """A node process did not come up (its log tail is in the message)."""


def _ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def free_ports(count: int, exclude: Collection[int] = ()) -> list[int]:
    """``count`` distinct TCP ports that were free on 127.0.0.1 a moment ago, none of ``exclude``.

    They are taken from below the kernel's ephemeral range when possible: a killed node restarts on
    the same port, and a port inside the ephemeral range may meanwhile have become the source port of
    some outgoing connection, which would make the restart fail. Ports handed out earlier and not bound
    yet are free again here: a second call for the same cluster passes them as ``exclude``.
    """
    lo, _hi = _ephemeral_range()
    rng = random.SystemRandom()
    socks: list[socket.socket] = []
    try:
        attempts = 0
        while len(socks) < count:
            attempts += 1
            port = rng.randrange(10000, lo) if lo > 10100 and attempts < 50 * count else 0
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            if s.getsockname()[1] in exclude:
                s.close()
                continue
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class LocalConnection:
    """A client connection to one node: newline-framed JSON, replies matched by ``req_id``."""

    def __init__(self, node: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.node = node
        self._reader = reader
        self._writer = writer
        self._pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._lost: str | None = None
        self._reader_task = asyncio.ensure_future(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while line := await self._reader.readline():
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError:
                    continue
                fut = self._pending.pop(msg.get("req_id"), None) if isinstance(msg, dict) else None
                if fut is not None and not fut.done():
                    fut.set_result(msg)
            self._lost = "connection closed by the node"
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            self._lost = f"connection lost: {e}"
        finally:
            self._lost = self._lost or "connection closed"
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(Indefinite(self._lost))
            self._pending.clear()

    async def call(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``req`` and await its reply; ``Unreachable`` if the link was already down."""
        if self._lost is not None or self._writer.is_closing():
            raise Unreachable(f"{self.node}: {self._lost or 'connection closed'}")
        req_id = req["req_id"]
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        try:
            try:
                self._writer.write(json.dumps(req).encode() + b"\n")
                await self._writer.drain()
            except (OSError, RuntimeError) as e:
                raise Indefinite(f"{self.node}: send failed: {e}") from None
            try:
                return await asyncio.wait_for(fut, timeout)
            except TimeoutError:
                raise Indefinite(f"{self.node}: no reply within {timeout:g}s") from None
        finally:
            self._pending.pop(req_id, None)

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        self._reader_task.cancel()
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, RuntimeError):
            pass


@dataclass(slots=True)
class _Node:
    """Per-node bookkeeping."""

    id: str
    port: int
    control_port: int
    data_dir: Path
    proc: asyncio.subprocess.Process | None = None
    incarnation: int = 0
    paused: bool = False
    pids: list[int] = field(default_factory=list)
    drain: asyncio.Task[None] | None = None
    killed: bool = False  # SIGKILL sent: down, even before the process is reaped

    @property
    def alive(self) -> bool:
        """The process exists, was not killed and has not exited (it may be paused)."""
        return self.proc is not None and self.proc.returncode is None and not self.killed

    @property
    def reachable(self) -> bool:
        """Running and not frozen: it can answer control commands."""
        return self.alive and not self.paused


class LocalBackend:
    """Nodes as local processes. Implements ``Backend`` and the Net/Kill/Pause/Clock/Packet capabilities."""

    name = "local"

    def __init__(self, spec: ClusterSpec) -> None:
        # Nodes run with the project root as their working directory: every path handed to them is absolute.
        spec = replace(spec, run_dir=spec.run_dir.resolve())
        self.spec = spec
        ports = free_ports(2 * len(spec.nodes))
        self.nodes: dict[str, _Node] = {}
        for i, node in enumerate(spec.nodes):
            self.nodes[node] = _Node(node, ports[2 * i], ports[2 * i + 1], spec.run_dir / "data" / node)
        self._grudge: dict[str, list[str]] = {}
        self._packet: dict[str, dict[str, float]] = {}
        self._clock: dict[str, float] = {}
        run_id = f"{spec.run_dir.parent.name}-{spec.run_dir.name}-{os.getpid()}-{id(self):x}"
        self._pidfile = PidFile(run_id, spec.run_dir)
        self._pidfile_open = False
        self.hurry = False  # set on a second interrupt: no restarts, no grace period at teardown
        self.token = secrets.token_hex(16)  # required by the nodes on their control and peer ports

    # ----- lifecycle -------------------------------------------------------------------------------

    def _command(self, n: _Node) -> list[str]:
        peers = ",".join(f"{m.id}=127.0.0.1:{m.port}" for m in self.nodes.values())
        cmd = [
            sys.executable, "-m", "systems_under_test.runtime",
            "--system", self.spec.system,
            "--node", n.id,
            "--listen", f"127.0.0.1:{n.port}",
            "--peers", peers,
            "--control", f"127.0.0.1:{n.control_port}",
            "--data-dir", str(n.data_dir),
            "--log", str(n.data_dir.parent / f"{n.id}.{n.incarnation}.log"),
            "--seed", str(derive_seed(self.spec.seed, n.id, n.incarnation)),
            "--parent-pid", str(os.getpid()),
        ]
        # The core factory and its whole config travel on the command line, so the node process needs
        # no registry (a plugin's core is imported from wherever it is installed).
        cmd += ["--core", self.spec.resolved_variant().core_ref,
                "--config", json.dumps(self.spec.node_config(), sort_keys=True)]
        return cmd

    async def _spawn(self, n: _Node) -> None:
        if self.hurry:
            raise NodeStartError(f"node {n.id} not restarted: teardown was hurried")
        if not self._pidfile_open:
            self._pidfile.open()
            self._pidfile_open = True
        if n.proc is not None and n.proc.returncode is None:
            await n.proc.wait()  # a killed incarnation still holding its ports until it is reaped
        n.incarnation += 1
        n.data_dir.mkdir(parents=True, exist_ok=True)
        stderr_path = n.data_dir.parent / f"{n.id}.{n.incarnation}.stderr"
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
               TOKEN_ENV: self.token}
        with stderr_path.open("wb") as err:
            n.proc = await asyncio.create_subprocess_exec(
                *self._command(n), stdout=asyncio.subprocess.PIPE, stderr=err,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True, cwd=str(PROJECT_ROOT), env=env, preexec_fn=die_with_parent,
            )
        n.pids.append(n.proc.pid)
        self._pidfile.add_node(n.proc.pid)
        n.paused = n.killed = False
        assert n.proc.stdout is not None
        try:
            line = await asyncio.wait_for(n.proc.stdout.readline(), READY_TIMEOUT)
        except TimeoutError:
            line = b""
        if not line.startswith(b"READY"):
            self._kill_now(n)
            await n.proc.wait()
            raise NodeStartError(f"node {n.id} did not become ready:\n{self._tail(n)}")
        n.drain = asyncio.ensure_future(_drain(n.proc.stdout))
        await self._control(n, {"type": "status"})

    def _tail(self, n: _Node, lines: int = 15) -> str:
        out = []
        for suffix in ("stderr", "log"):
            p = n.data_dir.parent / f"{n.id}.{n.incarnation}.{suffix}"
            if p.is_file():
                text = p.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
                out.append(f"--- {p.name}\n" + "\n".join(text))
        return "\n".join(out) or "(no output)"

    async def setup(self) -> None:
        """Start every node and wait until each prints READY and answers a status request."""
        (self.spec.run_dir / "data").mkdir(parents=True, exist_ok=True)
        await asyncio.gather(*(self._spawn(n) for n in self.nodes.values()))

    def _kill_now(self, n: _Node, sig: int = signal.SIGKILL) -> None:
        if n.proc is not None and n.proc.returncode is None:
            try:
                os.killpg(n.proc.pid, sig)
            except ProcessLookupError:
                pass

    async def teardown(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after a grace period); idempotent."""
        live = [n for n in self.nodes.values() if n.alive]
        for n in live:
            self._kill_now(n, signal.SIGTERM)
            self._kill_now(n, signal.SIGCONT)
        if live:
            grace = 0.0 if self.hurry else STOP_GRACE
            waits = [asyncio.wait_for(n.proc.wait(), grace) for n in live if n.proc is not None]
            await asyncio.gather(*waits, return_exceptions=True)
        for n in self.nodes.values():
            self._kill_now(n)
            if n.proc is not None:
                await n.proc.wait()
            if n.drain is not None:
                n.drain.cancel()
            n.paused = False
        if self._pidfile_open:
            self._pidfile.close()
            self._pidfile_open = False

    def kill_all_now(self) -> None:
        """Synchronous last resort (no event loop needed): SIGKILL every node's process group."""
        for n in self.nodes.values():
            for pid in n.pids:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def pids(self) -> list[int]:
        """Every node process id ever spawned by this backend."""
        return [pid for n in self.nodes.values() for pid in n.pids]

    def collect_logs(self, dest: Path) -> None:
        """Write ``dest/<node>.log``: every incarnation's log and stderr, in order."""
        dest.mkdir(parents=True, exist_ok=True)
        for n in self.nodes.values():
            parts = []
            for k in range(1, n.incarnation + 1):
                for suffix in ("log", "stderr"):
                    p = n.data_dir.parent / f"{n.id}.{k}.{suffix}"
                    if p.is_file() and p.stat().st_size:
                        text = p.read_text(encoding="utf-8", errors="replace")
                        parts.append(f"===== {n.id} incarnation {k} ({suffix}) =====\n{text}")
            (dest / f"{n.id}.log").write_text("".join(parts), encoding="utf-8")

    # ----- clients and control -----------------------------------------------------------------------

    async def connect(self, node: str) -> LocalConnection:
        """Open a client connection; ``Unreachable`` when the node does not accept it."""
        n = self.nodes[node]
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", n.port),
                                                    CONTROL_TIMEOUT)
        except (OSError, TimeoutError) as e:
            raise Unreachable(f"{node}: cannot connect: {e or type(e).__name__}") from None
        return LocalConnection(node, reader, writer)

    async def _control(self, n: _Node, msg: dict[str, Any]) -> dict[str, Any]:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", n.control_port), CONTROL_TIMEOUT
            )
        except (OSError, TimeoutError) as e:
            raise Unreachable(f"{n.id}: control channel unreachable: {e or type(e).__name__}") from None
        try:
            writer.write(json.dumps({**msg, "token": self.token}).encode() + b"\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), CONTROL_TIMEOUT)
        except (OSError, TimeoutError) as e:
            raise Unreachable(
                f"{n.id}: control request {msg['type']} failed: {e or type(e).__name__}"
            ) from None
        finally:
            writer.close()
        try:
            reply: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            raise RuntimeError(f"{n.id}: bad control reply {line!r}") from None
        if reply.get("type") != f"{msg['type']}_ok":
            raise RuntimeError(f"{n.id}: control request {msg} answered {reply}")
        return reply

    async def node_status(self, node: str) -> dict[str, Any]:
        """The node's status reply (``core`` = its ``Core.status()``); ``Unreachable`` when down/paused."""
        n = self.nodes[node]
        if not n.reachable:
            raise Unreachable(f"{node} is {'paused' if n.alive else 'down'}")
        return await self._control(n, {"type": "status"})

    async def _reapply(self, n: _Node) -> None:
        """Bring a node that was down or frozen up to date with the desired fault state."""
        await self._control(n, {"type": "partition", "drop_from": sorted(self._grudge.get(n.id, []))})
        if n.id in self._packet:
            await self._control(n, {"type": "packet", **self._packet[n.id]})
        await self._control(n, {"type": "clock", "offset": self._clock.get(n.id, 0.0)})

    # ----- capabilities -------------------------------------------------------------------------------

    async def partition(self, grudge: Any) -> None:
        """Replace the partition: each node drops peer traffic from the nodes its grudge lists."""
        self._grudge = {str(k): sorted(str(x) for x in v) for k, v in dict(grudge).items()}
        await asyncio.gather(*(
            self._control(n, {"type": "partition", "drop_from": self._grudge.get(n.id, [])})
            for n in self.nodes.values() if n.reachable
        ))

    async def heal(self) -> None:
        """Remove every partition and packet fault (clock offsets stay, as in the runtime)."""
        self._grudge, self._packet = {}, {}
        await asyncio.gather(*(self._control(n, {"type": "heal"}) for n in self.nodes.values()
                               if n.reachable))

    async def kill(self, node: str) -> None:
        """SIGKILL the node's process group and reap it; its data dir is kept.

        The node is down from the signal on: a kill cut short while the process is being reaped (the
        nemesis is cancelled at the end of the main phase) is still a kill, which ``start`` undoes.
        """
        n = self.nodes[node]
        if not n.alive or n.proc is None:
            return
        n.killed, n.paused = True, False
        self._kill_now(n)
        await n.proc.wait()
        if n.drain is not None:
            n.drain.cancel()

    async def start(self, node: str) -> None:
        """Restart a killed node on the same ports and data dir; no-op if it runs."""
        n = self.nodes[node]
        if n.alive:
            return
        await self._spawn(n)
        await self._reapply(n)

    async def pause(self, node: str) -> None:
        """SIGSTOP the node's process group."""
        n = self.nodes[node]
        if n.alive and not n.paused:
            self._kill_now(n, signal.SIGSTOP)
            n.paused = True

    async def resume(self, node: str) -> None:
        """SIGCONT the node's process group and re-send the fault state it missed."""
        n = self.nodes[node]
        if n.alive and n.paused:
            self._kill_now(n, signal.SIGCONT)
            n.paused = False
            await self._reapply(n)

    async def set_clock_offset(self, node: str, seconds: float) -> None:
        """Make the node's clock read monotonic time + ``seconds``."""
        self._clock[node] = float(seconds)
        n = self.nodes[node]
        if n.reachable:
            await self._control(n, {"type": "clock", "offset": float(seconds)})

    async def set_packet_faults(
        self, node: str, *, delay: float = 0.0, loss: float = 0.0, dup: float = 0.0
    ) -> None:
        """Delay / drop / duplicate the peer messages ``node`` sends."""
        self._packet[node] = {"delay": float(delay), "loss": float(loss), "dup": float(dup)}
        n = self.nodes[node]
        if n.reachable:
            await self._control(n, {"type": "packet", **self._packet[node]})


async def _drain(stream: asyncio.StreamReader) -> None:
    """Discard a node's stdout after READY so a chatty node never blocks on a full pipe."""
    try:
        while await stream.read(65536):
            pass
    except (OSError, asyncio.CancelledError):
        pass


def make_local_backend(cluster: ClusterSpec, **_: Any) -> LocalBackend:
    """Backend-registry factory for ``local``."""
    return LocalBackend(cluster)
