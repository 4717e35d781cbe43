"""Fault schedules: when the nemesis strikes and heals.

The default schedule (``mix``) alternates quiet and fault periods of ``interval`` seconds each,
jittered by +-``jitter`` (a fraction), drawing each fault from one of the selected packages (a flip-
flop of start and undo). Quiet periods matter as much as faults: many bugs show only when a healed
cluster has to reconcile, and a cluster that is never given time to recover just times out every op.

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

from nemesis.faults import CAPABILITY_OF, UNDO_OF, TimedFault
from nemesis.packages import Package, resolve_mode, resolve_packages


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


MODES = {"mix": plan, "combined": combined, "phased": phased}


def build(
    names: Sequence[str],
    nodes: Sequence[str],
    rng: random.Random,
    *,
    interval: float,
    time_limit: float,
    jitter: float = 0.5,
) -> list[TimedFault]:
    """The schedule for ``--nemesis`` words ``names``: their packages laid out by their mode."""
    packages = resolve_packages(names)
    return MODES[resolve_mode(names)](packages, nodes, rng, interval=interval, time_limit=time_limit,
                                      jitter=jitter)


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
    return sorted((TimedFault.from_dict(d) for d in items), key=lambda tf: tf.at)
