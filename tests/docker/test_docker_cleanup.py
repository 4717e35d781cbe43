"""Nothing labelled by splitbrain survives a run: Ctrl-C, SIGKILL + sweep, SIGKILL + cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.backends.docker import commands
from harness.backends.docker.cleanup import leftovers, sweep_orphans

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
STANDIN = Path(__file__).with_name("_cluster_proc.py")
EMPTY = {"containers": [], "networks": [], "volumes": []}


def start_harness(run_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """Start a harness stand-in that brings up a 3-node cluster; returns it and its run id."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(STANDIN), str(run_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until UP (or EOF if it died)
    if not line.startswith("UP "):
        proc.kill()
        raise AssertionError(f"stand-in failed: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc, line.split()[1]


def test_ctrl_c_tears_the_cluster_down(tmp_path: Path, node_image: Any, docker_client: Any) -> None:
    proc, run_id = start_harness(tmp_path)
    assert len(leftovers(docker_client, run_id)["containers"]) == 3
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    assert leftovers(docker_client, run_id) == EMPTY
    assert "READY" in (tmp_path / "nodes" / "n1.log").read_text()


def test_sigkilled_harness_is_swept_as_an_orphan(tmp_path: Path, node_image: Any, docker_client: Any) -> None:
    proc, run_id = start_harness(tmp_path)
    proc.kill()
    proc.wait(timeout=10)
    left = leftovers(docker_client, run_id)
    assert len(left["containers"]) == 3 and len(left["networks"]) == 1 and len(left["volumes"]) == 3
    removed = sweep_orphans(docker_client)
    assert run_id in removed.runs and removed.total() == 7
    assert leftovers(docker_client, run_id) == EMPTY


def test_sweep_spares_live_runs_and_cleanup_of_orphans_removes_dead_ones(tmp_path: Path, node_image: Any,
                                                                          docker_client: Any) -> None:
    proc, run_id = start_harness(tmp_path)
    try:
        assert run_id not in sweep_orphans(docker_client).runs  # its owner is alive
        assert commands.cleanup(orphans_only=True) == 0
        assert len(leftovers(docker_client, run_id)["containers"]) == 3
        proc.kill()
        proc.wait(timeout=10)
        assert commands.cleanup(orphans_only=True) == 0
        assert leftovers(docker_client, run_id) == EMPTY
    finally:
        if proc.poll() is None:
            proc.kill()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from harness.apps.cli import main; main()", *args]


def start_run(tmp_path: Path, docker_client: Any) -> subprocess.Popen[str]:
    """Start ``splitbrain run --backend docker`` and return once its three containers are up."""
    proc = subprocess.Popen(
        _cli("run", "--backend", "docker", "--system", "replication", "--time-limit", "60", "--quiet",
             "--nemesis", "partition,kill", "--nemesis-interval", "1", "--store", str(tmp_path / "store")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    mine = {"label": f"splitbrain.owner-pid={proc.pid}", "status": "running"}
    deadline = time.monotonic() + 120  # includes an image build on a machine that has none yet
    while len(docker_client.containers.list(filters=mine)) < 3:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(f"run did not start its cluster (exit {proc.returncode}):\n{err[-2000:]}")
        time.sleep(0.2)
    return proc


def test_ctrl_c_on_splitbrain_run_leaves_nothing(tmp_path: Path, node_image: Any, docker_client: Any) -> None:
    proc = start_run(tmp_path, docker_client)
    time.sleep(2.0)  # let clients and the nemesis get going: Ctrl-C lands mid-run, faults in flight
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 2, err[-2000:]
    assert leftovers(docker_client, owner_pid=proc.pid) == EMPTY
    run_dirs = list((tmp_path / "store" / "replication").iterdir())
    assert len(run_dirs) == 1 and (run_dirs[0] / "nodes" / "n1.log").is_file()


def test_sigkill_of_splitbrain_run_then_cleanup_leaves_nothing(tmp_path: Path, node_image: Any,
                                                               docker_client: Any) -> None:
    proc = start_run(tmp_path, docker_client)
    proc.kill()
    proc.communicate(timeout=30)
    mine = leftovers(docker_client, owner_pid=proc.pid)
    assert len(mine["containers"]) == 3  # nothing could clean up after a SIGKILL
    run_id = docker_client.containers.get(mine["containers"][0]).labels["splitbrain.run"]
    # --orphans so that clusters of other runs going on against this engine are left alone; plain
    # "cleanup" (everything labelled) is the same removal with a wider selection (see test_docker_pure)
    done = subprocess.run(_cli("cleanup", "--orphans"), capture_output=True, text=True, cwd=REPO, timeout=120,
                          check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert run_id in done.stderr
    assert leftovers(docker_client, owner_pid=proc.pid) == EMPTY
