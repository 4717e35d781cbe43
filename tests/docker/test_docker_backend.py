"""The docker backend against a real engine: clients, OS-level faults, restarts and teardown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from harness.backends.base import ClusterSpec, Indefinite, Unreachable
from harness.backends.docker.backend import DockerBackend
from harness.backends.docker.cleanup import leftovers

pytestmark = pytest.mark.docker

NODES = ("n1", "n2", "n3")


@contextlib.asynccontextmanager
async def cluster(run_dir: Path, system: str = "replication") -> AsyncIterator[DockerBackend]:
    backend = DockerBackend(ClusterSpec(system, NODES, run_dir, 3), progress=lambda _: None)
    try:
        await backend.setup()
        yield backend
    finally:
        await backend.teardown()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, node_image: Any) -> Any:
    """One cluster for the fault tests (each test uses its own keys); torn down after the module."""
    backend = DockerBackend(ClusterSpec("replication", NODES, tmp_path_factory.mktemp("shared"), 3),
                            progress=lambda _: None)
    asyncio.run(backend.setup())
    try:
        yield backend
    finally:
        asyncio.run(backend.teardown())


@pytest.fixture
def b(shared: DockerBackend) -> Any:
    """The shared cluster, put back to health after the test: no faults, every node running, clocks true."""
    yield shared

    async def restore() -> None:
        await shared.heal()
        for node in NODES:
            await shared.resume(node)
            await shared.start(node)
            await shared.set_clock_offset(node, 0.0)

    asyncio.run(restore())


class Client:
    """A tiny request helper with its own req_id counter."""

    def __init__(self, backend: DockerBackend) -> None:
        self.backend = backend
        self.req_id = 0

    async def call(self, node: str, req: dict[str, Any], timeout: float = 3.0) -> dict[str, Any]:
        self.req_id += 1
        conn = await self.backend.connect(node)
        try:
            return await conn.call({**req, "req_id": self.req_id}, timeout)
        finally:
            await conn.close()


async def eventually_ok(client: Client, node: str, req: dict[str, Any],
                        within: float = 20.0) -> dict[str, Any]:
    """Retry ``req`` until it gets a ``*_ok`` reply (bounded; a node that recovers must answer)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: object = None
    while loop.time() < deadline:
        try:
            reply = await client.call(node, req, timeout=2.0)
            if reply["type"].endswith("_ok"):
                return reply
            last = reply
        except (Unreachable, Indefinite) as e:
            last = e
        await asyncio.sleep(0.2)
    raise AssertionError(f"{node} never answered {req} with ok; last: {last!r}")


def rules(backend: DockerBackend, node: str) -> str:
    code, out = backend._containers[node].exec_run(["iptables", "-S"])
    assert code == 0
    return out.decode()


def test_cluster_serves_clients_is_confined_and_leaves_nothing(tmp_path: Path, node_image: Any,
                                                             docker_client: Any) -> None:
    async def body() -> str:
        async with cluster(tmp_path) as b:
            c = Client(b)
            assert (await c.call("n2", {"type": "write", "key": "k", "value": 7}))["type"] == "write_ok"
            assert (await c.call("n3", {"type": "read", "key": "k"}))["value"] == 7
            status = await b.node_status("n1")
            assert status["node"] == "n1" and status["core"]
            for node in NODES:
                attrs = docker_client.containers.get(b._plans[node].container).attrs
                host = attrs["HostConfig"]
                assert host["Privileged"] is False and host["CapAdd"] == ["NET_ADMIN"]
                assert attrs["Config"]["Hostname"] == node
                mounts = {m["Destination"]: m for m in attrs["Mounts"]}
                assert mounts["/opt/splitbrain/systems_under_test"]["RW"] is False
                assert mounts["/var/lib/splitbrain"]["Type"] == "volume"
            net = docker_client.networks.get(f"splitbrain-{b.run_id}")
            assert net.attrs["Internal"] is True
            return b.run_id

    run_id = asyncio.run(body())
    assert leftovers(docker_client, run_id) == {"containers": [], "networks": [], "volumes": []}
    for node in NODES:
        log = (tmp_path / "nodes" / f"{node}.log").read_text()
        assert "READY" in log and node in log


def test_partition_is_enforced_by_iptables_and_heal_flushes_it(b: DockerBackend) -> None:
    async def body() -> None:
        c = Client(b)
        await eventually_ok(c, "n2", {"type": "write", "key": "k", "value": 1})
        await b.partition({"n1": ["n3"], "n3": ["n1"]})
        n3_ip = b._plans["n3"].ip
        assert f"-A INPUT -s {n3_ip}/32 -j DROP" in rules(b, "n1")
        assert "-A INPUT" not in rules(b, "n2")
        # the correct variant needs every replica's ack: with n3 cut off from the primary, writes block
        with pytest.raises(Indefinite):
            await c.call("n2", {"type": "write", "key": "k", "value": 2}, timeout=1.5)
        await b.heal()
        assert "-A " not in rules(b, "n1") and "-A " not in rules(b, "n3")
        await eventually_ok(c, "n2", {"type": "write", "key": "k", "value": 3})
        assert (await c.call("n1", {"type": "read", "key": "k"}))["value"] == 3

    asyncio.run(body())


def test_kill_keeps_the_volume_and_restart_reinstalls_the_partition(b: DockerBackend) -> None:
    async def body() -> None:
        c = Client(b)
        await eventually_ok(c, "n1", {"type": "write", "key": "x", "value": 41})
        await b.partition({"n2": ["n3"]})
        await b.kill("n1")
        with pytest.raises((Unreachable, Indefinite)):
            await c.call("n1", {"type": "read", "key": "x"}, timeout=1.0)
        await b.kill("n2")
        await b.start("n2")
        assert f"-A INPUT -s {b._plans['n3'].ip}/32 -j DROP" in rules(b, "n2")
        await b.start("n1")
        await b.start("n1")  # no-op when running
        reply = await eventually_ok(c, "n1", {"type": "read", "key": "x"})
        assert reply["value"] == 41

    asyncio.run(body())


def test_pause_freezes_and_resume_thaws(b: DockerBackend, docker_client: Any) -> None:
    async def body() -> None:
        c = Client(b)
        await eventually_ok(c, "n3", {"type": "read", "key": "p"})
        await b.pause("n3")
        assert docker_client.containers.get(b._plans["n3"].container).status == "paused"
        with pytest.raises(Indefinite):
            await c.call("n3", {"type": "read", "key": "p"}, timeout=1.0)
        await b.resume("n3")
        await b.resume("n3")  # no-op when not paused
        assert (await c.call("n3", {"type": "read", "key": "p"}))["type"] == "read_ok"
        # a paused node can be killed outright, and comes back running (not paused) on start
        await b.pause("n2")
        await b.kill("n2")
        await b.start("n2")
        assert docker_client.containers.get(b._plans["n2"].container).status == "running"
        await eventually_ok(c, "n2", {"type": "read", "key": "p"})

    asyncio.run(body())


async def _cut_short(op: Any) -> None:
    """Start a backend op and cancel it once its engine call is under way (as the end of the main phase
    cancels the nemesis)."""
    task = asyncio.ensure_future(op)
    await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_a_kill_or_pause_cut_short_is_still_undone(b: DockerBackend, docker_client: Any) -> None:
    """A kill or pause cancelled while the engine carries it out still happens, and start / resume (the
    heal) wait for it and undo it: the node is running and answering afterwards, not left down or
    frozen through the final reads."""

    def status(node: str) -> str:
        return str(docker_client.containers.get(b._plans[node].container).status)

    async def body() -> None:
        c = Client(b)
        await eventually_ok(c, "n1", {"type": "write", "key": "cs", "value": 5})
        await _cut_short(b.kill("n1"))
        await b.start("n1")
        assert status("n1") == "running"
        assert (await eventually_ok(c, "n1", {"type": "read", "key": "cs"}))["value"] == 5
        await _cut_short(b.pause("n3"))
        await b.resume("n3")
        assert status("n3") == "running"
        await eventually_ok(c, "n3", {"type": "read", "key": "cs"})

    asyncio.run(body())


def test_clock_and_packet_faults(b: DockerBackend) -> None:
    async def body() -> None:
        before = (await b.node_status("n1"))["time"]
        await b.set_clock_offset("n1", 100.0)
        after = await b.node_status("n1")
        assert after["time"] >= before + 99.0
        await b.set_packet_faults("n1", delay=0.02, loss=0.3, dup=0.1)
        text = rules(b, "n1")
        assert text.count("-m statistic --mode random --probability") == 2
        faults = (await b.node_status("n1"))["faults"]
        assert faults["delay"] == pytest.approx(0.02) and faults["dup"] == pytest.approx(0.1)
        assert faults["loss"] == 0.0  # loss is the kernel's job here, not the runtime's
        await b.heal()
        assert "statistic" not in rules(b, "n1")
        faults = (await b.node_status("n1"))["faults"]
        assert faults["delay"] == 0.0 and faults["dup"] == 0.0

    asyncio.run(body())
