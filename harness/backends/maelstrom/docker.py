"""External Maelstrom-protocol programs in containers: one container per node, the program mounted in.

The docker backend unchanged — internal bridge network, iptables partitions and packet loss,
``docker kill``/``start``, ``docker pause`` — with the shim (``systems_under_test.maelstrom.runtime``)
as each container's command instead of our node runtime. The user's program is bind-mounted read-only
at ``/opt/splitbrain-program/``; its working directory is in the node's volume, so whatever it writes
there survives a kill. One more container, ``services``, hosts Maelstrom's services. As on the local
backend (and unlike Maelstrom, whose services are always reachable), ``partition`` extends the nemesis's
grudge with the services host (``grudge_with_services``): a node left hearing fewer than a majority of
the cluster is cut off from the services both ways — iptables rules on both containers, and the shims'
grudge (the node's shim drops what arrives from ``services`` and what its program sends to a service,
the services host's shim drops what arrives from the node and the replies it would send it). A real
deployment's coordination service sits with the majority; a minority node that still reaches the store
hides exactly the bugs partitions should expose. A restarted or resumed node or services container gets
its share of the current grudge again; heal clears it.

The node image is Debian bookworm with python3; a program that needs more (a JVM, Ruby, a newer
libc's friends) names Debian packages in the system config:
``--config '{"packages": ["default-jre-headless"]}'``
— they are added to the image recipe, whose hash is the image tag, so each package set is built once.
A compiled program must run on bookworm's libc (a static build needs nothing from the image). The
shim's counters are kept per life: the stats file lives in the node's volume and each life rewrites it,
so a kill reads it from the stopped container before the next life starts (a killed life's counters are
as of its last refresh, at most a second before the kill).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.backends import maelstrom
from harness.backends.base import ClusterSpec
from harness.backends.docker import cluster
from harness.backends.docker.backend import DockerBackend
from harness.backends.docker.image import ImageRecipe
from harness.backends.maelstrom import (
    CLOCK_REASON,
    SERVICES,
    after_init,
    grudge_with_services,
    packages,
    program,
)
from systems_under_test.maelstrom.services import SERVICE_NAMES

PROGRAM_DIR = "/opt/splitbrain-program"
STATS = f"{cluster.STATE_DIR}/stats.json"


class MaelstromDockerBackend(DockerBackend):
    """Shim containers hosting the user's program, plus one services container."""

    name = "docker"

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """The program, the after-init messages and the extra Debian packages, checked by the run plan."""
        maelstrom.check_config(config)
        packages(config)

    @classmethod
    def unsupported(cls) -> Mapping[str, str]:
        """Clock faults cannot reach an external program."""
        return {"clock": CLOCK_REASON}

    def __init__(self, spec: ClusterSpec, *, client: Any = None, **kw: Any) -> None:
        config = spec.node_config()
        self.program, self.program_args = program(config)
        self.setup_messages = after_init(config)
        self.cluster_nodes = tuple(spec.nodes)
        if client is None:  # a missing engine is a spec that cannot run here (254)
            from harness.backends.external.docker_nodes import docker_client

            client = docker_client()
        with_services = replace(spec, nodes=(*spec.nodes, SERVICES))
        super().__init__(
            with_services, recipe=ImageRecipe().with_packages(packages(config)), client=client, **kw
        )
        self.init_timeout = float(config.get("init_timeout", 10.0))
        self._stats: dict[str, Any] = {}  # the counters of each node's current (or last) life
        self._past_lives: dict[str, list[Any]] = {}  # the counters of the lives a kill ended
        self._grudge: dict[str, list[str]] = {}

    def _extra_binds(self) -> dict[str, dict[str, str]]:
        return {self.program: {"bind": f"{PROGRAM_DIR}/{Path(self.program).name}", "mode": "ro"}}

    def _node_command(self, plan: cluster.NodePlan, plans: Sequence[cluster.NodePlan]) -> list[str]:
        by_node = {p.node: p for p in plans}
        peers = [f"{p.node}={p.ip}:{cluster.CLIENT_PORT}" for p in plans if p.node != SERVICES]
        peers += [f"{name}={by_node[SERVICES].ip}:{cluster.CLIENT_PORT}" for name in SERVICE_NAMES]
        cmd = [
            "python3",
            "-m",
            "systems_under_test.maelstrom.runtime",
            "--node",
            plan.node,
            "--nodes",
            ",".join(self.cluster_nodes),
            "--listen",
            f"{plan.ip}:{cluster.CLIENT_PORT}",
            "--peers",
            ",".join(peers),
            "--control",
            f"{plan.ip}:{cluster.CONTROL_PORT}",
            "--data-dir",
            f"{cluster.STATE_DIR}/program",
            "--log",
            cluster.NODE_LOG,
            "--stats",
            STATS,
            "--seed",
            str(self.spec.seed),
            "--init-timeout",
            str(self.init_timeout),
        ]
        if plan.node == SERVICES:
            return [*cmd, "--services"]
        for body in self.setup_messages:
            cmd += ["--after-init", json.dumps(body, separators=(",", ":"))]
        return [*cmd, "--", f"{PROGRAM_DIR}/{Path(self.program).name}", *self.program_args]

    async def partition(self, grudge: Any) -> None:
        """iptables as for our nodes, and the same grudge in each shim.

        iptables DROP alone turns a partition into a delay for a program's messages: TCP retransmits
        them once the partition heals. Maelstrom's network loses them, and a program that never
        retransmits must be caught here too, so the receiving shim also drops what arrives from a node
        in its grudge while the partition lasts (exactly what it does on the local backend). The grudge
        is extended with the services host first (``grudge_with_services``).
        """
        self._grudge = grudge_with_services(dict(grudge), self.cluster_nodes)
        await super().partition(self._grudge)
        await asyncio.gather(
            *(self._push_grudge(n) for n in (*self.cluster_nodes, SERVICES)), return_exceptions=True
        )

    async def heal(self) -> None:
        """Flush the rules and clear every shim's grudge."""
        self._grudge = {}
        await super().heal()

    async def _push_grudge(self, node: str) -> None:
        if self._reachable(node):
            drop_to = sorted(n for n, grudge in self._grudge.items() if node in grudge)
            await self._control(
                node, {"type": "partition", "drop_from": self._grudge.get(node, []), "drop_to": drop_to}
            )

    async def _push_runtime(self, node: str) -> None:
        """After a restart or resume: packet faults and the grudge (no clock: refused for programs)."""
        if not self._reachable(node):
            return
        delay, dup = self._packet.get(node, (0.0, 0.0))
        await self._control(node, {"type": "packet", "delay": delay, "loss": 0.0, "dup": dup})
        await self._push_grudge(node)

    async def _kill_container(self, node: str, container: Any) -> None:
        """SIGKILL the container, then keep the counters of the life that ended (a life whose file cannot
        be read still counts, with no counters, as on local)."""
        await super()._kill_container(node, container)
        doc = await asyncio.to_thread(self._read_stats, node)
        self._past_lives.setdefault(node, []).append(doc if doc is not None else {})

    def _read_stats(self, node: str) -> Any:
        container = self._containers.get(node)
        if container is None:
            return None
        with contextlib.suppress(Exception):
            raw = cluster.read_file(container, STATS)
            if raw:
                return json.loads(raw)
        return None

    def _fetch_logs(self) -> None:
        super()._fetch_logs()
        for node in self._containers:
            if node in self._down:  # its last life ended in a kill and was read then
                continue
            doc = self._read_stats(node)
            if doc is not None:
                self._stats[node] = doc

    def collect_logs(self, dest: Path) -> None:
        """Node logs and ``maelstrom.json`` (each node's lives: those kills ended, then the last one)."""
        super().collect_logs(dest)
        lives = {
            node: [*self._past_lives.get(node, []), *([self._stats[node]] if node in self._stats else [])]
            for node in sorted(set(self._stats) | set(self._past_lives))
        }
        doc = maelstrom.stats_doc([self.program, *self.program_args], lives)
        with contextlib.suppress(OSError):
            (dest.parent / "maelstrom.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
