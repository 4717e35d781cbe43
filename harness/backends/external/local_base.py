"""What every third-party system on the local backend shares: processes, process faults, logs, teardown.

A subclass says how to build a node's command line and when the cluster is ready, and how a client
reaches a node. Faults are the ones a process can be given without its cooperation — SIGKILL/restart
(``Kill``) and SIGSTOP/SIGCONT (``Pause``). ``Net``, ``Clock`` and ``Packet`` are deliberately absent,
and :meth:`LocalExternalBackend.unsupported` says why, so the run plan refuses them with the reason
before anything starts. Public as ``harness.api.LocalProcesses``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from harness.backends.base import ClusterSpec, SetupError
from harness.backends.external.procs import ManagedProcess, require_binary
from harness.backends.procguard import PidFile

READY_TIMEOUT = 30.0

COOPERATIVE = ("on the local backend {cap} faults are cooperative: our node runtime drops/delays the peer "
               "messages it is told to, and {system} is not our runtime; use --backend docker for partitions")
CLOCK = ("clock faults on {system} are out of scope: our clock offsets are cooperative (applied by our node "
         "runtime), and libfaketime {faketime}")


class ExternalStartError(SetupError):
    """A third-party node did not come up (its log tail is in the message)."""


class LocalExternalBackend(ABC):
    """Nodes of a third-party system as local processes with process faults only."""

    name = "local"
    system_name: ClassVar[str] = "this system"  # for messages: "etcd", "redis"
    faketime: ClassVar[str] = "was not tried on it"  # what libfaketime does to it (why clock faults are out)
    binaries: ClassVar[tuple[tuple[str, str], ...]] = ()  # (binary, Debian package) the nodes need

    @classmethod
    def preflight(cls) -> None:
        """Refuse (``BinaryMissing``, naming the package) when a binary the nodes need is not installed;
        the run plan calls this before anything starts."""
        for binary, package in cls.binaries:
            require_binary(binary, package)

    @classmethod
    def unsupported(cls) -> Mapping[str, str]:
        """Faults a third-party binary cannot be given as local processes, and why."""
        return {
            "net": COOPERATIVE.format(system=cls.system_name, cap="partition"),
            "packet": COOPERATIVE.format(system=cls.system_name, cap="packet"),
            "clock": CLOCK.format(system=cls.system_name, faketime=cls.faketime),
        }

    def __init__(self, spec: ClusterSpec) -> None:
        spec = replace(spec, run_dir=spec.run_dir.resolve())
        self.spec = spec
        self.config: dict[str, Any] = spec.node_config()
        # the run's pid file (see harness.backends.procguard): a leftover run's nodes and data dirs are found
        run_id = f"{spec.run_dir.parent.name}-{spec.run_dir.name}-{os.getpid()}-{id(self):x}"
        scratch = [] if self.config.get("keep_data", False) else [self.data_dir(n) for n in spec.nodes]
        self._pidfile = PidFile(run_id, spec.run_dir, scratch=scratch)
        self._pidfile_open = False
        self.procs: dict[str, ManagedProcess] = {
            n: ManagedProcess(n, spec.run_dir / "data", self._command_for(n), on_spawn=self._record)
            for n in spec.nodes
        }

    def _command_for(self, node: str) -> Any:
        return lambda: self.command(node)

    def _record(self, pid: int) -> None:
        """A node process was spawned: the pid file (and its watchdog, started with the first) knows it."""
        if not self._pidfile_open:
            self._pidfile.open()
            self._pidfile_open = True
        self._pidfile.add_node(pid)

    def data_dir(self, node: str) -> Path:
        """The node's data directory (kept across kill/restart)."""
        return self.spec.run_dir / "data" / node

    @abstractmethod
    def command(self, node: str) -> Sequence[str]:
        """The argv that starts ``node`` (evaluated at each start)."""

    @abstractmethod
    async def wait_ready(self, nodes: Sequence[str], timeout: float) -> None:
        """Return once every node in ``nodes`` serves clients; raise ``ExternalStartError`` otherwise."""

    async def setup(self) -> None:
        """Start every node and wait until the cluster serves."""
        for node in self.spec.nodes:
            self.data_dir(node).mkdir(parents=True, exist_ok=True)
        await asyncio.gather(*(p.spawn() for p in self.procs.values()))
        await self.wait_ready(self.spec.nodes, READY_TIMEOUT)

    def check_alive(self, nodes: Sequence[str]) -> None:
        """Raise ``ExternalStartError`` with its log tail if a node process has exited."""
        for node in nodes:
            p = self.procs[node]
            if p.proc is not None and p.proc.returncode is not None:
                raise ExternalStartError(f"{node} exited with status {p.proc.returncode}:\n{p.tail()}")

    async def teardown(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL) and drop its data unless ``keep_data``; idempotent.

        Node data is not evidence (the history and the logs are) and etcd alone preallocates ~80 MB of
        write-ahead log per member, so a store of many runs would fill the disk. Logs sit next to the
        data dirs and are kept for ``collect_logs``.
        """
        await asyncio.gather(*(p.stop() for p in self.procs.values()), return_exceptions=True)
        if not self.config.get("keep_data", False):
            for node in self.spec.nodes:
                shutil.rmtree(self.data_dir(node), ignore_errors=True)
        if self._pidfile_open and not any(p.alive for p in self.procs.values()):
            self._pidfile.close()
            self._pidfile_open = False

    def kill_all_now(self) -> None:
        """Synchronous last resort (no event loop needed): SIGKILL every node's process group."""
        for p in self.procs.values():
            p.kill_now()

    def pids(self) -> list[int]:
        """Every process id this backend spawned."""
        return [pid for p in self.procs.values() for pid in p.pids]

    def collect_logs(self, dest: Path) -> None:
        """Write ``dest/<node>.log`` with every incarnation's output."""
        for p in self.procs.values():
            p.collect(dest)

    # ----- Kill / Pause -------------------------------------------------------------------------------

    async def kill(self, node: str) -> None:
        """SIGKILL the node; its data dir is kept."""
        await self.procs[node].kill()

    async def start(self, node: str) -> None:
        """Restart a killed node on the same ports and data dir; no-op if it runs."""
        p = self.procs[node]
        if p.alive:
            return
        await p.spawn()

    async def pause(self, node: str) -> None:
        """SIGSTOP the node."""
        self.procs[node].pause()

    async def resume(self, node: str) -> None:
        """SIGCONT the node."""
        self.procs[node].resume()
