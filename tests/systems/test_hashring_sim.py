"""The hashring store through the real runner on the simulator with the register workload."""

from __future__ import annotations

import pytest

from checkers.linearizability import check
from harness.run.simrun import run_spec
from harness.run.spec import RunSpec


@pytest.mark.parametrize("system, valid", [("hashring", True), ("hashring:sloppy", False)])
def test_register_workload_under_partitions_and_kills(system: str, valid: bool) -> None:
    spec = RunSpec(system=system, backend="sim", nodes=5, concurrency=6, time_limit=30.0,
                   nemesis=("partition", "kill"), seed=1)
    outcome = run_spec(spec).outcome
    assert outcome.error is None, outcome.error
    ops = list(outcome.ops)
    assert sum(op.f == "read" and op.type == "ok" for op in ops) > 100
    assert all(op.type == "fail" for op in ops if op.f == "cas" and op.type != "invoke"), "no cas on quorums"
    assert check(ops, "cas-register", time_limit=60).valid is valid
