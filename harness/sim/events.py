"""The simulated cluster's own event queue: message deliveries and node timers, drained in bulk.

Why not one asyncio timer per event: a busy cluster (heartbeats, retransmissions, many small messages)
makes tens of thousands of events per virtual minute, and each asyncio ``TimerHandle`` costs an object,
Python-level heap comparisons and a full ``_run_once`` turn (with a selector poll) to fire. Here events
are plain tuples in a heap, ordered by ``(time, sequence number)``; one asyncio timer stands for the
earliest. When it fires, the queue runs every due event and then keeps going in time order for as long
as the loop has nothing else that would run first (``VirtualTimeLoop.try_jump``): so the interleaving
with the runner's own timers and tasks is exactly what separate asyncio timers would give, only cheaper.
Cancelling is lazy (the entry is marked dead and skipped when it comes up).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable
from typing import Any

BATCH = 2000  # events per drain before the loop gets a turn (signals, thread wake-ups)


class Event:
    """A scheduled callback; ``cancel()`` it to make it a no-op."""

    __slots__ = ("alive", "args", "fn")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.alive = True

    def cancel(self) -> None:
        """Do not run this event."""
        self.alive = False


class EventQueue:
    """Time-ordered callbacks on the running loop's clock (virtual time on ``VirtualTimeLoop``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[tuple[float, int, Event]] = []
        self._seq = 0
        self._wake: asyncio.TimerHandle | None = None
        self._wake_at: float | None = None
        self._draining = False
        self._jump = getattr(loop, "try_jump", None)
        self.ran = 0

    def __len__(self) -> int:
        return len(self._heap)

    def call_at(self, at: float, fn: Callable[..., Any], *args: Any) -> Event:
        """Run ``fn(*args)`` at loop time ``at``."""
        ev = Event(fn, args)
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, ev))
        if not self._draining and (self._wake_at is None or at < self._wake_at):
            self._arm(at)  # while draining, the drain re-arms once at its end
        return ev

    def _arm(self, at: float) -> None:
        if self._wake is not None:
            self._wake.cancel()
        self._wake = self.loop.call_at(at, self._drain)
        self._wake_at = at

    def _drain(self) -> None:
        if self._wake is not None:
            self._wake.cancel()
        self._wake = self._wake_at = None
        heap, loop, jump = self._heap, self.loop, self._jump
        budget = BATCH
        self._draining = True
        try:
            while heap and budget > 0:
                at, _, ev = heap[0]
                if not ev.alive:
                    heapq.heappop(heap)
                    continue
                if at > loop.time() and (jump is None or not jump(at)):
                    break
                heapq.heappop(heap)
                budget -= 1
                self.ran += 1
                ev.fn(*ev.args)
        finally:
            self._draining = False
            while heap and not heap[0][2].alive:
                heapq.heappop(heap)
            if heap:
                self._arm(heap[0][0])

    def clear(self) -> None:
        """Drop every pending event."""
        self._heap.clear()
        if self._wake is not None:
            self._wake.cancel()
        self._wake = self._wake_at = None
