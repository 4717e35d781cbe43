"""Our own Maelstrom-protocol nodes in containers: correct ones pass, planted bugs are caught, for every
workload and five seeds (the local suite's pairs and faults), and the C node linked statically.

The program is mounted into each node container; partitions are iptables rules (plus the shims'
grudge, so a message sent across a partition is lost as in Maelstrom, not just delayed by TCP).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from maelstrom_helpers import (
    ISOLATE_N1,
    KILL_N1,
    MIX,
    PY_PAIRS,
    PYNODE,
    assert_n1_cut_off_from_the_services,
    compile_cnode,
    crashes,
    fault_args,
    run_program,
    stats,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Short runs: each one starts four containers (three nodes and the services host); the pairs' fault
# schedules end by 3 s, so the final reads come 3 s after the last fault.
TIME_LIMIT = 4.0
QUIESCE = 2.0


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("workload, good, bad, faults", PY_PAIRS, ids=[p[0] for p in PY_PAIRS])
def test_docker_verdicts_stable_over_seeds(
    tmp_path: Path, seed: int, workload: str, good: list[str], bad: list[str], faults: Any
) -> None:
    """Every workload's correct node passes and its wrong node is caught, in containers, for five seeds."""
    ok = run_program(
        tmp_path,
        PYNODE,
        good,
        workload,
        seed=seed,
        backend="docker",
        time_limit=TIME_LIMIT,
        quiesce=QUIESCE,
        **fault_args(faults),
    )
    assert ok.result.valid is True, ok.result.explanation
    assert ok.outcome.faults_applied > 0
    assert stats(ok)["totals"]["client_requests"] > 30
    wrong = run_program(
        tmp_path,
        PYNODE,
        bad,
        workload,
        seed=seed,
        backend="docker",
        time_limit=TIME_LIMIT,
        quiesce=QUIESCE,
        **fault_args(faults),
    )
    assert wrong.result.valid is False, wrong.result.explanation
    assert crashes(ok) == crashes(wrong) == 0


def test_docker_c_node_statically_linked(tmp_path: Path) -> None:
    """The C node, linked statically (so it needs nothing from the image), in containers under faults."""
    cnode = compile_cnode(tmp_path, static=True)
    echo = run_program(
        tmp_path, cnode, ["echo"], "echo", schedule=MIX, seed=1, backend="docker", time_limit=TIME_LIMIT
    )
    assert echo.result.valid is True, echo.result.explanation
    assert stats(echo)["totals"]["client_requests"] > 30
    good = run_program(
        tmp_path,
        cnode,
        ["unique-ids"],
        "unique-ids",
        schedule=KILL_N1,
        seed=1,
        backend="docker",
        time_limit=TIME_LIMIT,
    )
    assert good.result.valid is True, good.result.explanation
    bad = run_program(
        tmp_path,
        cnode,
        ["unique-ids", "collide"],
        "unique-ids",
        schedule=KILL_N1,
        seed=1,
        backend="docker",
        time_limit=TIME_LIMIT,
    )
    assert bad.result.valid is False, bad.result.explanation
    assert bad.result.details["duplicated-count"] > 0


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


def test_docker_node_on_the_minority_side_is_cut_off_from_the_services(tmp_path: Path) -> None:
    """n1 alone (and restarted) inside a partition gets no lin-kv reply; the majority keeps the service."""
    kw: dict[str, Any] = {"seed": 5, "backend": "docker", "time_limit": 5.5, "quiesce": QUIESCE}
    res = run_program(tmp_path, PYNODE, ["lin-kv"], "lin-kv", schedule=ISOLATE_N1, **kw)
    assert res.result.valid is True, res.result.explanation
    after_restart = assert_n1_cut_off_from_the_services(res)
    # n1 had two lives (the kill ended the first); in the last one its shim dropped its program's requests
    # to lin-kv (drop_to, sent again after the restart) instead of letting TCP carry them across once the
    # partition healed
    _first, last = stats(res)["nodes"]["n1"]["incarnations"]
    assert last["dropped_out"] >= len(after_restart)
    wrong = run_program(tmp_path, PYNODE, ["lin-kv", "local-reads"], "lin-kv", schedule=ISOLATE_N1, **kw)
    assert wrong.result.valid is False, wrong.result.explanation
