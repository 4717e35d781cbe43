"""The sans-IO core contract every protocol implements (DESIGN §2).

A core is a plain object holding one node's protocol state. It never touches a socket, a clock, a
file or global randomness: the host hands it the current time (``now``, seconds on *this node's*
clock, so clock faults are visible to it), incoming messages and client requests, and carries out the
*effects* the core returns, in order. Because of that, the very same core runs in a real networked
process (``systems_under_test.runtime``) and inside the deterministic simulator (``harness.backends.sim``),
and can be unit-tested by feeding it events and asserting on the effects.

Host obligations (both hosts honour these):

* Effects are carried out in list order. ``Persist`` is durable before any later ``Send`` or
  ``Reply`` of the same or a later call leaves the node.
* ``SetTimer(name, at)`` (re)arms the timer ``name`` to fire at node time ``at``, i.e. after
  ``at - now`` seconds; a later clock jump changes ``now`` but not when an armed timer fires (real
  processes wait on monotonic clocks). Arming an armed timer replaces it. ``CancelTimer`` of an
  unknown timer is a no-op. A fired timer is disarmed.
* A crash loses every volatile thing (the core object, its timers, queued messages). Restart builds a
  fresh core and calls ``on_start(now, durable)`` with the list of persisted records, in order.
* Client requests: the host gives each request a ``req_id`` unique within the node's lifetime (it may
  rewrite the client's own id and restore it on the way out). The core answers it, now or later, with
  ``Reply(req_id, body)`` where ``body`` has ``"type": "<type>_ok"`` or is an error made by
  :func:`error_body`. A request that is never answered times out at the client (history ``info``).
* Messages and reply bodies are JSON-able dicts; both hosts round-trip them through JSON.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

JSON = Any
"""A JSON-able value: dict/list/str/int/float/bool/None."""


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``msg`` (a dict with ``"type"``) to peer node ``dst``. Delivery is not guaranteed."""

    dst: str
    msg: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer the client request ``req_id`` with ``body`` (``{"type": "read_ok", ...}`` or an error)."""

    req_id: str
    body: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Arm (or re-arm) the timer ``name`` to fire at node time ``at`` (seconds, same clock as ``now``)."""

    name: str
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Disarm the timer ``name`` if armed."""

    name: str


@dataclass(frozen=True, slots=True)
class Persist:
    """Durably append ``record``; it is handed back to ``on_start`` after a crash."""

    record: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class Log:
    """Write ``text`` to the node log."""

    text: str


@dataclass(frozen=True, slots=True)
class Event:
    """Announce a protocol moment (optional): ``name`` from :data:`EVENTS`, ``data`` a small JSON-able dict.

    Why: a fault aimed at the right moment (crash the coordinator between deciding and telling the
    participants) finds bugs that faults at random times almost never hit. A host logs the event as the
    node-log line ``event <name> <json data>``; the simulator also hands it to the nemesis at the very
    moment it is carried out, so a fault can strike before the effects that follow it in the same list.
    A core that announces nothing still gets every time-based fault.
    """

    name: str
    data: dict[str, JSON] | None = None


EVENTS: dict[str, str] = {
    "elected": "this node just became leader / primary / coordinator of a term or ballot",
    "prepared": "a participant durably prepared a transaction and is about to vote yes (now in doubt)",
    "decided": "an outcome (commit, chosen value) was just decided, before the others are told",
    "lease-granted": "a lease or lock was just granted, before its holder is told",
    "handoff-started": "a membership change or data handoff just began",
}
"""The generic protocol moments a core may announce; faults are aimed at these names, not at systems."""

Effect = Send | Reply | SetTimer | CancelTimer | Persist | Log | Event

def event_line(event: Event) -> str:
    """The node-log line of an announced event: ``event <name> <json data>`` (for log-tailing nemeses)."""
    return f"event {event.name} {json.dumps(event.data or {}, sort_keys=True)}"


# Maelstrom's error codes (DESIGN §3). Codes >= 1000 are system-specific.
TIMEOUT = 0
NOT_SUPPORTED = 10
TEMPORARILY_UNAVAILABLE = 11
CRASH = 13
ABORT = 14
KEY_DOES_NOT_EXIST = 20
PRECONDITION_FAILED = 22
TXN_CONFLICT = 30


def error_body(code: int, text: str, *, definite: bool) -> dict[str, JSON]:
    """Build an error reply body; ``definite`` means the operation certainly did not take effect."""
    return {"type": "error", "code": code, "text": text, "definite": definite}


def route_local(node_id: str, effects: Sequence[Effect],
                dispatch: Callable[[str, dict[str, JSON]], list[Effect]]) -> list[Effect]:
    """Deliver ``Send``s a node addresses to itself in-process, in order, and pass every other effect out.

    Cores whose roles may share a node (a coordinator that is also a participant, a lock service that
    is also its own acceptor) send to themselves like to any peer; delivering those at once keeps a
    node from depending on its own network link, which a partition could cut. ``dispatch(src, msg)``
    handles one delivered message and returns its effects, which are routed the same way.
    """
    out: list[Effect] = []
    queue = deque(effects)
    while queue:
        eff = queue.popleft()
        if isinstance(eff, Send) and eff.dst == node_id:
            queue.extend(dispatch(node_id, eff.msg))
        else:
            out.append(eff)
    return out


class ConfigReads(Mapping[str, Any]):
    """A read-only system config that notes every key looked up in it (in ``read``, which several views
    may share). The run plan builds each node's core once with one, so that a config key no core reads
    (a typo, a knob of another system) is refused instead of silently ignored; a core therefore reads
    its config when it is built."""

    __slots__ = ("_data", "read")

    def __init__(self, data: Mapping[str, Any], read: set[str] | None = None) -> None:
        self._data = dict(data)
        self.read: set[str] = set() if read is None else read

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class Core:
    """Base class of a node's protocol logic; subclasses override the ``on_*`` handlers.

    Built with ``(node_id, peer_ids, rng, config)``: ``peer_ids`` are the *other* nodes of the
    cluster, ``rng`` is the only source of randomness the core may use, ``config`` is a read-only
    mapping of system settings (timeouts, variant knobs).
    """

    def __init__(
        self,
        node_id: str,
        peer_ids: Sequence[str],
        rng: random.Random,
        config: Mapping[str, JSON] | None = None,
    ) -> None:
        self.node_id = node_id
        self.peer_ids: tuple[str, ...] = tuple(p for p in peer_ids if p != node_id)
        self.rng = rng
        self.config: Mapping[str, JSON] = config if isinstance(config, ConfigReads) else dict(config or {})

    @property
    def cluster(self) -> tuple[str, ...]:
        """Every node of the cluster, this one included, sorted."""
        return tuple(sorted((self.node_id, *self.peer_ids)))

    @property
    def majority(self) -> int:
        """The size of a majority quorum of the cluster."""
        return len(self.cluster) // 2 + 1

    def on_start(self, now: float, durable: Sequence[dict[str, JSON]]) -> list[Effect]:
        """Called once when the node (re)starts; ``durable`` holds every persisted record in order."""
        return []

    def on_message(self, now: float, src: str, msg: dict[str, JSON]) -> list[Effect]:
        """Handle a message from peer ``src``."""
        return []

    def on_request(self, now: float, client: str, req: dict[str, JSON]) -> list[Effect]:
        """Handle a client request (``req["type"]``, ``req["req_id"]``); answer with ``Reply``."""
        return [Reply(str(req.get("req_id")), error_body(NOT_SUPPORTED, "not supported", definite=True))]

    def on_timer(self, now: float, name: str) -> list[Effect]:
        """Handle the firing of the timer ``name``."""
        return []

    def status(self) -> dict[str, JSON]:
        """A small JSON-able summary for operators and the nemesis (e.g. who this node thinks leads)."""
        return {}
