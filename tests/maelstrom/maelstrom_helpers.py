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

# A kill of n1 and its restart, mid-run (ids handed out before and after; data only n1 held).
KILL_N1 = [{"at": 1.5, "f": "kill", "value": ["n1"]}, {"at": 2.0, "f": "start", "value": ["n1"]}]
# All three kinds in turn: n3 cut off from the others, then n1 killed and restarted, then n2 paused.
MIX = [
    {"at": 0.5, "f": "start-partition", "value": {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]}},
    {"at": 1.2, "f": "stop-partition", "value": None},
    *KILL_N1,
    {"at": 2.5, "f": "pause", "value": ["n2"]},
    {"at": 3.0, "f": "resume", "value": ["n2"]},
]
# (workload, node args of the correct one, args of the wrong one, faults that expose the wrong one:
# nemesis packages, or an explicit schedule). The local suite runs one seed of each pair (five in the
# slow suite); the docker suite runs five seeds of each in containers.
PY_PAIRS = [
    ("lin-kv", ["lin-kv"], ["lin-kv", "local-reads"], ("partition", "kill", "pause")),
    ("broadcast", ["broadcast"], ["broadcast", "no-retry"], MIX),
    ("unique-ids", ["unique-ids"], ["unique-ids", "collide"], MIX),
    ("kafka", ["kafka"], ["kafka", "forgetful"], MIX),
    ("echo", ["echo"], ["echo", "replay-cache"], MIX),
    ("g-set", ["g-set"], ["g-set", "memory"], MIX),
    ("g-counter", ["g-counter"], ["g-counter", "kv-rmw"], MIX),
    ("pn-counter", ["pn-counter"], ["pn-counter", "net-max"], MIX),
    ("txn-list-append", ["txn-list-append"], ["txn-list-append", "blind-write"], MIX),
    ("txn-rw-register", ["txn-rw-register"], ["txn-rw-register", "cached-reads"], MIX),
]

# n1 alone on the minority side (cut off from the services too), killed and restarted inside the
# partition (the restarted shim must get the extended grudge again), then the partition heals.
ISOLATE_N1 = [
    {"at": 0.5, "f": "start-partition", "value": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}},
    {"at": 0.9, "f": "kill", "value": ["n1"]},
    {"at": 1.1, "f": "start", "value": ["n1"]},
    {"at": 4.5, "f": "stop-partition", "value": None},
]


def _nemesis_time(history: list[dict[str, Any]], f: str) -> int:
    return int(next(e["time"] for e in history if e["process"] == "nemesis" and e["f"] == f))


Faults = tuple[str, ...] | list[dict[str, Any]]


def fault_args(faults: Faults) -> dict[str, Any]:
    """``run_program`` keyword arguments for a pair's faults: an explicit schedule or nemesis packages."""
    return {"schedule": faults} if isinstance(faults, list) else {"nemesis": faults}


def compile_cnode(dest: Path, *, static: bool = False) -> Path:
    """Build the C test node with gcc into ``dest`` (skips the test when there is no gcc).

    ``static``: link statically, so the binary runs in a container whatever C library the image has
    (skips when the static C library is not installed)."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler (gcc) on this machine")
    if static and not _has_static_libc(gcc):
        pytest.skip("no static C library (libc.a, from libc6-dev) to link the C node statically")
    out = dest / "cnode"
    flags = ["-static"] if static else []
    built = subprocess.run(
        [gcc, "-O2", "-Wall", *flags, "-o", str(out), str(NODES / "cnode.c")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return out


def _has_static_libc(gcc: str) -> bool:
    """Whether gcc knows a static C library (``libc.a``)."""
    found = subprocess.run(
        [gcc, "-print-file-name=libc.a"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return Path(found).is_absolute() and Path(found).exists()


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


def crashes(res: RunResult) -> int:
    """How many times a node's program exited on its own (a test node must never: a wrong node is to be
    caught for its planted bug, not for crashing)."""
    return int(stats(res)["totals"]["exited_on_its_own"])


def assert_n1_cut_off_from_the_services(res: RunResult) -> list[dict[str, Any]]:
    """Check a lin-kv proxy run under ``ISOLATE_N1`` from its history; returns n1's unanswered ops that
    were invoked after its restart.

    No op n1's clients started inside the partition (early enough to be answered before the heal) was
    answered — the proxy's requests never reached the lin-kv service — also after n1's restart, and those
    after the restart timed out waiting (the node was up); the majority kept the service and was answered.
    """
    history = [json.loads(line) for line in (res.run_dir / "history.jsonl").read_text().splitlines()]
    start, restarted = _nemesis_time(history, "start-partition"), _nemesis_time(history, "start")
    stop = _nemesis_time(history, "stop-partition")
    op_timeout = 10**9  # run_program's op_timeout (1 s), in the history's nanoseconds
    invoked: dict[Any, dict[str, Any]] = {}
    n1_inside: list[dict[str, Any]] = []
    majority_ok = 0
    for e in history:
        if e["process"] == "nemesis":
            continue
        if e["type"] == "invoke":
            invoked[e["process"]] = e
            continue
        at = invoked[e["process"]]["time"]
        if start < at < stop - op_timeout:
            if e["node"] == "n1":
                n1_inside.append({**e, "invoked": at})
            elif e["type"] == "ok":
                majority_ok += 1
    assert n1_inside and all(e["type"] != "ok" for e in n1_inside), n1_inside
    after_restart = [e for e in n1_inside if e["invoked"] > restarted and e["type"] == "info"]
    assert after_restart and all("no reply" in str(e["error"]) for e in after_restart), n1_inside
    assert majority_ok > 10
    return after_restart
