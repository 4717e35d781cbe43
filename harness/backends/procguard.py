"""No local node process outlives its harness: pid files, a watchdog process, and the leftover sweep.

Three independent layers, because each one alone has a hole:

* **Parent-death signal.** Every node is started with ``PR_SET_PDEATHSIG = SIGKILL`` (set between fork
  and exec), so the kernel kills it the moment the harness dies — even while the node is SIGSTOPped by
  a ``pause`` fault, when the node's own ``--parent-pid`` watcher cannot run. Linux only, and it covers
  only the direct child.
* **A watchdog process** per run, in its own session (so neither a terminal's signals nor a ``pause``
  fault, which stops node process *groups*, ever reach it). It polls the harness and, once the harness
  is gone, SIGKILLs every node process group listed in the run's pid file, then removes the file. It
  exits by itself when the harness removes the pid file after a normal teardown.
* **A pid file per run** (``<runtime dir>/local-runs/<run>.json``): the harness's pid and start time,
  every node process group it spawned (pid and start time: a bare pid is reused by the kernel), and the
  node scratch directories. ``splitbrain cleanup`` reads these files (:func:`sweep_leftovers`): a file
  whose harness is gone is a leftover, its nodes are killed and its scratch dirs removed. As a last
  net, ``cleanup`` also finds node runtimes by their command line whose ``--parent-pid`` is gone.

This module uses only the standard library: the watchdog runs it as ``python -m`` and must start fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
WATCH_POLL = 0.2
RUNTIME_MARK = "systems_under_test.runtime"


def runtime_dir() -> Path:
    """Where pid files live: ``$SPLITBRAIN_RUNTIME_DIR`` or ``<tmp>/splitbrain-<uid>``."""
    base = os.environ.get("SPLITBRAIN_RUNTIME_DIR") or os.path.join(tempfile.gettempdir(),
                                                                     f"splitbrain-{os.getuid()}")
    return Path(base) / "local-runs"


def die_with_parent() -> None:
    """Run in a child between fork and exec: ask the kernel to SIGKILL it when its parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def start_time(pid: int) -> str | None:
    """``pid``'s start time (field 22 of /proc/<pid>/stat), or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = stat[stat.rindex(")") + 2:].split()
    if not rest or rest[0] in ("Z", "X"):
        return None
    return rest[19] if len(rest) > 19 else None


def same_process(pid: int, start: str | None) -> bool:
    """True when ``pid`` still runs and is the process that had start time ``start``."""
    now = start_time(pid)
    return now is not None and (start is None or now == start)


@dataclass(slots=True)
class RunPids:
    """The content of one pid file (mutable: the harness adds every node it spawns)."""

    run: str
    harness_pid: int
    harness_start: str | None
    run_dir: str
    nodes: list[tuple[int, str | None]] = field(default_factory=list)  # process group leaders
    scratch: list[str] = field(default_factory=list)  # directories to remove with a leftover run
    watchdog: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON document of the pid file."""
        return {"run": self.run, "harness_pid": self.harness_pid, "harness_start": self.harness_start,
                "run_dir": self.run_dir, "nodes": [list(n) for n in self.nodes], "scratch": self.scratch,
                "watchdog": self.watchdog}

    @staticmethod
    def from_json(doc: Any) -> RunPids:
        """Parse a pid file (``ValueError`` when it is not one)."""
        if not isinstance(doc, dict):
            raise ValueError("not an object")  # noqa: TRY004 - callers catch ValueError for any bad file
        try:
            return RunPids(str(doc["run"]), int(doc["harness_pid"]), doc.get("harness_start"),
                           str(doc["run_dir"]),
                           [(int(p), s) for p, s in doc.get("nodes", [])],
                           [str(x) for x in doc.get("scratch", [])],
                           doc.get("watchdog"))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"bad pid file: {e}") from None


class PidFile:
    """One run's pid file, kept up to date by the backend, plus the watchdog that enforces it."""

    def __init__(self, run_id: str, run_dir: Path, *, scratch: Iterable[Path] = (),
                 directory: Path | None = None):
        self.dir = directory or runtime_dir()
        self.path = self.dir / f"{run_id}.json"
        me = os.getpid()
        self.pids = RunPids(run_id, me, start_time(me), str(run_dir), [], [str(p) for p in scratch])
        self._watchdog: subprocess.Popen[bytes] | None = None

    def _write(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.pids.to_json()), encoding="utf-8")
        os.replace(tmp, self.path)

    def open(self, *, watchdog: bool = True) -> None:
        """Write the file and start the watchdog (which never runs in a node's process group)."""
        self._write()
        if watchdog:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                filter(None, [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")]))}
            self._watchdog = subprocess.Popen(
                [sys.executable, "-m", "harness.backends.procguard", "watch", str(self.path)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, env=env, close_fds=True,
            )
            self.pids.watchdog = self._watchdog.pid
            self._write()

    def add_node(self, pid: int) -> None:
        """Record a freshly spawned node process group leader (before anything else can happen to it)."""
        self.pids.nodes.append((pid, start_time(pid)))
        self._write()

    def close(self) -> None:
        """After a complete teardown: remove the file; the watchdog sees that and exits."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._watchdog is not None:
            if self._watchdog.poll() is None:
                self._watchdog.kill()  # its work is done: every node is gone
            self._watchdog.wait()
            self._watchdog = None


def kill_groups(nodes: Iterable[tuple[int, str | None]]) -> list[int]:
    """SIGKILL each recorded process group whose leader is still the recorded process; returns them.

    A group whose leader already exited may still hold children; killpg reaches them too, so a gone
    leader is still signalled when its group exists — but only if no *other* process now has that pid
    (pid reuse), which the start time tells.
    """
    killed = []
    for pid, start in nodes:
        now = start_time(pid)
        if now is not None and start is not None and now != start:
            continue  # the pid was reused by an unrelated process
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
        killed.append(pid)
    return killed


@dataclass(frozen=True, slots=True)
class Swept:
    """What :func:`sweep_leftovers` found and did."""

    runs: tuple[str, ...] = ()
    killed: tuple[int, ...] = ()
    removed_dirs: tuple[str, ...] = ()
    live_runs: tuple[str, ...] = ()


def reap(pids: RunPids) -> tuple[list[int], list[str]]:
    """Kill a dead harness's nodes and remove its scratch dirs; returns (killed groups, removed dirs)."""
    killed = kill_groups(pids.nodes)
    removed = []
    for d in pids.scratch:
        if os.path.isdir(d):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return killed, removed


def harness_alive(pids: RunPids) -> bool:
    """Whether the harness that wrote a pid file still runs."""
    return same_process(pids.harness_pid, pids.harness_start)


def sweep_leftovers(
    *, everything: bool = False, directory: Path | None = None, scan_proc: bool = True
) -> Swept:
    """Remove leftovers of local runs: runs whose harness is gone (or every run, with ``everything``).

    Pid files come first; then (``scan_proc``) node runtimes found by command line whose ``--parent-pid``
    process is gone (or, with ``everything``, all of them) — that catches a run whose pid file was lost.
    Only runtimes started with ``--parent-pid`` are candidates: the local backend always passes it, and
    a runtime without it (a docker container's, seen in the host's /proc) is not a local node.
    """
    d = directory or runtime_dir()
    runs, killed, removed, live = [], [], [], []
    for path in sorted(d.glob("*.json")) if d.is_dir() else []:
        try:
            pids = RunPids.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if harness_alive(pids) and not everything:
            live.append(pids.run)
            continue
        k, r = reap(pids)
        runs.append(pids.run)
        killed += k
        removed += r
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    for pid, parent in runtime_processes() if scan_proc else []:
        if parent is None:
            continue
        if everything or not _parent_alive(pid, parent):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL) if os.getpgid(pid) == pid else os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    return Swept(tuple(runs), tuple(sorted(set(killed))), tuple(removed), tuple(live))


def _parent_alive(pid: int, parent: int) -> bool:
    """Whether node ``pid``'s ``--parent-pid`` still runs and is older than the node (not a reused pid)."""
    ps, ns = start_time(parent), start_time(pid)
    if ps is None:
        return False
    return ns is None or int(ps) <= int(ns)


def runtime_processes() -> list[tuple[int, int | None]]:
    """(pid, --parent-pid) of every live node runtime process of this user (found in /proc)."""
    out = []
    uid = os.getuid()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if RUNTIME_MARK not in args or start_time(int(entry)) is None:
            continue
        parent = None
        if "--parent-pid" in args:
            i = args.index("--parent-pid")
            with contextlib.suppress(IndexError, ValueError):
                parent = int(args[i + 1])
        out.append((int(entry), parent))
    return out


def watch(path: Path) -> int:
    """The watchdog's loop: reap the run once its harness is gone; exit once the pid file is removed."""
    with contextlib.suppress(OSError):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            pids = RunPids.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return 0
        except (OSError, ValueError):
            time.sleep(WATCH_POLL)  # caught mid-replace; the next read sees the whole file
            continue
        if not harness_alive(pids):
            reap(pids)
            time.sleep(WATCH_POLL)  # a node spawned in the very last moment is in the file by now
            with contextlib.suppress(OSError, ValueError):
                reap(RunPids.from_json(json.loads(path.read_text(encoding="utf-8"))))
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return 0
        time.sleep(WATCH_POLL)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "watch":
        sys.exit(watch(Path(sys.argv[2])))
    print("usage: python -m harness.backends.procguard watch PIDFILE", file=sys.stderr)
    sys.exit(2)
