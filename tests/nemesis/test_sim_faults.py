"""Every fault kind on the simulator, observed on real client traffic, then healed and recovered.

Each test drives a paxos (or hashring) cluster through ``SimBackend`` and the nemesis executor — the
same objects a run uses — so "the fault happened" is judged by what clients see, not by bookkeeping.
All waiting is on the virtual clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fault_drills import _call, _write

from harness.backends.base import ClusterSpec
from harness.backends.sim import SimBackend, run
from harness.run.simrun import run_spec
from harness.run.spec import RunSpec
from nemesis.executor import NemesisExecutor
from nemesis.faults import FaultKind, FaultOp
from nemesis.grudges import isolate
from nemesis.targets import find_primaries
from nemesis.verify import residual_faults

NODES = ("n1", "n2", "n3")


class Journal:
    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []

    def append(
        self, type_: str, process: Any, f: str, value: Any, *, node: Any = None, error: Any = None
    ) -> None:
        self.ops.append({"f": f, "value": value, "error": error})


def _cluster(body: Callable[[SimBackend, NemesisExecutor], Awaitable[Any]], system: str = "paxos",
             nodes: tuple[str, ...] = NODES) -> Any:
    async def main() -> Any:
        b = SimBackend(ClusterSpec(system, nodes, Path("."), 7))
        await b.setup()
        ex = NemesisExecutor(b, Journal(), nodes)
        try:
            await asyncio.sleep(2.0)  # elect a leader
            return await body(b, ex)
        finally:
            await b.teardown()

    return run(main())


async def _eventually(check: Callable[[], Awaitable[bool]], tries: int = 20) -> bool:
    for _ in range(tries):
        if await check():
            return True
        await asyncio.sleep(0.5)
    return False


async def _leader(b: SimBackend) -> tuple[str, str]:
    leaders = await find_primaries(b, NODES)
    assert len(leaders) == 1, leaders
    return leaders[0], next(n for n in NODES if n != leaders[0])


def test_partition_isolated_node_cannot_commit_while_the_majority_serves() -> None:
    async def body(b: SimBackend, ex: NemesisExecutor) -> None:
        leader, other = await _leader(b)
        await ex.apply(FaultOp(FaultKind.START_PARTITION, isolate(NODES, other)))
        assert b.net.grudge[other] == sorted(n for n in NODES if n != other)
        assert not await _write(b, other, 1), "a write through the isolated node cannot reach a majority"
        assert await _write(b, leader, 2), "the majority side keeps serving"
        await ex.heal()
        assert await _eventually(lambda: _write(b, other, 3)), "after the heal the isolated node serves again"

    _cluster(body)


def test_partition_of_the_primaries_is_resolved_live() -> None:
    async def body(b: SimBackend, ex: NemesisExecutor) -> None:
        leader, _ = await _leader(b)
        await ex.apply(FaultOp(FaultKind.START_PARTITION, {"grudge": "primaries"}))
        assert ex.journal.ops[-1]["value"][leader] == sorted(n for n in NODES if n != leader)  # type: ignore[attr-defined]
        await asyncio.sleep(3.0)
        majority_leaders = [n for n in await find_primaries(b, NODES) if n != leader]
        assert majority_leaders, "the majority side elected a leader of its own"
        await ex.heal()
        assert await _eventually(lambda: _write(b, leader, 5))

    _cluster(body)


def test_killed_node_refuses_connections_and_restarts_with_its_data() -> None:
    async def body(b: SimBackend, ex: NemesisExecutor) -> None:
        _leader_node, other = await _leader(b)
        assert await _write(b, other, 42)
        await ex.apply(FaultOp(FaultKind.KILL, [other]))
        assert await _call(b, other, {"type": "read", "key": "k"}) == "unreachable"
        await ex.heal()

        async def reads_42() -> bool:
            r = await _call(b, other, {"type": "read", "key": "k"})
            return isinstance(r, dict) and r.get("value") == 42

        assert await _eventually(reads_42)
        assert b.nodes[other].incarnation == 2

    _cluster(body)


def test_paused_node_answers_nothing_until_resumed() -> None:
    async def body(b: SimBackend, ex: NemesisExecutor) -> None:
        _l, other = await _leader(b)
        await ex.apply(FaultOp(FaultKind.PAUSE, [other]))
        assert await _call(b, other, {"type": "read", "key": "k"}, 2.0) == "indefinite"
        await ex.heal()
        r = await _call(b, other, {"type": "read", "key": "k"}, 2.0)
        assert isinstance(r, dict) and r["type"] == "read_ok"

    _cluster(body)


def test_clock_bump_and_strobe_show_in_the_reported_time() -> None:
    async def body(b: SimBackend, ex: NemesisExecutor) -> None:
        loop = asyncio.get_running_loop()

        async def skew(n: str) -> float:
            return float((await b.node_status(n))["time"]) - loop.time()

        await ex.apply(FaultOp(FaultKind.BUMP_CLOCK, {"n2": 5.0}))
        assert await skew("n2") == pytest.approx(5.0) and await skew("n1") == pytest.approx(0.0)
        await ex.apply(FaultOp(FaultKind.RESET_CLOCK, ["n2"]))
        assert await skew("n2") == pytest.approx(0.0)
        await ex.apply(FaultOp(FaultKind.STROBE_CLOCK,
                               {"nodes": {"n3": -7.0}, "period": 0.1, "duration": 5.0}))
        seen = set()
        for _ in range(12):
            await asyncio.sleep(0.05)
            seen.add(round(await skew("n3"), 6))
        assert seen == {-7.0, 0.0}, "the clock flips back and forth"
        await ex.heal()
        await asyncio.sleep(0.3)
        assert await skew("n3") == pytest.approx(0.0) and ex.active() == []

    _cluster(body)


def test_a_symbolic_clock_bump_moves_the_leaders_clock_when_it_strikes() -> None:
    async def body(b: SimBackend, ex: NemesisExecutor) -> None:
        loop = asyncio.get_running_loop()
        assert await _eventually(lambda: _has_leader(b))
        leaders = await find_primaries(b, ex.nodes)
        done = await ex.apply(FaultOp(FaultKind.BUMP_CLOCK, {"targets": "primaries", "offset": 3.0}))
        assert done == {n: 3.0 for n in leaders} and leaders
        for n in ex.nodes:
            skew = float((await b.node_status(n))["time"]) - loop.time()
            assert skew == pytest.approx(3.0 if n in leaders else 0.0), n
        await ex.heal()
        assert ex.active() == []

    _cluster(body)


async def _has_leader(b: SimBackend) -> bool:
    return bool(await find_primaries(b, list(b.nodes)))


def test_packet_delay_and_loss_slow_and_stop_the_leader_then_heal() -> None:
    async def body(b: SimBackend, ex: NemesisExecutor) -> None:
        loop = asyncio.get_running_loop()
        leader, _ = await _leader(b)
        await ex.apply(FaultOp(FaultKind.START_PACKET,
                               {"nodes": [leader], "delay": 0.4, "loss": 0.0, "dup": 0.0}))
        t0 = loop.time()
        assert await _write(b, leader, 1, timeout=5.0)
        assert loop.time() - t0 >= 0.4, "a commit needs a round trip through the delayed link"
        await ex.apply(FaultOp(FaultKind.START_PACKET,
                               {"nodes": [leader], "delay": 0.0, "loss": 1.0, "dup": 0.0}))
        assert not await _write(b, leader, 2, timeout=0.2)
        await ex.heal()
        assert b.net.packet_faults(leader).loss == 0.0

        async def fast_write() -> bool:
            t = loop.time()
            return await _write(b, leader, 3, timeout=1.0) and loop.time() - t < 0.2

        assert await _eventually(fast_write)

    _cluster(body)


def test_membership_leave_and_join_on_the_hashring() -> None:
    nodes = ("n1", "n2", "n3", "n4")

    async def body(b: SimBackend, ex: NemesisExecutor) -> None:
        await ex.apply(FaultOp(FaultKind.LEAVE, ["n4"]))
        assert ex.journal.ops[-1] == {"f": "leave", "value": ["n4"], "error": None}  # type: ignore[attr-defined]
        assert (await b.node_status("n1"))["core"]["members"] == ["n1", "n2", "n3"]
        await ex.heal()
        assert (await b.node_status("n1"))["core"]["members"] == list(nodes)

    _cluster(body, "hashring", nodes)


def test_residual_faults_name_what_is_still_broken() -> None:
    async def body(b: SimBackend, ex: NemesisExecutor) -> None:
        assert await residual_faults(b, NODES) == []
        await ex.apply(FaultOp(FaultKind.START_PARTITION, isolate(NODES, "n1")))
        await ex.apply(FaultOp(FaultKind.PAUSE, ["n2"]))
        await ex.apply(FaultOp(FaultKind.BUMP_CLOCK, {"n3": 2.0}))
        await ex.apply(FaultOp(FaultKind.START_PACKET, {"nodes": ["n3"], "delay": 0.1}))
        left = "\n".join(await residual_faults(b, NODES))
        for text in ("n1 drops traffic from n2, n3", "n2 does not answer", "n3 clock offset +2s",
                     "n3 packet faults delay=0.1"):
            assert text in left
        await ex.heal()
        assert await residual_faults(b, NODES) == []

    _cluster(body)


class CheckedSim(SimBackend):
    """Records what the nodes report just before teardown (after the run's heal and final reads)."""

    residual: list[str] | None = None

    async def teardown(self) -> None:
        if self._loop is not None and self.residual is None:
            self.residual = await residual_faults(self, self.spec.nodes)
        await super().teardown()


@pytest.mark.parametrize("mode", ["", "combined"])
def test_a_run_journals_every_fault_kind_and_ends_healed(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.run import simrun

    spec = RunSpec(system="paxos", workload="register", backend="sim", nodes=5, concurrency=5,
                   time_limit=30.0,
                   rate=20.0,
                   nemesis=("partition", "kill", "pause", "clock", "packet", *([mode] if mode else [])),
                   nemesis_interval=0.6, seed=3, quiesce=1.0)
    made: list[CheckedSim] = []
    original = simrun.make_sim_backend

    def make(cluster: ClusterSpec, **kw: Any) -> CheckedSim:
        base = original(cluster, **kw)
        b = CheckedSim(base.spec, peer_link=base.peer_link, client_link=base.client_link,
                       factory=base.factory)
        made.append(b)
        return b

    monkeypatch.setattr(simrun, "make_sim_backend", make)
    out = run_spec(spec).outcome
    assert out.error is None and out.phase == "done"
    fs = {op.f for op in out.ops if op.process == "nemesis"}
    assert {"start-partition", "kill", "pause", "bump-clock", "start-packet"} <= fs
    assert {"stop-partition", "start", "resume", "reset-clock", "stop-packet"} <= fs
    assert all(op.error is None for op in out.ops if op.process == "nemesis")
    assert made[0].residual == [], "every node reports no fault in effect after the run"
    oks = [op for op in out.ops if op.is_client and op.type == "ok"]
    assert oks, "clients got through between faults"


def _verdict(system: str, nemesis: tuple[str, ...], seed: int) -> Any:
    from harness.run.session import judge

    spec = RunSpec(system=system, workload="register", backend="sim", nodes=3, concurrency=6, time_limit=20.0,
                   rate=40.0, nemesis=nemesis, nemesis_interval=1.0, seed=seed, quiesce=2.0)
    out = run_spec(spec).outcome
    assert out.error is None
    result, _code = judge(spec, out.ops)
    return result.valid


@pytest.mark.parametrize("seed", [0, 1])
def test_crashing_every_node_exposes_paxos_without_persistence(seed: int) -> None:
    """``paxos:no-persist`` forgets promises on a crash; faults that lose no memory cannot show it."""
    assert _verdict("paxos:no-persist", ("pause:all",), seed) is True, "a pause forgets nothing"
    assert _verdict("paxos:no-persist", ("kill:all",), seed) is False
    assert _verdict("paxos", ("kill:all",), seed) is True, "the correct paxos survives the same schedule"


BREAK_EVERYTHING = (
    {"at": 0.5, "f": "start-partition", "value": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}},
    {"at": 0.6, "f": "kill", "value": ["n2"]},
    {"at": 0.7, "f": "pause", "value": ["n3"]},
    {"at": 0.8, "f": "bump-clock", "value": {"n1": 4.0}},
    {"at": 0.9, "f": "start-packet", "value": {"nodes": ["n1"], "delay": 0.2, "loss": 0.1, "dup": 0.1}},
    {"at": 1.0, "f": "strobe-clock", "value": {"nodes": {"n2": 3.0}, "period": 0.05, "duration": 60.0}},
)


def _broken_run(interrupt: bool) -> tuple[Any, CheckedSim]:
    from harness.run.history_log import HistoryLog
    from harness.run.plan import build_plan
    from harness.run.runner import execute

    spec = RunSpec(system="paxos", workload="register", backend="sim", nodes=3, concurrency=3,
                   time_limit=30.0,
                   rate=40.0, nemesis=(), seed=2, schedule=BREAK_EVERYTHING)
    plan = build_plan(spec)
    backend = CheckedSim(plan.cluster(Path(".")))
    real = plan.new_workload()

    class Crashing:
        """The spec's workload, crashing the run (a harness bug) after two seconds of traffic."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def next_op(self) -> Any:
            if asyncio.get_running_loop().time() > 2.0:
                raise RuntimeError("workload bug")
            return real.next_op()

    async def main() -> Any:
        task = asyncio.ensure_future(execute(backend, plan, HistoryLog(None),
                                             workload=None if interrupt else Crashing()))  # type: ignore[arg-type]
        if interrupt:
            await asyncio.sleep(2.0)
            task.cancel()
        return await task

    return run(main()), backend


@pytest.mark.parametrize("interrupt", [False, True], ids=["crash", "ctrl-c"])
def test_a_crashed_or_interrupted_run_still_heals_every_fault(interrupt: bool) -> None:
    out, backend = _broken_run(interrupt)
    assert (out.interrupted, out.error is not None) == (interrupt, not interrupt)
    if not interrupt:
        assert "workload bug" in out.error
    fs = [op.f for op in out.ops if op.process == "nemesis"]
    assert fs[:6] == [d["f"] for d in BREAK_EVERYTHING], "every fault struck before the run broke"
    assert {"stop-partition", "stop-packet", "resume", "start", "reset-clock"} <= set(fs[6:])
    assert backend.residual == [], backend.residual
