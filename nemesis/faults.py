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
    that name (``systems_under_test.core.EVENTS``, or ``"*"`` for any) and strikes at that very moment
    (exactly, in the simulator); targets ``{"targets": "event"}`` / ``{"grudge": "event"}`` then mean
    the node that announced it (in a fault that is not aimed: the node the last aimed fault struck).
    If no such event comes within ``window`` seconds (the system announces
    nothing, or the backend cannot tell), it strikes when the window ends, like an ordinary fault.
    """

    at: float
    op: FaultOp
    on: str | None = None
    window: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"at": s, "f": kind, "value": value}`` (+ ``"on"``, ``"window"`` when aimed)."""
        aimed = {"on": self.on, "window": self.window} if self.on is not None else {}
        return {"at": self.at, **self.op.to_dict(), **aimed}
