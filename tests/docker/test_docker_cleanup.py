"""Nothing labelled by splitbrain survives a run: Ctrl-C, SIGKILL + sweep, SIGKILL + cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.docker import commands
from harness.docker.cleanup import leftovers, sweep_orphans

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


def test_sweep_spares_live_runs_and_cleanup_removes_everything(tmp_path: Path, node_image: Any,
                                                              docker_client: Any) -> None:
    proc, run_id = start_harness(tmp_path)
    try:
        assert run_id not in sweep_orphans(docker_client).runs  # its owner is alive
        assert len(leftovers(docker_client, run_id)["containers"]) == 3
        proc.kill()
        proc.wait(timeout=10)
        assert commands.cleanup() == 0
        assert leftovers(docker_client) == EMPTY
    finally:
        if proc.poll() is None:
            proc.kill()
