"""The lock service through the real runner on the simulator: the lock workload's checkers tell the
correct service from the two planted bugs, each exposed by its own kind of fault."""

from __future__ import annotations

import pytest

from harness.run.simrun import run_spec
from harness.run.spec import RunSpec
from harness.workloads.lock import LockWorkload


@pytest.mark.parametrize("system, nemesis, seed, valid", [
    ("lock", ("partition", "kill", "clock"), 0, True),
    ("lock:no-fencing", ("partition", "kill"), 1, False),  # stale holders write after their successor
    ("lock:clock-lease", ("partition", "kill"), 1, True),  # safe while the clocks agree ...
    ("lock:clock-lease", ("clock",), 0, False),  # ... but not once they are skewed
])
def test_lock_variants(system: str, nemesis: tuple[str, ...], seed: int, valid: bool) -> None:
    spec = RunSpec(system=system, workload="lock", backend="sim", nodes=3, concurrency=6, time_limit=30.0,
                   nemesis=nemesis, seed=seed)
    outcome = run_spec(spec).outcome
    assert outcome.error is None, outcome.error
    ops = list(outcome.ops)
    assert sum(op.f == "acquire" and op.type == "ok" for op in ops) > 15  # progress despite faults
    result = LockWorkload().check(ops, time_limit=30)
    assert result.details["lock"]["valid"] is valid, result.details["lock"]["explanation"]
    assert result.details["linearizable"]["valid"] is valid
