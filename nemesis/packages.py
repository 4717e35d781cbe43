"""Nemesis packages: named fault families a user selects with ``--nemesis partition,kill:majority``.

A package is Jepsen's ``nemesis.combined`` package as data: a generator (how to draw one fault with a
seeded rng), its undo, a *final* generator (the ops that leave the cluster healed whatever the package
did), the capability it needs (so a schedule is refused up front, before any node starts) and the
history ops it brackets (so a report can draw each fault as a band from its start to its undo).

Names: ``partition``, ``kill``, ``pause``, ``clock``, ``packet``, ``member``, each optionally with a
qualifier after a colon choosing the targets or the flavour: ``partition:ring``, ``kill:all``,
``pause:primaries``, ``clock:strobe``, ``packet:one``; ``:any`` draws a fresh qualifier each time.
The bare names draw their targets the way Jepsen's combined nemesis does (kill, pause and clock strike
one node, a minority, a majority, all of them or the current leaders; a partition takes any shape), so
that faults like "every acceptor crashes at once" happen without being asked for. ``all`` means the five
classic packages plus ``member`` where the system supports membership changes, ``none`` nothing; ``combined``
and ``phased`` are not packages but schedule modes (:mod:`nemesis.schedule`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nemesis import grudges, targets
from nemesis.faults import FaultKind, FaultOp, Kind
from nemesis.table import CAPABILITY_OF, UNDO_OF
from systems_under_test.registry import UnknownName

Draw = Callable[[Sequence[str], random.Random], FaultOp]

MODES: dict[str, str] = {
    "combined": "packages strike independently, so faults of different kinds overlap (Jepsen's combined)",
    "phased": "one phase per package, in the order given, each healed before the next begins",
}


def _targets(kind: FaultKind, spec: str) -> Draw:
    """Draw ``kind`` against the nodes ``spec`` selects (``primaries``: resolved when it strikes)."""

    def draw(nodes: Sequence[str], rng: random.Random) -> FaultOp:
        if spec == "primaries":
            return FaultOp(kind, {"targets": "primaries"})
        return FaultOp(kind, targets.pick(spec, nodes, rng))

    return draw


def _partition(name: str) -> Draw:
    def draw(nodes: Sequence[str], rng: random.Random) -> FaultOp:
        if name == "primaries":
            return FaultOp(FaultKind.START_PARTITION, {"grudge": "primaries"})
        return FaultOp(FaultKind.START_PARTITION, grudges.BUILDERS[name](nodes, rng))

    return draw


def _default_partition(nodes: Sequence[str], rng: random.Random) -> FaultOp:
    builder = rng.choice([grudges.random_halves, grudges.isolate_one])
    return FaultOp(FaultKind.START_PARTITION, builder(nodes, rng))


JEPSEN_SPECS = ("one", "minority", "majority", "all", "primaries")
"""The node specs Jepsen's combined nemesis draws kill, pause and clock targets from."""


def _skew(rng: random.Random) -> float:
    """A clock offset from milliseconds to 10 s, either sign: log-uniform, since leases and timeouts
    live on every scale and a fixed range would only ever probe one of them."""
    return round(rng.choice((-1, 1)) * 10 ** rng.uniform(-2.0, 1.0), 3)


def _bump_any(nodes: Sequence[str], rng: random.Random) -> FaultOp:
    """Jepsen's clock nemesis: bump the clocks of one, a minority, a majority, all (each its own skew) or
    the current leaders (who grant leases and stamp deadlines), or strobe a minority's clocks."""
    spec = rng.choice((*JEPSEN_SPECS, "strobe"))
    if spec == "strobe":
        return _strobe_clock(nodes, rng)
    if spec == "primaries":
        return FaultOp(FaultKind.BUMP_CLOCK, {"targets": "primaries", "offset": _skew(rng)})
    return FaultOp(FaultKind.BUMP_CLOCK, {n: _skew(rng) for n in targets.pick(spec, nodes, rng)})


def _bump_clock(spec: str) -> Draw:
    def draw(nodes: Sequence[str], rng: random.Random) -> FaultOp:
        chosen = targets.pick(spec, nodes, rng)
        return FaultOp(FaultKind.BUMP_CLOCK, {n: round(rng.uniform(-10.0, 10.0), 3) for n in chosen})

    return draw


def _strobe_clock(nodes: Sequence[str], rng: random.Random) -> FaultOp:
    """Flip a minority's clocks between now and now + delta every ``period`` for ``duration`` seconds."""
    chosen = targets.pick("minority", nodes, rng)
    return FaultOp(FaultKind.STROBE_CLOCK, {
        "nodes": {n: round(rng.uniform(-10.0, 10.0), 3) for n in chosen},
        "period": round(rng.uniform(0.01, 0.2), 3),
        "duration": round(rng.uniform(0.5, 3.0), 3),
    })


def _packet(spec: str) -> Draw:
    def draw(nodes: Sequence[str], rng: random.Random) -> FaultOp:
        chosen = sorted(nodes) if spec == "all" else targets.pick(spec, nodes, rng)
        return FaultOp(FaultKind.START_PACKET, {
            "nodes": chosen,
            "delay": round(rng.uniform(0.0, 0.1), 3),
            "loss": round(rng.uniform(0.0, 0.3), 3),
            "dup": round(rng.uniform(0.0, 0.1), 3),
        })

    return draw


def _restart(nodes: Sequence[str], rng: random.Random) -> FaultOp:
    """Crash a majority or every node at once (a power loss, a rack failure)."""
    return FaultOp(FaultKind.KILL, targets.pick(rng.choice(("majority", "all")), nodes, rng))


def _leave(nodes: Sequence[str], rng: random.Random) -> FaultOp:
    """One node leaves; never the first node, which systems with membership use as the change manager."""
    candidates = list(nodes[1:]) or list(nodes)
    return FaultOp(FaultKind.LEAVE, [rng.choice(candidates)])


def _any(options: Sequence[Draw]) -> Draw:
    def draw(nodes: Sequence[str], rng: random.Random) -> FaultOp:
        return rng.choice(list(options))(nodes, rng)

    return draw


def undo(op: FaultOp) -> FaultOp:
    """The op that reverses ``op`` (symbolic targets undo every node the executor still holds)."""
    kind = op.kind
    if kind not in UNDO_OF:
        raise ValueError(f"{kind.value} is not a fault start")
    back = UNDO_OF[kind]
    if kind is FaultKind.START_PARTITION:
        return FaultOp(back, None)
    if isinstance(op.value, Mapping) and "targets" in op.value:
        return FaultOp(back, None)
    if kind is FaultKind.BUMP_CLOCK:
        return FaultOp(back, sorted(op.value))
    if kind is FaultKind.STROBE_CLOCK:
        return FaultOp(back, sorted(op.value["nodes"]))
    if kind is FaultKind.START_PACKET:
        return FaultOp(back, op.value["nodes"])
    return FaultOp(back, op.value)


_undo = undo  # the first cut's name


@dataclass(frozen=True, slots=True)
class Package:
    """A fault family: its name, required capability, how to draw one fault, and what it brackets."""

    name: str
    capability: str
    description: str
    draw: Draw
    starts: tuple[Kind, ...] = ()
    # How long one fault lasts, as shares (low, high) of the nemesis interval, where the package itself
    # fixes it (a crashed quorum comes back soon); None: the schedule decides.
    span: tuple[float, float] | None = None
    # Whether an aimed fault of this package may be retargeted at the node that announced the event
    # (False: it keeps its own targets, e.g. the whole cluster crashing right after a decision).
    retarget: bool = True

    def undo(self, op: FaultOp) -> FaultOp:
        """The op that heals ``op``."""
        return undo(op)

    def final(self) -> list[FaultOp]:
        """Ops that leave the cluster healed of anything this package may have done (Jepsen's final gen)."""
        return [FaultOp(k, None) for k in dict.fromkeys(UNDO_OF[s] for s in self.starts)]

    def brackets(self) -> list[tuple[str, str]]:
        """``(start f, undo f)`` pairs of the history ops this package emits (the report's fault bands)."""
        return [(s.value, UNDO_OF[s].value) for s in self.starts]

    @property
    def family(self) -> str:
        """The unqualified name (``kill`` for ``kill:majority``)."""
        return self.name.split(":", 1)[0]


def _pkg(name: str, description: str, draw: Draw, *starts: FaultKind) -> Package:
    return Package(name, CAPABILITY_OF[starts[0]], description, draw, starts)


RESTART_SPAN = (0.02, 0.2)
"""How long a restarted quorum stays down, as shares of the nemesis interval (0.1-1 s at the default 5 s):
soon enough that the run goes on and the cluster has to recover from what it persisted."""


def _build() -> dict[str, Package]:
    out: list[Package] = [
        _pkg("partition",
             "network partitions: halves, one, minority, majorities ring, bridge or the leaders cut off",
             _any([_partition(n) for n in (*grudges.BUILDERS, "primaries")]), FaultKind.START_PARTITION),
        _pkg("kill",
             "crash one, a minority, a majority, all or the leading nodes (SIGKILL) and restart them later",
             _any([_targets(FaultKind.KILL, spec) for spec in JEPSEN_SPECS]), FaultKind.KILL),
        _pkg("pause", "freeze one, a minority, a majority, all or the leading nodes (SIGSTOP), resume later",
             _any([_targets(FaultKind.PAUSE, spec) for spec in JEPSEN_SPECS]), FaultKind.PAUSE),
        _pkg("clock",
             "offset the clocks of one, a minority, a majority, all or the leading nodes by 10 ms to 10 s, "
             "or strobe a minority's clocks", _bump_any, FaultKind.BUMP_CLOCK, FaultKind.STROBE_CLOCK),
        _pkg("packet", "delay, drop and duplicate what one, a minority, a majority or all nodes send",
             _any([_packet(spec) for spec in ("one", "minority", "majority", "all")]),
             FaultKind.START_PACKET),
        _pkg("member", "a node leaves the cluster (data handed off) and joins again later", _leave,
             FaultKind.LEAVE),
        Package("restart", CAPABILITY_OF[FaultKind.KILL],
                "crash a majority or every node at once and restart them soon after (a power loss)",
                _restart, (FaultKind.KILL,), span=RESTART_SPAN, retarget=False),
    ]
    partitions = {**{n: _partition(n) for n in grudges.BUILDERS}, "primaries": _partition("primaries")}
    partition_text = {
        "halves": "split into two halves (sizes differ by at most one)",
        "one": "isolate one random node",
        "minority": "cut a random minority off from the majority",
        "ring": "majorities ring: every node sees a majority, no two the same one",
        "bridge": "two halves joined by one node that sees both sides",
        "primaries": "isolate the current leaders/primaries from everyone else",
    }
    for q, draw in partitions.items():
        out.append(_pkg(f"partition:{q}", f"partition: {partition_text[q]}", draw, FaultKind.START_PARTITION))
    out.append(_pkg("partition:any",
                    "partition: each time one of halves, one, minority, ring, bridge, primaries",
                    _any(list(partitions.values())), FaultKind.START_PARTITION))
    for family, kind, verb in (("kill", FaultKind.KILL, "crash and later restart"),
                               ("pause", FaultKind.PAUSE, "freeze and later resume")):
        draws = {spec: _targets(kind, spec) for spec in targets.SPECS}
        for spec, draw in draws.items():
            out.append(_pkg(f"{family}:{spec}", f"{verb} {targets.SPECS[spec]}", draw, kind))
        out.append(_pkg(f"{family}:any", f"{verb} each time one of: {', '.join(targets.SPECS)}",
                        _any(list(draws.values())), kind))
    out.append(_pkg("clock:bump", "offset a minority of node clocks by up to +-10 s", _bump_clock("minority"),
                    FaultKind.BUMP_CLOCK))
    out.append(_pkg("clock:strobe", "strobe a minority's clocks: flip between +0 and +-10 s every few ms",
                    _strobe_clock, FaultKind.STROBE_CLOCK))
    out.append(_pkg("clock:any", "clock bumps or strobes", _any([_bump_clock("minority"), _strobe_clock]),
                    FaultKind.BUMP_CLOCK, FaultKind.STROBE_CLOCK))
    for spec in ("one", "minority", "majority", "all"):
        out.append(_pkg(f"packet:{spec}", f"delay, drop and duplicate what {targets.SPECS[spec]} sends",
                        _packet(spec), FaultKind.START_PACKET))
    return {p.name: p for p in out}


PACKAGES: Mapping[str, Package] = _build()
CLASSIC = ("partition", "kill", "pause", "clock", "packet", "restart")
"""What ``all`` selects: the packages every backend running our own systems supports."""


def plugin_packages() -> dict[str, Package]:
    """Packages of fault kinds plugins registered with a ``draw`` (named after their family)."""
    from nemesis.table import BUILTIN, TABLE, kind_named, load_plugins

    load_plugins()
    return {s.family: Package(s.family, s.capability, s.description or s.name, s.draw, (kind_named(s.name),))
            for s in TABLE.values() if s.name not in BUILTIN and s.draw is not None and s.undo is not None}


def choices() -> list[str]:
    """Every word ``--nemesis`` accepts."""
    return [*PACKAGES, *plugin_packages(), "all", "none", *MODES]


def _words(names: Sequence[str]) -> list[str]:
    return [w.strip() for name in names for w in str(name).split(",") if w.strip() and w.strip() != "none"]


def resolve_packages(names: Sequence[str], system: str | None = None) -> tuple[Package, ...]:
    """The packages called ``names`` (``"none"`` or empty = no faults; modes skipped); raises ``UnknownName``.

    ``all`` adds ``member`` only when ``system`` is given and supports membership changes.
    """
    from nemesis.membership import refusal

    out: list[Package] = []
    for name in _words(names):
        if name in MODES:
            continue
        if name == "all":
            extra = ("member",) if system is not None and refusal(system) is None else ()
            out.extend(PACKAGES[p] for p in (*CLASSIC, *extra) if PACKAGES[p] not in out)
            continue
        package = PACKAGES.get(name) or plugin_packages().get(name)
        if package is None:
            raise UnknownName(f"unknown nemesis {name!r}", choices())
        if package not in out:
            out.append(package)
    return tuple(out)


def resolve_mode(names: Sequence[str]) -> str:
    """The schedule mode named among ``names`` (``"mix"`` when none); both at once is an error."""
    modes = [w for w in _words(names) if w in MODES]
    if len(set(modes)) > 1:
        raise UnknownName(f"choose one schedule mode, not {' and '.join(sorted(set(modes)))}", list(MODES))
    return modes[0] if modes else "mix"


def describe() -> list[dict[str, Any]]:
    """Name, capability and description of every package (for ``splitbrain systems``)."""
    return [{"name": p.name, "capability": p.capability, "description": p.description,
             "brackets": [list(b) for b in p.brackets()]} for p in PACKAGES.values()]


def help_text() -> str:
    """A compact listing of every ``--nemesis`` word and its meaning (for ``splitbrain run --help``)."""
    families: dict[str, list[str]] = {}
    for p in PACKAGES.values():
        if ":" in p.name:
            families.setdefault(p.family, []).append(p.name.split(":", 1)[1])
    parts = [f"{p.name} ({p.description}{'; :' + '|:'.join(families[p.name]) if p.name in families else ''})"
             for p in PACKAGES.values() if ":" not in p.name]
    parts += ["all (= " + ",".join(CLASSIC) + ", and member where the system has membership changes)", "none"]
    parts += [f"{m} ({text})" for m, text in MODES.items()]
    return "comma-separated fault packages: " + "; ".join(parts)
