"""The typed core stays ``mypy --strict`` clean: checkers, reports, nemesis and the harness core
(run, workloads, backends; pyproject's ``[tool.mypy] files`` lists exactly what is covered)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_mypy_strict_config_covers_the_core() -> None:
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert cfg["strict"] is True
    assert {"checkers", "harness/run", "harness/backends"} <= set(cfg["files"])


def test_mypy_strict_reports_nothing(tmp_path: Path) -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[test]')")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache")],
                          capture_output=True, check=False, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
