"""The pytest plugin: a user's test runs a splitbrain test or campaign, asserts on it, and a failure
names the run dir."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.apps.pytest_plugin import Splitbrain, splitbrain  # noqa: F401 - the fixture, used by name

REPO = Path(__file__).resolve().parents[2]
FAST = {"backend": "sim", "time_limit": 4, "quiesce": 0.5, "nemesis": "partition", "nemesis_interval": 1.0}


def test_fixture_runs_a_test_and_exposes_verdict_and_anomalies(splitbrain: Splitbrain) -> None:  # noqa: F811
    bug = splitbrain.run(system="replication:async", seed=2, **FAST)
    bug.assert_invalid()
    assert bug.anomalies and "op" in bug.anomalies[0]
    with pytest.raises(AssertionError) as err:
        bug.assert_valid()
    assert str(bug.run_dir) in str(err.value) and "replay:" in str(err.value)
    good = splitbrain.run(system="replication", seed=1, **FAST)
    good.assert_valid()
    assert good.anomalies == [] and good.run_dir.parent.parent == splitbrain.store
    assert splitbrain.runs == [str(bug.run_dir), str(good.run_dir)]


def test_a_failing_user_test_reports_its_run_dirs(tmp_path: Path) -> None:
    user_test = tmp_path / "test_user.py"
    user_test.write_text(
        textwrap.dedent(f"""
        def test_buggy_store_is_valid(splitbrain):
            run = splitbrain.run(system="replication:async", seed=2, **{FAST!r})
            run.assert_valid()
    """)
    )
    store = tmp_path / "kept"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "harness.apps.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            str(user_test),
            "--splitbrain-store",
            str(store),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (spec_file,) = store.glob("*/*/spec.json")
    run_dir = spec_file.parent
    assert "splitbrain runs" in proc.stdout
    assert str(run_dir) in proc.stdout
    assert "splitbrain verdict: INVALID" in proc.stdout
