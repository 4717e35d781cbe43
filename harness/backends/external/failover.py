"""Operator-style Redis failover, scripted by the harness: promote a replica when the primary is cut off.

This is what Sentinel (or an operator with a runbook) does, reduced to its decisions so that a run is
reproducible and the decisions land in a log the report can show:

* **detect** — the primary is judged down when the harness cannot PING it, or when more than half of
  the replicas report their link to it down (``master_link_status:down``; with ``repl-timeout`` short,
  a replica notices a silent primary within seconds). The replicas' vote is what makes a partition
  count on docker, where the harness itself can still reach an isolated primary: Sentinels would sit
  next to the replicas, not next to the harness. It must stay down for ``down_after`` seconds.
* **promote** — the reachable replica with the highest replication offset (the most data) gets
  ``REPLICAOF NO ONE``; every other node is pointed at it.
* **demote** — a node that could not be reached then (the old primary, paused or partitioned) keeps
  being told to follow the new primary until it answers: the moment a deposed primary comes back it
  still believes it is the primary, and whatever it accepts before it is demoted is thrown away when it
  resynchronises from the new one. That window, and the writes the new primary never had, are the
  losses the set workload measures.

Time comes only from the running loop; the admin I/O is behind :class:`Admin` so the logic is testable
without Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Admin(Protocol):
    """Administrative access to the nodes (each call gives up quickly and returns None/False)."""

    async def ping(self, node: str) -> bool:
        """True if ``node`` answered PING."""

    async def replication(self, node: str) -> dict[str, Any] | None:
        """``INFO replication`` of ``node`` as a dict, or None if it did not answer."""

    async def replicaof(self, node: str, primary: str | None) -> bool:
        """Make ``node`` follow ``primary`` (None: become a primary); True if it acknowledged."""


@dataclass(frozen=True, slots=True)
class Policy:
    """How fast the supervisor judges and acts (seconds)."""

    down_after: float = 1.0
    interval: float = 0.25
    demote_every: float = 1.0  # Sentinel re-reads each node's INFO only every few seconds: the same lag


def choose_successor(infos: dict[str, dict[str, Any] | None], old: str, order: Sequence[str]) -> str | None:
    """The reachable replica holding the most data (highest offset; ties by node order), or None."""
    best: tuple[int, int] | None = None
    winner = None
    for node, info in infos.items():
        if node == old or info is None or info.get("role") != "slave":
            continue
        offset = int(info.get("slave_repl_offset", info.get("master_repl_offset", 0)) or 0)
        key = (offset, -order.index(node))
        if best is None or key > best:
            best, winner = key, node
    return winner


def replicas_say_down(infos: dict[str, dict[str, Any] | None], primary: str) -> bool:
    """True when more than half of the replicas report their link to ``primary`` down."""
    replicas = [n for n in infos if n != primary]
    if not replicas:
        return False
    down = sum(1 for n in replicas if (infos[n] or {}).get("master_link_status") == "down")
    return 2 * down > len(replicas)


class Supervisor:
    """Watches the primary and fails over; ``primary`` is who clients should talk to now."""

    def __init__(self, nodes: Sequence[str], primary: str, admin: Admin, policy: Policy,
                 log: Callable[[str], None]) -> None:
        self.nodes = tuple(nodes)
        self.primary = primary
        self.admin = admin
        self.policy = policy
        self.log = log
        self.deposed: set[str] = set()
        self.failovers = 0
        self._down_since: float | None = None
        self._last_demote = float("-inf")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start watching in a background task."""
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stop watching (idempotent)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - a failed check must not stop the watch
                self.log(f"supervisor error: {type(e).__name__}: {e}")
            await asyncio.sleep(self.policy.interval)

    async def _infos(self) -> dict[str, dict[str, Any] | None]:
        others = [n for n in self.nodes if n != self.primary]
        results = await asyncio.gather(*(self.admin.replication(n) for n in others))
        return dict(zip(others, results, strict=True))

    async def tick(self) -> None:
        """One round: judge the primary, fail over once it has been down long enough, demote the deposed."""
        now = asyncio.get_running_loop().time()
        alive, infos = await asyncio.gather(self.admin.ping(self.primary), self._infos())
        if alive and not replicas_say_down(infos, self.primary):
            self._down_since = None
        elif self._down_since is None:
            self._down_since = now
            self.log(f"primary {self.primary} looks down ({'no PING' if not alive else 'replicas lost it'})")
        elif now - self._down_since >= self.policy.down_after:
            await self.failover(infos)
        if now - self._last_demote >= self.policy.demote_every:
            self._last_demote = now
            await self.demote_deposed()

    async def failover(self, infos: dict[str, dict[str, Any] | None]) -> str | None:
        """Promote the best replica and repoint everyone else; returns the new primary (None: none could
        be)."""
        old = self.primary
        winner = choose_successor(infos, old, self.nodes)
        if winner is None:
            self.log(f"primary {old} down but no replica is reachable: cannot fail over")
            return None
        if not await self.admin.replicaof(winner, None):
            self.log(f"promoting {winner} failed; will retry")
            return None
        self.primary = winner
        self.failovers += 1
        self._down_since = None
        offsets = {n: (i or {}).get("slave_repl_offset") for n, i in infos.items()}
        self.log(f"FAILOVER {self.failovers}: {old} -> {winner} (replica offsets {offsets})")
        self.deposed.discard(winner)
        self.deposed.update(n for n in self.nodes if n != winner)
        await self.demote_deposed()
        return winner

    async def demote_deposed(self) -> None:
        """Point every deposed node at the current primary; those that do not answer stay deposed."""
        if not self.deposed:
            return
        todo = sorted(self.deposed)
        done = await asyncio.gather(*(self._demote(n) for n in todo))
        for node, ok in zip(todo, done, strict=True):
            if ok:
                self.deposed.discard(node)
                self.log(f"{node} now follows {self.primary}")

    async def _demote(self, node: str) -> bool:
        """Tell ``node`` to follow the primary, but only once it answers again.

        Like Sentinel, nothing is sent to a node that does not answer: a command written to a frozen
        process would sit in its socket buffer and take effect the instant it resumes, hiding exactly
        the window in which a returning primary still accepts writes.
        """
        return await self.admin.ping(node) and await self.admin.replicaof(node, self.primary)
