"""The runner's phases, process model, nemesis journaling and cleanup, on an in-process fake cluster.

Every run here is on the simulator's virtual-time loop: rates, time limits and timeouts are exact
(no dependence on how loaded the machine is) and a "30 s" run takes milliseconds.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
from fake_cluster import FakeCluster, NetOnlyCluster

from checkers.history import INFO, INVOKE, NEMESIS, pairs
from harness.backends.base import ClusterSpec
from harness.backends.sim import loop as sim_loop
from harness.run.history_log import HistoryLog
from harness.run.runner import RunOutcome, execute
from harness.run.spec import RunSpec
from nemesis.executor import CapabilityError
from nemesis.faults import FaultKind

SPEC = RunSpec(
    system="replication", workload="register", nodes=3, concurrency=4, time_limit=0.8, rate=150.0,
    nemesis=("partition", "kill"), nemesis_interval=0.12, quiesce=0.05, op_timeout=0.05, seed=7,
)


def _cluster(tmp_path: Path, cls: type[FakeCluster] = FakeCluster) -> FakeCluster:
    return cls(ClusterSpec("replication", SPEC.node_ids, tmp_path, 1))


def _run(backend: FakeCluster, spec: RunSpec = SPEC, path: Path | None = None) -> RunOutcome:
    return sim_loop.run(execute(backend, spec, HistoryLog(path)))  # type: ignore[no-any-return]


def test_phases_history_and_process_retirement(tmp_path: Path) -> None:
    backend = _cluster(tmp_path)
    outcome = _run(backend, path=tmp_path / "h.jsonl")
    assert outcome.phase == "done" and not outcome.interrupted and outcome.error is None
    assert backend.events[0] == "setup" and backend.events[-1] == "teardown"
    ops = list(outcome.ops)
    assert [op.index for op in ops] == list(range(len(ops)))
    assert all(a.time <= b.time for a, b in itertools.pairwise(ops))
    ps = pairs(ops)
    assert len(ps) > 30
    assert all(p.complete is not None for p in ps), "every invocation completes (ok/fail/info)"
    # the nemesis acted and journaled what it did
    kinds = {op.f for op in ops if op.process == NEMESIS}
    assert kinds & {FaultKind.START_PARTITION.value, FaultKind.KILL.value}
    assert all(op.type == INFO for op in ops if op.process == NEMESIS)
    # a process that saw "info" never invokes again; its worker continues as process + concurrency
    retired = {op.process for op in ops if op.is_client and op.type == INFO}
    assert retired, "partitioned writes time out, so some ops end in info"
    successors = 0
    for p in retired:
        info_at = max(op.index for op in ops if op.process == p)
        assert ops[info_at].type == INFO
        later = [op.index for op in ops if op.process == p + SPEC.concurrency]
        assert all(i > info_at for i in later)
        successors += bool(later)
    assert successors > 0
    # worker i talks to node n(i % nodes + 1)
    assert {op.node for op in ops if op.is_client and op.process == 1} == {"n2"}
    # after the heal phase nothing is left broken, and the final reads come last
    assert not backend.down and not backend.grudge
    # (the schedule may have healed everything itself, so the heal phase need not journal anything)
    main_end = SPEC.time_limit * 1e9
    finals = [op for op in ops if op.is_client and op.type == INVOKE and op.time >= main_end]
    assert finals and all(op.f == "read" for op in finals)
    assert max(op.index for op in ops if op.process == NEMESIS) < finals[0].index


def test_history_file_mirrors_memory(tmp_path: Path) -> None:
    from checkers.history import read_jsonl

    outcome = _run(_cluster(tmp_path), path=tmp_path / "h.jsonl")
    assert read_jsonl(tmp_path / "h.jsonl") == list(outcome.ops)


def test_missing_capability_is_refused_when_the_plan_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.backends import registry
    from harness.run.plan import build_plan

    monkeypatch.setitem(registry.BACKENDS, "netonly", registry.BackendEntry(
        "netonly", "fake without Kill", "fake_cluster:NetOnlyCluster"))
    with pytest.raises(CapabilityError, match="'netonly' cannot inject kill"):
        build_plan(SPEC.with_(backend="netonly"))
    # without the kill package the same backend runs
    plan = build_plan(SPEC.with_(backend="netonly", nemesis=("partition",), time_limit=0.2))
    backend = plan.make_backend(tmp_path)
    assert isinstance(backend, NetOnlyCluster)
    assert _run(backend, plan.spec).phase == "done"


def test_cancel_heals_and_tears_down(tmp_path: Path) -> None:
    backend = _cluster(tmp_path)
    spec = SPEC.with_(time_limit=30.0, nemesis=("kill",), nemesis_interval=0.05)

    async def go() -> RunOutcome:
        task = asyncio.ensure_future(execute(backend, spec, HistoryLog(None)))
        await asyncio.sleep(0.3)
        task.cancel()
        return await task

    outcome = sim_loop.run(go())
    assert outcome.interrupted and outcome.phase == "main"
    main_ops = [op for op in outcome.ops if op.is_client and op.type == INVOKE]
    assert main_ops and max(op.time for op in main_ops) <= 0.3e9, "nothing is invoked after the cancel"
    assert backend.events[-1] == "teardown"
    assert not backend.down, "heal restarted every killed node"


def test_crash_is_reported_and_torn_down(tmp_path: Path) -> None:
    backend = _cluster(tmp_path)
    backend.crash_on_call = True
    outcome = _run(backend, SPEC.with_(time_limit=0.3))
    assert outcome.error is not None and "boom" in outcome.error
    assert backend.events[-1] == "teardown"


def test_rate_limit_and_time_limit(tmp_path: Path) -> None:
    spec = SPEC.with_(nemesis=(), rate=50.0, time_limit=10.0, concurrency=8, quiesce=0.0)
    outcome = _run(_cluster(tmp_path), spec)
    main_invokes = [op for op in outcome.ops if op.type == INVOKE and op.time < 10.0e9]
    # uniform gaps in [0, 2/rate] average 1/rate: 500 ops over 10 virtual seconds, give or take sampling
    assert 430 <= len(main_invokes) <= 570, len(main_invokes)
    # nothing of the main phase is invoked after the time limit (only the final reads, one per key)
    late = [op for op in outcome.ops if op.type == INVOKE and op.time >= 10.0e9]
    assert all(op.f == "read" for op in late) and len(late) <= 3 * 10
    gaps = [b.time - a.time for a, b in itertools.pairwise(main_invokes)]
    assert max(gaps) <= 2 / spec.rate * 1e9 + 1e6, "no gap is longer than the stagger allows (plus latency)"


def test_same_seed_same_history_on_the_virtual_loop(tmp_path: Path) -> None:
    first = _run(_cluster(tmp_path), SPEC)
    again = _run(_cluster(tmp_path), SPEC)
    assert [op.to_dict() for op in first.ops] == [op.to_dict() for op in again.ops]
    assert SPEC.time_limit * 1e9 <= max(op.time for op in first.ops) < (SPEC.time_limit + 1.0) * 1e9


def test_clients_of_a_dead_node_do_not_starve_the_others(tmp_path: Path) -> None:
    backend = _cluster(tmp_path)
    backend.down.add("n1")  # refuses connections for the whole run
    backend.latency = 0.05  # live nodes take a while to answer; a dead one refuses at once
    spec = SPEC.with_(nemesis=(), rate=60.0, time_limit=1.5, concurrency=3, quiesce=0.0)
    outcome = _run(backend, spec)
    by_node = {n: sum(1 for op in outcome.ops if op.type == INVOKE and op.node == n)
               for n in ("n1", "n2", "n3")}
    assert by_node["n2"] > 12 and by_node["n3"] > 12
    assert by_node["n1"] < 0.45 * sum(by_node.values()), by_node
