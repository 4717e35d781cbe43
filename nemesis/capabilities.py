"""What a backend must offer for each kind of fault (Jepsen's optional Net / Kill / Pause protocols).

Backends live in ``harness`` and implement whichever of these they can; a schedule that needs a
capability the backend lacks is refused before the run starts (:func:`missing`). All methods are
coroutines so that real backends can do I/O and the simulator can run them on its virtual clock.

Grudge: ``{node: [nodes it drops traffic FROM]}`` — Jepsen's shape. A symmetric partition lists each
side in the other's grudge. Nodes absent from the grudge drop nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol, runtime_checkable

Grudge = Mapping[str, Collection[str]]


@runtime_checkable
class Net(Protocol):
    """Network partitions between cluster nodes."""

    async def partition(self, grudge: Grudge) -> None:
        """Replace the current partition with ``grudge`` (each node drops traffic from the listed nodes)."""

    async def heal(self) -> None:
        """Remove every partition."""


@runtime_checkable
class Kill(Protocol):
    """Crash and restart nodes; a restarted node keeps only what it persisted."""

    async def kill(self, node: str) -> None:
        """Crash ``node`` abruptly (SIGKILL / docker kill / drop volatile state)."""

    async def start(self, node: str) -> None:
        """Restart a killed ``node`` with its data kept; no-op if it is running."""


@runtime_checkable
class Pause(Protocol):
    """Freeze and thaw nodes (SIGSTOP / docker pause / simulated freeze)."""

    async def pause(self, node: str) -> None:
        """Freeze ``node``: it processes nothing until resumed."""

    async def resume(self, node: str) -> None:
        """Thaw ``node``; no-op if it is not paused."""


@runtime_checkable
class Clock(Protocol):
    """Per-node clock offsets (cooperative: the node host adds the offset to ``now``)."""

    async def set_clock_offset(self, node: str, seconds: float) -> None:
        """Make ``node``'s clock read real time + ``seconds``."""


@runtime_checkable
class Packet(Protocol):
    """Per-node packet faults on traffic a node sends to its peers."""

    async def set_packet_faults(
        self, node: str, *, delay: float = 0.0, loss: float = 0.0, dup: float = 0.0
    ) -> None:
        """Delay (seconds), drop (probability) or duplicate (probability) messages ``node`` sends."""


@runtime_checkable
class Membership(Protocol):
    """Ask the cluster to remove a node from, or add it back to, its member set.

    Unlike the other faults this is a request *to the system* (e.g. the hashring's ``join``/``leave``
    client requests), so a backend need not implement it: the nemesis sends the request through an
    ordinary client connection (:mod:`nemesis.membership`). A backend with a native way (a system's
    admin tool) implements this protocol instead.
    """

    async def leave(self, node: str) -> None:
        """Remove ``node`` from the cluster's membership (its data is handed off first)."""

    async def join(self, node: str) -> None:
        """Add ``node`` back to the cluster's membership."""


@runtime_checkable
class Events(Protocol):
    """Optional: the backend hands over the protocol events the nodes announce (``core.Event``).

    The simulator calls back synchronously at the very moment a core's event effect is carried out,
    so a fault aimed at an event strikes before the node's next effect. A backend without this simply
    gets time-based faults: an aimed fault then strikes when its waiting window ends.
    """

    def watch_events(self, callback: Callable[[str, str, Mapping[str, Any]], None]) -> None:
        """Call ``callback(node, name, data)`` whenever a node announces an event."""


@runtime_checkable
class Steps(Protocol):
    """Optional: the backend can run a callback after a node sent a number of further messages.

    The simulator does, so a fault aimed at an event can strike part-way through what the node sends
    next (a crash in the middle of a broadcast). Without it such a fault strikes at the event itself.
    """

    def after_messages(self, node: str, count: int, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once ``node`` sent ``count`` more messages to others (or ended its current step)."""


@runtime_checkable
class Refusals(Protocol):
    """Optional: capabilities a backend has in general but not for the cluster it runs now.

    E.g. clock faults are cooperative (our node runtime adds the offset), so a backend running a
    third-party system cannot offer them although it can for our own systems.
    """

    def unsupported(self) -> Mapping[str, str]:
        """Capability name -> the reason it cannot be offered for this cluster."""


CAPABILITIES: Mapping[str, type] = {"net": Net, "kill": Kill, "pause": Pause, "clock": Clock,
                                    "packet": Packet}

# Capabilities carried out through client connections (``Backend.connect``), not by the backend.
CLIENT_DRIVEN: Mapping[str, type] = {"membership": Membership}


def missing(backend: object, needed: Collection[str]) -> list[str]:
    """The capability names in ``needed`` that ``backend`` does not implement."""
    return [name for name in needed if not _offers(backend, name)]


def _offers(backend: object, name: str) -> bool:
    if name in CLIENT_DRIVEN:
        return isinstance(backend, CLIENT_DRIVEN[name]) or callable(getattr(backend, "connect", None))
    return name in CAPABILITIES and isinstance(backend, CAPABILITIES[name])


def refused(backend: object, needed: Collection[str]) -> dict[str, str]:
    """Capabilities in ``needed`` that ``backend`` refuses for its current cluster, with the reason."""
    if not isinstance(backend, Refusals):
        return {}
    reasons = backend.unsupported()
    return {name: reasons[name] for name in needed if name in reasons}
