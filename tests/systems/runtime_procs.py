"""Start real node runtime processes on 127.0.0.1 for tests, and talk to them over TCP."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that were free a moment ago."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Proc:
    """One node process and its addresses."""

    node: str
    port: int
    control_port: int
    data_dir: Path
    log: Path
    argv: list[str]
    popen: subprocess.Popen[bytes] | None = None
    ready: str = ""

    def start(self, timeout: float = 10.0) -> None:
        """Spawn the node in its own process group and wait for its READY line."""
        self.popen = subprocess.Popen(
            self.argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        assert self.popen.stdout is not None
        readable, _, _ = select.select([self.popen.stdout], [], [], timeout)
        line = self.popen.stdout.readline().decode() if readable else ""
        if not line.startswith("READY"):
            self.popen.kill()
            err = self.popen.stderr.read().decode() if self.popen.stderr else ""
            raise AssertionError(f"{self.node} did not start: {line!r} {err}")
        self.ready = line.strip()

    def kill(self, sig: int = signal.SIGKILL) -> int:
        """Signal the node's process group and reap it; returns its exit status."""
        assert self.popen is not None
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
        return self.popen.wait(timeout=10)

    def control(self, req: dict[str, Any]) -> dict[str, Any]:
        """One control request."""
        return call(self.control_port, [req])[0]

    def status(self) -> dict[str, Any]:
        """The node's status reply."""
        return self.control({"type": "status"})


@dataclass
class Cluster:
    """A set of node processes of one system."""

    system: str
    root: Path
    size: int = 3
    parent_pid: int | None = None
    procs: dict[str, Proc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ports = free_ports(2 * self.size)
        names = [f"n{i}" for i in range(1, self.size + 1)]
        peers = ",".join(f"{n}=127.0.0.1:{ports[i]}" for i, n in enumerate(names))
        for i, n in enumerate(names):
            data, log = self.root / n, self.root / f"{n}.log"
            argv = [
                sys.executable, "-m", "systems_under_test.runtime", "--system", self.system, "--node", n,
                "--listen", f"127.0.0.1:{ports[i]}", "--peers", peers,
                "--control", f"127.0.0.1:{ports[self.size + i]}", "--data-dir", str(data), "--log", str(log),
                "--seed", "42", "--config", json.dumps({"heartbeat": 0.05}),
                "--parent-pid", str(self.parent_pid or os.getpid()),
            ]
            self.procs[n] = Proc(n, ports[i], ports[self.size + i], data, log, argv)

    def start(self) -> Cluster:
        """Start every node."""
        for p in self.procs.values():
            p.start()
        return self

    def stop(self) -> None:
        """SIGKILL every node still running."""
        for p in self.procs.values():
            if p.popen is not None and p.popen.poll() is None:
                p.kill()
            for stream in (p.popen.stdout, p.popen.stderr) if p.popen else ():
                if stream is not None:
                    stream.close()

    def __getitem__(self, node: str) -> Proc:
        return self.procs[node]


def call(port: int, reqs: list[dict[str, Any] | bytes], timeout: float = 5.0) -> list[dict[str, Any]]:
    """Send request lines on one connection and collect one reply per line (any order)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"".join(r if isinstance(r, bytes) else json.dumps(r).encode() + b"\n" for r in reqs))
        fh = s.makefile("rb")
        return [json.loads(fh.readline()) for _ in reqs]


def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
