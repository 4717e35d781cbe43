"""Faults aimed at announced protocol events strike at that very moment in the simulator."""

from __future__ import annotations

from harness.run.simrun import run_spec
from harness.run.spec import RunSpec


def _run(schedule: tuple[dict[str, object], ...], seed: int = 4) -> object:
    spec = RunSpec(system="twopc", backend="sim", nodes=3, concurrency=4, time_limit=4.0, rate=40.0,
                   nemesis=(), seed=seed, quiesce=1.0, schedule=schedule)
    return run_spec(spec)


def test_a_kill_aimed_at_decided_crashes_the_deciding_node_before_its_next_effect() -> None:
    run = _run(({"at": 1.0, "f": "kill", "value": {"targets": "event"}, "on": "decided", "window": 1.0},
                {"at": 2.5, "f": "start", "value": None}))
    kills = [op for op in run.outcome.ops if op.process == "nemesis" and op.f == "kill"]
    assert len(kills) == 1 and kills[0].error is None and len(kills[0].value) == 1
    victim = kills[0].value[0]
    lines = run.backend.nodes[victim].log_lines
    crash = next(i for i, line in enumerate(lines) if line.endswith(" crash"))
    assert "event decided" in lines[crash - 1], lines[crash - 3:crash + 1]
    at = float(lines[crash].split()[0])
    assert 1.0 <= at < 2.0
    assert run.backend.event_trace, "the system announced events"


def test_an_aimed_fault_with_no_such_event_strikes_when_its_window_ends() -> None:
    run = _run(({"at": 1.0, "f": "pause", "value": ["n2"], "on": "handoff-started", "window": 0.5},
                {"at": 2.0, "f": "resume", "value": None}))
    pauses = [op for op in run.outcome.ops if op.process == "nemesis" and op.f == "pause"]
    assert len(pauses) == 1 and pauses[0].value == ["n2"]
    assert abs(pauses[0].time / 1e9 - 1.5) < 0.01


def test_aimed_runs_are_deterministic_per_seed() -> None:
    sched = ({"at": 0.5, "f": "start-partition", "value": {"grudge": "event"}, "on": "prepared",
              "window": 1.0},
             {"at": 2.0, "f": "stop-partition", "value": None})
    a, b = _run(sched, 9), _run(sched, 9)
    assert a.outcome.ops == b.outcome.ops
