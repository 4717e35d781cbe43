"""How the executor carries out each built-in fault kind: one coroutine per kind, named in the table.

Each handler takes the :class:`nemesis.executor.NemesisExecutor` (its backend, its record of what is
broken, its target resolution) and the op, does the op through the capability protocols, and returns
what it actually did (the value the history journals). A fault is marked in effect *before* the
backend is asked, and an undo clears its mark only after the backend did it: an op cut short (cancelled
at the end of the main phase, or failing halfway through its nodes) is then still undone by the heal,
and undoing a fault that never took is a no-op on every backend (start a running node, resume one
that is not paused). A plugin's handler follows the same contract.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nemesis.faults import FaultOp
from nemesis.membership import membership_of
from nemesis.strobe import strobe


async def start_partition(ex: Any, op: FaultOp) -> Any:
    """Cut the network by a grudge (concrete, named, or aimed at the leaders / the event's node)."""
    grudge = await ex._grudge(op.value)
    ex.grudge = grudge
    await ex.backend.partition(grudge)
    return grudge


async def stop_partition(ex: Any, op: FaultOp) -> Any:
    """Heal every partition."""
    await ex.backend.heal()
    ex.grudge = None
    return "fully-connected"


async def kill(ex: Any, op: FaultOp) -> Any:
    """Crash the target nodes (a paused node that is killed is no longer paused)."""
    targets = [n for n in await ex._targets(op.value) if n not in ex.killed]
    for n in targets:
        ex.killed.add(n)
        await ex.backend.kill(n)
        ex.paused.discard(n)
    return targets


async def start(ex: Any, op: FaultOp) -> Any:
    """Restart killed nodes side by side (a real node takes a while to come up, and Jepsen restarts
    together); a node that fails to start stays marked killed so the heal retries it."""
    targets = [n for n in ex._nodes(op.value) if n in ex.killed]
    results = await asyncio.gather(*(ex.backend.start(n) for n in targets), return_exceptions=True)
    for n, r in zip(targets, results, strict=True):
        if not isinstance(r, BaseException):
            ex.killed.discard(n)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return targets


async def pause(ex: Any, op: FaultOp) -> Any:
    """Freeze the target nodes that are neither paused nor killed already."""
    targets = [n for n in await ex._targets(op.value) if n not in ex.paused and n not in ex.killed]
    for n in targets:
        ex.paused.add(n)
        await ex.backend.pause(n)
    return targets


async def resume(ex: Any, op: FaultOp) -> Any:
    """Thaw paused nodes."""
    targets = [n for n in ex._nodes(op.value) if n in ex.paused]
    for n in targets:
        await ex.backend.resume(n)
        ex.paused.discard(n)
    return targets


async def bump_clock(ex: Any, op: FaultOp) -> Any:
    """Offset node clocks (``{"targets": spec, "offset": s}``: the nodes the spec picks when it strikes)."""
    v = dict(op.value)
    if set(v) == {"targets", "offset"}:
        offsets = {n: float(v["offset"]) for n in await ex._targets({"targets": v["targets"]})}
    else:
        offsets = {str(n): float(o) for n, o in v.items()}
    for n, o in sorted(offsets.items()):
        ex.clock[n] = o
        await ex.backend.set_clock_offset(n, o)
    return offsets


async def strobe_clock(ex: Any, op: FaultOp) -> Any:
    """Flip node clocks between +0 and an offset every period, in the background."""
    v = dict(op.value)
    offsets = {str(n): float(o) for n, o in dict(v.get("nodes", {})).items()}
    period, duration = float(v.get("period", 0.05)), float(v.get("duration", 1.0))
    await ex._stop_strobes(offsets)
    task = asyncio.ensure_future(strobe(ex.backend, offsets, period, duration))
    for n in offsets:
        ex.strobes[n] = task
        ex.clock[n] = 0.0
    return {"nodes": offsets, "period": period, "duration": duration}


async def reset_clock(ex: Any, op: FaultOp) -> Any:
    """Stop strobes and put node clocks back."""
    targets = [n for n in ex._nodes(op.value) if ex.clock.get(n) or n in ex.strobes]
    await ex._stop_strobes(targets)
    for n in targets:
        await ex.backend.set_clock_offset(n, 0.0)
        ex.clock[n] = 0.0
    return targets


async def leave(ex: Any, op: FaultOp) -> Any:
    """Ask the system to remove nodes from its membership."""
    targets = [n for n in await ex._targets(op.value) if n not in ex.left]
    member = membership_of(ex.backend, ex.nodes)
    for n in targets:
        ex.left.add(n)
        await member.leave(n)
    return targets


async def join(ex: Any, op: FaultOp) -> Any:
    """Ask the system to take nodes back."""
    targets = [n for n in ex._nodes(op.value) if n in ex.left]
    member = membership_of(ex.backend, ex.nodes)
    for n in targets:
        await member.join(n)
        ex.left.discard(n)
    return targets


async def start_packet(ex: Any, op: FaultOp) -> Any:
    """Delay, drop and duplicate what the target nodes send."""
    v = dict(op.value)
    targets = await ex._targets(v.get("nodes", ex.nodes))
    args = {k: float(v.get(k, 0.0)) for k in ("delay", "loss", "dup")}
    ex.packet = sorted(set(ex.packet) | set(targets))
    for n in targets:
        await ex.backend.set_packet_faults(n, **args)
    return {"nodes": targets, **args}


async def stop_packet(ex: Any, op: FaultOp) -> Any:
    """Clear packet faults."""
    targets = [n for n in ex._nodes(op.value) if n in ex.packet]
    for n in targets:
        await ex.backend.set_packet_faults(n, delay=0.0, loss=0.0, dup=0.0)
    ex.packet = [n for n in ex.packet if n not in targets]
    return targets
