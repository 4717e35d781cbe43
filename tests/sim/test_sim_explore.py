"""The explorer: Hypothesis-drawn scenarios, swarm fault mixes, shrinking, and replay of a finding."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.history import Op
from checkers.result import Result
from harness.apps.explore import (
    MAX_FAULTS,
    ExploreOptions,
    explore,
    load_scenario,
    save_scenario,
    scenario_strategy,
    simulate_and_check,
)
from harness.run.spec import RunSpec
from nemesis import schedule as schedules


def _paused_is_bad(spec: RunSpec, ops: Sequence[Op]) -> Result:
    """A stand-in checker: a run in which any node was paused counts as a violation."""
    bad = any(op.process == "nemesis" and op.f == "pause" and op.value for op in ops)
    return Result("paused-is-bad", not bad)


def _never_bad(spec: RunSpec, ops: Sequence[Op]) -> Result:
    return Result("never-bad", True)


def test_finding_is_shrunk_to_one_fault_and_replays(tmp_path: Path) -> None:
    # Hypothesis' own scenarios and shrinking (the generic runs are tested below)
    opts = ExploreOptions("replication", budget=40, seed=3, time_limit=4.0, quiesce=1.0, generic_runs=0)
    report = explore(opts, check=_paused_is_bad)
    f = report.finding
    assert f is not None and f.reason == "invalid" and f.result.valid is False
    assert f.replayed
    sched = schedules.from_json(f.spec.schedule or ())
    assert [tf.op.kind.value for tf in sched] == ["pause", "resume"]
    assert f.faults_before_shrinking >= 2
    assert f.spec.nemesis == ("pause",)
    # the scenario file alone reproduces the same history, byte for byte
    path = save_scenario(f.spec, tmp_path / "scenario.json")
    again = simulate_and_check(load_scenario(path), _paused_is_bad)
    assert again.history_sha256 == f.history_sha256
    assert again.result.valid is False


def test_budget_bounds_the_search_when_nothing_fails() -> None:
    report = explore(ExploreOptions("replication", budget=4, seed=1, time_limit=2.0, quiesce=0.5),
                     check=_never_bad)
    assert report.finding is None
    assert 1 <= report.runs <= 4
    assert report.verdicts["true"] == report.runs
    report = explore(ExploreOptions("replication", budget=50, time_budget=0.0, time_limit=2.0),
                     check=_never_bad)
    assert report.runs == 0


KINDS: set[tuple[str, ...]] = set()
OVERLAPS: list[tuple[str, ...]] = []


@settings(max_examples=60, deadline=None, database=None)
@given(scenario_strategy(ExploreOptions("replication", time_limit=10.0), 3, "register"))
def test_drawn_scenarios_are_well_formed(spec: RunSpec) -> None:
    sched = schedules.from_json(spec.schedule or ())
    assert [tf.at for tf in sched] == sorted(tf.at for tf in sched)
    assert all(0.0 <= tf.at <= MAX_FAULTS * 0.75 * 10.0 for tf in sched)
    # stored as (start, undo) pairs, each undo no earlier than its start
    starts = {"start-partition": "stop-partition", "kill": "start", "pause": "resume",
              "bump-clock": "reset-clock",
              "strobe-clock": "reset-clock", "start-packet": "stop-packet", "leave": "join"}
    raw = [(float(d["at"]), str(d["f"])) for d in spec.schedule or ()]
    assert all(starts[a[1]] == b[1] and a[0] <= b[0] for a, b in zip(raw[::2], raw[1::2], strict=True))
    # faults of one group never overlap (they would undo each other); other groups may
    groups = {"start-partition": "net", "kill": "process", "pause": "process", "leave": "process",
              "bump-clock": "clock", "strobe-clock": "clock", "start-packet": "packet"}
    spans = [(groups[a[1]], a[0], b[0]) for a, b in zip(raw[::2], raw[1::2], strict=True)]
    for i, (g, lo, hi) in enumerate(spans):
        assert all(g2 != g or hi2 <= lo or hi <= lo2 for g2, lo2, hi2 in spans[i + 1:]), spans
    if any(lo2 < hi for i, (_, _, hi) in enumerate(spans) for _, lo2, _ in spans[i + 1:]):
        OVERLAPS.append(spec.nemesis)
    for tf in sched:
        if tf.op.kind.value in ("kill", "pause") and isinstance(tf.op.value, dict):
            assert tf.op.value == {"targets": "primaries"}
        elif tf.op.kind.value in ("start", "resume") and tf.op.value is None:
            pass  # undoes whatever the symbolic start hit
        elif tf.op.kind.value in ("kill", "start", "pause", "resume", "leave", "join"):
            assert set(tf.op.value) <= {"n1", "n2", "n3"} and tf.op.value
        if tf.op.kind.value == "start-partition" and tf.op.value == {"grudge": "primaries"}:
            continue
        if tf.op.kind.value == "start-partition":
            cut = set(tf.op.value)
            assert cut and cut <= {"n1", "n2", "n3"}
            assert all(n not in drops and drops for n, drops in tf.op.value.items())
    assert spec.backend == "sim" and "peer_link" in spec.config["sim"]
    KINDS.add(spec.nemesis)


def test_swarm_varies_the_fault_mix() -> None:
    # runs after the property test above (same module, definition order)
    assert len(KINDS) >= 5, KINDS


def test_some_drawn_faults_overlap() -> None:
    # runs after the property test above: a fault may strike while an earlier one is still in force
    assert len(OVERLAPS) >= 3, OVERLAPS


def test_layout_overlaps_only_when_asked_and_never_within_a_group() -> None:
    from harness.apps.explore import _layout
    from nemesis.faults import FaultKind, FaultOp

    part = (FaultOp(FaultKind.START_PARTITION, {"n3": ["n1"]}), FaultOp(FaultKind.STOP_PARTITION, None))
    kill = (FaultOp(FaultKind.KILL, ["n1"]), FaultOp(FaultKind.START, ["n1"]))
    pause = (FaultOp(FaultKind.PAUSE, ["n1"]), FaultOp(FaultKind.RESUME, ["n1"]))
    sequential = _layout([(False, 1.0, 2.0, *part), (False, 0.5, 1.0, *kill)], 2.0)
    assert [(tf.at, tf.op.kind.value) for tf in sequential] == [
        (1.0, "start-partition"), (3.0, "stop-partition"), (3.5, "kill"), (4.5, "start")]
    # overlapping: the kill starts a quarter into the partition (gap 0.5 of 2.0) and outlasts it
    inside = _layout([(False, 1.0, 2.0, *part), (True, 0.5, 2.0, *kill)], 2.0)
    assert [(tf.at, tf.op.kind.value) for tf in schedules.from_json(schedules.to_json(inside))] == [
        (1.0, "start-partition"), (1.5, "kill"), (3.0, "stop-partition"), (3.5, "start")]
    # a pause of the killed node would be ended by the kill's restart: it waits until the kill healed
    same_group = _layout([(False, 1.0, 2.0, *kill), (True, 0.5, 1.0, *pause)], 2.0)
    assert [tf.at for tf in same_group] == [1.0, 3.0, 3.5, 4.5]


@given(st.data())
@settings(max_examples=5, deadline=None, database=None)
def test_scenarios_respect_the_allowed_fault_kinds(data: st.DataObject) -> None:
    spec = data.draw(scenario_strategy(ExploreOptions("replication", kinds=("kill",)), 3, "register"))
    assert {tf.op.kind.value for tf in schedules.from_json(spec.schedule or ())} <= {"kill", "start"}


def test_the_search_begins_with_the_generic_schedule_and_shrinks_what_it_finds() -> None:
    """Generic runs come first (explicit, replayable schedules of (start, undo) pairs); a failure among
    them is shrunk by deleting whole faults."""
    from harness.apps.explore import generic_spec
    from nemesis.table import UNDO_OF

    opts = ExploreOptions("replication", budget=10, seed=2, time_limit=6.0, quiesce=0.5, shrink_time=60.0)
    spec = generic_spec(opts, 3, "register", 0)
    assert spec == generic_spec(opts, 3, "register", 0) != generic_spec(opts, 3, "register", 1)
    sched = [tf for tf in (schedules.from_json([e]) for e in spec.schedule or ())]
    kinds = [s[0].op.kind for s in sched]
    assert kinds and all((k in UNDO_OF) == (i % 2 == 0) for i, k in enumerate(kinds))
    assert all(UNDO_OF[a] is b for a, b in zip(kinds[::2], kinds[1::2], strict=True))
    lines: list[str] = []
    report = explore(opts, progress=lines.append, check=_paused_is_bad)
    f = report.finding
    assert f is not None and f.runs_to_first <= opts.generic_runs and f.replayed
    assert [tf.op.kind.value for tf in schedules.from_json(f.spec.schedule or ())] == ["pause", "resume"]
    assert f.faults_before_shrinking > 2
    assert lines[0].startswith(f"run 1: seed {spec.seed}, {len(spec.schedule or ())} fault ops"), lines[0]


def test_no_generic_runs_when_switched_off() -> None:
    opts = ExploreOptions("replication", budget=3, seed=1, time_limit=2.0, quiesce=0.5, generic_runs=0)
    lines: list[str] = []
    report = explore(opts, progress=lines.append, check=_never_bad)
    assert report.runs == 3 and report.finding is None
