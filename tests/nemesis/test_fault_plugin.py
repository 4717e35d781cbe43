"""A new fault kind is one module and one registration, and then runs like a built-in one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import slow_fault

from harness.run.simrun import run_spec
from harness.run.spec import RunSpec
from nemesis import table
from reports.faults import fault_bands


@pytest.fixture
def clean_table() -> Iterator[None]:
    yield
    table.unregister("start-slow", "stop-slow")


def _run(**kw: Any) -> Any:
    spec = RunSpec(system="paxos", backend="sim", nodes=3, concurrency=3, time_limit=6.0, rate=30.0,
                   nemesis_interval=1.0, seed=5, quiesce=1.0, **kw)
    return run_spec(spec).outcome


def test_a_registered_kind_runs_as_a_package_heals_and_shows_in_reports(clean_table: None) -> None:
    table.register(*slow_fault.SPECS)  # the one registration line
    out = _run(nemesis=("slow",))
    fs = [op.f for op in out.ops if op.process == "nemesis"]
    assert "start-slow" in fs and "stop-slow" in fs and out.error is None
    assert all(op.error is None for op in out.ops if op.process == "nemesis")
    assert fs[-1] == "stop-slow" or fs.count("start-slow") == fs.count("stop-slow")
    assert {b.kind for b in fault_bands(out.ops)} == {"slow"}


def test_a_kind_from_a_splitbrain_faults_entry_point_validates_and_runs(
        clean_table: None, monkeypatch: pytest.MonkeyPatch) -> None:
    class EntryPoint:
        def load(self) -> Any:
            return slow_fault.SPECS

    import importlib.metadata

    seen: list[str] = []

    def entry_points(group: str) -> list[EntryPoint]:
        seen.append(group)
        return [EntryPoint()]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(table, "_loaded", [])
    schedule = ({"at": 1.0, "f": "start-slow", "value": {"targets": "majority"}},
                {"at": 3.0, "f": "stop-slow", "value": None})
    out = _run(nemesis=(), schedule=schedule)
    assert seen == ["splitbrain.faults"]
    started = [op for op in out.ops if op.process == "nemesis" and op.f == "start-slow"]
    assert len(started) == 1 and len(started[0].value) == 2 and started[0].error is None
    with pytest.raises(table.ScheduleError, match="schedule entry 0, field 'value'"):
        table.validate_schedule([{"at": 1, "f": "start-slow", "value": ["n9"]}], ["n1", "n2"])
