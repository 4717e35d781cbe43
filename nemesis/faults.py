"""Fault operations as data: what the nemesis does, in a form that can be journaled, stored and replayed.

A fault op is a plain value (kind + JSON-able argument), not a callback, so a schedule can be written
to ``spec.json``, printed as a counterexample, shrunk by the explorer and replayed from a file, and so
the history records exactly what was done (``process: "nemesis"``, ``f`` = the kind).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
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


# The backend capability (nemesis.capabilities.CAPABILITIES key) each kind needs.
CAPABILITY_OF: Mapping[FaultKind, str] = {
    FaultKind.START_PARTITION: "net",
    FaultKind.STOP_PARTITION: "net",
    FaultKind.KILL: "kill",
    FaultKind.START: "kill",
    FaultKind.PAUSE: "pause",
    FaultKind.RESUME: "pause",
    FaultKind.BUMP_CLOCK: "clock",
    FaultKind.STROBE_CLOCK: "clock",
    FaultKind.RESET_CLOCK: "clock",
    FaultKind.START_PACKET: "packet",
    FaultKind.STOP_PACKET: "packet",
    FaultKind.LEAVE: "membership",
    FaultKind.JOIN: "membership",
}

# Fault starts and the kind that undoes each (the brackets a report draws as one band).
UNDO_OF: Mapping[FaultKind, FaultKind] = {
    FaultKind.START_PARTITION: FaultKind.STOP_PARTITION,
    FaultKind.KILL: FaultKind.START,
    FaultKind.PAUSE: FaultKind.RESUME,
    FaultKind.BUMP_CLOCK: FaultKind.RESET_CLOCK,
    FaultKind.STROBE_CLOCK: FaultKind.RESET_CLOCK,
    FaultKind.START_PACKET: FaultKind.STOP_PACKET,
    FaultKind.LEAVE: FaultKind.JOIN,
}


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

    kind: FaultKind
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
    the node that announced it. If no such event comes within ``window`` seconds (the system announces
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

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> TimedFault:
        """Parse :meth:`to_dict` output; raises ``ScheduleError``."""
        try:
            kind = FaultKind(d["f"])
            at = float(d["at"])
        except (KeyError, ValueError, TypeError) as e:
            valid = ", ".join(k.value for k in FaultKind)
            raise ScheduleError(f"bad schedule entry {dict(d)!r} ({e}); f must be one of {valid}") from None
        on = d.get("on")
        return TimedFault(at, FaultOp(kind, d.get("value")), None if on is None else str(on),
                          float(d.get("window", 0.0) or 0.0))


# ---------------------------------------------------------------------------------------------------
# The fault table: what each kind needs, undoes, belongs to, and which values it accepts.

MAX_CLOCK_OFFSET = 24 * 3600.0
"""Seconds: a bigger clock bump is a typo (milliseconds?), not a test."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One fault kind declared once: its capability, undo, package family, group and value shape.

    ``group``: kinds of one group act on the same state, so two faults of a group never overlap.
    ``shape`` is the text a user sees when a schedule entry's value is wrong (README, error messages).
    """

    kind: FaultKind
    capability: str
    family: str
    group: str
    shape: str
    undo: FaultKind | None = None


_NODES = 'null (every node), a list of node ids, or {"targets": "one|minority|majority|all|primaries|event"}'
_UNDO_NODES = "null (every node it holds) or a list of node ids"
FAULT_TABLE: Mapping[FaultKind, FaultSpec] = {s.kind: s for s in (
    FaultSpec(FaultKind.START_PARTITION, "net", "partition", "net",
              'a grudge {"node": ["nodes it drops traffic from", ...], ...} or '
              '{"grudge": "halves|one|minority|ring|bridge|primaries|event"}', FaultKind.STOP_PARTITION),
    FaultSpec(FaultKind.STOP_PARTITION, "net", "partition", "net", "null"),
    FaultSpec(FaultKind.KILL, "kill", "kill", "process", _NODES, FaultKind.START),
    FaultSpec(FaultKind.START, "kill", "kill", "process", _UNDO_NODES),
    FaultSpec(FaultKind.PAUSE, "pause", "pause", "process", _NODES, FaultKind.RESUME),
    FaultSpec(FaultKind.RESUME, "pause", "pause", "process", _UNDO_NODES),
    FaultSpec(FaultKind.BUMP_CLOCK, "clock", "clock", "clock",
              f'{{"node": offset seconds, ...}} with |offset| <= {MAX_CLOCK_OFFSET:g}', FaultKind.RESET_CLOCK),
    FaultSpec(FaultKind.STROBE_CLOCK, "clock", "clock", "clock",
              '{"nodes": {"node": offset seconds, ...}, "period": seconds > 0, "duration": seconds >= 0}',
              FaultKind.RESET_CLOCK),
    FaultSpec(FaultKind.RESET_CLOCK, "clock", "clock", "clock", _UNDO_NODES),
    FaultSpec(FaultKind.START_PACKET, "packet", "packet", "packet",
              '{"nodes": [node ids] or null, "delay": seconds 0..60, "loss": 0..1, "dup": 0..1}',
              FaultKind.STOP_PACKET),
    FaultSpec(FaultKind.STOP_PACKET, "packet", "packet", "packet", _UNDO_NODES),
    FaultSpec(FaultKind.LEAVE, "membership", "member", "process", "a list of node ids", FaultKind.JOIN),
    FaultSpec(FaultKind.JOIN, "membership", "member", "process", _UNDO_NODES),
)}


def _finite(x: Any, lo: float, hi: float) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and lo <= x <= hi


def _value_problem(kind: FaultKind, v: Any, nodes: Sequence[str]) -> str | None:
    """Why ``v`` is not a value ``kind`` accepts for a cluster of ``nodes`` (None if it is)."""
    known = set(nodes)

    def node_list(x: Any) -> str | None:
        if not isinstance(x, list) or not all(isinstance(n, str) for n in x):
            return f"expected a list of node ids, got {json.dumps(x)}"
        unknown = sorted(set(x) - known)
        return f"unknown node(s) {', '.join(unknown)} (nodes: {', '.join(nodes)})" if unknown else None

    def offsets(x: Any) -> str | None:
        if not isinstance(x, Mapping) or not x:
            return f"expected {{node: offset seconds}}, got {json.dumps(x)}"
        bad = node_list(list(x))
        if bad:
            return bad
        for n, o in x.items():
            if not _finite(o, -MAX_CLOCK_OFFSET, MAX_CLOCK_OFFSET):
                return f"offset of {n} must be a finite number of seconds within +-{MAX_CLOCK_OFFSET:g}, got {o!r}"
        return None

    starts = kind in UNDO_OF
    if kind is FaultKind.STOP_PARTITION:
        return None if v is None else f"expected null, got {json.dumps(v)}"
    if kind is FaultKind.START_PARTITION:
        if isinstance(v, Mapping) and set(v) == {"grudge"}:
            names = ("halves", "one", "minority", "ring", "bridge", "primaries", "event")
            return None if v["grudge"] in names else f"unknown grudge {v['grudge']!r}"
        if not isinstance(v, Mapping):
            return f"expected a grudge object, got {json.dumps(v)}"
        for n, xs in v.items():
            bad = node_list([n]) or node_list(xs)
            if bad:
                return bad
        return None
    if kind is FaultKind.BUMP_CLOCK:
        return offsets(v)
    if kind is FaultKind.STROBE_CLOCK:
        if not isinstance(v, Mapping):
            return f"expected an object, got {json.dumps(v)}"
        if not _finite(v.get("period"), 1e-6, 3600.0) or not _finite(v.get("duration", 0.0), 0.0, 1e6):
            return "period must be a number of seconds > 0 and duration >= 0"
        return offsets(v.get("nodes"))
    if kind is FaultKind.START_PACKET:
        if not isinstance(v, Mapping):
            return f"expected an object, got {json.dumps(v)}"
        bad = None if v.get("nodes") is None else node_list(v.get("nodes"))
        if bad:
            return bad
        for k, hi in (("delay", 60.0), ("loss", 1.0), ("dup", 1.0)):
            if not _finite(v.get(k, 0.0), 0.0, hi):
                return f"{k} must be a number in 0..{hi:g}, got {v.get(k)!r}"
        return None
    if v is None:
        return None if kind is not FaultKind.LEAVE else "expected a list of node ids, got null"
    if starts and isinstance(v, Mapping) and set(v) == {"targets"}:
        specs = ("one", "minority", "minority-third", "majority", "all", "primaries", "event")
        return None if v["targets"] in specs else f"unknown targets {v['targets']!r}"
    return node_list(v)


def validate_schedule(items: Any, nodes: Sequence[str]) -> list[TimedFault]:
    """Parse a user's schedule for a cluster of ``nodes``, sorted by time; raises ``ScheduleError`` naming
    the entry index and field, with the shapes that field accepts (from :data:`FAULT_TABLE`)."""
    from systems_under_test.core import EVENTS

    if not isinstance(items, list | tuple):
        raise ScheduleError(f"a schedule is a JSON list of {{at, f, value}} objects, got {type(items).__name__}")
    out: list[TimedFault] = []
    kinds = ", ".join(k.value for k in FaultKind)
    for i, d in enumerate(items):
        where = f"schedule entry {i}"
        if not isinstance(d, Mapping):
            raise ScheduleError(f"{where}: expected an object {{at, f, value}}, got {json.dumps(d)}")
        try:
            kind = FaultKind(d.get("f"))
        except ValueError:
            raise ScheduleError(f"{where}, field 'f': unknown fault {d.get('f')!r}; accepted: {kinds}") from None
        if not _finite(d.get("at"), 0.0, 1e9):
            raise ScheduleError(f"{where}, field 'at': expected a finite number of seconds >= 0, got "
                                f"{json.dumps(d.get('at'))}")
        problem = _value_problem(kind, d.get("value"), nodes)
        if problem is not None:
            raise ScheduleError(f"{where}, field 'value' ({kind.value}): {problem}; accepted: "
                                f"{FAULT_TABLE[kind].shape}")
        on = d.get("on")
        if on is not None and (on not in (*EVENTS, "*") or kind not in UNDO_OF):
            raise ScheduleError(f"{where}, field 'on': only fault starts can wait for an event, one of "
                                f"{', '.join([*EVENTS, '*'])}; got {json.dumps(on)}")
        if "window" in d and not _finite(d.get("window"), 0.0, 1e6):
            raise ScheduleError(f"{where}, field 'window': expected seconds >= 0, got {json.dumps(d.get('window'))}")
        extra = sorted(set(d) - {"at", "f", "value", "on", "window"})
        if extra:
            raise ScheduleError(f"{where}: unknown field(s) {', '.join(extra)}; accepted: at, f, value, on, window")
        out.append(TimedFault.from_dict(d))
    return sorted(out, key=lambda tf: tf.at)


def schedule_shapes() -> list[tuple[str, str]]:
    """(fault kind, accepted value) for every kind, for docs and help."""
    return [(k.value, s.shape) for k, s in FAULT_TABLE.items()]
