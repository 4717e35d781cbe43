"""Fault schedules: when the nemesis strikes and heals.

The default schedule (``mix``, :func:`swarm`) is swarm testing (Groce et al., ISSTA 2012) over phases:
the run is cut into phases, and each phase enables a random subset of the selected packages with its
own fault length and rate (a scale of ``interval``), decides whether its faults of different kinds may
overlap (Jepsen's combined nemesis: a crash inside a partition) and whether they are *aimed* at
protocol events (:class:`nemesis.faults.TimedFault` ``on``: crash whoever just decided, before it told
anyone, or after it told only some; the event kind is drawn among those the run announced, so a system
announcing two kinds gets both aimed at). A fixed uniform mix drowns bugs that need one kind of fault
alone, or two kinds together, or one moment; varying the mix per phase reaches all of those without
knowing which one a system needs. The subsets are taken from a shuffled cycle of the packages, so every
requested kind gets its turn before any repeats, and the fault rate is raised when the run is too short
for one cycle otherwise.
Inside a phase, faults follow each other closely (a quiet gap of about a quarter of the fault before it),
so a run spends its time under faults and their aftermath rather than idle; the healed stretches between
phases stay, since many bugs show only when a healed cluster has to reconcile. An aimed crash is short
(``AIMED_CRASH`` of the drawn length), so a phase reaches more protocol moments. After each of its
packages had one fault, a phase goes on with whichever has had the least fault time in it, so every
enabled kind gets an even share of the phase's time and short faults (aimed crashes) strike more often.
Phases are short (``PHASE`` of the run), so one run tries many mixes.

:func:`plan` is the plain flip-flop (alternating quiet and fault periods of ``interval`` seconds each,
jittered by +-``jitter``) that ``combined`` and ``phased`` lay out per timeline.

``combined`` composes packages the way Jepsen's ``nemesis.combined`` does: every package flip-flops
on its own timeline, so a kill may strike in the middle of a partition. Packages that need the same
capability would undo each other (a second partition replaces the first), so they share one
timeline and never overlap. ``phased`` gives each package its own stretch of the run, in the order
given, and heals at the end of each phase, so a report shows which fault family did the damage.

Whatever the mode, any fault still active at the end of the main phase is undone by the executor's
heal (the final generator), so a schedule may end mid-fault.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from nemesis.faults import ANNOUNCED, FaultKind, FaultOp, TimedFault
from nemesis.packages import Package, resolve_mode, resolve_packages
from nemesis.table import CAPABILITY_OF, UNDO_OF, timed_fault_from_dict

SCALES = (0.2, 0.4, 0.7, 1.0)
"""Shares of ``interval`` a swarm phase draws its fault length and quiet gap from."""
QUIET = 0.25
"""A swarm phase's quiet gap between faults, as a share of the fault before it (the phase's own pauses
between faults; the healed stretches between phases and after the run stay)."""
PHASE = (0.12, 0.25)
"""A swarm phase's length, as a share of the run (drawn uniformly): many phases per run, so a run tries
many fault mixes and fewer runs miss the one a bug needs."""
AIMED_CRASH = 0.25
"""An aimed crash's length (and the gap after it), as a share of what the phase draws for its faults: a crash
at a protocol moment is about what that moment leaves on disk and in flight, which hardly depends on how
long the node stays down, so aimed crashes are short and a phase reaches more moments."""
AIMABLE = frozenset({FaultKind.KILL, FaultKind.PAUSE, FaultKind.START_PARTITION, FaultKind.BUMP_CLOCK,
                     FaultKind.START_PACKET})
"""Fault starts that may wait for a protocol event."""


def plan(
    packages: Sequence[Package],
    nodes: Sequence[str],
    rng: random.Random,
    *,
    interval: float,
    time_limit: float,
    jitter: float = 0.5,
) -> list[TimedFault]:
    """A schedule of timed fault ops over ``[0, time_limit)`` alternating quiet and fault periods."""
    if not packages or interval <= 0:
        return []
    out: list[TimedFault] = []
    t = 0.0

    def period() -> float:
        return interval * rng.uniform(1.0 - jitter, 1.0 + jitter)

    t += period()
    while t < time_limit:
        package = rng.choice(list(packages))
        start = package.draw(nodes, rng)
        out.append(TimedFault(round(t, 6), start))
        t += period()
        if t >= time_limit:
            break
        out.append(TimedFault(round(t, 6), package.undo(start)))
        t += period()
    return out


def _aim(op: FaultOp, rng: random.Random | None, retarget: bool = True) -> FaultOp:
    """Half the time (always without ``rng``), retarget a kill/pause/partition at the event's node."""
    if retarget and (rng is None or rng.random() < 0.5):
        if op.kind in (FaultKind.KILL, FaultKind.PAUSE):
            return FaultOp(op.kind, {"targets": "event"})
        if op.kind is FaultKind.START_PARTITION:
            return FaultOp(op.kind, {"grudge": "event"})
        if op.kind is FaultKind.BUMP_CLOCK:  # the announcing node's clock, by the largest drawn skew
            v = dict(op.value)
            offset = v["offset"] if "offset" in v else max(v.values(), key=abs)
            return FaultOp(op.kind, {"targets": "event", "offset": offset})
    return op


def next_turn(subset: Sequence[Package], fired: int, used: Mapping[str, float]) -> Package:
    """The package a swarm phase fires next: each in turn once, then whichever has had the least fault
    time in the phase so far (``used``, by name; the first of them on a tie)."""
    if fired < len(subset):
        return subset[fired]
    return min(subset, key=lambda q: used[q.name])


def swarm(
    packages: Sequence[Package],
    nodes: Sequence[str],
    rng: random.Random,
    *,
    interval: float,
    time_limit: float,
    jitter: float = 0.5,
) -> list[TimedFault]:
    """Swarm phases over ``[0, time_limit)``: see the module docstring. Sorted by time, stable."""
    if not packages or interval <= 0:
        return []
    pool = list(packages)
    # One cycle of the packages must fit the run even at the longest jitter: the first gap plus a fault
    # and a gap per package.
    cap = max(min(SCALES), min(1.0, time_limit / ((1.0 + jitter) * (2 * len(pool) + 1) * interval)))
    cycle: list[Package] = []
    out: list[tuple[float, int, TimedFault]] = []
    busy: dict[str, float] = {}  # capability -> when its current fault is undone
    seen: set[str] = set()
    struck_until = 0.0  # when the last aimed fault is undone

    def emit(tf: TimedFault) -> None:
        out.append((tf.at, len(out), tf))

    t = interval * min(cap, rng.choice(SCALES)) * rng.uniform(1.0 - jitter, 1.0 + jitter)
    while t < time_limit:
        k = rng.randint(1, len(pool))
        subset: list[Package] = []
        while len(subset) < k:
            if not cycle:
                cycle = rng.sample(pool, len(pool))
            p = cycle.pop(0)
            if p in subset:
                cycle.insert(0, p)
                break
            subset.append(p)
        scale = min(cap, rng.choice(SCALES))
        overlap = rng.random() < 0.5
        aim = rng.random() < 0.75
        phase_end = min(time_limit, t + rng.uniform(*PHASE) * time_limit)
        fired = 0
        used = {p.name: 0.0 for p in subset}
        # Until every package had its first turn a phase fires each of its packages once; later phases
        # repeat theirs until the phase ends.
        first_round = len(seen) < len(pool)
        seen.update(p.name for p in subset)
        while fired < len(subset) or (t < phase_end and not first_round):
            if t >= time_limit:
                cycle[:0] = subset[fired:]  # their turn comes first in a later run... or never: too short
                break
            p = next_turn(subset, fired, used)
            fired += 1
            op = p.draw(nodes, rng)
            length = interval * (rng.uniform(*p.span) if p.span else scale * rng.uniform(1.0 - jitter,
                                                                                          1.0 + jitter))
            gap = QUIET * length * rng.uniform(1.0 - jitter, 1.0 + jitter)
            cap_name = CAPABILITY_OF[op.kind]
            t = max(t, busy.get(cap_name, 0.0))
            if t >= time_limit:
                continue
            on, after = None, 0
            if aim and op.kind in AIMABLE:
                if overlap and struck_until > t and rng.random() < 0.5:
                    # a follow-up inside an aimed fault: hit the node that was struck at the event again
                    # (cut off at the critical moment, then crashed; crashed, then its clock moved ...)
                    op = _aim(op, None, p.retarget)
                else:
                    on = ANNOUNCED
                    # at the event (a third of the time), or part-way through what the node sends next:
                    # after 1 to n-1 messages, n the cluster size, so a broadcast to the n-1 others is cut
                    # with some peers told (and at n-1, before the client hears)
                    after = 0 if rng.random() < 1 / 3 else rng.randint(1, max(1, len(nodes) - 1))
                    op = _aim(op, rng, p.retarget)
                    if op.kind is FaultKind.KILL:
                        # a crash aimed at a moment tests what the moment left behind, which its length
                        # hardly changes: short ones leave room for more moments
                        length *= AIMED_CRASH
                        gap *= AIMED_CRASH
                    struck_until = t + length
            used[p.name] += length + gap
            start = TimedFault(round(t, 6), op, on, round(length / 2, 6) if on else 0.0, after)
            emit(start)
            end = t + length
            busy[cap_name] = end
            if end < time_limit:
                emit(TimedFault(round(end, 6), p.undo(op)))
            # overlapping: the next fault (of another capability) strikes while this one is in force
            t = t + length * rng.uniform(0.2, 0.8) if overlap else end + gap
    return [tf for *_, tf in sorted(out, key=lambda x: x[:2])]


def combined(
    packages: Sequence[Package],
    nodes: Sequence[str],
    rng: random.Random,
    *,
    interval: float,
    time_limit: float,
    jitter: float = 0.5,
) -> list[TimedFault]:
    """Independent flip-flop timelines, one per capability, merged in time order."""
    groups: dict[str, list[Package]] = {}
    for p in packages:
        groups.setdefault(p.capability, []).append(p)
    seeds = {cap: rng.getrandbits(64) for cap in groups}
    merged: list[tuple[float, int, int, TimedFault]] = []
    for g, (cap, group) in enumerate(groups.items()):
        sub = plan(group, nodes, random.Random(seeds[cap]), interval=interval, time_limit=time_limit,
                   jitter=jitter)
        merged.extend((tf.at, g, i, tf) for i, tf in enumerate(sub))
    return [tf for *_, tf in sorted(merged, key=lambda x: x[:3])]


def phased(
    packages: Sequence[Package],
    nodes: Sequence[str],
    rng: random.Random,
    *,
    interval: float,
    time_limit: float,
    jitter: float = 0.5,
) -> list[TimedFault]:
    """One phase per package (equal shares of the run, in order), each ending healed."""
    if not packages:
        return []
    span = time_limit / len(packages)
    out: list[TimedFault] = []
    for i, p in enumerate(packages):
        start = i * span
        sub = plan([p], nodes, rng, interval=interval, time_limit=span, jitter=jitter)
        if sub and sub[-1].op.kind in UNDO_OF:
            sub.append(TimedFault(span, p.undo(sub[-1].op)))
        out.extend(TimedFault(round(start + tf.at, 6), tf.op) for tf in sub)
    return out


MODES = {"mix": swarm, "combined": combined, "phased": phased}


def build(
    names: Sequence[str],
    nodes: Sequence[str],
    rng: random.Random,
    *,
    interval: float,
    time_limit: float,
    jitter: float = 0.5,
    system: str | None = None,
) -> list[TimedFault]:
    """The schedule for ``--nemesis`` words ``names``: their packages laid out by their mode."""
    packages = resolve_packages(names, system)
    return MODES[resolve_mode(names)](
        packages, nodes, rng, interval=interval, time_limit=time_limit, jitter=jitter
    )


def active_at(schedule: Sequence[TimedFault], t: float) -> set[str]:
    """Capabilities with a fault started and not yet undone at time ``t`` (for tests and reports)."""
    open_: set[str] = set()
    for tf in schedule:
        if tf.at > t:
            break
        kind = tf.op.kind
        if kind in UNDO_OF:
            open_.add(CAPABILITY_OF[kind])
        else:
            open_.discard(CAPABILITY_OF[kind])
    return open_


def to_json(schedule: Sequence[TimedFault]) -> list[dict[str, Any]]:
    """JSON form of a schedule."""
    return [tf.to_dict() for tf in schedule]


def from_json(items: Sequence[Mapping[str, Any]]) -> list[TimedFault]:
    """Parse a JSON schedule (sorted by time); raises ``ScheduleError``."""
    return sorted((timed_fault_from_dict(d) for d in items), key=lambda tf: tf.at)
