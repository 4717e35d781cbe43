"""A virtual-time asyncio event loop: the simulator's clock.

Why a real asyncio loop and not a hand-written scheduler: the runner, generators, clients and nemesis
are ordinary asyncio code that only ever asks ``loop.time()`` and awaits sleeps, timeouts and futures.
If the loop's notion of time is virtual, that unchanged code runs against the simulated cluster.

How: ``SelectorEventLoop`` asks its selector to wait ``timeout`` seconds for I/O whenever nothing is
ready and the next timer is in the future. Our selector polls the real file descriptors without
waiting (the loop's self-pipe still matters: signal handlers and ``call_soon_threadsafe`` use it) and,
if nothing is there, *advances the virtual clock by ``timeout``* instead of sleeping. So virtual time
jumps from one scheduled callback to the next and a 60 s test takes as long as its callbacks take.

Two guards keep that honest:

* Work handed to threads (``run_in_executor``, ``asyncio.to_thread``, the executor shutdown) is waited
  for in *real* time with the virtual clock stopped, so it looks instantaneous and cannot make the
  outcome depend on how fast the machine is.
* If nothing is ready, nothing is scheduled and no thread is working, no event can ever arrive: a real
  loop would hang forever. We raise :class:`SimDeadlock` instead, naming the situation.
"""

from __future__ import annotations

import asyncio
import heapq
import selectors
from collections.abc import Callable, Mapping
from typing import Any

POLL_EVERY = 32
"""Poll the real fds on every this many loop turns (and always while a thread works or nothing is
scheduled). A poll is a system call per turn; the only real fd that matters when no thread is busy is
the loop's self-pipe, and what is written there (a ``call_soon_threadsafe`` wake-up) has already put
its callback on the ready queue, so reading it a few turns later changes nothing that runs."""


class SimDeadlock(RuntimeError):
    """Nothing is ready, scheduled or running in a thread: the simulated program can never progress."""


class VirtualSelector(selectors.BaseSelector):
    """A selector that polls the real one without blocking and otherwise advances virtual time."""

    def __init__(self, loop_ref: Callable[[], VirtualTimeLoop]) -> None:
        self._real = selectors.DefaultSelector()
        self._loop_ref = loop_ref
        self._turns = 0

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        """Register with the real selector."""
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        """Unregister from the real selector."""
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        """Modify a real registration."""
        return self._real.modify(fileobj, events, data)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        """The real selector's key for ``fileobj``."""
        return self._real.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        """The real selector's map."""
        return self._real.get_map()

    def close(self) -> None:
        """Close the real selector."""
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        """Poll real fds; if none is ready, jump the virtual clock by ``timeout`` (never sleep)."""
        loop = self._loop_ref()
        self._turns += 1
        if timeout is None or loop._threads_busy > 0 or not self._turns % POLL_EVERY:
            events = self._real.select(0)
            if events:
                return events
        if loop._threads_busy > 0:
            # Thread work is waited for in real time with the virtual clock stopped (determinism).
            return self._real.select(None if timeout is None else 0.05)
        if timeout is None:
            raise SimDeadlock(
                f"simulation deadlock at virtual time {loop.time():.6f}s: no callback is ready or "
                "scheduled and no thread is working, so nothing can ever happen again"
            )
        if timeout > 0:
            loop._advance(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is virtual (starts at ``start``, moves only when idle)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._threads_busy = 0
        self.steps = 0  # how many times the clock jumped (a cheap activity measure)
        super().__init__(VirtualSelector(lambda: self))

    def time(self) -> float:
        """The virtual clock, in seconds."""
        return self._now

    def try_jump(self, when: float) -> bool:
        """Move the clock to ``when`` if no ready callback and no timer would run before it.

        Lets a component that keeps its own time-ordered queue (the simulated network) handle its next
        event directly instead of through one loop iteration per event; the order of events is the same.
        """
        if self._ready or self._stopping:  # type: ignore[attr-defined]
            return False
        sched = self._scheduled  # type: ignore[attr-defined]
        while sched and sched[0]._cancelled:  # what _run_once would do first anyway
            self._timer_cancelled_count -= 1  # type: ignore[attr-defined]
            heapq.heappop(sched)._scheduled = False
        if sched and sched[0]._when <= when:
            return False
        if when > self._now:
            self._now = when
            self.steps += 1
        return True

    def _advance(self, dt: float) -> None:
        """Move the clock forward by ``dt`` seconds (only the selector calls this, when idle)."""
        self._now += dt
        self.steps += 1

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        """Run ``func`` in a thread; virtual time stands still until it finishes."""
        fut = super().run_in_executor(executor, func, *args)
        self._threads_busy += 1
        fut.add_done_callback(self._thread_done)
        return fut

    def _thread_done(self, _fut: asyncio.Future[Any]) -> None:
        self._threads_busy -= 1

    async def shutdown_default_executor(self, *args: Any) -> None:
        """Shut the default executor down; its helper thread counts as thread work."""
        self._threads_busy += 1
        try:
            await super().shutdown_default_executor(*args)
        finally:
            self._threads_busy -= 1


def new_loop(start: float = 0.0) -> VirtualTimeLoop:
    """A fresh virtual-time loop (a ``loop_factory`` for ``asyncio.Runner``)."""
    return VirtualTimeLoop(start)


def run(coro: Any, *, start: float = 0.0, debug: bool | None = None) -> Any:
    """Like ``asyncio.run`` but on a virtual-time loop."""
    with asyncio.Runner(loop_factory=lambda: new_loop(start), debug=debug) as runner:
        return runner.run(coro)
