"""Packages and schedules: alternating fault/quiet periods, undo ops, JSON round trip, bad names."""

from __future__ import annotations

import random

import pytest

from nemesis.faults import FaultKind, ScheduleError, TimedFault
from nemesis.packages import CLASSIC, MODES, PACKAGES, help_text, resolve_mode, resolve_packages
from nemesis.schedule import AIMED_CRASH, active_at, build, combined, from_json, phased, plan, to_json
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


def test_swarm_aims_at_the_kinds_a_run_announces() -> None:
    aimed = [tf for seed in range(20) for tf in build(["all"], NODES, random.Random(seed), interval=5.0,
                                                      time_limit=30.0) if tf.on is not None]
    assert aimed and {tf.on for tf in aimed} == {"announced"}


def test_clock_draws_jepsens_targets_the_leaders_and_strobes() -> None:
    ops = [PACKAGES["clock"].draw(NODES, random.Random(seed)) for seed in range(60)]
    assert {op.kind for op in ops} == {FaultKind.BUMP_CLOCK, FaultKind.STROBE_CLOCK}
    symbolic = [op.value for op in ops if op.kind is FaultKind.BUMP_CLOCK and "targets" in op.value]
    assert symbolic and all(v["targets"] == "primaries" and 0.01 <= abs(v["offset"]) <= 10 for v in symbolic)
    sizes = {len(op.value) for op in ops if op.kind is FaultKind.BUMP_CLOCK and "targets" not in op.value}
    assert sizes == {1, 2, 3, 5}
    aimed = [tf.op.value for seed in range(40) for tf in build(["clock"], NODES, random.Random(seed),
                                                               interval=5.0, time_limit=30.0)
             if tf.on is not None and tf.op.kind is FaultKind.BUMP_CLOCK]
    assert any(v.get("targets") == "event" for v in aimed)


def test_restart_crashes_a_quorum_or_everyone_and_brings_them_back_soon() -> None:
    """``restart`` (part of ``all``): a majority or the whole cluster at once, down for 2-20 % of the
    interval (aimed ones for ``AIMED_CRASH`` of that); aimed ones keep their targets rather than hitting
    only the announcing node."""
    sizes: set[int] = set()
    downs: dict[bool, list[float]] = {True: [], False: []}
    for seed in range(30):
        s = build(["restart"], NODES, random.Random(seed), interval=5.0, time_limit=30.0)
        assert s and {tf.op.kind for tf in s} == {FaultKind.KILL, FaultKind.START}
        for start, stop in zip(s[::2], s[1::2], strict=False):
            assert start.op.kind is FaultKind.KILL and stop.op == PACKAGES["restart"].undo(start.op)
            sizes.add(len(start.op.value))
            share = AIMED_CRASH if start.on is not None else 1.0
            assert 0.1 * share - 1e-6 <= stop.at - start.at <= 1.0 * share + 1e-6
            downs[start.on is not None].append(stop.at - start.at)
    assert sizes == {3, 5}
    assert downs[True] and downs[False]


def test_an_aimed_crash_is_short() -> None:
    """An aimed crash lasts ``AIMED_CRASH`` of what the phase drew (and so does the gap after it); with
    the share at 1 the same seed gives the same first aimed crash at full length."""
    import nemesis.schedule as sched

    def first_aimed_kill(share: float, seed: int) -> tuple[float, float] | None:
        old = sched.AIMED_CRASH
        sched.AIMED_CRASH = share
        try:
            s = build(["kill", "pause"], NODES, random.Random(seed), interval=5.0, time_limit=30.0)
        finally:
            sched.AIMED_CRASH = old
        kills = [i for i, tf in enumerate(s) if tf.on is not None and tf.op.kind is FaultKind.KILL]
        stops = [tf for tf in s[kills[0] + 1:] if tf.op.kind is FaultKind.START] if kills else []
        return (s[kills[0]].at, stops[0].at - s[kills[0]].at) if stops else None

    seen = 0
    for seed in range(20):
        full, short = first_aimed_kill(1.0, seed), first_aimed_kill(AIMED_CRASH, seed)
        if full is not None and short is not None:
            assert short[0] == full[0]  # everything before the first aimed crash is the same
            assert short[1] == pytest.approx(full[1] * AIMED_CRASH, abs=2e-6)
            seen += 1
    assert seen >= 10
    assert "restart" in CLASSIC


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


def test_a_phase_gives_its_kinds_even_shares_of_time_so_short_faults_strike_more_often() -> None:
    """Each package once, then the one with the least fault time so far: a kill a quarter as long as a
    partition is fired until it has had as much time."""
    from nemesis.schedule import next_turn

    kill, partition = resolve_packages(["kill", "partition"])
    subset = [kill, partition]
    used = {kill.name: 0.0, partition.name: 0.0}
    turns = []
    for fired in range(12):
        chosen = next_turn(subset, fired, used)
        turns.append(chosen.name)
        used[chosen.name] += 1.0 if chosen is kill else 4.0
    k, p = kill.name, partition.name
    assert turns == [k, p, k, k, k, k, p, k, k, k, k, p]  # 9 s of kills, 12 s of partitions, by turns
    assert next_turn(subset, 5, {kill.name: 2.0, partition.name: 2.0}) is kill  # a tie: the first


def test_phases_are_short_shares_of_the_run() -> None:
    from nemesis.schedule import PHASE

    assert 0 < PHASE[0] < PHASE[1] <= 0.25  # several phases, so one run tries several mixes
