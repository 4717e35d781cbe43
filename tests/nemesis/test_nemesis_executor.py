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

    async def set_packet_faults(
        self, node: str, *, delay: float = 0.0, loss: float = 0.0, dup: float = 0.0
    ) -> None:
        self.calls.append(("packet", node, delay, loss, dup))


class Journal:
    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []

    def append(
        self, type_: str, process: Any, f: str, value: Any, *, node: Any = None, error: Any = None
    ) -> None:
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
    schedule = [TimedFault(0.05, FaultOp(FaultKind.KILL, ["n1"])),
                TimedFault(0.1, FaultOp(FaultKind.START, ["n1"]))]

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


class Leaders(Recorder):
    """A recorder whose n2 claims to lead, with a client endpoint for membership requests."""

    def __init__(self) -> None:
        super().__init__()
        self.offsets: dict[str, list[float]] = {}
        self.requests: list[dict[str, Any]] = []

    async def node_status(self, node: str) -> dict[str, Any]:
        return {"core": {"role": "primary" if node == "n2" else "replica"}, "faults": {}}

    async def set_clock_offset(self, node: str, seconds: float) -> None:
        self.offsets.setdefault(node, []).append(seconds)

    async def connect(self, node: str) -> Any:
        outer = self

        class Conn:
            async def call(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
                outer.requests.append({**req, "via": node})
                return {"req_id": req["req_id"], "type": f"{req['type']}_ok"}

            async def close(self) -> None:
                pass

        return Conn()


def test_symbolic_targets_are_resolved_when_the_fault_strikes() -> None:
    b, j = Leaders(), Journal()
    ex = NemesisExecutor(b, j, NODES)

    async def go() -> None:
        await ex.apply(FaultOp(FaultKind.KILL, {"targets": "primaries"}))
        await ex.apply(FaultOp(FaultKind.START, None))
        await ex.apply(FaultOp(FaultKind.START_PARTITION, {"grudge": "primaries"}))
        await ex.apply(FaultOp(FaultKind.PAUSE, {"targets": "majority"}))

    asyncio.run(go())
    assert j.ops[0]["value"] == ["n2"] and j.ops[1]["value"] == ["n2"]
    assert j.ops[2]["value"] == {"n1": ["n2"], "n2": ["n1", "n3"], "n3": ["n2"]}
    assert len(j.ops[3]["value"]) == 2 and all(o["error"] is None for o in j.ops)


def test_strobe_flips_the_clock_until_reset_and_heal_stops_it() -> None:
    b, j = Leaders(), Journal()
    ex = NemesisExecutor(b, j, NODES)

    async def go() -> None:
        await ex.apply(FaultOp(FaultKind.STROBE_CLOCK,
                               {"nodes": {"n1": 5.0}, "period": 0.01, "duration": 10.0}))
        await asyncio.sleep(0.1)
        assert "strobing n1" in ex.active()
        await ex.heal()
        assert ex.active() == []

    asyncio.run(go())
    flips = b.offsets["n1"]
    assert flips.count(5.0) >= 3 and flips.count(0.0) >= 3, "it strobed"
    assert flips[-1] == 0.0, "left at offset 0"
    assert [o["f"] for o in j.ops] == ["strobe-clock", "reset-clock"]


def test_membership_goes_through_client_requests_and_heal_rejoins() -> None:
    b, j = Leaders(), Journal()
    ex = NemesisExecutor(b, j, NODES)

    async def go() -> None:
        await ex.apply(FaultOp(FaultKind.LEAVE, ["n3"]))
        assert ex.active() == ["left n3"]
        await ex.heal()

    asyncio.run(go())
    assert [(r["type"], r["node"], r["via"]) for r in b.requests] == [("leave", "n3", "n1"),
                                                                      ("join", "n3", "n1")]
    assert [o["f"] for o in j.ops] == ["leave", "join"]


def test_heal_retries_a_step_that_fails_and_journals_the_failure() -> None:
    class Flaky(Recorder):
        fails = 1

        async def start(self, node: str) -> None:
            if self.fails:
                self.fails -= 1
                raise ConnectionError("port still in use")
            await super().start(node)

    b, j = Flaky(), Journal()
    ex = NemesisExecutor(b, j, NODES)

    async def go() -> None:
        await ex.apply(FaultOp(FaultKind.KILL, ["n1"]))
        await ex.heal()

    asyncio.run(go())
    starts = [o for o in j.ops if o["f"] == "start"]
    assert "port still in use" in starts[0]["error"] and starts[1]["error"] is None
    assert ex.active() == [] and ("start", "n1") in b.calls


def test_sweep_heals_leftovers_reported_by_nodes() -> None:
    class Dirty(Recorder):
        async def node_status(self, node: str) -> dict[str, Any]:
            return {"faults": {"drop_from": [], "clock_offset": 3.0 if node == "n2" else 0.0,
                               "delay": 0.0, "loss": 0.5 if node == "n3" else 0.0, "dup": 0.0}}

    b, j = Dirty(), Journal()
    done = asyncio.run(NemesisExecutor(b, j, NODES).sweep())
    assert done == ["heal", "reset clock n2", "clear packet faults n3"]
    assert ("clock", "n2", 0.0) in b.calls and ("packet", "n3", 0.0, 0.0, 0.0) in b.calls
    assert j.ops == [], "a sweep is not a fault of this run"


def test_membership_and_declared_refusals_are_refused_up_front() -> None:
    require_capabilities(Leaders(), ["membership"], "sim", system="hashring")
    with pytest.raises(CapabilityError, match="no membership changes"):
        require_capabilities(Leaders(), ["membership"], "sim", system="paxos")

    class ThirdParty(Recorder):
        def unsupported(self) -> dict[str, str]:
            return {"clock": "etcd reads the clock through the vDSO"}

    require_capabilities(ThirdParty(), ["kill", "net"], "local")
    with pytest.raises(CapabilityError, match="clock: etcd reads the clock"):
        require_capabilities(ThirdParty(), ["kill", "clock"], "local")


def test_membership_change_waits_while_the_system_is_busy() -> None:
    class Busy(Leaders):
        busy = 2

        async def connect(self, node: str) -> Any:
            outer = self

            class Conn:
                async def call(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
                    outer.requests.append(req)
                    if outer.busy:
                        outer.busy -= 1
                        return {"req_id": req["req_id"], "type": "error", "code": 11, "definite": True,
                                "text": "a membership change is running"}
                    return {"req_id": req["req_id"], "type": f"{req['type']}_ok"}

                async def close(self) -> None:
                    pass

            return Conn()

    b, j = Busy(), Journal()
    asyncio.run(NemesisExecutor(b, j, NODES).apply(FaultOp(FaultKind.LEAVE, ["n2"])))
    assert j.ops == [{"type": "info", "process": "nemesis", "f": "leave", "value": ["n2"], "error": None}]
    assert len(b.requests) == 3 and len({r["req_id"] for r in b.requests}) == 3


def test_a_fault_cut_short_is_still_healed() -> None:
    class Slow(Recorder):
        async def kill(self, node: str) -> None:
            await asyncio.sleep(10)

    b, j = Slow(), Journal()
    ex = NemesisExecutor(b, j, NODES)

    async def go() -> None:
        task = asyncio.ensure_future(ex.apply(FaultOp(FaultKind.KILL, ["n3"])))
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await ex.heal()

    asyncio.run(go())
    assert ("start", "n3") in b.calls, "the kill may have landed, so the heal restarts the node"


class Drifted(Recorder):
    """A backend whose nodes disagree with the executor's record (which says nothing is broken): n2 is
    frozen, n3 still drops n1's traffic, and the ``down`` nodes are not running."""

    def __init__(self, down: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.frozen, self.down = {"n2"}, set(down)
        self.drop = {"n3": ["n1"]}

    async def node_status(self, node: str) -> dict[str, Any]:
        if node in self.down or node in self.frozen:
            raise ConnectionRefusedError(f"{node} refuses" if node in self.down else f"{node} is silent")
        return {"faults": {"drop_from": self.drop.get(node, []), "clock_offset": 0.0}}

    async def resume(self, node: str) -> None:
        await super().resume(node)
        self.frozen.discard(node)

    async def heal(self) -> None:
        await super().heal()
        self.drop = {}


def test_the_heal_is_confirmed_by_the_nodes_and_repaired_where_they_disagree() -> None:
    b, j = Drifted(), Journal()
    ex = NemesisExecutor(b, j, NODES)
    assert asyncio.run(ex.confirm_healed()) == []
    assert ("resume", "n2") in b.calls and ("heal",) in b.calls and ("resume", "n1") not in b.calls
    [check] = j.ops
    assert check["f"] == "heal-check" and check["error"] is None
    assert check["value"] == ["n2 does not answer: n2 is silent", "n3 drops traffic from n1"]


def test_a_node_down_after_the_heal_is_journaled_not_restarted() -> None:
    """It may have crashed on its own: the run must show that, not restart it for the final reads."""
    b, j = Drifted(down=frozenset({"n1"})), Journal()
    ex = NemesisExecutor(b, j, NODES)
    assert asyncio.run(ex.confirm_healed()) == ["n1 does not answer: n1 refuses"]
    assert not any(c[0] == "start" for c in b.calls) and b.calls.count(("resume", "n1")) == 3
    assert j.ops[-1]["error"] == "still in effect: n1 does not answer: n1 refuses"


def test_a_healed_cluster_is_confirmed_without_a_journal_entry() -> None:
    b, j = Leaders(), Journal()
    assert asyncio.run(NemesisExecutor(b, j, NODES).confirm_healed()) == []
    assert j.ops == [] and b.calls == []
