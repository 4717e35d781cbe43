"""The set workload: unique adds, whole-set reads, and a full run on the fake cluster judged by set-full."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fake_cluster import FakeCluster

from harness.backends.base import ClusterSpec
from harness.backends.sim import loop as sim_loop
from harness.run.history_log import HistoryLog
from harness.run.runner import execute
from harness.run.spec import RunSpec
from harness.workloads import Invocation, OptionError, make_workload


def test_adds_are_unique_and_reads_are_mixed_in() -> None:
    w = make_workload("set", random.Random(1), {"read_fraction": 0.3})
    ops = [w.next_op() for _ in range(1000)]
    adds = [op.value for op in ops if op.f == "add"]
    assert adds == list(range(len(adds)))
    assert 200 < sum(op.f == "read" for op in ops) < 400
    again = make_workload("set", random.Random(1), {"read_fraction": 0.3})
    assert [again.next_op() for _ in range(1000)] == ops


def test_requests_replies_and_final_reads() -> None:
    w = make_workload("set", random.Random(2), {"key": "s1", "final_reads": 2})
    assert w.request(Invocation("add", 5)) == {"type": "add", "key": "s1", "element": 5}
    assert w.request(Invocation("read", None)) == {"type": "read", "key": "s1"}
    read = Invocation("read", None)
    assert w.complete(read, {"type": "read_ok", "value": None}).value == []
    assert w.complete(read, {"type": "read_ok", "value": [1, 2]}).value == [1, 2]
    assert w.complete(Invocation("add", 3), {"type": "add_ok"}).value == 3
    assert w.final_ops() == [read, read]
    with pytest.raises(OptionError):
        make_workload("set", random.Random(0), {"read_fraction": 2})


def test_set_run_on_the_fake_cluster_is_judged_valid_and_a_lost_element_invalid(tmp_path: Path) -> None:
    spec = RunSpec(workload="set", concurrency=3, time_limit=0.5, rate=150.0, nemesis=("partition",),
                   nemesis_interval=0.1, quiesce=0.0, op_timeout=0.05, seed=4)
    backend = FakeCluster(ClusterSpec("replication", spec.node_ids, tmp_path, 1))
    outcome = sim_loop.run(execute(backend, spec, HistoryLog(None)))
    w = make_workload("set", random.Random(0))
    result = w.check(outcome.ops)
    assert result.valid is True, result.explanation
    # drop an acknowledged element from the final reads: the same history becomes invalid
    acked = next(op.value for op in outcome.ops if op.f == "add" and op.type == "ok")
    from checkers.history import Op

    doctored = [Op(op.index, op.time, op.type, op.process, op.f, [e for e in op.value if e != acked], op.node)
                if op.f == "read" and op.type == "ok" else op for op in outcome.ops]
    assert w.check(doctored).valid is False
