"""The simulated cluster's own event queue: message deliveries and node timers, drained in bulk.

Why not one asyncio timer per event: a busy cluster (heartbeats, retransmissions, many small messages)
makes tens of thousands of events per virtual minute, and each asyncio ``TimerHandle`` costs an object,
Python-level heap comparisons and a full ``_run_once`` turn (with a selector poll) to fire. Here events
are plain lists ``[time, seq, fn, args]`` in a heap, ordered by ``(time, sequence number)``; message
deliveries (never cancelled) get no handle object at all (:meth:`EventQueue.post`); one asyncio timer stands
for the
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

    __slots__ = ("_entry",)

    def __init__(self, entry: list[Any]) -> None:
        self._entry = entry

    @property
    def alive(self) -> bool:
        """False once cancelled (or run)."""
        return self._entry[2] is not None

    def cancel(self) -> None:
        """Do not run this event."""
        self._entry[2] = None


class EventQueue:
    """Time-ordered callbacks on the running loop's clock (virtual time on ``VirtualTimeLoop``).

    Heap entries are lists ``[time, seq, fn, args]``: ``seq`` is unique, so two entries never compare
    further than their first two fields, and cancelling sets ``fn`` to None in place (no handle object
    is needed for the many events nobody cancels -- see :meth:`post`).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[list[Any]] = []
        self._seq = 0
        self._wake: asyncio.TimerHandle | None = None
        self._wake_at: float | None = None
        self._draining = False
        self._jump = getattr(loop, "try_jump", None)
        self.ran = 0

    def __len__(self) -> int:
        return len(self._heap)

    def call_at(self, at: float, fn: Callable[..., Any], *args: Any) -> Event:
        """Run ``fn(*args)`` at loop time ``at``; the returned handle can cancel it."""
        entry = self._push(at, fn, args)
        return Event(entry)

    def post(self, at: float, fn: Callable[..., Any], *args: Any) -> None:
        """Like :meth:`call_at` for an event that is never cancelled (no handle is made)."""
        self._seq += 1
        heapq.heappush(self._heap, [at, self._seq, fn, args])
        if not self._draining and (self._wake_at is None or at < self._wake_at):
            self._arm(at)  # while draining, the drain re-arms once at its end

    def _push(self, at: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> list[Any]:
        self._seq += 1
        entry = [at, self._seq, fn, args]
        heapq.heappush(self._heap, entry)
        if not self._draining and (self._wake_at is None or at < self._wake_at):
            self._arm(at)
        return entry

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
        pop = heapq.heappop
        budget = BATCH
        ran = 0
        now = loop.time()  # only a successful jump moves the clock while we drain
        self._draining = True
        try:
            while heap and budget > 0:
                entry = heap[0]
                fn = entry[2]
                if fn is None:
                    pop(heap)
                    continue
                at = entry[0]
                if at > now:
                    if jump is None or not jump(at):
                        break
                    now = loop.time()
                pop(heap)
                entry[2] = None  # ran: a late cancel() is a no-op
                budget -= 1
                ran += 1
                fn(*entry[3])
        finally:
            self.ran += ran
            self._draining = False
            while heap and heap[0][2] is None:
                pop(heap)
            if heap:
                self._arm(heap[0][0])

    def clear(self) -> None:
        """Drop every pending event."""
        self._heap.clear()
        if self._wake is not None:
            self._wake.cancel()
        self._wake = self._wake_at = None
