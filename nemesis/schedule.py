"""Fault schedules: when the nemesis strikes and heals.

The default schedule alternates quiet and fault periods of ``interval`` seconds each, jittered by
+-``jitter`` (a fraction), drawing each fault from one of the selected packages. Quiet periods matter
as much as faults: many bugs show only when a healed cluster has to reconcile, and a cluster that is
never given time to recover just times out every op. Any fault still active at the end of the main
phase is undone by the executor's heal, so a schedule may end mid-fault.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from nemesis.faults import TimedFault
from nemesis.packages import Package


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


def to_json(schedule: Sequence[TimedFault]) -> list[dict[str, Any]]:
    """JSON form of a schedule."""
    return [tf.to_dict() for tf in schedule]


def from_json(items: Sequence[Mapping[str, Any]]) -> list[TimedFault]:
    """Parse a JSON schedule (sorted by time); raises ``ScheduleError``."""
    return sorted((TimedFault.from_dict(d) for d in items), key=lambda tf: tf.at)
