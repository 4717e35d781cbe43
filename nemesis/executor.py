"""The nemesis executor: applies fault ops to a backend and journals each one in the history.

It talks to the backend only through the capability protocols (:mod:`nemesis.capabilities`) and keeps
track of what is currently broken, so that the heal phase can undo exactly that and the progress line
can show it. Each applied fault is journaled *after* it took effect as a ``process: "nemesis"``,
``type: "info"`` op whose value is what was actually done (e.g. only the nodes that were really
killed). A fault that fails to apply is journaled with an ``error`` instead of crashing the run.

Time comes only from the running loop (virtual in the simulator).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from nemesis import capabilities
from nemesis.faults import CAPABILITY_OF, FaultKind, FaultOp, TimedFault
from nemesis.packages import Package


class Journal(Protocol):
    """Where nemesis ops are recorded (``harness.history_log.HistoryLog`` is one)."""

    def append(
        self, type_: str, process: int | str, f: str, value: Any, *, node: str | None = None, error: Any = None
    ) -> Any:
        """Record one op."""


class CapabilityError(Exception):
    """The backend cannot inject a selected fault."""


def require_capabilities(backend: object, needed: Collection[str], backend_name: str = "") -> None:
    """Raise ``CapabilityError`` naming every capability in ``needed`` that ``backend`` lacks."""
    lacking = capabilities.missing(backend, sorted(set(needed)))
    if lacking:
        name = backend_name or getattr(backend, "name", type(backend).__name__)
        raise CapabilityError(
            f"backend {name!r} cannot inject {', '.join(lacking)} faults; choose other --nemesis packages"
        )


def capabilities_for(packages: Sequence[Package], schedule: Sequence[TimedFault] = ()) -> list[str]:
    """The capabilities needed by ``packages`` and by every op of an explicit ``schedule``."""
    needed = {p.capability for p in packages} | {CAPABILITY_OF[tf.op.kind] for tf in schedule}
    return sorted(needed)


class NemesisExecutor:
    """Applies fault ops through the capability protocols and remembers what is active."""

    def __init__(self, backend: Any, journal: Journal, nodes: Sequence[str]) -> None:
        self.backend = backend
        self.journal = journal
        self.nodes = tuple(nodes)
        self.grudge: dict[str, list[str]] | None = None
        self.killed: set[str] = set()
        self.paused: set[str] = set()
        self.clock: dict[str, float] = {}
        self.packet: list[str] = []
        self.applied = 0

    def active(self) -> list[str]:
        """Human-readable list of faults in effect now (for the progress line)."""
        out = []
        if self.grudge:
            out.append("partition")
        if self.killed:
            out.append("killed " + ",".join(sorted(self.killed)))
        if self.paused:
            out.append("paused " + ",".join(sorted(self.paused)))
        if any(self.clock.values()):
            out.append("clock " + ",".join(sorted(n for n, o in self.clock.items() if o)))
        if self.packet:
            out.append("packet faults")
        return out

    async def run(self, schedule: Sequence[TimedFault], origin: float) -> None:
        """Apply each op when loop time reaches ``origin + at`` (cancel the task to stop early)."""
        loop = asyncio.get_running_loop()
        for tf in schedule:
            delay = origin + tf.at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.apply(tf.op)

    async def apply(self, op: FaultOp) -> Any:
        """Carry out ``op`` now and journal what was done; returns the journaled value."""
        try:
            done = await self._do(op)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - a failed fault is journaled, not fatal
            self.journal.append("info", "nemesis", op.kind.value, op.value, error=f"{type(e).__name__}: {e}")
            return None
        self.applied += 1
        self.journal.append("info", "nemesis", op.kind.value, done)
        return done

    async def _do(self, op: FaultOp) -> Any:
        b, kind = self.backend, op.kind
        if kind is FaultKind.START_PARTITION:
            grudge = {str(n): sorted(str(x) for x in v) for n, v in dict(op.value).items()}
            await b.partition(grudge)
            self.grudge = grudge
            return grudge
        if kind is FaultKind.STOP_PARTITION:
            await b.heal()
            self.grudge = None
            return "fully-connected"
        if kind is FaultKind.KILL:
            targets = [n for n in self._nodes(op.value) if n not in self.killed]
            for n in targets:
                await b.kill(n)
                self.killed.add(n)
                self.paused.discard(n)
            return targets
        if kind is FaultKind.START:
            targets = [n for n in self._nodes(op.value) if n in self.killed]
            for n in targets:
                await b.start(n)
                self.killed.discard(n)
            return targets
        if kind is FaultKind.PAUSE:
            targets = [n for n in self._nodes(op.value) if n not in self.paused and n not in self.killed]
            for n in targets:
                await b.pause(n)
                self.paused.add(n)
            return targets
        if kind is FaultKind.RESUME:
            targets = [n for n in self._nodes(op.value) if n in self.paused]
            for n in targets:
                await b.resume(n)
                self.paused.discard(n)
            return targets
        if kind is FaultKind.BUMP_CLOCK:
            offsets = {str(n): float(o) for n, o in dict(op.value).items()}
            for n, o in sorted(offsets.items()):
                await b.set_clock_offset(n, o)
                self.clock[n] = o
            return offsets
        if kind is FaultKind.RESET_CLOCK:
            targets = [n for n in self._nodes(op.value) if self.clock.get(n)]
            for n in targets:
                await b.set_clock_offset(n, 0.0)
                self.clock[n] = 0.0
            return targets
        if kind is FaultKind.START_PACKET:
            v = dict(op.value)
            targets = self._nodes(v.get("nodes", self.nodes))
            args = {k: float(v.get(k, 0.0)) for k in ("delay", "loss", "dup")}
            for n in targets:
                await b.set_packet_faults(n, **args)
            self.packet = targets
            return {"nodes": targets, **args}
        if kind is FaultKind.STOP_PACKET:
            targets = [n for n in self._nodes(op.value) if n in self.packet]
            for n in targets:
                await b.set_packet_faults(n, delay=0.0, loss=0.0, dup=0.0)
            self.packet = [n for n in self.packet if n not in targets]
            return targets
        raise ValueError(f"unknown fault kind {kind!r}")

    def _nodes(self, value: Any) -> list[str]:
        if value is None:
            return list(self.nodes)
        if isinstance(value, str):
            return [value]
        return [str(n) for n in value]

    async def heal(self) -> None:
        """Undo every fault still in effect (journaled like any fault op)."""
        if self.grudge:
            await self.apply(FaultOp(FaultKind.STOP_PARTITION))
        if self.packet:
            await self.apply(FaultOp(FaultKind.STOP_PACKET, list(self.packet)))
        if self.paused:
            await self.apply(FaultOp(FaultKind.RESUME, sorted(self.paused)))
        if self.killed:
            await self.apply(FaultOp(FaultKind.START, sorted(self.killed)))
        if any(self.clock.values()):
            await self.apply(FaultOp(FaultKind.RESET_CLOCK, sorted(n for n, o in self.clock.items() if o)))
