"""A run is not a clean success because nothing happened: fault counts, kinds that never fired, runs
whose nodes vanished or whose ops were mostly indeterminate, and the verdict line that says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_local_runs import _cmd, _node_pids, _wait_for_ops

from checkers.history import Op
from checkers.result import Result
from harness.apps.cli import run_cli
from harness.backends import procguard
from harness.run.session import qualify, still_running
from harness.run.verdict import fault_summary, indeterminate_reason, requested_kinds

REPO = Path(__file__).resolve().parents[2]


def _op(i: int, type_: str, process: int | str, f: str, value: object = None, error: object = None) -> Op:
    return Op(i, i, type_, process, f, value, error=error)


def test_faults_are_counted_as_faults_not_nemesis_ops() -> None:
    ops = [
        _op(0, "info", "nemesis", "start-partition", {"n1": ["n2"]}),
        _op(1, "info", "nemesis", "stop-partition", "fully-connected"),  # the heal is not a fault
        _op(2, "info", "nemesis", "kill", ["n2"]),
        _op(3, "info", "nemesis", "start", ["n2"]),
        _op(4, "info", "nemesis", "kill", []),  # no target: nothing happened
        _op(5, "info", "nemesis", "pause", ["n1"], error="Unreachable: n1"),  # failed: did not take effect
    ]
    s = fault_summary(ops, requested_kinds(("partition", "kill", "pause", "clock"), None), planned=5)
    assert s.total == 2 and s.counts == {"start-partition": 1, "kill": 1}
    assert s.missing == ("pause", "bump-clock")
    assert s.phrase() == "2 faults (1 kill, 1 start-partition); never took effect: pause, bump-clock"
    assert s.downgrade_reason() is None
    none = fault_summary(ops[5:], ["pause"], planned=3)
    assert "NONE OF 3 PLANNED FAULTS TOOK EFFECT" in none.phrase()
    assert none.downgrade_reason() is not None
    nothing_planned = fault_summary([], ["kill"], planned=0)
    assert "NO FAULT WAS SCHEDULED" in nothing_planned.phrase() and nothing_planned.downgrade_reason() is None
    assert fault_summary([], [], planned=0).phrase() == "no faults requested"


def _history(ok: int, info: int, unreachable: int) -> list[Op]:
    ops, i = [], 0
    for kind, n in (("ok", ok), ("info", info), ("fail", unreachable)):
        for _ in range(n):
            ops.append(_op(i, "invoke", i, "read"))
            err = ["unreachable", "n1: refused"] if kind == "fail" else None
            ops.append(_op(i + 1, kind, i, "read", error=err))
            i += 2
    return ops


def test_mostly_indeterminate_histories_are_unknown_not_valid() -> None:
    assert indeterminate_reason(_history(ok=60, info=30, unreachable=10)) is None
    reason = indeterminate_reason(_history(ok=128, info=800, unreachable=75))
    assert reason is not None and "875 of 1003 operations" in reason
    # heavy crash faults: two nodes lost most ops, but n2 kept answering; that is not a vanished cluster
    by_node = [Op(o.index, o.time, o.type, o.process, o.f, o.value, node="n2" if o.type == "ok" or
                  (o.type == "invoke" and o.index < 20) else "n1", error=o.error)
               for o in _history(ok=10, info=30, unreachable=0)]
    assert indeterminate_reason(by_node) is None
    valid = Result("linearizable", True)
    result, code = qualify(valid, 0, _history(ok=1, info=9, unreachable=0), None)
    assert result.valid == "unknown" and code == 2 and "cluster was gone" in result.explanation
    invalid = Result("linearizable", False, explanation="stale read")
    assert qualify(invalid, 1, _history(ok=1, info=9, unreachable=0), None) == (invalid, 1)
    none_took = fault_summary([], ["kill"], planned=4)
    result, code = qualify(valid, 0, _history(ok=10, info=0, unreachable=0), none_took)
    assert code == 2 and "none of the 4 planned faults took effect" in result.explanation


def test_the_verdict_line_counts_faults_and_names_kinds_that_never_fired(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["run", "--backend", "sim", "--store", str(tmp_path), "--quiet", "--seed", "5",
                    "--nemesis", "partition,kill,pause,clock", "--time-limit", "2", "--nemesis-interval",
                    "5"])
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("verdict:"))
    results = json.loads(next(tmp_path.glob("*/*/results.json")).read_text())
    faults = results["faults"]
    assert f"{faults['total']} fault" in line
    assert faults["missing"], "four kinds cannot all fire in two seconds"
    assert "never took effect: " + ", ".join(faults["missing"]) in line
    assert results["warnings"] and code == 0
    nemesis_ops = sum(1 for ln in next(tmp_path.glob("*/*/history.jsonl")).read_text().splitlines()
                      if '"nemesis"' in ln)
    assert faults["total"] < nemesis_ops, "heals are nemesis ops but not faults"


def test_a_run_whose_nodes_vanish_is_not_a_clean_success(tmp_path: Path) -> None:
    """Kill every node from outside (as a careless cleanup would): the run must end unknown, saying why."""
    store = tmp_path / "store"
    env = {**os.environ, "SPLITBRAIN_RUNTIME_DIR": str(tmp_path / "rt")}
    proc = subprocess.Popen(_cmd(store, "--time-limit", "8", "--seed", "31", "--nemesis", "none",
                                 "--quiesce", "0"), cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    run_dir = _wait_for_ops(store, 20)
    time.sleep(0.5)
    for pid in _node_pids(run_dir):
        os.kill(pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, out + err
    assert "VALID" not in out.replace("INVALID", "")
    assert "cluster was gone" in out + err
    assert json.loads((run_dir / "results.json").read_text())["valid"] == "unknown"


def test_a_torn_last_line_is_warned_about_on_stderr_and_in_the_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["run", "--backend", "sim", "--store", str(tmp_path), "--quiet", "--seed", "2",
                    "--nemesis", "none", "--time-limit", "1"]) == 0
    run_dir = next(tmp_path.glob("*/*/results.json")).parent
    with (run_dir / "history.jsonl").open("a") as fh:
        fh.write('{"index": 99999, "type": "inv')
    capsys.readouterr()
    assert run_cli(["check", str(run_dir)]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "torn" in err
    results = json.loads((run_dir / "results.json").read_text())
    assert any("torn" in w for w in results["warnings"])
    assert "torn" in (run_dir / "report.html").read_text()
    assert run_cli(["check", str(run_dir / "history.jsonl"), "--checker", "stats"]) == 0
    assert "torn" in capsys.readouterr().err


def test_paxos_runs_with_its_default_node_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(["run", "--system", "paxos", "--backend", "sim", "--store", str(tmp_path), "--quiet",
             "--nemesis", "none", "--time-limit", "0.5"])
    assert "paxos on sim, 5 nodes" in capsys.readouterr().err
    spec = json.loads(next(tmp_path.glob("*/*/spec.json")).read_text())["spec"]
    assert spec["nodes"] == 5
    run_cli(["run", "--system", "paxos", "--backend", "sim", "--store", str(tmp_path), "--quiet", "--nodes",
             "3",
             "--nemesis", "none", "--time-limit", "0.5"])
    assert "paxos on sim, 3 nodes" in capsys.readouterr().err


def test_still_running_names_a_live_harness_and_ignores_finished_or_reused_pids() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        start = procguard.start_time(child.pid)
        live = {"phase": "main", "finished": False, "pid": child.pid, "pid_start": start}
        assert still_running(live) == child.pid
        assert still_running({**live, "finished": True}) is None
        assert still_running({**live, "pid_start": "1"}) is None, "another process under a reused pid"
        assert still_running({k: v for k, v in live.items() if k != "pid_start"}) is None
    finally:
        child.kill()
        child.wait()
    assert still_running(live) is None, "its harness is gone"
    assert still_running(None) is None
