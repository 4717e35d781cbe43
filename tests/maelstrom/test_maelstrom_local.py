"""Our own Maelstrom-protocol nodes on the local backend: correct ones pass, planted bugs are caught.

Each pair (correct / wrong, ``PY_PAIRS``) runs under partitions, kills and pauses: the random nemesis for
lin-kv, for the others the fixed schedule ``MIX`` (a partition, then a kill and restart, then a pause).
The default suite runs one seed of each; the slow suite runs five seeds of every pair, which is what
"verdicts stable over 5 seeds" means. A test node never crashes on its own: a wrong one must be caught
for its planted bug.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
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

# The correct nodes of the workloads whose pairs run on MIX, also under the random nemesis (slow suite).
PY_CORRECT_ONLY = [
    (workload, good, ("partition", "kill", "pause"))
    for workload, good, _, faults in PY_PAIRS
    if faults is MIX
]


@pytest.mark.parametrize("workload, good, bad, faults", PY_PAIRS, ids=[p[0] for p in PY_PAIRS])
def test_python_node_correct_passes_and_planted_bug_is_caught(
    tmp_path: Path, workload: str, good: list[str], bad: list[str], faults: tuple[str, ...] | list[dict]
) -> None:
    ok = run_program(tmp_path, PYNODE, good, workload, seed=11, **fault_args(faults))
    assert ok.result.valid is True, ok.result.explanation
    assert ok.outcome.faults_applied > 0
    counts = stats(ok)["totals"]
    assert counts["client_requests"] > 50 and counts["malformed"] == 0
    wrong = run_program(tmp_path, PYNODE, bad, workload, seed=11, **fault_args(faults))
    assert wrong.result.valid is False, wrong.result.explanation
    assert wrong.exit_code == 1
    assert crashes(ok) == crashes(wrong) == 0


def test_c_node_echo_and_unique_ids(tmp_path: Path) -> None:
    cnode = compile_cnode(tmp_path)
    assert (
        run_program(tmp_path, cnode, ["echo"], "echo", nemesis=("kill", "pause"), seed=3).result.valid is True
    )
    good = run_program(tmp_path, cnode, ["unique-ids"], "unique-ids", schedule=KILL_N1, seed=3)
    assert good.result.valid is True, good.result.explanation
    bad = run_program(tmp_path, cnode, ["unique-ids", "collide"], "unique-ids", schedule=KILL_N1, seed=3)
    assert bad.result.valid is False
    assert bad.result.details["duplicated-count"] > 0


def test_absence_observation_catches_a_node_that_forgets_on_restart(tmp_path: Path) -> None:
    """Maelstrom would pass the forgetful node (its 'key does not exist' reads are failed ops); we do not."""
    # Many keys: writes the others forwarded to n1 while it was down wait in their links and reach the
    # new n1 first, refilling a few keys (legitimately: they were indefinite ops); the others read absent.
    opts = {"keys": 8, "ops_per_key": 1000}
    forgetful = run_program(
        tmp_path,
        PYNODE,
        ["lin-kv", "forgetful"],
        "lin-kv",
        schedule=KILL_N1,
        workload_options=opts,
        seed=2,
        time_limit=6,
    )
    assert forgetful.result.valid is False, forgetful.result.explanation
    assert "nil" in forgetful.result.explanation
    as_maelstrom = run_program(
        tmp_path,
        PYNODE,
        ["lin-kv", "forgetful"],
        "lin-kv",
        schedule=KILL_N1,
        workload_options={**opts, "absence": False},
        seed=2,
        time_limit=6,
    )
    assert as_maelstrom.result.valid is True, as_maelstrom.result.explanation
    durable = run_program(
        tmp_path,
        PYNODE,
        ["lin-kv", "durable"],
        "lin-kv",
        schedule=KILL_N1,
        workload_options=opts,
        seed=2,
        time_limit=6,
    )
    assert durable.result.valid is True, durable.result.explanation


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("workload, good, bad, faults", PY_PAIRS, ids=[p[0] for p in PY_PAIRS])
def test_verdicts_stable_over_seeds(
    tmp_path: Path,
    seed: int,
    workload: str,
    good: list[str],
    bad: list[str],
    faults: tuple[str, ...] | list[dict],
) -> None:
    ok = run_program(tmp_path, PYNODE, good, workload, seed=seed, **fault_args(faults))
    assert ok.result.valid is True, ok.result.explanation
    wrong = run_program(tmp_path, PYNODE, bad, workload, seed=seed, **fault_args(faults))
    assert wrong.result.valid is False, wrong.result.explanation
    assert crashes(ok) == crashes(wrong) == 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("workload, good, faults", PY_CORRECT_ONLY, ids=[p[0] for p in PY_CORRECT_ONLY])
def test_correct_nodes_stable_over_seeds(
    tmp_path: Path, seed: int, workload: str, good: list[str], faults: tuple[str, ...] | list[dict]
) -> None:
    res = run_program(tmp_path, PYNODE, good, workload, nemesis=faults, seed=seed, time_limit=3)
    assert res.result.valid is True, res.result.explanation


def test_node_on_the_minority_side_is_cut_off_from_the_services(tmp_path: Path) -> None:
    res = run_program(tmp_path, PYNODE, ["lin-kv"], "lin-kv", schedule=ISOLATE_N1, seed=5, time_limit=5.5)
    assert res.result.valid is True, res.result.explanation
    after_restart = assert_n1_cut_off_from_the_services(res)
    nodes = stats(res)["nodes"]
    assert sum(life.get("dropped_in", 0) for life in nodes["services"]["incarnations"]) >= len(after_restart)
    # the grudge each shim got: n1 drops the services host (also after its restart), the host drops n1
    n1_log = (res.run_dir / "nodes" / "n1.log").read_text()
    assert n1_log.count('control partition: faults now {"clock_offset": 0.0, "delay": 0.0, '
                       '"drop_from": ["n2", "n3", "services"]') == 2
    assert '"drop_from": ["n1"]' in (res.run_dir / "nodes" / "services.log").read_text()
    assert '"services"' not in (res.run_dir / "nodes" / "n2.log").read_text()
    wrong = run_program(
        tmp_path, PYNODE, ["lin-kv", "local-reads"], "lin-kv", schedule=ISOLATE_N1, seed=5, time_limit=5.5
    )
    assert wrong.result.valid is False, wrong.result.explanation


def _node_run(tmp_path: Path) -> subprocess.Popen[str]:
    """One run of the correct lin-kv test node in ``tmp_path``, initialised as n1 of three."""
    proc = subprocess.Popen(
        [sys.executable, str(PYNODE), "lin-kv"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    _tell(proc, {"src": "c0", "dest": "n1", "body": {"type": "init", "msg_id": 1, "node_id": "n1",
                                                       "node_ids": ["n1", "n2", "n3"]}})
    assert json.loads(_next_line(proc))["body"]["type"] == "init_ok"
    return proc


def _tell(proc: subprocess.Popen[str], msg: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(msg) + "\n")
    proc.stdin.flush()


def _next_line(proc: subprocess.Popen[str], timeout: float = 10.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"the node wrote nothing within {timeout:g}s"
    return proc.stdout.readline()


def test_a_reply_to_the_previous_run_is_not_taken_for_this_runs(tmp_path: Path) -> None:
    """Messages sent to a node while it is down reach it when it is back: the lin-kv service's reply to
    what the killed run asked must not answer what the new run asks (its msg_ids must be new ones)."""
    read = {"src": "c1", "dest": "n1", "body": {"type": "read", "key": 1, "msg_id": 5}}
    first = _node_run(tmp_path)
    try:
        _tell(first, read)
        old = json.loads(_next_line(first))
    finally:
        first.kill()
        first.wait()
    assert old["dest"] == "lin-kv" and old["body"]["type"] == "read"

    second = _node_run(tmp_path)
    try:
        _tell(second, read)
        new = json.loads(_next_line(second))
        assert new["dest"] == "lin-kv" and new["body"]["msg_id"] != old["body"]["msg_id"]
        # The service's answer to the killed run's read arrives late, then the answer to this run's.
        for value, asked in (("for the previous run", old), ("current", new)):
            _tell(second, {"src": "lin-kv", "dest": "n1", "body": {
                "type": "read_ok", "value": value, "in_reply_to": asked["body"]["msg_id"]}})
        answer = json.loads(_next_line(second))
        assert answer["dest"] == "c1" and answer["body"]["in_reply_to"] == 5
        assert answer["body"]["value"] == "current"
    finally:
        second.kill()
        second.wait()
