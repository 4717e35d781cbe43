"""The virtual-time loop: time jumps instead of sleeping, threads stop the clock, deadlocks are named."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness.backends.sim import SimDeadlock, VirtualTimeLoop, new_loop, run


def test_long_sleep_takes_no_wall_time() -> None:
    async def main() -> float:
        await asyncio.sleep(3600)
        return asyncio.get_running_loop().time()

    t0 = time.perf_counter()
    assert run(main()) == pytest.approx(3600.0)
    assert time.perf_counter() - t0 < 1.0


def test_callbacks_fire_in_virtual_time_order() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        seen: list[tuple[str, float]] = []

        async def sleeper(name: str, d: float) -> None:
            await asyncio.sleep(d)
            seen.append((name, loop.time()))

        await asyncio.gather(sleeper("c", 3.0), sleeper("a", 1.0), sleeper("b", 2.5))
        return seen

    seen = run(main())
    assert [n for n, _ in seen] == ["a", "b", "c"]
    assert [t for _, t in seen] == pytest.approx([1.0, 2.5, 3.0])


def test_wait_for_timeout_is_virtual() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(loop.create_future(), 5.0)
        return loop.time()

    assert run(main(), start=10.0) == pytest.approx(15.0)


def test_deadlock_is_reported_instead_of_hanging() -> None:
    async def main() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(SimDeadlock, match="deadlock"):
        run(main())


def test_thread_work_stops_the_clock() -> None:
    async def main() -> tuple[float, float, int]:
        loop = asyncio.get_running_loop()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.001)
                ticks += 1

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.0105)
        before = loop.time()
        got = await asyncio.to_thread(lambda: (time.sleep(0.05), 7)[1])
        after = loop.time()
        task.cancel()
        return before, after, got

    before, after, got = run(main())
    assert got == 7
    assert after == pytest.approx(before)


def test_factory_builds_virtual_loops() -> None:
    loop = new_loop(5.0)
    try:
        assert isinstance(loop, VirtualTimeLoop)
        assert loop.time() == 5.0
    finally:
        loop.close()


def test_event_queue_orders_cancels_and_interleaves_with_loop_timers() -> None:
    from harness.backends.sim.events import EventQueue

    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        q = EventQueue(loop)
        seen: list[tuple[str, float]] = []

        def note(name: str) -> None:
            seen.append((name, loop.time()))
            if name == "b":  # an event scheduling another, earlier than what is queued
                q.call_at(loop.time() + 0.1, note, "b2")

        q.call_at(3.0, note, "c")
        q.call_at(1.0, note, "a")
        q.call_at(2.0, note, "b")
        q.call_at(2.5, note, "dead").cancel()
        loop.call_at(2.05, lambda: seen.append(("loop", loop.time())))
        await asyncio.sleep(5)
        return seen

    seen = run(main())
    assert [n for n, _ in seen] == ["a", "b", "loop", "b2", "c"]
    assert [t for _, t in seen] == pytest.approx([1.0, 2.0, 2.05, 2.1, 3.0])
