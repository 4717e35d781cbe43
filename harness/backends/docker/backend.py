"""The ``docker`` backend: a cluster of node containers with OS-level faults (DESIGN §4).

Implements ``harness.backends.base.Backend`` and the ``nemesis.capabilities`` protocols Net, Kill, Pause,
Clock and Packet. Where the local backend asks the node runtime to *pretend* (cooperative drops), this
one makes the operating system do it: partitions and packet loss are iptables rules inside each
container (``firewall``), kill is ``docker kill`` (SIGKILL to the whole container; the data volume
stays), pause is the cgroup freezer (``docker pause``). Only message delay/duplication and clock offsets
go through the runtime's control channel — the kernel here has no netem, and a clock cannot be skewed
per container.

Each node has a *desired* fault state. Faults are pushed to a node when it can take them, and pushed
again when it comes back: a restarted container gets a fresh network namespace (its iptables rules are
gone) and a fresh runtime (its clock offset is gone), and a paused one cannot run ``iptables`` at all.
So a partition or a skewed clock survives a kill/restart, as it would on real machines.

The Docker SDK is blocking; every call runs in a worker thread so the event loop (clients, nemesis)
keeps going while Docker works.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import secrets
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.backends.base import ClusterSpec, Unreachable
from harness.backends.docker import cleanup, cluster
from harness.backends.docker import labels as L
from harness.backends.docker.firewall import NodeFaults, grudge_faults, restore_command, restore_script
from harness.backends.docker.image import BuildCancel, ImageRecipe, Progress, ensure_image
from harness.backends.docker.wire import TcpConnection, control_request
from systems_under_test.runtime.options import TOKEN_ENV


def _stderr_progress(message: str) -> None:
    """Default progress sink: one line per message on stderr (the image build is slow enough to show)."""
    print(f"splitbrain docker: {message}", file=sys.stderr, flush=True)


class DockerBackend:
    """One container per node on a per-run internal bridge network."""

    name = "docker"

    def __init__(
        self,
        spec: ClusterSpec,
        *,
        recipe: ImageRecipe | None = None,
        progress: Progress | None = None,
        client: Any = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.spec = spec
        self.token = secrets.token_hex(
            16
        )  # the run's secret: the node runtime requires it on control and peers
        self.recipe = recipe or ImageRecipe()
        self.progress: Progress = progress or _stderr_progress
        self.ready_timeout = ready_timeout
        self.run_id = secrets.token_hex(4)
        self.image = ""
        self.timings: dict[str, float] = {}
        self._client = client
        self._plans: dict[str, cluster.NodePlan] = {}
        self._containers: dict[str, Any] = {}
        self._faults: dict[str, NodeFaults] = {n: NodeFaults() for n in spec.nodes}
        self._packet: dict[str, tuple[float, float]] = {}  # node -> (delay, dup) for the runtime
        self._clock: dict[str, float] = {}
        self._down: set[str] = set()
        self._paused: set[str] = set()
        self._engine_ops: dict[str, asyncio.Future[None]] = {}  # each node's last kill/start/pause/unpause
        self._logs: dict[str, bytes] = {}
        self._torn_down = False
        self._atexit_registered = False

    # ---- lifecycle -------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The Docker SDK client (created on first use)."""
        if self._client is None:
            import docker  # type: ignore[import-untyped]

            self._client = docker.from_env(timeout=120)
        return self._client

    async def setup(self) -> None:
        """Sweep orphans, make sure the image exists, create network/volumes/containers, wait for READY."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        swept = await asyncio.to_thread(cleanup.sweep_orphans, self.client)
        if swept.total():
            self.progress(f"removed {swept.total()} leftovers of dead runs {', '.join(swept.runs)}")
        cancel = BuildCancel()
        try:
            info = await asyncio.to_thread(ensure_image, self.client, self.recipe, self.progress, cancel)
        except asyncio.CancelledError:
            cancel.cancel()  # do not keep the process alive for a build nobody waits for
            raise
        self.image = info.tag
        t1 = loop.time()
        self.timings["image_s"] = t1 - t0
        owner = L.current_owner()
        atexit.register(self._atexit_cleanup)
        self._atexit_registered = True
        net, subnet = await asyncio.to_thread(
            cluster.create_network, self.client, self.run_id, L.run_labels(self.run_id, owner),
            int(self.run_id, 16)
        )
        plans = cluster.plan_nodes(self.run_id, self.spec.nodes, subnet)
        self._plans = {p.node: p for p in plans}

        def create(plan: cluster.NodePlan) -> Any:
            cmd = self._node_command(plan, plans)
            labels = L.run_labels(self.run_id, owner, plan.node)
            return cluster.create_node(self.client, self.image, net.name, plan, cmd, labels, self._mounts(),
                                       env={TOKEN_ENV: self.token}, extra_binds=self._extra_binds())

        created = await asyncio.gather(*(asyncio.to_thread(create, p) for p in plans))
        self._containers = {p.node: c for p, c in zip(plans, created, strict=True)}
        await asyncio.gather(*(asyncio.to_thread(c.start) for c in created))
        await asyncio.gather(*(self._wait_ready(n) for n in self.spec.nodes))
        self.timings["cluster_start_s"] = loop.time() - t1

    def _node_command(self, plan: cluster.NodePlan, plans: Sequence[cluster.NodePlan]) -> list[str]:
        """The command of ``plan``'s container: our node runtime (a backend for another server overrides
        it)."""
        core = self.spec.resolved_variant().core_ref
        return cluster.node_command(self.spec.system, plan, plans, self.spec.seed, self.spec.node_config(),
                                    core)

    def _mounts(self) -> dict[str, Path]:
        """Extra read-only source mounts: a plugin system's core package (ours is always mounted)."""
        variant = self.spec.resolved_variant()
        return cluster.plugin_dirs(variant.core_ref if variant.factory is not None else None)

    def _extra_binds(self) -> dict[str, dict[str, str]]:
        """Other host paths to mount, host path -> docker bind (e.g. an external program); none here."""
        return {}

    async def _wait_ready(self, node: str) -> None:
        """Poll the node's control channel until it answers; fail fast with its output if it exited."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        plan = self._plans[node]
        container = self._containers[node]
        while True:
            try:
                await control_request(plan.ip, cluster.CONTROL_PORT, {"type": "status", "token": self.token},
                                      timeout=1.0)
                return
            except Unreachable:
                pass
            await asyncio.to_thread(container.reload)
            if container.status in ("exited", "dead"):
                out = await asyncio.to_thread(container.logs, tail=20)
                raise RuntimeError(f"node {node} exited during startup:\n{out.decode(errors='replace')}")
            if loop.time() > deadline:
                raise RuntimeError(f"node {node} did not answer within {self.ready_timeout}s")
            await asyncio.sleep(0.1)

    async def teardown(self) -> None:
        """Collect logs, then remove every container, network and volume of this run (idempotent)."""
        if self._torn_down:
            return
        self._torn_down = True
        if self._client is None:  # setup never reached the engine: nothing can exist
            return
        try:
            if self._containers:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._fetch_logs)
                    await asyncio.to_thread(self._write_logs, self.spec.run_dir / "nodes")
        finally:
            removed = await asyncio.to_thread(cleanup.remove_run, self.client, self.run_id)
            for problem in removed.failed:
                self.progress(f"could not remove {problem} (splitbrain cleanup --orphans will)")
            if self._atexit_registered:
                atexit.unregister(self._atexit_cleanup)
                self._atexit_registered = False

    def _atexit_cleanup(self) -> None:
        """Last resort when the process exits without teardown (e.g. an exception escaped the loop)."""
        with contextlib.suppress(Exception):
            cleanup.remove_run(self.client, self.run_id)

    def _fetch_logs(self) -> None:
        """Read each node's log file and container output (works on stopped containers too)."""
        for node, container in self._containers.items():
            body = cluster.read_file(container, cluster.NODE_LOG) or b""
            out = container.logs(stdout=True, stderr=True)
            if out.strip():
                body += b"\n--- container output ---\n" + out
            self._logs[node] = body

    def _write_logs(self, dest: Path) -> None:
        """Write the fetched logs to ``dest/<node>.log``."""
        dest.mkdir(parents=True, exist_ok=True)
        for node, body in self._logs.items():
            (dest / f"{node}.log").write_bytes(body)

    def collect_logs(self, dest: Path) -> None:
        """Copy each node's log to ``dest/<node>.log`` (best effort; after teardown, the logs it kept)."""
        with contextlib.suppress(Exception):
            if not self._torn_down and self._containers:
                self._fetch_logs()
            self._write_logs(dest)

    # ---- clients and status ----------------------------------------------------------------------

    def address(self, node: str) -> tuple[str, int]:
        """The (ip, port) clients use to reach ``node`` from the host."""
        return self._plan(node).ip, cluster.CLIENT_PORT

    def _plan(self, node: str) -> cluster.NodePlan:
        if node not in self._plans:
            raise ValueError(f"unknown node {node!r}; nodes are {', '.join(self.spec.nodes)}")
        return self._plans[node]

    async def connect(self, node: str) -> TcpConnection:
        """Open a client connection to ``node``; raises ``Unreachable`` if it cannot be opened."""
        ip, port = self.address(node)
        return await TcpConnection(node, ip, port).open()

    async def node_status(self, node: str) -> dict[str, Any]:
        """The runtime's status reply (core status, node clock, faults) plus the container's fault state."""
        if node in self._paused:
            raise Unreachable(f"{node} is paused")
        reply = await self._control(node, {"type": "status"})
        f = self._faults[node]
        reply["docker"] = {"container": self._plan(node).container, "ip": self._plan(node).ip,
                           "drop_from": sorted(f.drop_from), "loss": f.loss}
        return reply

    async def _control(self, node: str, req: dict[str, Any]) -> dict[str, Any]:
        return await control_request(self._plan(node).ip, cluster.CONTROL_PORT, {**req, "token": self.token})

    # ---- faults ------------------------------------------------------------------------------------

    def _reachable(self, node: str) -> bool:
        """True when commands can be run in the node's container (it is running and not frozen)."""
        return node not in self._down and node not in self._paused

    async def _push_firewall(self, node: str) -> None:
        """Install the node's desired iptables rules (skipped while it is down or paused)."""
        if not self._reachable(node):
            return
        plan = self._plan(node)
        peers = {p.node: p.ip for p in self._plans.values() if p.node != node}
        argv = restore_command(restore_script(self._faults[node], peers))
        code, out = await asyncio.to_thread(self._containers[node].exec_run, argv)
        if code != 0:
            raise RuntimeError(
                f"iptables-restore failed in {plan.container} ({code}): {out.decode(errors='replace')}"
            )

    async def _push_runtime(self, node: str) -> None:
        """Send the node's desired delay/dup and clock offset to its runtime (skipped while unreachable)."""
        if not self._reachable(node):
            return
        delay, dup = self._packet.get(node, (0.0, 0.0))
        await self._control(node, {"type": "packet", "delay": delay, "loss": 0.0, "dup": dup})
        await self._control(node, {"type": "clock", "offset": self._clock.get(node, 0.0)})

    async def partition(self, grudge: Mapping[str, Collection[str]]) -> None:
        """Replace the partition: each node drops packets from the nodes its grudge lists (iptables INPUT)."""
        new = grudge_faults(grudge, self.spec.nodes, self._faults)
        changed = [n for n in self.spec.nodes if new[n] != self._faults[n]]
        self._faults = new
        await asyncio.gather(*(self._push_firewall(n) for n in changed))

    async def heal(self) -> None:
        """Remove every partition and packet fault (rules flushed; runtime delay/dup cleared)."""
        changed = [n for n in self.spec.nodes if self._faults[n] != NodeFaults()]
        self._faults = {n: NodeFaults() for n in self.spec.nodes}
        self._packet.clear()
        await asyncio.gather(*(self._push_firewall(n) for n in changed))
        await asyncio.gather(
            *(self._control(n, {"type": "heal"}) for n in self.spec.nodes if self._reachable(n)),
            return_exceptions=True,
        )

    async def _engine(self, node: str, op: Callable[[], Awaitable[None]]) -> None:
        """Run one engine operation on ``node``'s container once the previous one has finished.

        The operation runs to its end even when the caller is cut short (the nemesis is cancelled at the
        end of the main phase), and the next one waits for it: a heal's start or unpause must not overtake
        a kill or a pause still under way in the engine. The callers mark the node down or paused before
        the operation, so the heal knows what to undo.
        """
        previous = self._engine_ops.get(node)
        if previous is not None and not previous.done():
            await asyncio.wait({previous})  # its caller reports its failure; waiting must not cancel it
        fut = self._engine_ops[node] = asyncio.ensure_future(op())
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved even if cut short
        await asyncio.shield(fut)

    async def kill(self, node: str) -> None:
        """``docker kill`` the node's container (SIGKILL); its volume and desired faults are kept."""
        container = self._containers[self._plan(node).node]
        if node in self._down:
            return
        self._down.add(node)
        self._paused.discard(node)
        await self._engine(node, lambda: self._kill_container(node, container))

    async def _kill_container(self, node: str, container: Any) -> None:
        """SIGKILL a container (a frozen one too, without thawing it) and wait until it has stopped."""
        await asyncio.to_thread(container.kill)
        await asyncio.to_thread(container.wait)

    async def start(self, node: str) -> None:
        """Start a killed node's container again (same volume), wait until it answers, re-apply its faults."""
        container = self._containers[self._plan(node).node]
        if node not in self._down:
            return
        await self._engine(node, lambda: asyncio.to_thread(container.start))
        self._down.discard(node)
        await self._wait_ready(node)
        await self._push_firewall(node)
        await self._push_runtime(node)

    async def pause(self, node: str) -> None:
        """Freeze the node's container (cgroup freezer): it processes nothing, sockets stay open."""
        if node in self._paused or node in self._down:
            return
        self._paused.add(node)
        try:
            await self._engine(node, lambda: asyncio.to_thread(self._containers[self._plan(node).node].pause))
        except Exception:
            self._paused.discard(node)
            raise

    async def resume(self, node: str) -> None:
        """Thaw a paused node and bring its faults up to date; no-op if it is not paused."""
        if node not in self._paused:
            return
        self._paused.discard(node)
        try:
            await self._engine(
                node, lambda: asyncio.to_thread(self._containers[self._plan(node).node].unpause)
            )
        except Exception:
            self._paused.add(node)
            raise
        await self._push_firewall(node)
        await self._push_runtime(node)

    async def set_clock_offset(self, node: str, seconds: float) -> None:
        """Make the node's runtime clock read real time + ``seconds`` (cooperative; survives restarts)."""
        self._plan(node)
        self._clock[node] = float(seconds)
        if self._reachable(node):
            await self._control(node, {"type": "clock", "offset": float(seconds)})

    async def set_packet_faults(
        self, node: str, *, delay: float = 0.0, loss: float = 0.0, dup: float = 0.0
    ) -> None:
        """Loss on what ``node`` sends to peers via iptables ``statistic``; delay and dup via its runtime."""
        self._plan(node)
        self._faults[node] = replace(self._faults[node], loss=float(loss))
        self._packet[node] = (float(delay), float(dup))
        await self._push_firewall(node)
        if self._reachable(node):
            await self._control(
                node, {"type": "packet", "delay": float(delay), "loss": 0.0, "dup": float(dup)}
            )

    def kill_all_now(self) -> None:
        """Synchronous last-chance removal of this run's objects (called after the event loop is gone)."""
        if self._torn_down:
            return
        self._torn_down = True
        with contextlib.suppress(Exception):
            cleanup.remove_run(self.client, self.run_id)


def make_docker_backend(cluster_spec: ClusterSpec, **_: Any) -> DockerBackend:
    """Backend-registry factory for ``docker``; a missing engine is a spec that cannot run here (254)."""
    from harness.backends.base import SpecError
    from harness.backends.docker.commands import EngineUnavailable, engine

    try:
        client = engine()
    except EngineUnavailable as e:
        raise SpecError(f"backend 'docker' needs a Docker engine: {e}") from None
    return DockerBackend(cluster_spec, client=client)
