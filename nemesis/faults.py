"""Fault operations as data: what the nemesis does, in a form that can be journaled, stored and replayed.

A fault op is a plain value (kind + JSON-able argument), not a callback, so a schedule can be written
to ``spec.json``, printed as a counterexample, shrunk by the explorer and replayed from a file, and so
the history records exactly what was done (``process: "nemesis"``, ``f`` = the kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class FaultKind(str, Enum):
    """Every fault (and undo) the nemesis knows; the value is the history ``f``."""

    START_PARTITION = "start-partition"
    STOP_PARTITION = "stop-partition"
    KILL = "kill"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    BUMP_CLOCK = "bump-clock"
    STROBE_CLOCK = "strobe-clock"
    RESET_CLOCK = "reset-clock"
    START_PACKET = "start-packet"
    STOP_PACKET = "stop-packet"
    LEAVE = "leave"
    JOIN = "join"


class PluginKind(str):
    """A fault kind a plugin registered (:func:`nemesis.table.register`); built-in kinds are
    :class:`FaultKind` members. Both have ``.value``, the history ``f``."""

    __slots__ = ()

    @property
    def value(self) -> str:
        """The history ``f`` (the kind's name)."""
        return str(self)


Kind = FaultKind | PluginKind


ANY_EVENT = "*"
"""``on``: strike at the next event of any kind."""
ANNOUNCED = "announced"
"""``on``: strike at the next event of a kind drawn (when the fault is armed) from the kinds this run has
announced so far, each kind as likely as any other. Unlike ``*``, which takes whatever comes next and so
mostly the most frequent event, every moment a system announces gets its share; a system that announced
nothing yet is waited on like ``*``."""


class ScheduleError(ValueError):
    """A schedule entry that cannot be understood."""


@dataclass(frozen=True, slots=True)
class FaultOp:
    """One nemesis action.

    ``value`` by kind: start-partition a grudge ``{node: [nodes it drops from]}``; stop-partition
    ``None``; kill/start/pause/resume a list of nodes; bump-clock ``{node: offset_seconds}``;
    strobe-clock ``{"nodes": {node: delta_s}, "period": s, "duration": s}``; reset-clock a list of
    nodes; start-packet ``{"nodes": [...], "delay": s, "loss": p, "dup": p}``; stop-packet a list of
    nodes; leave/join a list of nodes.

    Where the right target can only be known while the cluster runs (its current leader), the value
    is *symbolic* and the executor resolves it when it strikes, journaling the concrete targets:
    ``{"targets": spec}`` for node lists (spec: ``one``, ``minority``, ``majority``, ``all``,
    ``primaries``, ``event``: the node that announced the event an aimed fault waited for, ...) and
    ``{"grudge": "primaries" | "event"}`` for a partition. ``None`` means every node.
    """

    kind: Kind
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"f": kind, "value": value}``."""
        return {"f": self.kind.value, "value": self.value}


@dataclass(frozen=True, slots=True)
class TimedFault:
    """A fault op due ``at`` seconds after the main phase starts.

    With ``on`` set the op is *aimed*: from ``at`` on, the nemesis waits for the next protocol event of
    that name (``systems_under_test.core.EVENTS``, ``"*"`` for any, or ``"announced"`` for a kind drawn
    among those the run announced so far) and strikes at that very moment
    (exactly, in the simulator); targets ``{"targets": "event"}`` / ``{"grudge": "event"}`` then mean
    the node that announced it (in a fault that is not aimed: the node the last aimed fault struck).
    If no such event comes within ``window`` seconds (the system announces
    nothing, or the backend cannot tell), it strikes when the window ends, like an ordinary fault.
    With ``after`` > 0 it strikes only once the announcing node has sent that many more messages (peer
    messages and client replies) in the step that announced the event, or at the end of that step if it
    sends fewer: a crash part-way through a broadcast, after some peers were told and before the others
    were (exact in the simulator; a backend that cannot count a node's messages strikes at the event).
    """

    at: float
    op: FaultOp
    on: str | None = None
    window: float = 0.0
    after: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"at": s, "f": kind, "value": value}`` (+ ``"on"``, ``"window"``[, ``"after"``] when
        aimed)."""
        aimed: dict[str, Any] = {"on": self.on, "window": self.window} if self.on is not None else {}
        if self.on is not None and self.after:
            aimed["after"] = self.after
        return {"at": self.at, **self.op.to_dict(), **aimed}
