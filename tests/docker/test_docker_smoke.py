"""CI smoke test: full runs on the docker backend with a partition + kill schedule.

The correct ``replication`` must come out valid and the planted bug ``replication:async`` (replicas
answer reads from their own copy) invalid: isolating n3 from the primary lets it serve stale reads.
The schedule is explicit so that the verdicts do not hinge on what a random schedule happens to do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.backends.docker.cleanup import leftovers
from harness.run.session import run_test
from harness.run.spec import RunSpec

pytestmark = pytest.mark.docker

SCHEDULE = (
    {"at": 0.5, "f": "start-partition", "value": {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]}},
    {"at": 4.0, "f": "stop-partition", "value": None},
    {"at": 4.5, "f": "kill", "value": ["n2"]},
    {"at": 5.5, "f": "start", "value": ["n2"]},
)


def smoke(system: str, tmp_path: Path, seed: int = 11) -> Any:
    # read-heavy, short op timeout: clients on the isolated n3 spend little time blocked on writes that
    # cannot reach the primary, so they get in enough reads for the stale ones to show
    spec = RunSpec(system=system, backend="docker", nodes=3, concurrency=9, time_limit=7.0, rate=60.0,
                   nemesis=("partition", "kill"), seed=seed, quiesce=1.5, schedule=SCHEDULE, op_timeout=0.5,
                   workload_options={"keys": 2, "mix": {"read": 3, "write": 2, "cas": 0.5}})
    return run_test(spec, store=tmp_path / "store")


@pytest.mark.parametrize(("system", "valid", "code"),
                         [("replication", True, 0), ("replication:async", False, 1)])
def test_docker_run_verdicts(system: str, valid: bool, code: int, tmp_path: Path, node_image: Any,
                             docker_client: Any) -> None:
    res = smoke(system, tmp_path)
    assert res.outcome.error is None, res.outcome.error
    assert res.outcome.faults_applied == len(SCHEDULE)
    client_ops = [op for op in res.outcome.ops if op.is_client and op.type == "invoke"]
    assert len(client_ops) > 100
    assert res.result.valid is valid and res.exit_code == code
    for node in ("n1", "n2", "n3"):
        assert "READY" in (res.run_dir / "nodes" / f"{node}.log").read_text()
    assert leftovers(docker_client, owner_pid=os.getpid()) == {"containers": [], "networks": [],
                                                               "volumes": []}
