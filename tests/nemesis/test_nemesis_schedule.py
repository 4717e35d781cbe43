"""Packages and schedules: alternating fault/quiet periods, undo ops, JSON round trip, bad names."""

from __future__ import annotations

import random

import pytest

from nemesis.faults import FaultKind, ScheduleError, TimedFault
from nemesis.packages import CLASSIC, MODES, PACKAGES, help_text, resolve_mode, resolve_packages
from nemesis.schedule import active_at, build, combined, from_json, phased, plan, to_json
from nemesis.table import CAPABILITY_OF, UNDO_OF
from systems_under_test.registry import UnknownName

NODES = ["n1", "n2", "n3", "n4", "n5"]
STARTS = {FaultKind.START_PARTITION, FaultKind.KILL, FaultKind.PAUSE, FaultKind.BUMP_CLOCK,
          FaultKind.START_PACKET}


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
        assert stop.op == PACKAGES[
            "partition" if start.op.kind is FaultKind.START_PARTITION else "kill"
        ].undo(start.op)
        assert 2.5 - 1e-9 <= stop.at - start.at <= 7.5 + 1e-9  # interval 5 +- 50%


def test_schedule_is_deterministic_and_uses_only_selected_packages() -> None:
    assert _plan(2) == _plan(2)
    assert _plan(2) != _plan(3)
    kinds = {tf.op.kind for tf in _plan(4, ("pause",))}
    assert kinds == {FaultKind.PAUSE, FaultKind.RESUME}
    assert plan((), NODES, random.Random(0), interval=5.0, time_limit=60.0) == []


def test_kill_and_pause_draw_targets_like_jepsens_combined_nemesis() -> None:
    """one, a minority, a majority, all or the leaders: every size happens, and leaders stay symbolic."""
    sizes: set[int] = set()
    symbolic = 0
    for seed in range(30):
        for tf in build(["kill", "pause"], NODES, random.Random(seed), interval=5.0, time_limit=60.0):
            if tf.op.kind in (FaultKind.KILL, FaultKind.PAUSE):
                if isinstance(tf.op.value, dict):
                    assert tf.op.value["targets"] in ("primaries", "event")
                    symbolic += 1
                else:
                    assert set(tf.op.value) <= set(NODES)
                    sizes.add(len(tf.op.value))
    assert sizes == {1, 2, 3, 5} and symbolic > 0


def test_swarm_gives_every_requested_kind_its_turn_and_varies_the_mix() -> None:
    names = ["partition:ring", "kill:primaries", "pause", "clock"]
    mixes = set()
    for seed in range(40):
        s = build(names, NODES, random.Random(seed), interval=5.0, time_limit=30.0)
        caps = {CAPABILITY_OF[tf.op.kind] for tf in s}
        assert caps == {"net", "kill", "pause", "clock"}, (seed, caps)
        assert [tf.at for tf in s] == sorted(tf.at for tf in s)
        assert all(0 < tf.at < 30.0 for tf in s)
        # per capability, starts and undos alternate (never two faults of one kind at once)
        for cap in caps:
            ops = [tf.op.kind for tf in s if CAPABILITY_OF[tf.op.kind] == cap]
            assert all((k in UNDO_OF) == (i % 2 == 0) for i, k in enumerate(ops)), (seed, cap)
        mixes.add(tuple(sorted(CAPABILITY_OF[tf.op.kind] for tf in s[:4])))
        assert build(names, NODES, random.Random(seed), interval=5.0, time_limit=30.0) == s
    assert len(mixes) > 5
    aimed = [tf for seed in range(20) for tf in build(names, NODES, random.Random(seed), interval=5.0,
                                                      time_limit=30.0) if tf.on is not None]
    assert aimed and all(tf.window > 0 and tf.op.kind in UNDO_OF for tf in aimed)
    assert from_json(to_json(aimed)) == sorted(aimed, key=lambda tf: tf.at)


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
    assert [p.name for p in resolve_packages(["all"])] == list(CLASSIC)
    assert [p.name for p in resolve_packages(["kill:majority,partition:ring", "combined"])] == [
        "kill:majority", "partition:ring"]
    with pytest.raises(UnknownName) as e:
        resolve_packages(["partiton"])
    assert "partition" in e.value.choices


def test_every_package_draws_a_start_its_undo_heals_and_final_covers_it() -> None:
    for name, p in PACKAGES.items():
        for seed in range(5):
            op = p.draw(NODES, random.Random(seed))
            assert op.kind in p.starts, name
            assert CAPABILITY_OF[op.kind] == p.capability, name
            assert p.undo(op).kind is UNDO_OF[op.kind], name
            assert p.undo(op).kind in {f.kind for f in p.final()}, name
            assert (op.kind.value, UNDO_OF[op.kind].value) in p.brackets(), name


def test_qualified_targets() -> None:
    rng = random.Random(0)
    for _ in range(20):
        assert len(PACKAGES["kill:majority"].draw(NODES, rng).value) == 3
        assert PACKAGES["kill:all"].draw(NODES, rng).value == NODES
        assert len(PACKAGES["pause:one"].draw(NODES, rng).value) == 1
    assert PACKAGES["kill:primaries"].draw(NODES, rng).value == {"targets": "primaries"}
    assert PACKAGES["partition:primaries"].draw(NODES, rng).value == {"grudge": "primaries"}
    strobe = PACKAGES["clock:strobe"].draw(NODES, rng)
    assert (
        strobe.kind is FaultKind.STROBE_CLOCK and strobe.value["period"] > 0 and strobe.value["duration"] > 0
    )
    kinds = {PACKAGES["clock:any"].draw(NODES, random.Random(s)).kind for s in range(20)}
    assert kinds == {FaultKind.BUMP_CLOCK, FaultKind.STROBE_CLOCK}
    leave = PACKAGES["member"].draw(NODES, rng)
    assert leave.kind is FaultKind.LEAVE and leave.value != ["n1"]


def test_combined_packages_overlap_but_same_capability_never_does() -> None:
    names = ["partition", "partition:ring", "kill", "clock"]
    assert resolve_mode([*names, "combined"]) == "combined"
    via_build = build([*names, "combined"], NODES, random.Random(1), interval=2.0, time_limit=120.0)
    s = combined(resolve_packages(["partition", "partition:ring", "kill", "clock"]), NODES, random.Random(1),
                 interval=2.0, time_limit=120.0)
    assert [tf.at for tf in s] == sorted(tf.at for tf in s)
    overlaps = [t for t in (x / 4 for x in range(480)) if len(active_at(s, t)) > 1]
    assert overlaps, "faults of different kinds are in force at the same time"
    # per capability the ops still alternate start / undo
    for cap in ("net", "kill", "clock"):
        ops = [tf.op.kind for tf in s if CAPABILITY_OF[tf.op.kind] == cap]
        assert ops and all((k in UNDO_OF) == (i % 2 == 0) for i, k in enumerate(ops)), cap
    assert via_build == s
    assert combined(resolve_packages(["kill"]), NODES, random.Random(1), interval=2.0, time_limit=20.0)


def test_phased_schedule_gives_each_package_its_stretch_and_heals_between() -> None:
    pk = resolve_packages(["partition", "kill", "pause"])
    s = phased(pk, NODES, random.Random(2), interval=1.0, time_limit=30.0)
    caps = {0: "net", 1: "kill", 2: "pause"}
    for tf in s:
        phase = min(int(tf.at // 10.0), 2) if tf.at % 10.0 else int(tf.at // 10.0) - 1
        assert CAPABILITY_OF[tf.op.kind] == caps[phase], tf
    for boundary in (10.0, 20.0, 30.0):
        assert active_at(s, boundary) == set(), f"healed at {boundary}"
    assert build(["phased", "kill"], NODES, random.Random(2), interval=1.0, time_limit=5.0)


def test_modes_and_help_text() -> None:
    assert resolve_mode([]) == "mix"
    with pytest.raises(UnknownName, match="mode"):
        resolve_mode(["combined", "phased"])
    text = help_text()
    for word in [*CLASSIC, "member", *MODES, "all", "none", ":majority", ":ring", ":bridge", ":strobe"]:
        assert word in text, word
