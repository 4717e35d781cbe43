"""The fault table: every fault kind declared once, and the registry plugins add their kinds to.

One :class:`FaultSpec` per kind says what the rest of splitbrain needs to know about it: the backend
capability it needs (refused up front when missing), the kind that undoes it, its package family (the
``--nemesis`` word and the report's band), its group (kinds of one group act on the same state, so two
faults of a group never overlap), its colour in reports, the value shapes a schedule may give it (with
a validator), and the coroutine that carries it out. The executor dispatches through this table;
``nemesis.faults.CAPABILITY_OF`` / ``UNDO_OF``, the packages, explore, the report's fault bands and
the campaign metrics read it, so a new kind is one module and one :func:`register` call.

Third-party packages add kinds through the entry-point group ``splitbrain.faults``: each entry point
names a :class:`FaultSpec` (or a callable returning one or several), loaded once by :func:`load_plugins`.
A plugin spec with a ``draw`` also becomes a ``--nemesis`` package named after its family; one with a
``protocol`` declares a new backend capability checked like the built-in ones.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nemesis import handlers
from nemesis.faults import (
    ANNOUNCED,
    ANY_EVENT,
    FaultKind,
    FaultOp,
    Kind,
    PluginKind,
    ScheduleError,
    TimedFault,
)

Handler = Callable[[Any, FaultOp], Awaitable[Any]]
"""``async handler(executor, op) -> journaled value`` (see :mod:`nemesis.handlers`)."""
Validator = Callable[[Any, Sequence[str]], "str | None"]
"""``validate(value, nodes) -> why it is wrong, or None``."""
Draw = Callable[[Sequence[str], random.Random], FaultOp]

ENTRY_POINT_GROUP = "splitbrain.faults"
MAX_AFTER = 10_000
"""The most messages an aimed fault may let the announcing node send before it strikes."""
MAX_CLOCK_OFFSET = 24 * 3600.0
"""Seconds: a bigger clock bump is a typo (milliseconds?), not a test."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One fault kind, declared once."""

    name: str  # the history ``f``
    capability: str
    family: str  # package family and report band
    group: str  # kinds of one group never overlap
    colour: str  # report band colour (CSS)
    shape: str  # the accepted values, as a user reads them
    handler: Handler
    undo: str | None = None  # the kind that undoes this one (fault starts only)
    validate: Validator | None = None
    draw: Draw | None = None  # plugins: draws one start; the family becomes a --nemesis package
    description: str = ""
    protocol: type | None = None  # plugins: the backend protocol of a new capability


# -- value validators ----------------------------------------------------------------------------------

def _finite(x: Any, lo: float, hi: float) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and lo <= x <= hi


def _node_list(x: Any, nodes: Sequence[str]) -> str | None:
    if not isinstance(x, list) or not all(isinstance(n, str) for n in x):
        return f"expected a list of node ids, got {json.dumps(x)}"
    unknown = sorted(set(x) - set(nodes))
    return f"unknown node(s) {', '.join(unknown)} (nodes: {', '.join(nodes)})" if unknown else None


def _offsets(x: Any, nodes: Sequence[str]) -> str | None:
    if isinstance(x, Mapping) and set(x) == {"targets", "offset"}:  # symbolic: resolved when it strikes
        if x["targets"] not in TARGET_SPECS:
            return f"unknown targets {x['targets']!r}"
        ok = _finite(x["offset"], -MAX_CLOCK_OFFSET, MAX_CLOCK_OFFSET)
        return None if ok else f"offset must be a finite number of seconds within +-{MAX_CLOCK_OFFSET:g}"
    if not isinstance(x, Mapping) or not x:
        return f"expected {{node: offset seconds}}, got {json.dumps(x)}"
    bad = _node_list(list(x), nodes)
    if bad:
        return bad
    for n, o in x.items():
        if not _finite(o, -MAX_CLOCK_OFFSET, MAX_CLOCK_OFFSET):
            return (
                f"offset of {n} must be a finite number of seconds within +-{MAX_CLOCK_OFFSET:g}, got {o!r}"
            )
    return None


TARGET_SPECS = ("one", "minority", "minority-third", "majority", "all", "primaries", "event")
GRUDGES = ("halves", "one", "minority", "ring", "bridge", "primaries", "event")


def nodes_or_targets(v: Any, nodes: Sequence[str]) -> str | None:
    """null, a node list, or ``{"targets": spec}`` (what fault starts on nodes accept)."""
    if v is None:
        return None
    if isinstance(v, Mapping) and set(v) == {"targets"}:
        return None if v["targets"] in TARGET_SPECS else f"unknown targets {v['targets']!r}"
    return _node_list(v, nodes)


def nodes_or_null(v: Any, nodes: Sequence[str]) -> str | None:
    """null or a node list (what undos accept)."""
    return None if v is None else _node_list(v, nodes)


def _null(v: Any, nodes: Sequence[str]) -> str | None:
    return None if v is None else f"expected null, got {json.dumps(v)}"


def _grudge(v: Any, nodes: Sequence[str]) -> str | None:
    if isinstance(v, Mapping) and set(v) == {"grudge"}:
        return None if v["grudge"] in GRUDGES else f"unknown grudge {v['grudge']!r}"
    if not isinstance(v, Mapping):
        return f"expected a grudge object, got {json.dumps(v)}"
    for n, xs in v.items():
        bad = _node_list([n], nodes) or _node_list(xs, nodes)
        if bad:
            return bad
    return None


def _strobe(v: Any, nodes: Sequence[str]) -> str | None:
    if not isinstance(v, Mapping):
        return f"expected an object, got {json.dumps(v)}"
    if not _finite(v.get("period"), 1e-6, 3600.0) or not _finite(v.get("duration", 0.0), 0.0, 1e6):
        return "period must be a number of seconds > 0 and duration >= 0"
    return _offsets(v.get("nodes"), nodes)


def _packet(v: Any, nodes: Sequence[str]) -> str | None:
    if not isinstance(v, Mapping):
        return f"expected an object, got {json.dumps(v)}"
    bad = None if v.get("nodes") is None else _node_list(v.get("nodes"), nodes)
    if bad:
        return bad
    for k, hi in (("delay", 60.0), ("loss", 1.0), ("dup", 1.0)):
        if not _finite(v.get(k, 0.0), 0.0, hi):
            return f"{k} must be a number in 0..{hi:g}, got {v.get(k)!r}"
    return None


def _leave(v: Any, nodes: Sequence[str]) -> str | None:
    return "expected a list of node ids, got null" if v is None else nodes_or_targets(v, nodes)


# -- the table -------------------------------------------------------------------------------------------

NODES_SHAPE = (
    'null (every node), a list of node ids, or {"targets": "one|minority|majority|all|primaries|event"}'
)
UNDO_SHAPE = "null (every node it holds) or a list of node ids"
_C = {"partition": "rgba(229,57,53,0.13)", "kill": "rgba(94,53,177,0.13)", "pause": "rgba(30,136,229,0.13)",
      "clock": "rgba(0,137,123,0.13)", "packet": "rgba(251,140,0,0.15)", "member": "rgba(67,160,71,0.13)"}
OTHER_COLOUR = "rgba(117,117,117,0.15)"

TABLE: dict[str, FaultSpec] = {s.name: s for s in (
    FaultSpec("start-partition", "net", "partition", "net", _C["partition"],
              'a grudge {"node": ["nodes it drops traffic from", ...], ...} or '
              '{"grudge": "halves|one|minority|ring|bridge|primaries|event"}',
              handlers.start_partition, "stop-partition", _grudge),
    FaultSpec("stop-partition", "net", "partition", "net", _C["partition"], "null", handlers.stop_partition,
              validate=_null),
    FaultSpec("kill", "kill", "kill", "process", _C["kill"], NODES_SHAPE, handlers.kill, "start",
              nodes_or_targets),
    FaultSpec("start", "kill", "kill", "process", _C["kill"], UNDO_SHAPE, handlers.start,
              validate=nodes_or_null),
    FaultSpec("pause", "pause", "pause", "process", _C["pause"], NODES_SHAPE, handlers.pause, "resume",
              nodes_or_targets),
    FaultSpec("resume", "pause", "pause", "process", _C["pause"], UNDO_SHAPE, handlers.resume,
              validate=nodes_or_null),
    FaultSpec("bump-clock", "clock", "clock", "clock", _C["clock"],
              f'{{"node": offset seconds, ...}} with |offset| <= {MAX_CLOCK_OFFSET:g}, or '
              '{"targets": "one|minority|majority|all|primaries|event", "offset": seconds}',
              handlers.bump_clock,
              "reset-clock", _offsets),
    FaultSpec("strobe-clock", "clock", "clock", "clock", _C["clock"],
              '{"nodes": {"node": offset seconds, ...}, "period": seconds > 0, "duration": seconds >= 0}',
              handlers.strobe_clock, "reset-clock", _strobe),
    FaultSpec("reset-clock", "clock", "clock", "clock", _C["clock"], UNDO_SHAPE, handlers.reset_clock,
              validate=nodes_or_null),
    FaultSpec("start-packet", "packet", "packet", "packet", _C["packet"],
              '{"nodes": [node ids] or null, "delay": seconds 0..60, "loss": 0..1, "dup": 0..1}',
              handlers.start_packet, "stop-packet", _packet),
    FaultSpec("stop-packet", "packet", "packet", "packet", _C["packet"], UNDO_SHAPE, handlers.stop_packet,
              validate=nodes_or_null),
    FaultSpec("leave", "membership", "member", "process", _C["member"], "a list of node ids", handlers.leave,
              "join", _leave),
    FaultSpec("join", "membership", "member", "process", _C["member"], UNDO_SHAPE, handlers.join,
              validate=nodes_or_null),
)}
BUILTIN = frozenset(TABLE)
_loaded: list[bool] = []


def register(*specs: FaultSpec) -> None:
    """Add fault kinds (a plugin's one registration line: a start and the kind that undoes it)."""
    for spec in specs:
        if spec.name in BUILTIN:
            raise ValueError(f"fault kind {spec.name!r} is built in")
        if spec.protocol is not None:
            from nemesis.capabilities import CAPABILITIES

            CAPABILITIES[spec.capability] = spec.protocol  # type: ignore[index]
        TABLE[spec.name] = spec


def unregister(*names: str) -> None:
    """Remove plugin kinds (tests)."""
    for name in names:
        if name not in BUILTIN:
            TABLE.pop(name, None)


def load_plugins() -> list[str]:
    """Register the kinds of every installed ``splitbrain.faults`` entry point (once); their names."""
    if _loaded:
        return []
    _loaded.append(True)
    from importlib.metadata import entry_points

    added: list[str] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        obj = ep.load()
        specs = obj() if callable(obj) and not isinstance(obj, FaultSpec) else obj
        for spec in specs if isinstance(specs, list | tuple) else [specs]:
            if isinstance(spec, FaultSpec) and spec.name not in TABLE:
                register(spec)
                added.append(spec.name)
    return added


def kind_named(name: str) -> Kind:
    """The kind called ``name`` (a :class:`FaultKind` member, or a plugin's); raises ``ValueError``."""
    try:
        return FaultKind(name)
    except ValueError:
        load_plugins()
        if name in TABLE:
            return PluginKind(name)
        raise ValueError(f"unknown fault kind {name!r}; valid: {', '.join(TABLE)}") from None


def spec_of(kind: Kind | str) -> FaultSpec:
    """The table entry of ``kind``."""
    name = kind.value if isinstance(kind, FaultKind | PluginKind) else str(kind)
    if name not in TABLE:
        load_plugins()
    return TABLE[name]


def starts() -> list[FaultSpec]:
    """Every kind that starts a fault (has an undo)."""
    return [s for s in TABLE.values() if s.undo is not None]


def family_of(kind: Kind | str) -> str:
    """The package family of ``kind`` (``kill`` for kill and start)."""
    return spec_of(kind).family


def group_of(kind: Kind | str) -> str:
    """The overlap group of ``kind``."""
    return spec_of(kind).group


def colours() -> dict[str, str]:
    """Band colour per family, plus ``other``."""
    return {**{s.family: s.colour for s in TABLE.values()}, "other": OTHER_COLOUR}


def validate_schedule(items: Any, nodes: Sequence[str]) -> list[TimedFault]:
    """Parse a user's schedule for a cluster of ``nodes``, sorted by time; raises ``ScheduleError`` naming
    the entry index and field, with the shapes that field accepts (from the table)."""
    from systems_under_test.core import EVENTS

    load_plugins()
    if not isinstance(items, list | tuple):
        raise ScheduleError(
            f"a schedule is a JSON list of {{at, f, value}} objects, got {type(items).__name__}"
        )
    out: list[TimedFault] = []
    for i, d in enumerate(items):
        where = f"schedule entry {i}"
        if not isinstance(d, Mapping):
            raise ScheduleError(f"{where}: expected an object {{at, f, value}}, got {json.dumps(d)}")
        f = d.get("f")
        if not isinstance(f, str) or f not in TABLE:
            raise ScheduleError(f"{where}, field 'f': unknown fault {f!r}; accepted: {', '.join(TABLE)}")
        spec = TABLE[f]
        if not _finite(d.get("at"), 0.0, 1e9):
            raise ScheduleError(f"{where}, field 'at': expected a finite number of seconds >= 0, got "
                                f"{json.dumps(d.get('at'))}")
        problem = spec.validate(d.get("value"), nodes) if spec.validate is not None else None
        if problem is not None:
            raise ScheduleError(f"{where}, field 'value' ({f}): {problem}; accepted: {spec.shape}")
        on = d.get("on")
        if on is not None and (on not in (*EVENTS, ANY_EVENT, ANNOUNCED) or spec.undo is None):
            raise ScheduleError(f"{where}, field 'on': only fault starts can wait for an event, one of "
                                f"{', '.join([*EVENTS, ANY_EVENT, ANNOUNCED])}; got {json.dumps(on)}")
        if "window" in d and not _finite(d.get("window"), 0.0, 1e6):
            raise ScheduleError(
                f"{where}, field 'window': expected seconds >= 0, got {json.dumps(d.get('window'))}"
            )
        after = d.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_AFTER or (
                after and on is None):
            raise ScheduleError(f"{where}, field 'after': expected a whole number of messages 0..{MAX_AFTER} "
                                f"on an aimed entry (one with 'on'), got {json.dumps(after)}")
        extra = sorted(set(d) - {"at", "f", "value", "on", "window", "after"})
        if extra:
            raise ScheduleError(f"{where}: unknown field(s) {', '.join(extra)}; "
                                "accepted: at, f, value, on, window, after")
        out.append(timed_fault_from_dict(d))
    return sorted(out, key=lambda tf: tf.at)


def schedule_shapes() -> list[tuple[str, str]]:
    """(fault kind, accepted value) for every kind, for docs and help."""
    return [(s.name, s.shape) for s in TABLE.values()]


def timed_fault_from_dict(d: Mapping[str, Any]) -> TimedFault:
    """Parse :meth:`TimedFault.to_dict` output; raises ``ScheduleError``."""
    try:
        kind = kind_named(d["f"])
        at = float(d["at"])
    except (KeyError, ValueError, TypeError) as e:
        valid = ", ".join(TABLE)
        raise ScheduleError(f"bad schedule entry {dict(d)!r} ({e}); f must be one of {valid}") from None
    on = d.get("on")
    return TimedFault(at, FaultOp(kind, d.get("value")), None if on is None else str(on),
                      float(d.get("window", 0.0) or 0.0), int(d.get("after", 0) or 0))


class _TableView(Mapping[Any, Any]):
    """A read-only, always current view of one column of :data:`nemesis.table.TABLE`, keyed by kind."""

    def __init__(self, column: str) -> None:
        self._column = column

    def _data(self) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for name, spec in TABLE.items():
            v = getattr(spec, self._column)
            if v is not None:
                out[kind_named(name)] = kind_named(v) if self._column == "undo" else v
        return out

    def __getitem__(self, key: Any) -> Any:
        return self._data()[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __contains__(self, key: object) -> bool:
        return key in self._data()


CAPABILITY_OF: Mapping[Kind, str] = _TableView("capability")
"""The backend capability (nemesis.capabilities.CAPABILITIES key) each kind needs (from the table)."""
UNDO_OF: Mapping[Kind, Kind] = _TableView("undo")
"""Fault starts and the kind that undoes each (the brackets a report draws as one band)."""


