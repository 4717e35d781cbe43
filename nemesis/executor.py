"""The nemesis executor: applies fault ops to a backend and journals each one in the history.

It talks to the backend only through the capability protocols (:mod:`nemesis.capabilities`) and keeps
track of what is currently broken, so that the heal phase can undo exactly that and the progress line
can show it. Each applied fault is journaled *after* it took effect as a ``process: "nemesis"``,
``type: "info"`` op whose value is what was actually done (e.g. only the nodes that were really
killed). A fault that fails to apply is journaled with an ``error`` instead of crashing the run.

Targets that depend on the running system (``{"targets": "primaries"}``, ``{"grudge": "primaries"}``)
are resolved when the op strikes, by asking the nodes who leads, and the journal shows the nodes
actually hit. Heal is a guarantee, not a courtesy: every step is retried a few times, and a step that
still fails is journaled and does not stop the others; then ``confirm_healed`` asks the nodes what is
still in effect and repairs it. ``sweep`` removes faults a crashed earlier run may have left on a reused
cluster before the first op (Jepsen's partitioner heals on setup).

Time comes only from the running loop (virtual in the simulator).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Collection, Coroutine, Mapping, Sequence
from typing import Any, Protocol

from nemesis import capabilities, grudges, targets
from nemesis.faults import ANNOUNCED, ANY_EVENT, FaultKind, FaultOp, TimedFault
from nemesis.membership import refusal
from nemesis.packages import Package
from nemesis.table import BUILTIN, CAPABILITY_OF, kind_named, spec_of
from nemesis.verify import residual_faults

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
        self.plugin_open: dict[str, str] = {}  # plugin fault start in force -> the kind that undoes it
        self.strobes: dict[str, asyncio.Task[None]] = {}
        self.applied = 0
        self.aimed_hits = 0  # aimed faults that struck at their event (the rest struck when the window ended)
        self._armed: tuple[TimedFault, str, asyncio.Future[str]] | None = None
        self._watching = False
        self.announced: dict[str, None] = {}  # event kinds the run announced so far, in order of first sight
        self._event_node: str | None = None
        self.last_struck: str | None = None  # the node announcing the last event an aimed fault struck at

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
        out += sorted(self.plugin_open)
        return out

    async def run(self, schedule: Sequence[TimedFault], origin: float) -> None:
        """Apply each op when loop time reaches ``origin + at`` (cancel the task to stop early)."""
        loop = asyncio.get_running_loop()
        if any(tf.on is not None for tf in schedule):
            self._watch()  # from the start, so that ``announced`` knows every kind the run announces
        for tf in schedule:
            delay = origin + tf.at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if tf.on is not None:
                await self._aimed(tf)
            else:
                await self.apply(tf.op)

    def _watch(self) -> None:
        if not self._watching and isinstance(self.backend, capabilities.Events):
            self.backend.watch_events(self._on_event)
            self._watching = True

    def _event_kind(self, on: str) -> str:
        """The event name an aimed fault waits for: ``announced`` draws one of the kinds seen so far."""
        if on != ANNOUNCED:
            return on
        return self.rng.choice(sorted(self.announced)) if self.announced else ANY_EVENT

    async def _aimed(self, tf: TimedFault) -> None:
        """Wait up to ``tf.window`` for the event ``tf.on`` and strike at it; else strike when it ends."""
        if isinstance(self.backend, capabilities.Events) and tf.window > 0:
            self._watch()
            fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._armed = (tf, self._event_kind(str(tf.on)), fut)
            try:
                done, _ = await asyncio.wait({fut}, timeout=tf.window)
            finally:
                self._armed = None
            if done:
                return
        self._event_node = None
        await self.apply(tf.op)

    def _on_event(self, node: str, name: str, data: Mapping[str, Any]) -> None:
        """The backend's event callback: strike an armed fault now, before the node's next effect."""
        self.announced.setdefault(name)
        armed = self._armed
        if armed is None or (armed[1] not in (ANY_EVENT, name)) or armed[2].done():
            return
        self._armed = None
        tf = armed[0]
        self.last_struck = node
        self.aimed_hits += 1
        if tf.after > 0 and isinstance(self.backend, capabilities.Steps):
            self.backend.after_messages(node, tf.after, lambda: self._strike(node, tf.op))
        else:
            self._strike(node, tf.op)
        armed[2].set_result(node)

    def _strike(self, node: str, op: FaultOp) -> None:
        """Carry out an aimed ``op`` now, inside the backend's callback, with ``node`` as the event's node."""
        self._event_node = node
        _drive(self.apply(op))  # targets are resolved before its first real suspension
        self._event_node = None

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
        """Carry out one op through its handler in the fault table (:mod:`nemesis.handlers`).

        Kinds a plugin registered are remembered while in force, so that the heal undoes them too.
        """
        spec = spec_of(op.kind)
        done = await spec.handler(self, op)
        name = op.kind.value
        if name not in BUILTIN:
            if spec.undo is not None:
                self.plugin_open[name] = spec.undo
            else:
                for start, undo in list(self.plugin_open.items()):
                    if undo == name:
                        del self.plugin_open[start]
        return done

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
        if isinstance(value, Mapping) and value.get("targets") == "event":
            node = self._event_node or self.last_struck
            if node is not None:
                return [node]
            value = {"targets": "primaries"}  # no event came: whoever leads is the best guess
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
            struck = self._event_node or self.last_struck
            if name == "event" and struck is not None:
                return grudges.isolate_group(self.nodes, [struck])
            if name in ("primaries", "event"):
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
        ops += [FaultOp(kind_named(undo), None) for undo in dict.fromkeys(self.plugin_open.values())]
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

    async def confirm_healed(self) -> list[str]:
        """Ask the nodes whether the heal took (``nemesis.verify``); repair what they still report.

        The heal undoes what the executor's own record says is broken; the nodes are the authority. What
        they still report is asked again after a moment (a restarted node may still be coming up), then
        repaired up to ``HEAL_ATTEMPTS`` times: silent or frozen nodes are resumed (a no-op where nothing
        is paused), partitions, packet faults and clocks cleared wholesale (``sweep``). A node that is
        down is not restarted: it may have crashed on its own, which the run must show, not hide. When
        the nodes reported anything, a ``heal-check`` op journals it, with what is left as its error.
        Returns what is left (empty: healed).
        """
        if not callable(getattr(self.backend, "node_status", None)):
            return []  # nothing to ask
        found = await residual_faults(self.backend, self.nodes)
        if found:
            await asyncio.sleep(HEAL_RETRY_DELAY)
            found = await residual_faults(self.backend, self.nodes)
        if not found:
            return []
        left = found
        for attempt in range(HEAL_ATTEMPTS):
            if attempt:
                await asyncio.sleep(HEAL_RETRY_DELAY)
            await self._repair(left)
            left = await residual_faults(self.backend, self.nodes)
            if not left:
                break
        error = ("still in effect: " + "; ".join(left)) if left else None
        self.journal.append("info", "nemesis", "heal-check", found, error=error)
        return left

    async def _repair(self, faults: Sequence[str]) -> None:
        """Resume the nodes ``faults`` name as silent or frozen, then ``sweep``."""
        b = self.backend
        if isinstance(b, capabilities.Pause):
            for n in self.nodes:
                if any(f.startswith((f"{n} does not answer", f"{n} is ")) for f in faults):
                    with contextlib.suppress(Exception):  # what is still broken is checked again after
                        await b.resume(n)
        await self.sweep()

    async def sweep(self) -> list[str]:
        """Remove faults left over from an earlier run, or that the nodes still report after the heal
        (not journaled itself).

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


def _drive(coro: Coroutine[Any, Any, Any]) -> None:
    """Run ``coro`` synchronously as far as it goes, then finish it as a task.

    A fault aimed at an event must take effect inside the simulator's event callback, before the node
    carries out its next effect; the simulator's fault methods never really suspend, so the coroutine
    completes right here. On a backend whose methods do suspend, the rest runs as an ordinary task.
    """
    try:
        yielded = coro.send(None)
    except StopIteration:
        return

    async def rest(yielded: Any) -> None:
        while True:
            try:
                if yielded is None:
                    await asyncio.sleep(0)
                    value = None
                else:
                    value = await yielded
            except BaseException as e:  # noqa: BLE001 - handed to the coroutine, as await would
                try:
                    yielded = coro.throw(e)
                except StopIteration:
                    return
                continue
            try:
                yielded = coro.send(value)
            except StopIteration:
                return

    asyncio.ensure_future(rest(yielded))


def _packet_faulty(faults: Mapping[str, Any]) -> bool:
    """True if a node status ``faults`` object (simulator or runtime shape) shows packet faults."""
    packet = faults.get("packet")
    src = packet if isinstance(packet, Mapping) else faults
    return any(float(src.get(k, 0.0) or 0.0) > 0.0 for k in ("delay", "loss", "dup"))
