"""Our own Maelstrom-protocol nodes in containers: correct ones pass, planted bugs are caught.

The program is mounted into each node container; partitions are iptables rules (plus the shims'
grudge, so a message sent across a partition is lost as in Maelstrom, not just delayed by TCP).
"""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    from .maelstrom_helpers import PYNODE, run_program, stats
except ImportError:  # pragma: no cover - rootdir-less import mode
    from maelstrom_helpers import PYNODE, run_program, stats

pytestmark = [pytest.mark.docker, pytest.mark.slow]

KILL_N1 = [{"at": 1.5, "f": "kill", "value": ["n1"]}, {"at": 2.0, "f": "start", "value": ["n1"]}]
PAIRS = [
    ("lin-kv", ["lin-kv"], ["lin-kv", "local-reads"], {"nemesis": ("partition", "kill", "pause")}),
    ("broadcast", ["broadcast"], ["broadcast", "no-retry"], {"nemesis": ("partition",)}),
    ("unique-ids", ["unique-ids"], ["unique-ids", "collide"], {"schedule": KILL_N1}),
]


@pytest.mark.parametrize("workload, good, bad, faults", PAIRS, ids=[p[0] for p in PAIRS])
def test_docker_correct_passes_and_planted_bug_is_caught(
    tmp_path: Path, workload: str, good: list[str], bad: list[str], faults: dict
) -> None:
    ok = run_program(tmp_path, PYNODE, good, workload, seed=2, backend="docker", time_limit=8, **faults)
    assert ok.result.valid is True, ok.result.explanation
    assert stats(ok)["totals"]["client_requests"] > 50
    wrong = run_program(tmp_path, PYNODE, bad, workload, seed=2, backend="docker", time_limit=8, **faults)
    assert wrong.result.valid is False, wrong.result.explanation


ALL_CORRECT = ["echo", "g-set", "g-counter", "pn-counter", "txn-list-append", "txn-rw-register", "kafka"]


@pytest.mark.parametrize("workload", ALL_CORRECT)
def test_docker_correct_nodes_of_every_workload(tmp_path: Path, workload: str) -> None:
    res = run_program(
        tmp_path,
        PYNODE,
        [workload],
        workload,
        seed=3,
        backend="docker",
        time_limit=8,
        nemesis=("partition", "kill", "pause"),
    )
    assert res.result.valid is True, res.result.explanation
    assert res.outcome.faults_applied > 0


def test_docker_forgetful_node_is_caught_by_the_absence_observation(tmp_path: Path) -> None:
    # Many keys: a container restarts in seconds, and the writes the other nodes forwarded to n1 meanwhile
    # (queued in their links) reach the new n1 first and legitimately refill some keys (they were
    # indefinite ops); a key none of them touched is then reported absent, which cannot be linearized.
    opts = {"keys": 8, "ops_per_key": 1000}
    res = run_program(
        tmp_path,
        PYNODE,
        ["lin-kv", "forgetful"],
        "lin-kv",
        schedule=KILL_N1,
        workload_options=opts,
        seed=2,
        backend="docker",
        time_limit=10,
    )
    assert res.result.valid is False, res.result.explanation
    durable = run_program(
        tmp_path,
        PYNODE,
        ["lin-kv", "durable"],
        "lin-kv",
        schedule=KILL_N1,
        workload_options=opts,
        seed=2,
        backend="docker",
        time_limit=10,
    )
    assert durable.result.valid is True, durable.result.explanation  # its data survived in the volume
