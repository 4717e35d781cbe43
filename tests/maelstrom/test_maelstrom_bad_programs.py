"""Bad programs get clear answers, never a hung or crashed harness — one test per kind of misbehaviour.

The misbehaving programs are ``nodes/badnode.py MODE`` (see its docstring); a missing or
non-executable binary is covered in ``test_maelstrom_pure`` (exit 254 before anything starts).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from maelstrom_helpers import BADNODE, PYNODE, run_program, stats

from checkers.history import INFO, INVOKE
from checkers.result import EXIT_UNKNOWN

REPO = Path(__file__).resolve().parents[2]


def _completions(res):
    return [op for op in res.outcome.ops if op.is_client and op.type != INVOKE]


def test_never_answers_init_names_the_node_and_shows_its_stderr(tmp_path: Path) -> None:
    res = run_program(tmp_path, BADNODE, ["no-init"], "echo", config={"init_timeout": 1.5}, time_limit=1)
    assert res.exit_code == EXIT_UNKNOWN and res.result.valid == "unknown"  # the program's fault, no crash
    assert res.outcome.error is None and res.result.reason.startswith("the cluster did not start")
    error = res.outcome.setup_error or ""
    assert "did not answer init within 1.5s" in error
    assert "node n1" in error or "node n2" in error or "node n3" in error
    assert "badnode: booting forever, never answering init" in error  # the program's stderr tail
    assert not _completions(res)  # nothing ran


def test_non_json_and_destless_output_is_counted_and_the_run_continues(tmp_path: Path) -> None:
    res = run_program(tmp_path, BADNODE, ["garbage"], "echo", time_limit=2)
    assert res.result.valid is True
    totals = stats(res)["totals"]
    answered = sum(1 for op in _completions(res) if op.type == "ok")
    assert answered > 20
    # two bad lines before every reply (those of a last, unanswered request may be counted too)
    assert 2 * totals["client_replies"] <= totals["malformed"] <= 2 * totals["client_replies"] + 6
    assert f"{totals['malformed']} bad output line(s)" in (res.run_dir / "report.html").read_text()
    logs = (res.run_dir / "nodes" / "n1.log").read_text()
    assert "bad output from the program (not JSON)" in logs
    assert "bad output from the program (not a message with dest and body)" in logs


def test_program_that_exits_on_its_own_is_a_crash_restarted_only_by_the_nemesis(tmp_path: Path) -> None:
    res = run_program(tmp_path, BADNODE, ["exit-midrun"], "echo", time_limit=3)
    doc = stats(res)
    assert doc["totals"]["exited_on_its_own"] == 3  # every node answered 20 echoes, then exited
    for node in ("n1", "n2", "n3"):
        lives = doc["nodes"][node]["incarnations"]
        assert len(lives) == 1 and lives[0]["exit_code"] == 3  # no nemesis: never restarted
        assert (
            "the program exited on its own with status 7"
            in (res.run_dir / "nodes" / f"{node}.log").read_text()
        )
    after = [op for op in _completions(res) if op.type in ("fail", "info")]
    assert after and all(op.error[0] in ("unreachable", "indefinite") for op in after)
    assert res.result.valid is True  # the 60 echoes that were answered were right
    restarted = run_program(
        tmp_path,
        BADNODE,
        ["exit-midrun"],
        "echo",
        time_limit=3,
        schedule=[{"at": 2.0, "f": "kill", "value": ["n1"]}, {"at": 2.3, "f": "start", "value": ["n1"]}],
    )
    assert len(stats(restarted)["nodes"]["n1"]["incarnations"]) == 2  # the nemesis restart ran it again


def test_flooding_stdout_keeps_memory_bounded(tmp_path: Path) -> None:
    res = run_program(tmp_path, BADNODE, ["flood"], "echo", time_limit=3)
    assert res.result.valid is True
    doc = stats(res)
    assert doc["totals"]["malformed"] > 1000 and doc["totals"]["unknown_dest"] > 1000
    for node in ("n1", "n2", "n3"):
        (life,) = doc["nodes"][node]["incarnations"]
        assert life["max_rss_kb"] < 150_000, life  # ~100 MB/s of output went through a bounded reader


def test_replies_to_unknown_msg_ids_are_counted_and_dropped(tmp_path: Path) -> None:
    res = run_program(tmp_path, BADNODE, ["unknown-reply"], "echo", time_limit=2)
    assert res.result.valid is True
    totals = stats(res)["totals"]
    assert totals["client_replies"] > 20
    # one per answered echo (the last few, on each node, may still be in the pipe when it is stopped: on a
    # loaded machine more of them than on an idle one)
    assert 0.9 * totals["client_replies"] <= totals["unknown_reply"] <= totals["client_replies"]


def test_error_code_outside_the_table_is_indefinite(tmp_path: Path) -> None:
    res = run_program(tmp_path, BADNODE, ["weird-code"], "echo", time_limit=2)
    done = _completions(res)
    assert done and all(op.type == INFO and op.error[0] == 99 for op in done)
    assert res.result.valid == "unknown"  # nothing was answered, so nothing could be judged
    assert stats(res)["totals"]["client_replies"] == len(done)


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def _start_run(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    program = tmp_path / "prog" / "pynode.py"
    program.parent.mkdir()
    shutil.copy(PYNODE, program)
    marker = str(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable,
        "-c",
        "from harness.apps.cli import main; main()",
        "run",
        "--system",
        "maelstrom",
        "--bin",
        str(program),
        "--bin-arg",
        "broadcast",
        "--workload",
        "broadcast",
        "--time-limit",
        "60",
        "--nemesis",
        "none",
        "--store",
        str(tmp_path / "store"),
        "--quiet",
        "--seed",
        "1",
    ]
    harness = subprocess.Popen(
        cmd,
        cwd=str(REPO),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (
            len([p for p in _processes_mentioning(str(program)) if p != harness.pid]) >= 6
        ):  # 3 shims + 3 programs
            return harness, marker
        time.sleep(0.2)
    harness.kill()
    pytest.fail("the cluster did not come up")


def _gone(marker: str, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := _processes_mentioning(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "ctrl-c"])
def test_no_node_process_outlives_the_harness(tmp_path: Path, sig: signal.Signals) -> None:
    harness, marker = _start_run(tmp_path)
    time.sleep(1.0)
    os.kill(harness.pid, sig)
    harness.wait(timeout=30)
    left = _gone(marker, timeout=5.0)
    for pid in left:  # do not leak them into the rest of the suite, whatever happens
        os.kill(pid, signal.SIGKILL)
    assert left == []
