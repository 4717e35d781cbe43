"""Local processes of a third-party system: spawn, SIGKILL/restart, SIGSTOP/SIGCONT, logs per incarnation.

Our own node runtime takes ``--parent-pid`` and exits when the harness is gone; etcd and redis know no
such flag, so each is started with the kernel's parent-death signal (``PR_SET_PDEATHSIG``) set to
SIGKILL: if the harness dies without a teardown (SIGKILL, OOM), the kernel kills the node with it. Each
process runs in its own session so that a terminal's Ctrl-C reaches only the harness, which then tears
down in order. Output (both streams) goes to ``<name>.<incarnation>.log`` next to the data dir, so a
restarted node keeps the log of its previous life for the report.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nemesis.executor import CapabilityError

_PR_SET_PDEATHSIG = 1
STOP_GRACE = 2.0


class BinaryMissing(CapabilityError):
    """A third-party binary is not installed (its Debian package is named in the message)."""


def require_binary(name: str, package: str) -> str:
    """The absolute path of ``name``; raises ``BinaryMissing`` naming the package that provides it."""
    path = shutil.which(name)
    if path is None:
        raise BinaryMissing(f"{name} is not installed: install Debian's {package} "
                            f"(apt-get install -y {package})")
    return path


def _die_with_parent() -> None:
    """Run in the child between fork and exec: ask the kernel to SIGKILL us when the harness dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


@dataclass(slots=True)
class ManagedProcess:
    """One node's process across incarnations (kill keeps its data dir; start spawns it again)."""

    name: str
    log_dir: Path
    command: Callable[[], Sequence[str]]  # re-evaluated at each start (e.g. a restarted replica's primary)
    proc: asyncio.subprocess.Process | None = None
    incarnation: int = 0
    paused: bool = False
    pids: list[int] = field(default_factory=list)
    on_spawn: Callable[[int], None] | None = None  # told every new pid (the run's pid file records it)
    killed: bool = False  # SIGKILL sent: down, even before the process is reaped

    @property
    def alive(self) -> bool:
        """The process exists, was not killed and has not exited (it may be paused)."""
        return self.proc is not None and self.proc.returncode is None and not self.killed

    def log_path(self, incarnation: int | None = None) -> Path:
        """The log file of one incarnation (default: the current one)."""
        return self.log_dir / f"{self.name}.{incarnation or self.incarnation}.log"

    async def spawn(self) -> None:
        """Start a new incarnation (stdout and stderr to its log file)."""
        if self.proc is not None and self.proc.returncode is None:
            await self.proc.wait()  # a killed incarnation still holding its ports until it is reaped
        self.incarnation += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        argv = list(self.command())
        with self.log_path().open("wb") as out:
            out.write(("$ " + " ".join(argv) + "\n").encode())
            out.flush()
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        self.pids.append(self.proc.pid)
        if self.on_spawn is not None:
            self.on_spawn(self.proc.pid)
        self.paused = self.killed = False

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the process group of the current incarnation, if it runs."""
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    async def kill(self) -> None:
        """SIGKILL and reap; no-op when not running. Down from the signal on, also if cut short."""
        if not self.alive or self.proc is None:
            return
        self.killed, self.paused = True, False
        self.signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        """SIGTERM (thawing a paused process first), SIGKILL after a grace period; idempotent."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.signal(signal.SIGTERM)
            self.signal(signal.SIGCONT)
            try:
                await asyncio.wait_for(self.proc.wait(), STOP_GRACE)
            except TimeoutError:
                pass
        self.signal(signal.SIGKILL)
        await self.proc.wait()
        self.paused = False

    def pause(self) -> None:
        """SIGSTOP the process group."""
        if self.alive and not self.paused:
            self.signal(signal.SIGSTOP)
            self.paused = True

    def resume(self) -> None:
        """SIGCONT the process group."""
        if self.alive and self.paused:
            self.signal(signal.SIGCONT)
            self.paused = False

    def kill_now(self) -> None:
        """Synchronous last resort: SIGKILL every incarnation's process group."""
        for pid in self.pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def tail(self, lines: int = 15) -> str:
        """The last lines of the current incarnation's log (for error messages)."""
        p = self.log_path()
        if not p.is_file():
            return "(no output)"
        text = p.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        return f"--- {p.name}\n" + "\n".join(text)

    def collect(self, dest: Path) -> None:
        """Write every incarnation's log, in order, to ``dest/<name>.log``."""
        dest.mkdir(parents=True, exist_ok=True)
        parts = []
        for k in range(1, self.incarnation + 1):
            p = self.log_path(k)
            if p.is_file() and p.stat().st_size:
                text = p.read_text(encoding="utf-8", errors="replace")
                parts.append(f"===== {self.name} incarnation {k} =====\n{text}")
        (dest / f"{self.name}.log").write_text("".join(parts), encoding="utf-8")
