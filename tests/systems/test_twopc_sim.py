"""Two-phase commit through the real runner on the simulator: the bank and list-append workloads, judged by
their checkers, tell the correct variant from the planted bugs."""

from __future__ import annotations

import pytest

from checkers.history import Op
from harness.run.simrun import run_spec
from harness.run.spec import RunSpec
from harness.workloads.bank import BankWorkload
from harness.workloads.txn_append import ListAppendWorkload
from nemesis.faults import FaultKind, FaultOp, TimedFault


def run(system: str, workload: str, seed: int, *, schedule: list[TimedFault] | None = None,
        nemesis: tuple[str, ...] = ("partition", "kill")) -> list[Op]:
    spec = RunSpec(system=system, workload=workload, backend="sim", nodes=3, concurrency=8, time_limit=30.0,
                   rate=60.0, nemesis=nemesis, seed=seed)
    outcome = run_spec(spec, schedule=schedule).outcome
    assert outcome.error is None, outcome.error
    return list(outcome.ops)


def crash_coordinator_while_a_participant_is_cut_off() -> list[TimedFault]:
    """n3 stops hearing n1 (COMMITs to it are lost), then the coordinator n1 crashes before healing."""
    out: list[TimedFault] = []
    for t in (3.0, 9.0, 15.0, 21.0):
        out += [TimedFault(t, FaultOp(FaultKind.START_PARTITION, {"n3": ["n1"]})),
                TimedFault(t + 0.7, FaultOp(FaultKind.KILL, ["n1"])),
                TimedFault(t + 1.5, FaultOp(FaultKind.STOP_PARTITION, None)),
                TimedFault(t + 2.0, FaultOp(FaultKind.START, ["n1"]))]
    return out


@pytest.mark.parametrize("system, valid", [("twopc", True), ("twopc:unilateral-commit", False)])
def test_bank_under_partitions_and_kills(system: str, valid: bool) -> None:
    ops = run(system, "bank", seed=0)
    result = BankWorkload().check(ops)
    assert sum(op.f == "read" and op.type == "ok" for op in ops) > 50
    assert result.valid is valid, result.explanation


@pytest.mark.parametrize("system, valid", [("twopc", True), ("twopc:no-decision-log", False)])
def test_bank_when_the_coordinator_crashes_with_a_commit_undelivered(system: str, valid: bool) -> None:
    ops = run(system, "bank", seed=1, schedule=crash_coordinator_while_a_participant_is_cut_off())
    result = BankWorkload().check(ops)
    assert result.valid is valid, result.explanation


@pytest.mark.parametrize("system, valid", [("twopc", True), ("twopc:unilateral-commit", False)])
def test_list_append_is_strict_serializable_and_atomic(system: str, valid: bool) -> None:
    ops = run(system, "list-append", seed=0)
    result = ListAppendWorkload().check(ops)
    assert result.details["elle-list-append"]["details"]["stats"]["ok"] > 300
    assert result.valid is valid
    if not valid:
        assert result.details["2pc"]["valid"] is False, "a transaction is visible on some shards only"
