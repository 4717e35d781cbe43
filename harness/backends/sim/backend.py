"""``SimBackend``: the ``harness.backends.base.Backend`` interface over simulated nodes and network.

Everything the runner and the nemesis see is the same as with real processes: ``connect`` gives a
connection whose ``call`` may raise ``Unreachable`` (the request certainly never reached a node: the
node is down, like a refused TCP connect) or ``Indefinite`` (no answer in time, or the node crashed
with the request in progress), and faults arrive through the ``nemesis.capabilities`` protocols.
Only the transport differs: requests and replies travel the simulated client links, and all waiting
happens on the virtual clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.backends.base import ClusterSpec, Indefinite, Unreachable
from harness.backends.sim.loop import VirtualTimeLoop
from harness.backends.sim.network import LinkParams, PacketFaults, SimNetwork
from harness.backends.sim.node import CoreFactory, NodeState, SimNode


def _expire(fut: asyncio.Future[Any], node: str, timeout: float) -> None:
    if not fut.done():
        fut.set_exception(Indefinite(f"no reply from {node} within {timeout}s"))


class SimConnection:
    """A client connection to one simulated node over a simulated client link."""

    def __init__(self, backend: SimBackend, node: str, endpoint: str) -> None:
        self.node = node
        self.endpoint = endpoint
        self._backend = backend
        self._pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._closed = False
        self._auto_id = 0

    def _on_reply(self, src: str, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        fut = self._pending.pop(msg.get("req_id"), None)
        if fut is not None and not fut.done():
            fut.set_result(msg)

    def _lost(self, why: str) -> None:
        """The node died: every request in progress has an unknown outcome."""
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(Indefinite(why))
        self._pending.clear()

    async def call(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``req`` and await its reply; raises ``Unreachable`` or ``Indefinite``."""
        backend = self._backend
        if self._closed:
            raise Unreachable(f"connection to {self.node} is closed")
        node = backend.nodes[self.node]
        net = backend.net
        if node.state is NodeState.CRASHED:
            # Like a refused connect: the refusal takes a round trip to come back.
            await asyncio.sleep(2 * net.client_link.base)
            raise Unreachable(f"{self.node} is down")
        if "req_id" not in req:
            self._auto_id += 1
            req = {**req, "req_id": self._auto_id}
        rid = req["req_id"]
        loop = backend.loop
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[rid] = fut
        net.send(self.endpoint, self.node, req)
        # The deadline is an event on the cluster's own queue rather than ``asyncio.wait_for``: same
        # outcome (Indefinite when no reply came in time), without a helper future and an asyncio timer
        # per request -- the client side of a busy run makes one of these per operation.
        expiry = None if timeout is None else net.events.call_at(loop.time() + timeout, _expire, fut,
                                                                 self.node,
                                                                 timeout)
        try:
            return await fut
        finally:
            if expiry is not None:
                expiry.cancel()
            self._pending.pop(rid, None)

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if not self._closed:
            self._closed = True
            self._lost("connection closed")
            self._backend._forget(self)


class SimBackend:
    """The whole cluster in this process, on the virtual-time loop (DESIGN §3-4)."""

    name = "sim"

    def __init__(
        self,
        spec: ClusterSpec,
        *,
        peer_link: LinkParams | None = None,
        client_link: LinkParams | None = None,
        factory: CoreFactory | None = None,
        require_virtual: bool = True,
    ) -> None:
        self.spec = spec
        self.peer_link = peer_link
        self.client_link = client_link
        self.require_virtual = require_virtual
        if factory is None:
            from harness.backends.base import SpecError

            variant = spec.resolved_variant()
            if variant.factory is None:
                raise SpecError(f"{spec.system.split(':')[0]} is a third-party system with no core in this "
                                "project; the sim backend runs only systems with a sans-IO core (use "
                                "--backend "
                                "local or docker)")
            factory = variant.make_core
        self.factory: CoreFactory = factory
        self.nodes: dict[str, SimNode] = {}
        self._conns: dict[str, list[SimConnection]] = {n: [] for n in spec.nodes}
        self._next_conn = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._net: SimNetwork | None = None
        self.event_trace: list[tuple[str, str]] = []  # (node, event name) in the order announced
        self._event_listeners: list[Callable[[str, str, Mapping[str, Any]], None]] = []

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the cluster runs on (set by ``setup``)."""
        if self._loop is None:
            raise RuntimeError("SimBackend.setup() has not run")
        return self._loop

    @property
    def net(self) -> SimNetwork:
        """The simulated network (set by ``setup``)."""
        if self._net is None:
            raise RuntimeError("SimBackend.setup() has not run")
        return self._net

    # -- Backend -----------------------------------------------------------------------------------
    async def setup(self) -> None:
        """Build the network and every node, and start them all at the current virtual time."""
        loop = asyncio.get_running_loop()
        if self.require_virtual and not isinstance(loop, VirtualTimeLoop):
            raise RuntimeError(
                "the sim backend needs the virtual-time loop: run it under "
                "asyncio.Runner(loop_factory=harness.backends.sim.new_loop)"
            )
        self._loop = loop
        self._net = SimNetwork(loop, self.spec.seed, peer_link=self.peer_link, client_link=self.client_link)
        for n in self.spec.nodes:
            self.nodes[n] = SimNode(n, self.spec.nodes, self.factory, self.spec.config, self.spec.seed, loop,
                                    self._net)
        for node in self.nodes.values():
            node.on_event = self._announced
        for n in self.spec.nodes:
            self.nodes[n].start()

    # -- announced protocol events (nemesis.capabilities.Events) -------------------------------------
    def watch_events(self, callback: Callable[[str, str, Mapping[str, Any]], None]) -> None:
        """Call ``callback(node, name, data)`` synchronously whenever a core announces an event."""
        self._event_listeners.append(callback)

    def after_messages(self, node: str, count: int, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once ``node`` sent ``count`` more messages in its current step, or when that step
        ends (nemesis.capabilities.Steps): a fault part-way through a broadcast."""
        self.nodes[node].after_messages(count, fn)

    def _announced(self, node: str, name: str, data: Mapping[str, Any]) -> None:
        self.event_trace.append((node, name))
        for callback in list(self._event_listeners):
            callback(node, name, data)

    async def teardown(self) -> None:
        """Stop every node and fail requests in progress (idempotent)."""
        for n, node in self.nodes.items():
            node.crash()
            for conn in self._conns.get(n, []):
                conn._lost("cluster torn down")
            if self._net is not None:
                self._net.detach(n)
        if self._net is not None:
            self._net.events.clear()

    async def connect(self, node: str) -> SimConnection:
        """Open a client connection to ``node``; ``Unreachable`` if it is down or unknown."""
        if node not in self.nodes:
            raise Unreachable(f"no node {node!r} (nodes: {', '.join(self.spec.nodes)})")
        if self.nodes[node].state is NodeState.CRASHED:
            await asyncio.sleep(2 * self.net.client_link.base)
            raise Unreachable(f"{node} is down")
        self._next_conn += 1
        conn = SimConnection(self, node, f"c{self._next_conn}")
        self.net.attach(conn.endpoint, conn._on_reply)
        self._conns[node].append(conn)
        return conn

    def _forget(self, conn: SimConnection) -> None:
        self.net.detach(conn.endpoint)
        conns = self._conns.get(conn.node, [])
        if conn in conns:
            conns.remove(conn)

    async def node_status(self, node: str) -> dict[str, Any]:
        """The node's ``Core.status()`` plus host facts; ``Unreachable`` if crashed or paused."""
        sim = self.nodes.get(node)
        if sim is None or sim.state is not NodeState.RUNNING:
            raise Unreachable(f"{node} does not answer ({'unknown' if sim is None else sim.state.value})")
        return sim.status()

    def kill_all_now(self) -> None:
        """Nothing to kill: every simulated node lives in this process and dies with its loop."""

    def collect_logs(self, dest: Path) -> None:
        """Write each node's in-memory log to ``dest/<node>.log``."""
        dest.mkdir(parents=True, exist_ok=True)
        for n, node in self.nodes.items():
            (dest / f"{n}.log").write_text("".join(line + "\n" for line in node.log_lines), encoding="utf-8")

    # -- fault capabilities ------------------------------------------------------------------------
    async def partition(self, grudge: Mapping[str, Collection[str]]) -> None:
        """Replace the partition with ``grudge``."""
        self.net.partition(grudge)
        for n, node in self.nodes.items():
            node.log(f"partition: drop from {sorted(grudge.get(n, ()))}")

    async def heal(self) -> None:
        """Remove every partition and packet fault (clock offsets stay, as with the real runtime)."""
        self.net.heal()
        self.net.clear_packet_faults()
        for node in self.nodes.values():
            node.log("heal")

    async def kill(self, node: str) -> None:
        """Crash ``node``: volatile state is lost, in-progress requests become indefinite."""
        self.nodes[node].crash()
        for conn in self._conns.get(node, []):
            conn._lost(f"{node} crashed")

    async def start(self, node: str) -> None:
        """Restart a crashed ``node`` from its persisted records (no-op if it runs)."""
        self.nodes[node].start()

    async def pause(self, node: str) -> None:
        """Freeze ``node``."""
        self.nodes[node].pause()

    async def resume(self, node: str) -> None:
        """Thaw ``node``."""
        self.nodes[node].resume()

    async def set_clock_offset(self, node: str, seconds: float) -> None:
        """Make ``node``'s clock read virtual time + ``seconds``."""
        self.nodes[node].set_offset(seconds)

    async def set_packet_faults(
        self, node: str, *, delay: float = 0.0, loss: float = 0.0, dup: float = 0.0
    ) -> None:
        """Delay / drop / duplicate what ``node`` sends to its peers."""
        self.net.set_packet_faults(node, PacketFaults(delay=delay, loss=loss, dup=dup))
        self.nodes[node].log(f"packet faults delay={delay} loss={loss} dup={dup}")

    # -- extras ------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Network counters and per-node facts, JSON-able."""
        return {
            "virtual_time": self.loop.time(),
            "net": self.net.stats.to_dict(),
            "nodes": {
                n: {"state": s.state.value, "incarnation": s.incarnation, "handled": s.handled,
                    "durable_records": len(s.durable)}
                for n, s in self.nodes.items()
            },
        }

    def dump_stats(self, path: Path) -> None:
        """Write :meth:`stats` as JSON to ``path``."""
        path.write_text(json.dumps(self.stats(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


SIM_CONFIG_KEY = "sim"
"""Key of ``RunSpec.config`` read by the simulator itself and not passed to the cores:
``{"peer_link": {LinkParams fields}, "client_link": {...}}`` — so a spec.json alone replays a run."""


def make_sim_backend(cluster: ClusterSpec, **overrides: Any) -> SimBackend:
    """Backend-registry factory: a ``SimBackend`` with link parameters from ``config["sim"]``."""
    config = dict(cluster.config)
    sim = config.pop(SIM_CONFIG_KEY, None) or {}
    if not isinstance(sim, Mapping) or set(sim) - {"peer_link", "client_link"}:
        raise ValueError(f'config["{SIM_CONFIG_KEY}"] may only hold "peer_link" and "client_link" objects')
    links = {k: LinkParams.from_dict(v) for k, v in sim.items()}
    return SimBackend(replace(cluster, config=config), **{**links, **overrides})
