"""The executor: applies ops through capabilities, journals what it actually did, heals everything."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nemesis.executor import CapabilityError, NemesisExecutor, require_capabilities
from nemesis.faults import FaultKind, FaultOp, TimedFault


class Recorder:
    """A backend with every capability that records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def partition(self, grudge: Any) -> None:
        self.calls.append(("partition", dict(grudge)))

    async def heal(self) -> None:
        self.calls.append(("heal",))

    async def kill(self, node: str) -> None:
        self.calls.append(("kill", node))

    async def start(self, node: str) -> None:
        self.calls.append(("start", node))

    async def pause(self, node: str) -> None:
        self.calls.append(("pause", node))

    async def resume(self, node: str) -> None:
        self.calls.append(("resume", node))

    async def set_clock_offset(self, node: str, seconds: float) -> None:
        self.calls.append(("clock", node, seconds))

    async def set_packet_faults(self, node: str, *, delay: float = 0.0, loss: float = 0.0, dup: float = 0.0) -> None:
        self.calls.append(("packet", node, delay, loss, dup))


class Journal:
    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []

    def append(self, type_: str, process: Any, f: str, value: Any, *, node: Any = None, error: Any = None) -> None:
        self.ops.append({"type": type_, "process": process, "f": f, "value": value, "error": error})


NODES = ["n1", "n2", "n3"]


def test_ops_are_applied_and_journaled_with_what_was_done() -> None:
    b, j = Recorder(), Journal()
    ex = NemesisExecutor(b, j, NODES)

    async def go() -> None:
        await ex.apply(FaultOp(FaultKind.KILL, ["n2"]))
        await ex.apply(FaultOp(FaultKind.KILL, ["n2", "n3"]))  # n2 is already down: only n3 is killed
        await ex.apply(FaultOp(FaultKind.PAUSE, ["n1", "n3"]))  # n3 is down: only n1 is paused
        await ex.apply(FaultOp(FaultKind.START_PARTITION, {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}))
        await ex.apply(FaultOp(FaultKind.BUMP_CLOCK, {"n1": 2.5}))
        assert set(ex.active()) >= {"partition", "killed n2,n3", "paused n1"}
        await ex.heal()

    asyncio.run(go())
    assert [o["value"] for o in j.ops[:3]] == [["n2"], ["n3"], ["n1"]]
    assert all(o["process"] == "nemesis" and o["type"] == "info" for o in j.ops)
    healed = [o["f"] for o in j.ops[5:]]
    assert healed == ["stop-partition", "resume", "start", "reset-clock"]
    assert ("start", "n2") in b.calls and ("start", "n3") in b.calls and ("clock", "n1", 0.0) in b.calls
    assert ex.active() == []


def test_failed_fault_is_journaled_not_raised() -> None:
    class Broken(Recorder):
        async def kill(self, node: str) -> None:
            raise RuntimeError("no such node")

    j = Journal()
    asyncio.run(NemesisExecutor(Broken(), j, NODES).apply(FaultOp(FaultKind.KILL, ["n1"])))
    assert j.ops[0]["f"] == "kill" and "no such node" in j.ops[0]["error"]


def test_run_follows_the_schedule_in_loop_time() -> None:
    b, j = Recorder(), Journal()
    ex = NemesisExecutor(b, j, NODES)
    schedule = [TimedFault(0.05, FaultOp(FaultKind.KILL, ["n1"])), TimedFault(0.1, FaultOp(FaultKind.START, ["n1"]))]

    async def go() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await ex.run(schedule, t0)
        return loop.time() - t0

    assert asyncio.run(go()) >= 0.1
    assert [c[0] for c in b.calls] == ["kill", "start"]


def test_missing_capabilities_are_named() -> None:
    class OnlyNet:
        async def partition(self, grudge: Any) -> None: ...
        async def heal(self) -> None: ...

    require_capabilities(OnlyNet(), ["net"])
    with pytest.raises(CapabilityError, match=r"'docker'.*kill, pause"):
        require_capabilities(OnlyNet(), ["net", "kill", "pause"], "docker")
