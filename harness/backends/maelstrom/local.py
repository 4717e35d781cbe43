"""External Maelstrom-protocol programs as local processes, each behind a shim on our node network.

This is the local backend with a different node command: instead of our node runtime each node runs
``python -m systems_under_test.maelstrom`` (the shim), which starts the user's program and speaks our
client, peer and control protocols for it. Everything else — ports, READY handshake, SIGKILL/SIGSTOP
of the process group, re-sending the fault state after a restart or resume, logs per incarnation,
``--parent-pid`` — is the local backend's, unchanged. One more process, ``services``, hosts Maelstrom's
services (``lin-kv``, ``seq-kv``, ``lww-kv``, ``lin-tso``). The nemesis draws its grudges over the
cluster nodes; ``partition`` extends each one with the services host (``grudge_with_services``): a node
left hearing fewer than a majority of the cluster is cut off from the services both ways (its shim drops
what arrives from ``services``, the services host drops what arrives from it), the majority keeps them.
This differs from Maelstrom, whose services are always reachable: a real deployment's coordination
service sits with the majority, and a minority node that still reaches the store would hide exactly the
bugs partitions should expose. The extended grudge is what the backend keeps, so a restarted or resumed
node (or services host) gets its share of it again; heal clears it.

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
from harness.backends.maelstrom import CLOCK_REASON, SERVICES, after_init, grudge_with_services, program
from harness.backends.seeds import derive_seed
from systems_under_test.maelstrom.services import SERVICE_NAMES


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
        ports = free_ports(2, exclude={p for m in self.nodes.values() for p in (m.port, m.control_port)})
        self.nodes[SERVICES] = _Node(SERVICES, ports[0], ports[1], self.spec.run_dir / "data" / SERVICES)
        self.init_timeout = float(config.get("init_timeout", 10.0))

    async def partition(self, grudge: Any) -> None:
        """The cluster's grudge, extended with the services host (``grudge_with_services``)."""
        await super().partition(grudge_with_services(dict(grudge), self.spec.nodes))

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
        lives: dict[str, list[dict[str, Any]]] = {}
        for n in self.nodes.values():
            lives[n.id] = [_read_stats(n.data_dir.parent / f"{n.id}.{k}.stats.json")
                           for k in range(1, n.incarnation + 1)]
        return maelstrom.stats_doc([self.program, *self.program_args], lives)


def _read_stats(path: Path) -> dict[str, Any]:
    """One incarnation's shim counters (empty when the file is missing or torn)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}
