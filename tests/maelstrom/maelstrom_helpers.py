"""Shared by the Maelstrom-program tests: run one test of our own test nodes on the local backend."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.run.session import RunResult, run_test
from harness.run.spec import RunSpec

NODES = Path(__file__).parent / "nodes"
PYNODE = NODES / "pynode.py"
BADNODE = NODES / "badnode.py"


def compile_cnode(dest: Path) -> Path:
    """Build the C test node with gcc into ``dest`` (skips the test when there is no gcc)."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler (gcc) on this machine")
    out = dest / "cnode"
    subprocess.run([gcc, "-O2", "-Wall", "-o", str(out), str(NODES / "cnode.c")], check=True)
    return out


def run_program(
    store: Path,
    program: Path,
    args: list[str],
    workload: str,
    *,
    nemesis: tuple[str, ...] = (),
    seed: int = 1,
    time_limit: float = 4.0,
    nodes: int = 3,
    schedule: list[dict[str, Any]] | None = None,
    workload_options: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    quiesce: float = 3.0,
    backend: str = "local",
) -> RunResult:
    """One run of ``program args`` under ``workload`` with the given faults; returns the stored result."""
    spec = RunSpec(
        system="maelstrom",
        workload=workload,
        backend=backend,
        nodes=nodes,
        concurrency=2 * nodes,
        time_limit=time_limit,
        rate=40.0,
        nemesis=nemesis,
        nemesis_interval=1.0,
        seed=seed,
        quiesce=quiesce,
        op_timeout=1.0,
        workload_options=workload_options or {},
        config={"bin": str(program), "bin_args": args, **(config or {})},
        schedule=tuple(schedule) if schedule is not None else None,
    )
    return run_test(spec, store=store)


def stats(res: RunResult) -> dict[str, Any]:
    """The run's ``maelstrom.json`` (per-node shim counters)."""
    doc: dict[str, Any] = json.loads((res.run_dir / "maelstrom.json").read_text())
    return doc
