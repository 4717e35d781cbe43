"""Packages and schedules: alternating fault/quiet periods, undo ops, JSON round trip, bad names."""

from __future__ import annotations

import random

import pytest

from nemesis.faults import FaultKind, ScheduleError, TimedFault
from nemesis.packages import PACKAGES, resolve_packages
from nemesis.schedule import from_json, plan, to_json
from systems_under_test.registry import UnknownName

NODES = ["n1", "n2", "n3", "n4", "n5"]
STARTS = {FaultKind.START_PARTITION, FaultKind.KILL, FaultKind.PAUSE, FaultKind.BUMP_CLOCK, FaultKind.START_PACKET}


def _plan(seed: int, names: tuple[str, ...] = ("partition", "kill"), limit: float = 60.0) -> list[TimedFault]:
    return plan(resolve_packages(names), NODES, random.Random(seed), interval=5.0, time_limit=limit)


def test_schedule_alternates_start_and_undo_within_the_time_limit() -> None:
    s = _plan(1)
    assert len(s) >= 6
    assert [tf.at for tf in s] == sorted(tf.at for tf in s)
    assert all(0 < tf.at < 60.0 for tf in s)
    for i, tf in enumerate(s):
        assert (tf.op.kind in STARTS) == (i % 2 == 0)
    for start, stop in zip(s[::2], s[1::2], strict=False):
        assert stop.op == PACKAGES["partition" if start.op.kind is FaultKind.START_PARTITION else "kill"].undo(start.op)
        assert 2.5 - 1e-9 <= stop.at - start.at <= 7.5 + 1e-9  # interval 5 +- 50%


def test_schedule_is_deterministic_and_uses_only_selected_packages() -> None:
    assert _plan(2) == _plan(2)
    assert _plan(2) != _plan(3)
    kinds = {tf.op.kind for tf in _plan(4, ("pause",))}
    assert kinds == {FaultKind.PAUSE, FaultKind.RESUME}
    assert plan((), NODES, random.Random(0), interval=5.0, time_limit=60.0) == []


def test_kill_and_pause_target_a_minority() -> None:
    for seed in range(30):
        for tf in _plan(seed, ("kill", "pause")):
            if tf.op.kind in (FaultKind.KILL, FaultKind.PAUSE):
                assert 1 <= len(tf.op.value) <= 2 and set(tf.op.value) <= set(NODES)


def test_json_round_trip_and_errors() -> None:
    s = _plan(5, ("partition", "kill", "clock", "packet"))
    assert from_json(to_json(s)) == s
    with pytest.raises(ScheduleError, match="start-partition"):
        from_json([{"at": 1, "f": "explode"}])
    with pytest.raises(ScheduleError):
        from_json([{"f": "kill"}])


def test_package_names() -> None:
    assert [p.name for p in resolve_packages(["partition", "kill", "partition"])] == ["partition", "kill"]
    assert resolve_packages(["none"]) == ()
    assert len(resolve_packages(["all"])) == len(PACKAGES)
    with pytest.raises(UnknownName) as e:
        resolve_packages(["partiton"])
    assert "partition" in e.value.choices
