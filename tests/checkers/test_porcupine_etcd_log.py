"""Porcupine's etcd log format as Porcupine reads it: any whitespace between fields, and a failed cas
is an observation (the register did not hold ``old``), as Porcupine's etcd model treats it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from checkers.importers import load_history
from checkers.linearizability import check

FAILED_CAS_LOG = [
    ("0", ":invoke", ":write", "1"),
    ("0", ":ok", ":write", "1"),
    ("1", ":invoke", ":cas", "[1 2]"),
    ("1", ":fail", ":cas", "[1 2]"),
    ("2", ":invoke", ":read", "nil"),
    ("2", ":ok", ":read", "1"),
]


def _write(path: Path, rows: list[tuple[str, ...]], sep: str) -> Path:
    path.write_text("".join(f"INFO  jepsen.util - {sep.join(r)}\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("sep", ["\t", "   ", " \t "])
def test_fields_may_be_separated_by_any_run_of_whitespace(tmp_path: Path, sep: str) -> None:
    ops = load_history(_write(tmp_path / "h.log", FAILED_CAS_LOG, sep))
    assert [(op.process, op.type, op.f, op.value) for op in ops] == [
        (0, "invoke", "write", 1), (0, "ok", "write", 1), (1, "invoke", "cas", [1, 2]),
        (1, "fail", "cas", [1, 2]), (2, "invoke", "read", None), (2, "ok", "read", 1),
    ]


def test_failed_cas_is_an_observation_that_the_value_differed(tmp_path: Path) -> None:
    """write 1 ok; cas [1 2] fails (so the register did not hold 1); read 1: not linearizable."""
    ops = load_history(_write(tmp_path / "h.log", FAILED_CAS_LOG, "  "))
    res = check(ops, "cas-register")
    assert res.valid is False
    assert res.details["counterexample"]["op"]["f"] == "cas"
    # knossos' convention drops it, and the history is then valid: the importer decides, not the model
    assert check(ops, "cas-register", failed_cas="drop").valid is True


def test_failed_cas_of_another_value_stays_valid(tmp_path: Path) -> None:
    rows = [*FAILED_CAS_LOG[:2], ("1", ":invoke", ":cas", "[3 2]"), ("1", ":fail", ":cas", "[3 2]"),
            *FAILED_CAS_LOG[4:]]
    assert check(load_history(_write(tmp_path / "h.log", rows, "\t")), "cas-register").valid is True


def test_a_timed_out_read_constrains_nothing(tmp_path: Path) -> None:
    rows = [*FAILED_CAS_LOG[:2], ("2", ":invoke", ":read", "nil"), ("2", ":fail", ":read", ":timed-out")]
    ops = load_history(_write(tmp_path / "h.log", rows, "  "))
    assert ops[-1].type == "fail" and ops[-1].error is None
    assert check(ops, "cas-register").valid is True


def _splitbrain(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "splitbrain"
    if not exe.exists():
        pytest.skip("the splitbrain console script is not installed next to this interpreter")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, check=False)


def test_check_command_reads_the_log_as_porcupine_does_and_says_so(tmp_path: Path) -> None:
    log = _write(tmp_path / "six.log", FAILED_CAS_LOG, "   ")
    res = _splitbrain("check", "--jobs", "2", "--memory-limit", "2000", "--time-limit", "10", str(log))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "INVALID" in res.stdout
    help_text = _splitbrain("check", "--help").stdout
    assert "Porcupine etcd logs" in help_text and "error 22" in help_text
    assert "--jobs" in help_text and "--memory-limit" in help_text
