"""Third-party systems on the docker backend: the docker backend's containers, with etcd/redis inside.

Everything the docker backend does for our own nodes holds here too — per-run internal network, a
volume per node that outlives ``docker kill``, labels for cleanup, iptables partitions inside each
container, ``docker kill``/start, ``docker pause`` — only the container's command is the third-party
server instead of our node runtime, and the image carries Debian's etcd-server, etcd-client and
redis-server. What needed our runtime's control channel (message delay/duplication, clock offsets)
is refused with the reason (:meth:`ExternalDockerBackend.unsupported`). Public as
``harness.api.DockerProcesses``.

A node is *started* once its client port accepts connections; whether the cluster *serves* (etcd has
a leader, redis replicas are linked) is the subclass's ``wait_serving``, run once after setup — a
restarted member of a cluster without quorum listens but cannot serve, and the nemesis must not hang
on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from harness.backends.base import ClusterSpec, Unreachable
from harness.backends.docker import cluster
from harness.backends.docker.backend import DockerBackend
from harness.backends.docker.image import THIRD_PARTY_PACKAGES, ImageRecipe
from harness.backends.external.local_base import CLOCK
from nemesis.executor import CapabilityError

PACKET_DOCKER = ("packet faults on docker delay/duplicate through our node runtime "
                 "(the kernel has no netem); "
                 "{system} is not our runtime")


def docker_client() -> Any:
    """The engine's client; a missing engine is a spec that cannot run here (exit 254)."""
    from harness.backends.base import SpecError
    from harness.backends.docker.commands import EngineUnavailable, engine

    try:
        return engine()
    except EngineUnavailable as e:
        raise SpecError(f"backend 'docker' needs a Docker engine: {e}") from None


class ExternalDockerBackend(DockerBackend):
    """Containers running a third-party server; Net (iptables), Kill and Pause faults."""

    client_port = 0  # the server's client port inside each container
    system_name: ClassVar[str] = "this system"  # for messages: "etcd", "redis"
    faketime: ClassVar[str] = "was not tried on it"  # what libfaketime does to it (why clock faults are out)

    @classmethod
    def unsupported(cls) -> Mapping[str, str]:
        """Faults that need our node runtime's cooperation, which a third-party server lacks, and why."""
        return {"clock": CLOCK.format(system=cls.system_name, faketime=cls.faketime),
                "packet": PACKET_DOCKER.format(system=cls.system_name)}

    def __init__(self, spec: ClusterSpec, *, client: Any = None, **kw: Any) -> None:
        recipe = ImageRecipe().with_packages(THIRD_PARTY_PACKAGES)
        super().__init__(spec, recipe=recipe, client=client if client is not None else docker_client(), **kw)
        self.system = self.system_name
        self.config: dict[str, Any] = spec.node_config()

    @abstractmethod
    def server_command(self, plan: cluster.NodePlan, plans: Sequence[cluster.NodePlan]) -> list[str]:
        """The third-party server's argv in ``plan``'s container."""

    @abstractmethod
    async def wait_serving(self, timeout: float) -> None:
        """Return once the whole cluster serves clients; raise ``RuntimeError`` otherwise."""

    def _node_command(self, plan: cluster.NodePlan, plans: Sequence[cluster.NodePlan]) -> list[str]:
        """The container command: the third-party server, not our runtime."""
        return self.server_command(plan, plans)

    async def setup(self) -> None:
        """Containers up (docker backend), then wait until the cluster serves."""
        await super().setup()
        await self.wait_serving(self.ready_timeout)

    async def _wait_ready(self, node: str) -> None:
        """Wait until the server in ``node``'s container accepts TCP connections on its client port."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        plan = self._plans[node]
        container = self._containers[node]
        while True:
            try:
                _r, w = await asyncio.wait_for(asyncio.open_connection(plan.ip, self.client_port), 1.0)
                w.close()
                with contextlib.suppress(OSError):
                    await w.wait_closed()
                return
            except (OSError, TimeoutError):
                pass
            await asyncio.to_thread(container.reload)
            if container.status in ("exited", "dead"):
                out = await asyncio.to_thread(container.logs, tail=20)
                raise RuntimeError(
                    f"{self.system} node {node} exited during startup:\n{out.decode(errors='replace')}"
                )
            if loop.time() > deadline:
                raise RuntimeError(f"{self.system} node {node} did not listen within {self.ready_timeout}s")
            await asyncio.sleep(0.1)

    async def _control(self, node: str, req: dict[str, Any]) -> dict[str, Any]:
        """There is no control channel in a third-party container."""
        raise Unreachable(f"{node}: {self.system} has no control channel")

    async def _push_runtime(self, node: str) -> None:
        """Nothing to push: delay/dup and clock offsets are refused for third-party systems."""

    async def set_clock_offset(self, node: str, seconds: float) -> None:
        """Refused (the run plan refuses it earlier): see :meth:`unsupported`."""
        raise CapabilityError(self.unsupported()["clock"])

    async def set_packet_faults(
        self, node: str, *, delay: float = 0.0, loss: float = 0.0, dup: float = 0.0
    ) -> None:
        """Refused (the run plan refuses it earlier): see :meth:`unsupported`."""
        raise CapabilityError(self.unsupported()["packet"])
