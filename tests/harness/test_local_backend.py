"""The local backend against real node processes: start, client calls, kill/restart, pause, partition,
teardown."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from harness.backends.base import ClusterSpec, Indefinite, Unreachable
from harness.backends.local import LocalBackend

pytestmark = pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / "systems_under_test" / "runtime" / "__main__.py").is_file(),
    reason="the node runtime (systems_under_test.runtime) is not present yet",
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_cluster_lifecycle_and_faults(tmp_path: Path) -> None:
    backend = LocalBackend(ClusterSpec("replication", ("n1", "n2", "n3"), tmp_path, 5))

    async def go() -> None:
        await backend.setup()
        try:
            c2 = await backend.connect("n2")
            assert (await c2.call({"type": "write", "key": "a", "value": 1, "req_id": 1}, 3.0))[
                "type"
            ] == "write_ok"
            c1 = await backend.connect("n1")
            assert (await c1.call({"type": "read", "key": "a", "req_id": 7}, 3.0)) == {
                "req_id": 7, "type": "read_ok", "value": 1}
            # kill: the open connection breaks, new ones are refused; restart keeps the data
            await backend.kill("n1")
            with pytest.raises((Indefinite, Unreachable)):
                await c1.call({"type": "read", "key": "a", "req_id": 8}, 2.0)
            with pytest.raises(Unreachable):
                await backend.connect("n1")
            await backend.start("n1")
            c1 = await backend.connect("n1")
            assert (await c1.call({"type": "read", "key": "a", "req_id": 9}, 3.0))["value"] == 1
            # pause: requests go unanswered (indefinite), resume answers again
            await backend.pause("n3")
            c3 = await backend.connect("n3")
            with pytest.raises(Indefinite):
                await c3.call({"type": "read", "key": "a", "req_id": 1}, 0.3)
            await backend.resume("n3")
            c3 = await backend.connect("n3")
            assert (await c3.call({"type": "read", "key": "a", "req_id": 2}, 3.0))["type"] == "read_ok"
            # partition and clock go through the control channel and show in status
            await backend.partition({"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]})
            await backend.set_clock_offset("n2", 100.0)
            s2 = await backend.node_status("n2")
            assert s2["node"] == "n2" and s2["pid"] == backend.nodes["n2"].proc.pid  # type: ignore[union-attr]
            assert s2["faults"]["drop_from"] == ["n1"] and s2["faults"]["clock_offset"] == 100.0
            # a node restarted mid-partition gets its share of the grudge again
            await backend.kill("n3")
            await backend.start("n3")
            assert (await backend.node_status("n3"))["faults"]["drop_from"] == ["n1"]
            await backend.heal()
            assert (await backend.node_status("n2"))["faults"]["drop_from"] == []
            for c in (c1, c2, c3):
                await c.close()
        finally:
            await backend.teardown()

    asyncio.run(go())
    pids = backend.pids()
    assert len(pids) == 5  # three nodes plus two restarts
    assert not any(_alive(p) for p in pids)
    backend.collect_logs(tmp_path / "nodes")
    assert sorted(os.listdir(tmp_path / "nodes")) == ["n1.log", "n2.log", "n3.log"]
    assert "incarnation 2" in (tmp_path / "nodes" / "n1.log").read_text()


def _core_the_node_cannot_import(*args: object) -> None:
    """A core factory in a test module: the node process has no such module, so it fails to start."""


def test_failed_start_names_the_node_and_cleans_up(tmp_path: Path) -> None:
    from systems_under_test.registry import Variant

    broken = Variant("replication:broken", "a core the node cannot import", True,
                     _core_the_node_cannot_import)  # type: ignore[arg-type]
    backend = LocalBackend(ClusterSpec("replication:broken", ("n1",), tmp_path, 1, variant=broken))

    async def go() -> None:
        try:
            await backend.setup()
        finally:
            await backend.teardown()

    with pytest.raises(RuntimeError, match="n1 did not become ready"):
        asyncio.run(go())
    assert not any(_alive(p) for p in backend.pids())


def test_free_ports_are_distinct_bindable_and_outside_the_ephemeral_range() -> None:
    import socket

    from harness.backends.local import _ephemeral_range, free_ports

    ports = free_ports(8)
    assert len(set(ports)) == 8
    lo, _ = _ephemeral_range()
    if lo > 10100:
        assert all(10000 <= p < lo for p in ports)
    for p in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))


class _Draws:
    """A stand-in for ``random.SystemRandom`` that draws ports from a fixed list, round and round."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.i = 0

    def randrange(self, _lo: int, _hi: int) -> int:
        port = self.ports[self.i % len(self.ports)]
        self.i += 1
        return port


def test_free_ports_never_hands_out_an_excluded_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second call for one cluster must not return a port of the first (closed again, so bindable)."""
    from harness.backends import local

    first, others = local.free_ports(2), local.free_ports(2, exclude=local.free_ports(2))
    draws = [*first, *(p for p in others if p not in first)]
    monkeypatch.setattr(local.random, "SystemRandom", lambda: _Draws(draws))
    again = local.free_ports(2, exclude=first)
    assert len(set(again)) == 2 and not set(again) & set(first)


def test_a_kill_cut_short_after_its_signal_is_still_undone_by_start(tmp_path: Path) -> None:
    """The nemesis is cancelled at the end of the main phase, possibly inside a kill between the SIGKILL
    and the reaping of the process; the heal's start must then restart the node, not take the dying
    process for a running one (the node would stay down through the final reads)."""
    backend = LocalBackend(ClusterSpec("replication", ("n1", "n2", "n3"), tmp_path, 5))

    async def go() -> None:
        await backend.setup()
        try:
            old_pid = backend.nodes["n2"].proc.pid  # type: ignore[union-attr]
            kill = asyncio.ensure_future(backend.kill("n2"))
            await asyncio.sleep(0)  # the kill sends its signal, then awaits the process
            kill.cancel()
            with pytest.raises(asyncio.CancelledError):
                await kill
            await backend.start("n2")
            status = await backend.node_status("n2")
            assert status["pid"] != old_pid
            c2 = await backend.connect("n2")
            assert (await c2.call({"type": "write", "key": "a", "value": 3, "req_id": 1}, 3.0))[
                "type"] == "write_ok"
            assert (await c2.call({"type": "read", "key": "a", "req_id": 2}, 3.0))["value"] == 3
            await c2.close()
        finally:
            await backend.teardown()

    asyncio.run(go())
    assert len(backend.pids()) == 4
