"""A simulated node: hosts one sans-IO core and carries out its effects (the contract of ``core.py``).

The node is the simulator's counterpart of the real runtime host. It owns exactly what a real node
process owns, split into what survives a crash and what does not:

* durable: the list of persisted records (kept as JSON text, so a record object is never shared with
  the core that wrote it) — ``Persist`` is synchronous here, so it is trivially durable before any
  later ``Send``/``Reply`` leaves;
* volatile: the core object, its armed timers, client requests in progress, the queue of events that
  arrived while paused. A crash drops all of it; a restart builds a fresh core (with a fresh rng
  stream, as a new process would get) and calls ``on_start(now, durable)``.

Pause freezes the node the way SIGSTOP does: arriving messages and requests queue, timers that come
due wait, and everything queued is handled on resume in arrival order. The node's clock is the
virtual time plus its offset; a timer runs for the time it was armed for, so a clock jump changes what
``now`` reads but not when an armed timer fires (as a monotonic timer in a real process).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import functools
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.backends.sim.codec import decode, encode
from harness.backends.sim.events import Event
from harness.backends.sim.network import SimNetwork
from systems_under_test.core import CancelTimer, Core, Log, Persist, Reply, Send, SetTimer, event_line
from systems_under_test.core import Event as Announce

CoreFactory = Callable[[str, Sequence[str], random.Random, Mapping[str, Any]], Core]
EventHook = Callable[[str, str, Mapping[str, Any]], None]
"""Called with (node, event name, data) the moment a core's ``Event`` effect is carried out."""


class NodeState(enum.Enum):
    """What a simulated node is doing."""

    RUNNING = "running"
    PAUSED = "paused"
    CRASHED = "crashed"


class SimNode:
    """One node of the simulated cluster."""

    def __init__(
        self,
        node_id: str,
        nodes: Sequence[str],
        factory: CoreFactory,
        config: Mapping[str, Any],
        seed: int,
        loop: asyncio.AbstractEventLoop,
        net: SimNetwork,
    ) -> None:
        self.node_id = node_id
        self.peers = tuple(n for n in nodes if n != node_id)
        self._peer_set = frozenset(self.peers)
        self.factory = factory
        self.config = dict(config)
        self.seed = seed
        self.loop = loop
        self.net = net
        self.state = NodeState.CRASHED
        self.offset = 0.0
        self.incarnation = 0
        self.durable: list[str] = []
        self.log_lines: list[str] = []
        self.core: Core | None = None
        self._timers: dict[str, tuple[float, Event]] = {}
        self._paused_queue: list[tuple[str, tuple[Any, ...]]] = []
        self._due: set[str] = set()  # timers that fired while paused, not yet handled
        self._requests: dict[str, tuple[str, Any]] = {}  # node req_id -> (client endpoint, client req_id)
        self._next_req = 0
        self.handled = 0  # events handed to the core (a cheap activity measure)
        self.on_event: EventHook | None = None  # the backend's listener for announced protocol events
        self._defer: list[Any] | None = None  # [effects still to carry out, callback]: a deferred strike

    # -- clock and log -------------------------------------------------------------------------------
    def now(self) -> float:
        """This node's clock: virtual time plus its offset."""
        return self.loop.time() + self.offset

    def log(self, text: str) -> None:
        """Append a timestamped line to the node's in-memory log."""
        self.log_lines.append(f"{self.loop.time():12.6f} {self.node_id} {text}")

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        """(Re)start the node: a fresh core, ``on_start`` with every persisted record; no-op if up."""
        if self.state is not NodeState.CRASHED:
            return
        self.incarnation += 1
        rng = random.Random(f"{self.seed}/node/{self.node_id}/{self.incarnation}")
        self.core = self.factory(self.node_id, self.peers, rng, self.config)
        self.state = NodeState.RUNNING
        self.net.attach(self.node_id, self._on_net, node=True)
        records = [decode(r) for r in self.durable]
        self.log(f"start (incarnation {self.incarnation}, {len(records)} durable records)")
        self._run(self.core.on_start(self.now(), records))

    def crash(self) -> None:
        """Crash: lose the core, timers, queued events and requests in progress; keep durable records."""
        if self.state is NodeState.CRASHED:
            return
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._paused_queue.clear()
        self._due.clear()
        self._requests.clear()
        self._defer = None
        self.core = None
        self.state = NodeState.CRASHED
        self.log("crash")

    def pause(self) -> None:
        """Freeze: events queue until :meth:`resume`."""
        if self.state is NodeState.RUNNING:
            self.state = NodeState.PAUSED
            self.log("pause")

    def resume(self) -> None:
        """Thaw and handle, in arrival order, everything that queued while paused."""
        if self.state is not NodeState.PAUSED:
            return
        self.state = NodeState.RUNNING
        queued, self._paused_queue = self._paused_queue, []
        self.log(f"resume ({len(queued)} queued events)")
        for kind, args in queued:
            if self.state is not NodeState.RUNNING:
                if self.state is NodeState.PAUSED:
                    self._paused_queue.append((kind, args))
                continue
            self._dispatch(kind, args)

    def set_offset(self, seconds: float) -> None:
        """Set the clock offset; armed timers keep their remaining time (a real node waits on a monotonic
        clock, which a wall-clock jump does not move: a timeout armed for 1 s still fires in 1 s)."""
        self.offset = float(seconds)
        self.log(f"clock offset {self.offset:+.6f}s")

    # -- inbound events ------------------------------------------------------------------------------
    def _on_net(self, src: str, msg: Any) -> None:
        if self.state is NodeState.RUNNING and src in self._peer_set:
            core = self.core
            assert core is not None
            self.handled += 1
            self._run(core.on_message(self.loop.time() + self.offset, src, msg))  # the common case
        elif self.net.is_node(src):
            self._event("message", (src, msg))
        else:
            self._event("request", (src, msg))

    def _event(self, kind: str, args: tuple[Any, ...]) -> None:
        if self.state is NodeState.RUNNING:
            self._dispatch(kind, args)
        elif self.state is NodeState.PAUSED:
            self._paused_queue.append((kind, args))
        # crashed: the message is lost with the process

    def _dispatch(self, kind: str, args: tuple[Any, ...]) -> None:
        core = self.core
        assert core is not None
        self.handled += 1
        now = self.now()
        if kind == "effects":  # the rest of an effect list cut short by a pause aimed at an event
            self._run(args[0])
            return
        if kind == "message":
            src, msg = args
            effects = core.on_message(now, src, msg)
        elif kind == "timer":
            (name,) = args
            if name not in self._due:
                return  # re-armed or cancelled after it came due while the node was paused
            self._due.discard(name)
            effects = core.on_timer(now, name)
        else:
            client, req = args
            if not isinstance(req, dict):
                return
            self._next_req += 1
            rid = f"{self.incarnation}.{self._next_req}"
            self._requests[rid] = (client, req.get("req_id"))
            req = dict(req)
            req["req_id"] = rid
            effects = core.on_request(now, client, req)
        self._run(effects)

    def _timer_fired(self, name: str) -> None:
        self._timers.pop(name, None)
        self._due.add(name)
        self._event("timer", (name,))

    def _arm(self, name: str, at: float) -> None:
        self._timers[name] = (at, self.net.events.call_at(at - self.offset, self._timer_fired, name))

    def after_messages(self, count: int, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once ``count`` more messages of the step being carried out have left the node
        (sends to other nodes and replies to clients: a send to itself tells nobody), or when the step
        ends."""
        self._defer = [count, fn]

    def _deferred(self, effects: Sequence[Any], i: int) -> bool:
        """Count effect ``i`` against a deferred strike if it is a message; run the strike once due (before
        effect ``i``). True if the node stopped (the rest of ``effects`` from ``i`` on then never happens,
        or waits for the thaw)."""
        defer = self._defer
        assert defer is not None
        if defer[0] > 0 and i < len(effects):
            effect = effects[i]
            if isinstance(effect, Reply) or (isinstance(effect, Send) and effect.dst != self.node_id):
                defer[0] -= 1
            return False
        self._defer = None
        return self._struck(defer[1], effects, i)

    def _struck(self, fn: Callable[[], None], effects: Sequence[Any], i: int) -> bool:
        """Call a fault callback; if it stopped this node, drop (crash) or queue (pause) effects ``i:``."""
        incarnation = self.incarnation
        fn()
        if self.state is not NodeState.RUNNING or self.incarnation != incarnation:
            if self.state is NodeState.PAUSED and i < len(effects):
                self._paused_queue.append(("effects", (list(effects)[i:],)))
            return True
        return False

    # -- effects -------------------------------------------------------------------------------------
    def _run(self, effects: Sequence[Any]) -> None:
        """Carry out ``effects`` in order (Persist is synchronous, so it precedes any later send)."""
        net, me = self.net, self.node_id
        send = net.send
        # A broadcast is one message object in several Sends: encode it once. Keyed by identity and only
        # within this batch (nothing runs between these effects that could change or free the object).
        last_msg: Any = None
        last_text = ""
        for i, e in enumerate(effects):
            if self._defer is not None and self._deferred(effects, i):
                return
            if isinstance(e, Send):  # by far the most common effect, so tested first
                msg = e.msg
                if msg is not last_msg:
                    last_msg, last_text = msg, encode(msg)
                net.send_text(me, e.dst, last_text)
            elif isinstance(e, Persist):
                self.durable.append(encode(e.record))
            elif isinstance(e, SetTimer):
                self._due.discard(e.name)
                old = self._timers.pop(e.name, None)
                if old is not None:
                    old[1].cancel()
                self._arm(e.name, e.at)
            elif isinstance(e, Reply):
                dest = self._requests.pop(str(e.req_id), None)
                if dest is None:
                    self.log(f"reply to unknown or answered request {e.req_id!r} dropped")
                    continue
                body = dict(e.body)
                body["req_id"] = dest[1]
                send(me, dest[0], body)
            elif isinstance(e, CancelTimer):
                self._due.discard(e.name)
                old = self._timers.pop(e.name, None)
                if old is not None:
                    old[1].cancel()
            elif isinstance(e, Log):
                self.log(e.text)
            elif isinstance(e, Announce):
                self.log(event_line(e))
                if self.on_event is not None:
                    # a fault aimed at this very moment may stop the node: the rest of the list never
                    # happens (a crash), or happens only when it is thawed (a pause)
                    announce = functools.partial(self.on_event, me, e.name, e.data or {})
                    if self._struck(announce, effects, i + 1):
                        return
            else:
                raise TypeError(f"{self.node_id}: core returned an unknown effect {e!r}")
        if self._defer is not None:  # the step ended before the deferred strike was due: strike now
            self._deferred(effects, len(effects))

    # -- introspection -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Host facts plus ``Core.status()`` (empty core status when crashed)."""
        return {
            "node": self.node_id,
            "state": self.state.value,
            "time": self.now(),
            "incarnation": self.incarnation,
            "core": self.core.status() if self.core is not None else {},
            "faults": {
                "clock_offset": self.offset,
                "drop_from": self.net.grudge.get(self.node_id, []),
                "packet": dataclasses.asdict(self.net.packet_faults(self.node_id)),
            },
            "durable_records": len(self.durable),
        }
