"""The detection benchmark measures what a user gets: its runs are the CLI's plain ``--nemesis all`` runs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.run.plan import build_plan
from harness.run.spec import RunSpec

REPO = Path(__file__).resolve().parents[1]


def _bench() -> object:
    spec = importlib.util.spec_from_file_location("bench_detection", REPO / "bench" / "detection.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("system", ["paxos:minority-accept", "twopc:no-decision-log"])
def test_a_benchmark_run_is_the_cli_run_with_defaults(tmp_path: Path, system: str) -> None:
    bench = _bench()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.apps.cli", "run", "--system", system, "--backend", "sim",
         "--nemesis", "all", "--time-limit", "2", "--seed", "7", "--store", str(tmp_path), "--quiet"],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    [spec_file] = tmp_path.glob("*/*/spec.json")
    cli = RunSpec.from_dict(json.loads(spec_file.read_text())["spec"])
    mine = bench.random_spec(system, 7)  # type: ignore[attr-defined]
    assert build_plan(mine).spec.with_(time_limit=2.0) == cli  # the plan names the default workload
    assert mine.time_limit == 30.0 and mine.nemesis == ("all",)
