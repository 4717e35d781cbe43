"""The nemesis executor: applies fault ops to a backend and journals each one in the history.

It talks to the backend only through the capability protocols (:mod:`nemesis.capabilities`) and keeps
track of what is currently broken, so that the heal phase can undo exactly that and the progress line
can show it. Each applied fault is journaled *after* it took effect as a ``process: "nemesis"``,
``type: "info"`` op whose value is what was actually done (e.g. only the nodes that were really
killed). A fault that fails to apply is journaled with an ``error`` instead of crashing the run.

Targets that depend on the running system (``{"targets": "primaries"}``, ``{"grudge": "primaries"}``)
are resolved when the op strikes, by asking the nodes who leads, and the journal shows the nodes
actually hit. Heal is a guarantee, not a courtesy: every step is retried a few times, and a step that
still fails is journaled and does not stop the others. ``sweep`` removes faults a crashed earlier run
may have left on a reused cluster before the first op (Jepsen's partitioner heals on setup).

Time comes only from the running loop (virtual in the simulator).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

from nemesis import capabilities, grudges, targets
from nemesis.faults import CAPABILITY_OF, FaultKind, FaultOp, TimedFault
from nemesis.membership import membership_of, refusal
from nemesis.packages import Package
from nemesis.strobe import strobe

HEAL_ATTEMPTS = 3
HEAL_RETRY_DELAY = 0.5


class Journal(Protocol):
    """Where nemesis ops are recorded (``harness.run.history_log.HistoryLog`` is one)."""

    def append(
        self, type_: str, process: int | str, f: str, value: Any, *, node: str | None = None,
        error: Any = None
    ) -> Any:
        """Record one op."""


class CapabilityError(Exception):
    """The backend cannot inject a selected fault."""


def require_capabilities(
    backend: object, needed: Collection[str], backend_name: str = "", *, system: str | None = None
) -> None:
    """Raise ``CapabilityError`` naming every capability in ``needed`` that ``backend`` lacks.

    Also refused: capabilities the backend declares it cannot offer for the cluster it runs
    (:class:`nemesis.capabilities.Refusals`), and membership faults on a ``system`` without them.
    """
    wanted = sorted(set(needed))
    if system is None:  # a backend knows which system it runs (``Backend.spec.system``)
        system = getattr(getattr(backend, "spec", None), "system", None)
    name = backend_name or getattr(backend, "name", type(backend).__name__)
    lacking = capabilities.missing(backend, wanted)
    if lacking:
        raise CapabilityError(
            f"backend {name!r} cannot inject {', '.join(lacking)} faults; choose other --nemesis packages"
        )
    reasons = dict(capabilities.refused(backend, wanted))
    if "membership" in wanted and (why := refusal(system)) is not None:
        reasons["membership"] = why
    if reasons:
        text = "; ".join(f"{cap}: {why}" for cap, why in sorted(reasons.items()))
        raise CapabilityError(f"backend {name!r} cannot inject these faults here ({text}); "
                              "choose other --nemesis packages")


def capabilities_for(packages: Sequence[Package], schedule: Sequence[TimedFault] = ()) -> list[str]:
    """The capabilities needed by ``packages`` and by every op of an explicit ``schedule``."""
    needed = {p.capability for p in packages} | {CAPABILITY_OF[tf.op.kind] for tf in schedule}
    return sorted(needed)


class NemesisExecutor:
    """Applies fault ops through the capability protocols and remembers what is active."""

    def __init__(
        self, backend: Any, journal: Journal, nodes: Sequence[str], rng: random.Random | None = None
    ) -> None:
        self.backend = backend
        self.journal = journal
        self.nodes = tuple(nodes)
        self.rng = rng if rng is not None else random.Random(0)
        self.grudge: dict[str, list[str]] | None = None
        self.killed: set[str] = set()
        self.paused: set[str] = set()
        self.clock: dict[str, float] = {}
        self.packet: list[str] = []
        self.left: set[str] = set()
        self.strobes: dict[str, asyncio.Task[None]] = {}
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
        strobing = sorted(n for n, t in self.strobes.items() if not t.done())
        if strobing:
            out.append("strobing " + ",".join(strobing))
        if self.packet:
            out.append("packet faults")
        if self.left:
            out.append("left " + ",".join(sorted(self.left)))
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
        """Carry out one op.

        A fault is marked in effect *before* the backend is asked, and an undo clears its mark only
        after the backend did it: an op cut short (cancelled at the end of the main phase, or failing
        halfway through its nodes) is then still undone by the heal, and undoing a fault that never
        took is a no-op on every backend (start a running node, resume one that is not paused).
        """
        b, kind = self.backend, op.kind
        if kind is FaultKind.START_PARTITION:
            grudge = await self._grudge(op.value)
            self.grudge = grudge
            await b.partition(grudge)
            return grudge
        if kind is FaultKind.STOP_PARTITION:
            await b.heal()
            self.grudge = None
            return "fully-connected"
        if kind is FaultKind.KILL:
            targets = [n for n in await self._targets(op.value) if n not in self.killed]
            for n in targets:
                self.killed.add(n)
                await b.kill(n)
                self.paused.discard(n)
            return targets
        if kind is FaultKind.START:
            # Restarts run side by side (a real node takes a while to come up, and Jepsen restarts
            # together); a node that fails to start stays marked killed so the heal retries it.
            targets = [n for n in self._nodes(op.value) if n in self.killed]
            results = await asyncio.gather(*(b.start(n) for n in targets), return_exceptions=True)
            for n, r in zip(targets, results, strict=True):
                if not isinstance(r, BaseException):
                    self.killed.discard(n)
            for r in results:
                if isinstance(r, BaseException):
                    raise r
            return targets
        if kind is FaultKind.PAUSE:
            targets = [n for n in await self._targets(op.value) if n not in self.paused
                       and n not in self.killed]
            for n in targets:
                self.paused.add(n)
                await b.pause(n)
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
                self.clock[n] = o
                await b.set_clock_offset(n, o)
            return offsets
        if kind is FaultKind.STROBE_CLOCK:
            v = dict(op.value)
            offsets = {str(n): float(o) for n, o in dict(v.get("nodes", {})).items()}
            period, duration = float(v.get("period", 0.05)), float(v.get("duration", 1.0))
            await self._stop_strobes(offsets)
            task = asyncio.ensure_future(strobe(b, offsets, period, duration))
            for n in offsets:
                self.strobes[n] = task
                self.clock[n] = 0.0
            return {"nodes": offsets, "period": period, "duration": duration}
        if kind is FaultKind.RESET_CLOCK:
            targets = [n for n in self._nodes(op.value) if self.clock.get(n) or n in self.strobes]
            await self._stop_strobes(targets)
            for n in targets:
                await b.set_clock_offset(n, 0.0)
                self.clock[n] = 0.0
            return targets
        if kind is FaultKind.LEAVE:
            targets = [n for n in await self._targets(op.value) if n not in self.left]
            member = membership_of(b, self.nodes)
            for n in targets:
                self.left.add(n)
                await member.leave(n)
            return targets
        if kind is FaultKind.JOIN:
            targets = [n for n in self._nodes(op.value) if n in self.left]
            member = membership_of(b, self.nodes)
            for n in targets:
                await member.join(n)
                self.left.discard(n)
            return targets
        if kind is FaultKind.START_PACKET:
            v = dict(op.value)
            targets = await self._targets(v.get("nodes", self.nodes))
            args = {k: float(v.get(k, 0.0)) for k in ("delay", "loss", "dup")}
            self.packet = sorted(set(self.packet) | set(targets))
            for n in targets:
                await b.set_packet_faults(n, **args)
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
        if isinstance(value, Mapping):
            raise TypeError(f"symbolic targets {dict(value)!r} are only allowed where a fault starts")
        return [str(n) for n in value]

    async def _targets(self, value: Any) -> list[str]:
        """Concrete nodes for a node list, ``None`` (all) or a symbolic ``{"targets": spec}``."""
        if isinstance(value, Mapping) and "targets" in value:
            spec = targets.check_spec(str(value["targets"]))
            primaries = await targets.find_primaries(self.backend, self.nodes) if spec == "primaries" else []
            return targets.pick(spec, self.nodes, self.rng, primaries)
        return self._nodes(value)

    async def _grudge(self, value: Any) -> dict[str, list[str]]:
        """A concrete grudge for a grudge, ``{"grudge": builder name}`` or ``{"grudge": "primaries"}``."""
        v = dict(value)
        if set(v) == {"grudge"}:
            name = str(v["grudge"])
            if name == "primaries":
                leaders = await targets.find_primaries(self.backend, self.nodes)
                return grudges.isolate_group(self.nodes, leaders or [self.rng.choice(self.nodes)])
            if name not in grudges.BUILDERS:
                raise ValueError(
                    f"unknown grudge {name!r}; valid: {', '.join([*grudges.BUILDERS, 'primaries'])}"
                )
            return grudges.BUILDERS[name](self.nodes, self.rng)
        return {str(n): sorted(str(x) for x in xs) for n, xs in v.items()}

    async def _stop_strobes(self, nodes: Collection[str]) -> None:
        tasks = {self.strobes.pop(n) for n in list(nodes) if n in self.strobes}
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _pending_heal(self) -> list[FaultOp]:
        """The ops that would undo everything still in effect, in a safe order."""
        ops = []
        if self.grudge:
            ops.append(FaultOp(FaultKind.STOP_PARTITION))
        if self.packet:
            ops.append(FaultOp(FaultKind.STOP_PACKET, list(self.packet)))
        if self.paused:
            ops.append(FaultOp(FaultKind.RESUME, sorted(self.paused)))
        if self.killed:
            ops.append(FaultOp(FaultKind.START, sorted(self.killed)))
        clocks = sorted({n for n, o in self.clock.items() if o} | set(self.strobes))
        if clocks:
            ops.append(FaultOp(FaultKind.RESET_CLOCK, clocks))
        if self.left:  # last: a node must be up and reachable to take its data back
            ops.append(FaultOp(FaultKind.JOIN, sorted(self.left)))
        return ops

    async def heal(self) -> None:
        """Undo every fault still in effect (journaled like any fault op), retrying steps that fail.

        Partitions go first so that restarted and resumed nodes come back into a connected cluster,
        and clocks are reset after restarts so a restarted node does not come up with a stale offset.
        """
        for attempt in range(HEAL_ATTEMPTS):
            pending = self._pending_heal()
            if not pending:
                return
            if attempt:
                await asyncio.sleep(HEAL_RETRY_DELAY)
            for op in pending:
                await self.apply(op)

    async def sweep(self) -> list[str]:
        """Remove faults left over from an earlier run (not journaled: this run injected none yet).

        Partitions and packet faults are cleared wholesale where the backend can (``heal``); clock
        offsets and packet faults that nodes still report are reset one by one. Returns what was done.
        """
        done: list[str] = []
        b = self.backend
        if isinstance(b, capabilities.Net):
            with contextlib.suppress(Exception):  # a backend that cannot heal now will fail loudly later
                await b.heal()
                done.append("heal")
        for n in self.nodes:
            try:
                faults = (await b.node_status(n)).get("faults") or {}
            except Exception:  # noqa: BLE001, S112 - an unreachable node has nothing we can reset now
                continue
            offset = faults.get("clock_offset", 0.0)
            if offset and isinstance(b, capabilities.Clock):
                await b.set_clock_offset(n, 0.0)
                done.append(f"reset clock {n}")
            if _packet_faulty(faults) and isinstance(b, capabilities.Packet):
                await b.set_packet_faults(n, delay=0.0, loss=0.0, dup=0.0)
                done.append(f"clear packet faults {n}")
        return done


def _packet_faulty(faults: Mapping[str, Any]) -> bool:
    """True if a node status ``faults`` object (simulator or runtime shape) shows packet faults."""
    packet = faults.get("packet")
    src = packet if isinstance(packet, Mapping) else faults
    return any(float(src.get(k, 0.0) or 0.0) > 0.0 for k in ("delay", "loss", "dup"))
