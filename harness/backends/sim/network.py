"""The simulated network: seeded latency, loss, duplication, reordering and partitions.

Endpoints are plain names: node ids (``"n1"``) and client connection ids (``"c1"``); the same model
carries node<->node and client<->node traffic. A message is a JSON text: it is encoded when sent and
decoded freshly for each delivery, so no Python object is ever shared between two endpoints (as with
real sockets) and a duplicated message is two independent objects.

Randomness is drawn from one ``random.Random`` *per directed link*, seeded from the run seed and the
link's ends. The order in which a node sends to *different* peers then does not change any latency
drawn, which keeps runs reproducible even if a core iterates a set of peers.

Semantics, chosen to match what the real backends do (Jepsen's):

* A **partition** is a grudge ``{node: {nodes it drops traffic FROM}}``, checked when a message
  *arrives* (like an iptables INPUT rule): a message already in flight when a partition starts is lost
  if it lands during the partition, and one sent just before a heal may still arrive.
* **Loss** and **duplication** are per message probabilities; a duplicate gets its own latency.
* **Latency** is ``base + exponential(mean jitter)`` capped at ``base + max_jitter``; with
  ``reorder=False`` a link is FIFO (a message never overtakes an earlier one on the same link).
* **Packet faults** of a node (``set_packet_faults``) add delay / loss / dup to what it *sends*.

Messages in flight wait in the cluster's :class:`~harness.backends.sim.events.EventQueue` (shared with node
timers), not as one asyncio timer each.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from harness.backends.sim.codec import decode as _decode
from harness.backends.sim.codec import encode as _encode
from harness.backends.sim.events import EventQueue

Handler = Callable[[str, Any], None]
_log = math.log


@dataclass(frozen=True, slots=True)
class LinkParams:
    """How one class of links behaves (times in seconds, probabilities in [0, 1])."""

    base: float = 0.0005
    jitter: float = 0.001  # mean of the exponential part
    max_jitter: float = 0.02
    loss: float = 0.0
    dup: float = 0.0
    reorder: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for spec files and reports)."""
        return {f: getattr(self, f) for f in self.__slots__}

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> LinkParams:
        """Parse :meth:`to_dict` output; unknown or ill-typed fields raise ``ValueError``."""
        known = set(LinkParams.__slots__)
        bad = sorted(set(d) - known)
        if bad:
            raise ValueError(f"unknown link parameter(s) {', '.join(bad)}; valid: {', '.join(sorted(known))}")
        try:
            nums = {k: float(v) for k, v in d.items() if k != "reorder"}
        except (TypeError, ValueError) as e:
            raise ValueError(f"bad link parameters {dict(d)!r}: {e}") from None
        return LinkParams(**nums, reorder=bool(d.get("reorder", True)))


@dataclass(frozen=True, slots=True)
class PacketFaults:
    """Extra faults on everything one node sends (the Packet capability)."""

    delay: float = 0.0
    loss: float = 0.0
    dup: float = 0.0


@dataclass(slots=True)
class NetStats:
    """Counters of what happened to messages."""

    sent: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    partitioned: int = 0
    undeliverable: int = 0  # nobody listening at the destination

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "partitioned": self.partitioned,
            "undeliverable": self.undeliverable,
        }


class SimNetwork:
    """Delivers JSON messages between named endpoints on the running (virtual-time) loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        seed: int,
        *,
        peer_link: LinkParams | None = None,
        client_link: LinkParams | None = None,
    ) -> None:
        self.loop = loop
        self.seed = seed
        self.peer_link = peer_link or LinkParams()
        self.client_link = client_link or LinkParams(base=0.0002, jitter=0.0003, max_jitter=0.005)
        self.stats = NetStats()
        self._handlers: dict[str, Handler] = {}
        self._nodes: set[str] = set()
        self._grudge: dict[str, frozenset[str]] = {}
        self._packet: dict[str, PacketFaults] = {}
        self._rngs: dict[tuple[str, str], random.Random] = {}
        self._links: dict[tuple[str, str], tuple[random.Random, bool]] = {}  # (rng, is peer link)
        self._fifo_last: dict[tuple[str, str], float] = {}
        self.events = EventQueue(loop)  # messages in flight (and, for SimNode, timers)

    # -- endpoints ---------------------------------------------------------------------------------
    def attach(self, name: str, handler: Handler, *, node: bool = False) -> None:
        """Route messages for ``name`` to ``handler(src, decoded_message)``."""
        self._handlers[name] = handler
        if node and name not in self._nodes:
            self._nodes.add(name)
            self._links.clear()  # cached "is a peer link" flags may have changed

    def detach(self, name: str) -> None:
        """Stop delivering to ``name``; messages arriving later are counted undeliverable."""
        self._handlers.pop(name, None)

    def is_node(self, name: str) -> bool:
        """True if ``name`` is a cluster node (not a client endpoint)."""
        return name in self._nodes

    # -- faults ------------------------------------------------------------------------------------
    def partition(self, grudge: Mapping[str, Collection[str]]) -> None:
        """Replace the partition with ``grudge`` (each key drops traffic *from* the listed endpoints)."""
        self._grudge = {k: frozenset(v) for k, v in grudge.items() if v}

    def heal(self) -> None:
        """Remove every partition (packet faults stay; see :meth:`clear_packet_faults`)."""
        self._grudge = {}

    @property
    def grudge(self) -> dict[str, list[str]]:
        """The current grudge, JSON-able and sorted."""
        return {k: sorted(v) for k, v in sorted(self._grudge.items())}

    def set_packet_faults(self, node: str, faults: PacketFaults) -> None:
        """Set (or clear, with a default ``PacketFaults()``) the faults on what ``node`` sends."""
        if faults == PacketFaults():
            self._packet.pop(node, None)
        else:
            self._packet[node] = faults

    def clear_packet_faults(self) -> None:
        """Remove every node's packet faults."""
        self._packet.clear()

    def packet_faults(self, node: str) -> PacketFaults:
        """The packet faults currently set on ``node``."""
        return self._packet.get(node, PacketFaults())

    def drops(self, src: str, dst: str) -> bool:
        """True if the current partition makes ``dst`` drop traffic from ``src``."""
        g = self._grudge.get(dst)
        return g is not None and src in g

    # -- sending -----------------------------------------------------------------------------------
    def _rng(self, src: str, dst: str) -> random.Random:
        key = (src, dst)
        rng = self._rngs.get(key)
        if rng is None:
            rng = self._rngs[key] = random.Random(f"{self.seed}/link/{src}/{dst}")
        return rng

    def _new_link(self, src: str, dst: str) -> tuple[random.Random, bool]:
        link = self._links[(src, dst)] = (self._rng(src, dst), src in self._nodes and dst in self._nodes)
        return link

    def send(self, src: str, dst: str, msg: Any) -> None:
        """Send ``msg`` (JSON-able) from ``src`` to ``dst``; it may be delayed, lost or duplicated."""
        self.send_text(src, dst, _encode(msg))

    def send_text(self, src: str, dst: str, text: str) -> None:
        """Send a message already encoded by :func:`harness.backends.sim.codec.encode` (a broadcast encodes
        once)."""
        stats = self.stats
        stats.sent += 1
        link = self._links.get((src, dst))
        rng, is_peer = link if link is not None else self._new_link(src, dst)
        p = self.peer_link if is_peer else self.client_link
        pf = self._packet.get(src) if is_peer and self._packet else None
        if pf is None and p.loss == 0.0 and p.dup == 0.0 and p.reorder:
            # The common case, kept short: one latency draw, one event. Same arithmetic and draws as
            # the general path below (rng.expovariate(1.0 / jitter), inlined).
            jitter = p.jitter
            if jitter > 0.0:
                at = self.loop.time() + (
                    p.base + min(-_log(1.0 - rng.random()) / (1.0 / jitter), p.max_jitter)
                )
            else:
                at = self.loop.time() + p.base
            self.events.post(at, self._deliver, src, dst, text)
            return
        loss, dup, delay = p.loss, p.dup, 0.0
        if pf is not None:
            loss = 1.0 - (1.0 - loss) * (1.0 - pf.loss)
            dup = 1.0 - (1.0 - dup) * (1.0 - pf.dup)
            delay = pf.delay
        if loss > 0.0 and rng.random() < loss:
            stats.lost += 1
            return
        copies = 1
        if dup > 0.0 and rng.random() < dup:
            copies = 2
            stats.duplicated += 1
        now = self.loop.time()
        jitter, cap = p.jitter, p.max_jitter
        for _ in range(copies):
            at = now + (p.base + delay)
            if jitter > 0.0:
                extra = -_log(1.0 - rng.random()) / (1.0 / jitter)
                at = now + (p.base + delay + min(extra, cap))
            if not p.reorder:
                key = (src, dst)
                last = self._fifo_last.get(key, 0.0)
                if at <= last:
                    at = last + 1e-9
                self._fifo_last[key] = at
            self.events.post(at, self._deliver, src, dst, text)

    def _deliver(self, src: str, dst: str, text: str) -> None:
        g = self._grudge.get(dst)
        if g is not None and src in g:
            self.stats.partitioned += 1
            return
        handler = self._handlers.get(dst)
        if handler is None:
            self.stats.undeliverable += 1
            return
        self.stats.delivered += 1
        handler(src, _decode(text))
