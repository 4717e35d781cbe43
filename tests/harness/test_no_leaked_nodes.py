"""No local node process survives its harness, whatever happens to the harness.

Process-level: a real ``splitbrain run`` on the local backend, nodes frozen by a ``pause`` fault, then
the harness is SIGKILLed (no teardown can run, and a stopped node cannot run its own parent watcher);
and a harness whose terminal went away (SIGHUP) must tear down and keep its bookkeeping like SIGTERM.
Nodes are found in /proc by the run dir on their command line.
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
from test_local_runs import REPO, _cmd, _node_pids, _wait_for_ops, _wait_no_nodes

from harness.backends import procguard

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _pause_all_schedule(tmp_path: Path, at: float) -> Path:
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps([{"at": at, "f": "pause", "value": ["n1", "n2", "n3"]}]))
    return path


def _start_paused_run(tmp_path: Path, store: Path,
                      env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
    sched = _pause_all_schedule(tmp_path, 1.0)
    proc = subprocess.Popen(
        _cmd(store, "--time-limit", "60", "--seed", "21", "--nodes", "3", "--schedule", str(sched)),
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    run_dir = _wait_for_ops(store, 10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = _node_pids(run_dir)
        if len(pids) == 3 and all(_state(p) == "T" for p in pids):
            return proc, run_dir
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the nodes were never all paused")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "SPLITBRAIN_RUNTIME_DIR": str(tmp_path / "rt")}


def test_sigkill_of_the_harness_while_nodes_are_paused_leaves_no_node(
    tmp_path: Path, env: dict[str, str]
) -> None:
    store = tmp_path / "store"
    proc, run_dir = _start_paused_run(tmp_path, store, env)
    pid_files = list((tmp_path / "rt" / "local-runs").glob("*.json"))
    assert len(pid_files) == 1, "the run keeps a pid file while it runs"
    recorded = {p for p, _ in procguard.RunPids.from_json(json.loads(pid_files[0].read_text())).nodes}
    assert recorded == set(_node_pids(run_dir))
    # a run still going is not re-checked (nor called cut short): its harness is named instead
    early = subprocess.run([sys.executable, "-m", "harness.apps.cli", "check", str(run_dir)], cwd=REPO,
                           capture_output=True, text=True, timeout=120, check=False)
    assert early.returncode == 254, early.stdout + early.stderr
    assert f"still going (harness pid {proc.pid}, phase main)" in early.stderr
    assert not (run_dir / "results.json").exists()
    proc.kill()
    proc.wait()
    assert _wait_no_nodes(run_dir, 5.0) == [], "paused nodes die with a SIGKILLed harness"
    deadline = time.monotonic() + 5
    while list((tmp_path / "rt" / "local-runs").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list((tmp_path / "rt" / "local-runs").glob("*.json")), "the watchdog removes the pid file"
    # the run was cut short in its main phase, and re-checking it says so instead of a plain valid
    check = subprocess.run([sys.executable, "-m", "harness.apps.cli", "check", str(run_dir)], cwd=REPO,
                           capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 2, check.stdout + check.stderr
    assert "cut short in phase main" in check.stdout
    results = json.loads((run_dir / "results.json").read_text())
    assert results["phase"] == "main" and results["interrupted"] is True


def test_sighup_tears_down_like_sigterm(tmp_path: Path, env: dict[str, str]) -> None:
    store = tmp_path / "store"
    proc, run_dir = _start_paused_run(tmp_path, store, env)
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=60) == 2
    assert _node_pids(run_dir) == []
    results = json.loads((run_dir / "results.json").read_text())
    assert results["interrupted"] is True and "SIGHUP" in results["result"]["explanation"]
    assert (run_dir / "report.html").is_file()
    assert (store / "latest").resolve() == run_dir.resolve()
    assert (store / "index.html").is_file()
    assert sorted(p.name for p in (run_dir / "nodes").iterdir()) == ["n1.log", "n2.log", "n3.log"]
    assert not list((tmp_path / "rt" / "local-runs").glob("*.json")), (
        "a finished teardown removes the pid file"
    )
    # re-checking the interrupted run keeps its facts
    check = subprocess.run([sys.executable, "-m", "harness.apps.cli", "check", str(run_dir)], cwd=REPO,
                           capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode in (1, 2), check.stdout + check.stderr
    assert "cut short in phase" in check.stdout
    again = json.loads((run_dir / "results.json").read_text())
    assert again["interrupted"] is True and again["phase"] == results["phase"] and again["rechecked"] is True


def test_second_interrupt_hurries_teardown_but_keeps_the_bookkeeping(
    tmp_path: Path, env: dict[str, str]
) -> None:
    store = tmp_path / "store"
    proc, run_dir = _start_paused_run(tmp_path, store, env)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 2, "interrupted is exit 2, never 130"
    assert _node_pids(run_dir) == []
    assert json.loads((run_dir / "results.json").read_text())["interrupted"] is True
    assert (run_dir / "report.html").is_file()
    assert (store / "latest").resolve() == run_dir.resolve()


def test_cleanup_reaps_a_run_whose_harness_is_gone_and_spares_a_live_one(tmp_path: Path) -> None:
    rt = tmp_path / "rt"
    victim = subprocess.Popen(["sleep", "60"], start_new_session=True)
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        dead_harness = subprocess.Popen(["true"])
        dead_harness.wait()
        gone = procguard.RunPids("gone", dead_harness.pid, "1", str(tmp_path),
                                 [(victim.pid, procguard.start_time(victim.pid))],
                                 [str(scratch)])
        live = procguard.RunPids("live", os.getpid(), procguard.start_time(os.getpid()), str(tmp_path),
                                 [(bystander.pid, procguard.start_time(bystander.pid))])
        (rt).mkdir()
        (rt / "gone.json").write_text(json.dumps(gone.to_json()))
        (rt / "live.json").write_text(json.dumps(live.to_json()))
        swept = procguard.sweep_leftovers(directory=rt, scan_proc=False)
        assert swept.runs == ("gone",) and swept.live_runs == ("live",)
        assert victim.wait(timeout=5) == -signal.SIGKILL
        assert bystander.poll() is None, "a run whose harness lives is left alone"
        assert not scratch.exists() and not (rt / "gone.json").exists() and (rt / "live.json").exists()
        everything = procguard.sweep_leftovers(directory=rt, everything=True, scan_proc=False)
        assert everything.runs == ("live",)
        assert bystander.wait(timeout=5) == -signal.SIGKILL
    finally:
        for p in (victim, bystander):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_cleanup_command_finds_a_leftover_node_by_its_dead_parent(tmp_path: Path) -> None:
    """A node runtime whose --parent-pid is gone and that no pid file lists is found in /proc and killed."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    # a stand-in whose command line looks like a node runtime's (it never reads its arguments)
    fake = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-m",
                             procguard.RUNTIME_MARK,
                             "--parent-pid", str(dead.pid), "--data-dir", str(tmp_path)],
                             start_new_session=True)
    try:
        time.sleep(0.2)
        env = {**os.environ, "SPLITBRAIN_RUNTIME_DIR": str(tmp_path / "rt"),
               "DOCKER_HOST": "unix:///nonexistent"}
        out = subprocess.run([sys.executable, "-m", "harness.apps.cli", "cleanup"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        assert fake.wait(timeout=5) == -signal.SIGKILL
        text = out.stdout + out.stderr
        assert "local: killed" in text and "docker: skipped" in text
    finally:
        if fake.poll() is None:
            fake.kill()
            fake.wait()


HARNESS = """
import os, signal, subprocess, sys, time
from pathlib import Path
from harness.backends.procguard import PidFile
pf = PidFile("watchdog-test", Path(sys.argv[1]), directory=Path(sys.argv[2]))
pf.open()
node = subprocess.Popen(["sleep", "60"], start_new_session=True)  # no parent-death signal: the watchdog alone
pf.add_node(node.pid)
os.kill(node.pid, signal.SIGSTOP)
print(node.pid, flush=True)
time.sleep(60)
"""


def test_the_watchdog_alone_reaps_a_stopped_node_of_a_killed_harness(tmp_path: Path) -> None:
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(tmp_path), str(tmp_path / "rt")], cwd=REPO,
                               stdout=subprocess.PIPE, text=True)
    assert harness.stdout is not None
    node = int(harness.stdout.readline())
    deadline = time.monotonic() + 5
    while _state(node) != "T" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _state(node) == "T"
    harness.kill()
    harness.wait()
    deadline = time.monotonic() + 5
    while _state(node) not in ("gone", "Z") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _state(node) in ("gone", "Z"), "the watchdog killed the stopped node"
    while list((tmp_path / "rt").glob("*.json")) and time.monotonic() < deadline + 2:
        time.sleep(0.05)
    assert not list((tmp_path / "rt").glob("*.json")), "and then removed the pid file"
