"""Whole `splitbrain run` processes on the local backend: a short run, Ctrl-C, and SIGKILL of the harness.

After every run no node process may remain; we look for them in /proc by the run's data dir, which is
on every node's command line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checkers.history import read_jsonl

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (REPO / "systems_under_test" / "runtime" / "__main__.py").is_file(),
    reason="the node runtime (systems_under_test.runtime) is not present yet",
)


def _cmd(store: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "harness.apps.cli", "run", "--store", str(store), "--quiet", *args]


def _node_pids(marker: Path) -> list[int]:
    """Pids of live node runtimes whose command line mentions ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = (
                Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if "systems_under_test.runtime" in cmdline and str(marker) in cmdline and state != "Z":
            found.append(int(entry))
    return found


def _wait_no_nodes(marker: Path, within: float) -> list[int]:
    deadline = time.monotonic() + within
    while (left := _node_pids(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _run_dir(store: Path) -> Path:
    dirs = [p.parent for p in store.glob("*/*/spec.json")]
    assert len(dirs) == 1, dirs
    return dirs[0]


def _wait_for_ops(store: Path, n: int, within: float = 20.0) -> Path:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        hist = list(store.glob("*/*/history.jsonl"))
        if hist and hist[0].read_text().count("\n") >= n:
            return hist[0].parent
        time.sleep(0.1)
    raise AssertionError(f"the run did not reach {n} history lines in {within}s")


def test_short_run_stores_everything_and_leaves_no_process(tmp_path: Path) -> None:
    store = tmp_path / "store"
    proc = subprocess.run(
        _cmd(store, "--time-limit", "5", "--nemesis-interval", "1", "--quiesce", "1", "--seed", "11"),
        check=False, cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    run_dir = _run_dir(store)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the correct variant is linearizable
    assert "verdict: VALID" in proc.stdout and f"report: {store}" in proc.stdout
    for name in ("spec.json", "history.jsonl", "results.json", "report.html", "nodes/n1.log", "nodes/n3.log"):
        assert (run_dir / name).is_file(), name
    ops = read_jsonl(run_dir / "history.jsonl")
    # The workload's rate gives ~200 invocations in 5 s without faults and ~100 with a fault every second
    # (clients wait out timeouts); a loaded machine gets fewer. A few dozen show the workload ran.
    assert sum(1 for op in ops if op.type == "invoke") >= 40
    assert any(op.process == "nemesis" for op in ops)
    assert json.loads((run_dir / "results.json").read_text())["valid"] is True
    assert (store / "latest").resolve() == run_dir.resolve()
    assert _node_pids(run_dir) == []


def test_ctrl_c_heals_tears_down_and_keeps_the_history(tmp_path: Path) -> None:
    store = tmp_path / "store"
    proc = subprocess.Popen(_cmd(store, "--time-limit", "60", "--seed", "12"), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run_dir = _wait_for_ops(store, 60)
        assert _node_pids(run_dir), "nodes run while the test runs"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 2, out + err
    results = json.loads((run_dir / "results.json").read_text())
    assert results["interrupted"] is True and results["valid"] == "unknown"
    assert len(read_jsonl(run_dir / "history.jsonl")) >= 60
    assert (run_dir / "report.html").is_file()
    assert _node_pids(run_dir) == []


def test_sigkilled_harness_leaves_a_checkable_history_and_nodes_exit(tmp_path: Path) -> None:
    store = tmp_path / "store"
    proc = subprocess.Popen(_cmd(store, "--time-limit", "60", "--seed", "13", "--nemesis", "none"), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run_dir = _wait_for_ops(store, 80)
    finally:
        proc.kill()
        proc.wait()
    assert _wait_no_nodes(run_dir, 5.0) == [], "nodes exit by themselves once the harness is gone"
    text = (run_dir / "history.jsonl").read_text()
    complete = text[: text.rfind("\n") + 1]
    assert all(json.loads(line) for line in complete.splitlines())
    check = subprocess.run([sys.executable, "-m", "harness.apps.cli", "check", str(run_dir)], cwd=REPO,
                           check=False, capture_output=True, text=True, timeout=120)
    # correct system, no faults, but the run never reached its end: valid only as far as it went
    assert check.returncode == 2, check.stdout + check.stderr
    assert "valid as far as it went (cut short in phase main)" in check.stdout
    assert str(run_dir) in check.stdout
    assert json.loads((run_dir / "results.json").read_text())["rechecked"] is True
