"""External Maelstrom-protocol programs as local processes, each behind a shim on our node network.

This is the local backend with a different node command: instead of our node runtime each node runs
``python -m systems_under_test.maelstrom`` (the shim), which starts the user's program and speaks our
client, peer and control protocols for it. Everything else — ports, READY handshake, SIGKILL/SIGSTOP
of the process group, re-sending the fault state after a restart or resume, logs per incarnation,
``--parent-pid`` — is the local backend's, unchanged. One more process, ``services``, hosts Maelstrom's
services (``lin-kv``, ``seq-kv``, ``lww-kv``, ``lin-tso``); the nemesis only targets cluster nodes, so
its grudges never name the services: they stay reachable from every node, as in Maelstrom, while the
nodes themselves are cut off from each other.

After the run, ``collect_logs`` also writes ``maelstrom.json`` next to the node logs: per node and
incarnation the shim's counters (messages sent and received, malformed output, replies to unknown
msg_ids, error codes) and how each incarnation ended (killed by the nemesis, or exited on its own).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.backends import maelstrom
from harness.backends.base import ClusterSpec
from harness.backends.local import LocalBackend, _Node, free_ports
from harness.backends.maelstrom import CLOCK_REASON, after_init, program
from harness.backends.seeds import derive_seed
from systems_under_test.maelstrom.services import SERVICE_NAMES

SERVICES = "services"


class MaelstromLocalBackend(LocalBackend):
    """Shim processes hosting the user's program, plus one services process."""

    name = "local"

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """The program and the after-init messages, checked by the run plan before anything starts."""
        maelstrom.check_config(config)

    @classmethod
    def unsupported(cls) -> Mapping[str, str]:
        """Clock faults cannot reach an external program (see ``CLOCK_REASON``)."""
        return {"clock": CLOCK_REASON}

    def __init__(self, spec: ClusterSpec) -> None:
        config = spec.node_config()
        self.program, self.program_args = program(config)
        self.setup_messages = after_init(config)
        super().__init__(spec)
        ports = free_ports(2)
        self.nodes[SERVICES] = _Node(SERVICES, ports[0], ports[1], self.spec.run_dir / "data" / SERVICES)
        self.init_timeout = float(config.get("init_timeout", 10.0))

    def _address_map(self) -> str:
        parts = [f"{m.id}=127.0.0.1:{m.port}" for m in self.nodes.values() if m.id != SERVICES]
        svc = self.nodes[SERVICES]
        parts += [f"{name}=127.0.0.1:{svc.port}" for name in SERVICE_NAMES]
        return ",".join(parts)

    def _command(self, n: _Node) -> list[str]:
        log_base = n.data_dir.parent / f"{n.id}.{n.incarnation}"
        cmd = [
            sys.executable,
            "-m",
            "systems_under_test.maelstrom.runtime",
            "--node",
            n.id,
            "--nodes",
            ",".join(self.spec.nodes),
            "--listen",
            f"127.0.0.1:{n.port}",
            "--peers",
            self._address_map(),
            "--control",
            f"127.0.0.1:{n.control_port}",
            "--data-dir",
            str(n.data_dir),
            "--log",
            f"{log_base}.log",
            "--stats",
            f"{log_base}.stats.json",
            "--seed",
            str(derive_seed(self.spec.seed, n.id, n.incarnation)),
            "--init-timeout",
            str(self.init_timeout),
            "--parent-pid",
            str(os.getpid()),
        ]
        if n.id == SERVICES:
            return [*cmd, "--services"]
        for body in self.setup_messages:
            cmd += ["--after-init", json.dumps(body, separators=(",", ":"))]
        return [*cmd, "--", self.program, *self.program_args]

    def collect_logs(self, dest: Path) -> None:
        """Node logs (shim log + the program's stderr, per incarnation) and ``maelstrom.json`` counters."""
        super().collect_logs(dest)
        (dest.parent / "maelstrom.json").write_text(json.dumps(self.stats(), indent=1, sort_keys=True) + "\n")

    def stats(self) -> dict[str, Any]:
        """Per node: each incarnation's counters and how it ended; totals over the cluster."""
        nodes: dict[str, Any] = {}
        totals: dict[str, int] = {}
        for n in self.nodes.values():
            lives = []
            for k in range(1, n.incarnation + 1):
                p = n.data_dir.parent / f"{n.id}.{k}.stats.json"
                try:
                    doc = json.loads(p.read_text())
                except (OSError, ValueError):
                    doc = {}
                lives.append(doc)
                for key, value in doc.items():
                    if (
                        isinstance(value, int)
                        and not isinstance(value, bool)
                        and key not in ("exit_code", "max_rss_kb")
                    ):
                        totals[key] = totals.get(key, 0) + value
            crashes = sum(1 for d in lives if d.get("exit_code") == 3)
            nodes[n.id] = {"incarnations": lives, "exited_on_its_own": crashes}
        totals["exited_on_its_own"] = sum(v["exited_on_its_own"] for v in nodes.values())
        return {"program": [self.program, *self.program_args], "nodes": nodes, "totals": totals}
