"""Simulated nodes behind ``SimBackend``: effects, crash/restart, pause, clocks, client-visible errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sim_toy import ToyCore, toy_factory

from harness.backends.base import ClusterSpec, Indefinite, Unreachable
from harness.backends.sim import LinkParams, NodeState, SimBackend, run
from nemesis.capabilities import CAPABILITIES, missing

NODES = ("n1", "n2", "n3")


def _with_cluster(body: Callable[[SimBackend], Awaitable[Any]], tmp: Path,
                  config: dict[str, Any] | None = None,
                  seed: int = 1) -> Any:
    async def main() -> Any:
        b = SimBackend(ClusterSpec("toy", NODES, tmp, seed, config or {}), factory=toy_factory)
        await b.setup()
        try:
            return await body(b)
        finally:
            await b.teardown()

    return run(main())


def _core(b: SimBackend, n: str) -> ToyCore:
    core = b.nodes[n].core
    assert isinstance(core, ToyCore)
    return core


def test_backend_offers_every_fault_capability(tmp_path: Path) -> None:
    b = SimBackend(ClusterSpec("toy", NODES, tmp_path, 1), factory=toy_factory)
    assert missing(b, list(CAPABILITIES)) == []


def test_requests_replies_and_req_id_rewriting(tmp_path: Path) -> None:
    async def body(b: SimBackend) -> None:
        c = await b.connect("n2")
        r = await c.call({"type": "get", "req_id": 41}, 1.0)
        assert r["req_id"] == 41 and r["type"] == "get_ok"
        assert r["seen_req_id"] != 41  # the core saw a node-unique id, the client got its own back
        assert r["client"] == c.endpoint
        assert (await c.call({"type": "ping", "req_id": 42}, 1.0))["type"] == "ping_ok"
        await c.close()
        with pytest.raises(Unreachable):
            await c.call({"type": "get", "req_id": 43}, 1.0)

    _with_cluster(body, tmp_path)


def test_crash_keeps_only_persisted_records(tmp_path: Path) -> None:
    async def body(b: SimBackend) -> None:
        c = await b.connect("n1")
        for i in range(3):
            await c.call({"type": "inc", "req_id": i}, 1.0)
            await c.call({"type": "vinc", "req_id": 100 + i}, 1.0)
        await b.kill("n1")
        assert b.nodes["n1"].state is NodeState.CRASHED and b.nodes["n1"].core is None
        with pytest.raises(Unreachable):
            await c.call({"type": "get", "req_id": 7}, 1.0)
        with pytest.raises(Unreachable):
            await b.connect("n1")
        with pytest.raises(Unreachable):
            await b.node_status("n1")
        await b.start("n1")
        core = _core(b, "n1")
        assert core.started_with == [{"inc": 1}] * 3
        r = await c.call({"type": "get", "req_id": 8}, 1.0)
        assert (r["durable"], r["volatile"]) == (3, 0)
        assert (await b.node_status("n1"))["incarnation"] == 2

    _with_cluster(body, tmp_path)


def test_crash_cancels_timers_and_makes_in_flight_requests_indefinite(tmp_path: Path) -> None:
    async def body(b: SimBackend) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(1.05)
        assert _core(b, "n3").ticks == 10
        c = await b.connect("n3")
        await b.pause("n3")
        pending = asyncio.ensure_future(c.call({"type": "get", "req_id": 1}, 5.0))
        await asyncio.sleep(0.1)
        t = loop.time()
        await b.kill("n3")
        with pytest.raises(Indefinite):
            await pending
        assert loop.time() == pytest.approx(t)
        await asyncio.sleep(2.0)  # no timer of the dead incarnation may fire, nothing is delivered
        await b.start("n3")
        assert _core(b, "n3").ticks == 0
        await asyncio.sleep(0.55)
        assert _core(b, "n3").ticks == 5

    _with_cluster(body, tmp_path, {"tick": 0.1})


def test_pause_queues_events_until_resume(tmp_path: Path) -> None:
    async def body(b: SimBackend) -> None:
        loop = asyncio.get_running_loop()
        c = await b.connect("n2")
        await b.pause("n2")
        ticks = b.nodes["n2"].core.ticks  # type: ignore[union-attr]
        with pytest.raises(Indefinite):
            await c.call({"type": "vinc", "req_id": 1}, 0.5)
        late = asyncio.ensure_future(c.call({"type": "vinc", "req_id": 2}, 10.0))
        await asyncio.sleep(2.0)
        assert not late.done()
        assert _core(b, "n2").ticks == ticks  # timers wait
        await b.resume("n2")
        r = await late
        assert r["value"] == 2  # both queued requests were handled, in order
        assert _core(b, "n2").ticks == ticks + 1  # the due timer fired once, on resume
        assert loop.time() < 2.6

    _with_cluster(body, tmp_path, {"tick": 0.1})


def test_timer_cancelled_after_coming_due_while_paused_does_not_fire(tmp_path: Path) -> None:
    async def body(b: SimBackend) -> None:
        c = await b.connect("n1")
        await c.call({"type": "arm", "req_id": 1, "at": 1.0}, 1.0)
        await b.pause("n1")
        await asyncio.sleep(1.5)  # the alarm comes due while paused and fires on resume
        await b.resume("n1")
        assert len(_core(b, "n1").alarms) == 1
        await c.call({"type": "arm", "req_id": 2, "at": 3.0}, 1.0)
        await b.pause("n1")
        fut = asyncio.ensure_future(c.call({"type": "disarm", "req_id": 3}, 10.0))
        await asyncio.sleep(0.1)
        # the disarm is queued before the alarm comes due at t=3 -> disarm handled first, alarm dropped
        await asyncio.sleep(2.0)
        await b.resume("n1")
        await fut
        await asyncio.sleep(1.0)
        assert len(_core(b, "n1").alarms) == 1

    _with_cluster(body, tmp_path)


def test_clock_offset_shows_in_now_but_armed_timers_keep_their_remaining_time(tmp_path: Path) -> None:
    async def body(b: SimBackend) -> None:
        loop = asyncio.get_running_loop()
        c = await b.connect("n1")
        await b.set_clock_offset("n1", 100.0)
        r = await c.call({"type": "now", "req_id": 1}, 1.0)
        assert r["now"] == pytest.approx(loop.time() + 100.0, abs=0.05)
        assert (await b.node_status("n1"))["time"] == pytest.approx(loop.time() + 100.0)
        await c.call({"type": "arm", "req_id": 2, "at": loop.time() + 110.0}, 1.0)
        await b.set_clock_offset("n1", 105.0)  # the clock jumps 5 s ahead: the timer still has its 10 s
        start = loop.time()
        while not _core(b, "n1").alarms:
            await asyncio.sleep(0.25)
        assert loop.time() - start == pytest.approx(10.0, abs=0.3)

    _with_cluster(body, tmp_path)


def test_partitioned_peers_and_client_links(tmp_path: Path) -> None:
    async def body(b: SimBackend) -> None:
        c = await b.connect("n1")
        await b.partition({"n1": ["n2"]})  # n1 drops pongs from n2: pings never complete
        with pytest.raises(Indefinite):
            await c.call({"type": "ping", "req_id": 1}, 1.0)
        await b.heal()
        assert (await c.call({"type": "ping", "req_id": 2}, 1.0))["type"] == "ping_ok"
        await b.partition({c.endpoint: ["n1"]})  # the client link itself
        with pytest.raises(Indefinite):
            await c.call({"type": "get", "req_id": 3}, 1.0)

    _with_cluster(body, tmp_path)


def test_logs_are_collected(tmp_path: Path) -> None:
    async def body(b: SimBackend) -> SimBackend:
        await b.kill("n2")
        await b.start("n2")
        c = await b.connect("n1")
        await c.call({"type": "arm", "req_id": 1, "at": 0.5}, 1.0)
        await asyncio.sleep(1)
        return b

    b = _with_cluster(body, tmp_path)
    b.collect_logs(tmp_path / "nodes")
    assert sorted(p.name for p in (tmp_path / "nodes").iterdir()) == ["n1.log", "n2.log", "n3.log"]
    assert "crash" in (tmp_path / "nodes" / "n2.log").read_text()
    assert "alarm at 0.500" in (tmp_path / "nodes" / "n1.log").read_text()


def test_core_rng_is_seeded_per_node_and_incarnation(tmp_path: Path) -> None:
    async def body(b: SimBackend) -> list[float]:
        out = []
        for n in NODES:
            c = await b.connect(n)
            out.append((await c.call({"type": "rand", "req_id": 1}, 1.0))["value"])
        return out

    first = _with_cluster(body, tmp_path, seed=5)
    assert first == _with_cluster(body, tmp_path, seed=5)
    assert len(set(first)) == 3
    assert first != _with_cluster(body, tmp_path, seed=6)


def test_real_loop_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        await SimBackend(ClusterSpec("toy", NODES, tmp_path, 1), factory=toy_factory).setup()

    with pytest.raises(RuntimeError, match="virtual-time loop"):
        asyncio.run(main())


def test_lossy_client_link_gives_indefinite(tmp_path: Path) -> None:
    async def main() -> None:
        b = SimBackend(ClusterSpec("toy", NODES, tmp_path, 1), factory=toy_factory,
                       client_link=LinkParams(loss=1.0))
        await b.setup()
        c = await b.connect("n1")
        with pytest.raises(Indefinite):
            await c.call({"type": "get", "req_id": 1}, 0.2)
        await b.teardown()
        await b.teardown()  # idempotent

    run(main())


def test_sim_config_sets_links_and_is_not_passed_to_cores(tmp_path: Path) -> None:
    from harness.backends.sim import SIM_CONFIG_KEY, make_sim_backend

    config = {SIM_CONFIG_KEY: {"peer_link": {"base": 0.25, "jitter": 0, "loss": 0.5, "reorder": False}},
              "tick": 0}
    b = make_sim_backend(ClusterSpec("toy", NODES, tmp_path, 1, config), factory=toy_factory)
    assert b.peer_link == LinkParams(base=0.25, jitter=0.0, loss=0.5, reorder=False)
    assert dict(b.spec.config) == {"tick": 0}
    with pytest.raises(ValueError, match="unknown link parameter"):
        make_sim_backend(ClusterSpec("toy", NODES, tmp_path, 1, {SIM_CONFIG_KEY: {"peer_link": {"lag": 1}}}),
                         factory=toy_factory)
    assert LinkParams.from_dict(LinkParams(dup=0.1).to_dict()) == LinkParams(dup=0.1)
