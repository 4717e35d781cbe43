"""etcd and redis in containers with real (iptables) partitions. Needs a Docker engine; slow on the first
run because the node image with Debian's etcd-server and redis-server is built then (cached after)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkers.history import read_jsonl
from harness.run.session import run_test
from harness.run.spec import RunSpec

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ISOLATE_N1 = (
    {"at": 1.0, "f": "start-partition", "value": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}},
    {"at": 6.0, "f": "stop-partition", "value": None},
)


def _needs_docker_backend() -> None:
    from harness.backends import registry as backends

    if "docker" not in backends.BACKENDS:
        pytest.skip("the docker backend is not registered in harness.backends.registry")


def test_etcd_in_containers_stays_linearizable_when_its_leader_may_be_isolated(tmp_path: Path) -> None:
    _needs_docker_backend()
    spec = RunSpec(system="etcd", backend="docker", nodes=3, concurrency=4, time_limit=8.0,
                   nemesis=("partition",),
                   schedule=ISOLATE_N1, quiesce=1.0, seed=11)
    res = run_test(spec, store=tmp_path)
    assert res.outcome.error is None, res.outcome.error
    assert res.result.valid is True, res.result.explanation
    ops = read_jsonl(res.run_dir / "history.jsonl")
    assert [o.f for o in ops if not o.is_client] == ["start-partition", "stop-partition"]
    assert sum(1 for o in ops if o.is_client and o.type == "ok") > 50
    assert "raft" in (res.run_dir / "nodes" / "n1.log").read_text()


def test_redis_in_containers_fails_over_when_the_primary_is_cut_off(tmp_path: Path) -> None:
    _needs_docker_backend()
    pytest.importorskip("redis")
    spec = RunSpec(system="redis", backend="docker", workload="set", nodes=3, concurrency=4, time_limit=8.0,
                   nemesis=("partition",), schedule=ISOLATE_N1, quiesce=1.0, seed=11)
    res = run_test(spec, store=tmp_path)
    assert res.outcome.error is None, res.outcome.error
    failover = (res.run_dir / "nodes" / "failover.log").read_text()
    assert "FAILOVER 1: n1 ->" in failover and "replicas lost it" in failover
    assert res.result.valid in (True, False)  # a verdict was reached; losses are measured, not asserted
