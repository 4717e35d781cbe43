"""Our own Maelstrom-protocol nodes on the local backend: correct ones pass, planted bugs are caught.

Each pair (correct / wrong) runs under the faults that expose the bug. The default suite runs one seed
of each; the slow suite runs five seeds of every pair, which is what "verdicts stable over 5 seeds" means.
"""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    from .maelstrom_helpers import PYNODE, compile_cnode, run_program, stats
except ImportError:  # pragma: no cover - rootdir-less import mode
    from maelstrom_helpers import PYNODE, compile_cnode, run_program, stats

# A kill of n1 and its restart, mid-run (ids handed out before and after; data only n1 held).
KILL_N1 = [{"at": 1.5, "f": "kill", "value": ["n1"]}, {"at": 2.0, "f": "start", "value": ["n1"]}]
# (workload, node args of the correct one, args of the wrong one, faults that expose the wrong one:
# nemesis packages, or an explicit schedule)
PY_PAIRS = [
    ("lin-kv", ["lin-kv"], ["lin-kv", "local-reads"], ("partition", "kill", "pause")),
    ("broadcast", ["broadcast"], ["broadcast", "no-retry"], ("partition",)),
    ("unique-ids", ["unique-ids"], ["unique-ids", "collide"], KILL_N1),
    ("kafka", ["kafka"], ["kafka", "forgetful"], KILL_N1),
]


def _faults(faults: tuple[str, ...] | list[dict]) -> dict:
    return {"schedule": faults} if isinstance(faults, list) else {"nemesis": faults}


PY_CORRECT_ONLY = [
    ("echo", ["echo"], ("partition", "kill", "pause")),
    ("g-set", ["g-set"], ("partition", "kill", "pause")),
    ("g-counter", ["g-counter"], ("partition", "kill", "pause")),
    ("pn-counter", ["pn-counter"], ("partition", "kill", "pause")),
    ("txn-list-append", ["txn-list-append"], ("partition", "kill", "pause")),
    ("txn-rw-register", ["txn-rw-register"], ("partition", "kill", "pause")),
]


@pytest.mark.parametrize("workload, good, bad, faults", PY_PAIRS, ids=[p[0] for p in PY_PAIRS])
def test_python_node_correct_passes_and_planted_bug_is_caught(
    tmp_path: Path, workload: str, good: list[str], bad: list[str], faults: tuple[str, ...] | list[dict]
) -> None:
    ok = run_program(tmp_path, PYNODE, good, workload, seed=11, **_faults(faults))
    assert ok.result.valid is True, ok.result.explanation
    assert ok.outcome.faults_applied > 0
    assert stats(ok)["totals"]["malformed"] == 0
    wrong = run_program(tmp_path, PYNODE, bad, workload, seed=11, **_faults(faults))
    assert wrong.result.valid is False, wrong.result.explanation
    assert wrong.exit_code == 1


@pytest.mark.parametrize("workload, good, faults", PY_CORRECT_ONLY, ids=[p[0] for p in PY_CORRECT_ONLY])
def test_python_node_correct_under_faults(
    tmp_path: Path, workload: str, good: list[str], faults: tuple[str, ...]
) -> None:
    res = run_program(tmp_path, PYNODE, good, workload, nemesis=faults, seed=5)
    assert res.result.valid is True, res.result.explanation
    counts = stats(res)["totals"]
    assert counts["client_requests"] > 50 and counts["malformed"] == 0


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
    assert run_program(tmp_path, PYNODE, good, workload, seed=seed, **_faults(faults)).result.valid is True
    assert run_program(tmp_path, PYNODE, bad, workload, seed=seed, **_faults(faults)).result.valid is False


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("workload, good, faults", PY_CORRECT_ONLY, ids=[p[0] for p in PY_CORRECT_ONLY])
def test_correct_nodes_stable_over_seeds(
    tmp_path: Path, seed: int, workload: str, good: list[str], faults: tuple[str, ...] | list[dict]
) -> None:
    res = run_program(tmp_path, PYNODE, good, workload, nemesis=faults, seed=seed, time_limit=3)
    assert res.result.valid is True, res.result.explanation
