"""Fault drills shared by the real-process backends (local, docker): inject each kind, observe, heal.

Each drill drives a running paxos cluster through the nemesis executor and judges the fault by what
clients and node status show, so the same drill holds every backend to the same promise.
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.backends.base import Indefinite, Unreachable
from nemesis.executor import NemesisExecutor
from nemesis.faults import FaultKind, FaultOp
from nemesis.grudges import isolate
from nemesis.targets import find_primaries
from nemesis.verify import residual_faults

NODES = ("n1", "n2", "n3")


class Journal:
    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []

    def append(
        self, type_: str, process: Any, f: str, value: Any, *, node: Any = None, error: Any = None
    ) -> None:
        self.ops.append({"f": f, "value": value, "error": error})


async def _call(b: Any, node: str, req: dict[str, Any], timeout: float = 1.0) -> dict[str, Any] | str:
    try:
        conn = await b.connect(node)
    except Unreachable:
        return "unreachable"
    try:
        return await conn.call({**req, "req_id": 1}, timeout)
    except Unreachable:
        return "unreachable"
    except Indefinite:
        return "indefinite"
    finally:
        await conn.close()


async def _write(b: Any, node: str, value: int, timeout: float = 1.0) -> bool:
    r = await _call(b, node, {"type": "write", "key": "k", "value": value}, timeout)
    return isinstance(r, dict) and r.get("type") == "write_ok"


async def _until(check: Any, limit: float = 8.0) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while loop.time() < end:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


async def drill_every_fault(backend: Any) -> None:
    """Partition, pause, kill, clock bump and strobe, packet delay, startup sweep — each observed and
    healed."""
    ex = NemesisExecutor(backend, Journal(), NODES)
    loop = asyncio.get_running_loop()
    assert await _until(lambda: _write(backend, "n1", 0))
    leader = (await find_primaries(backend, NODES))[0]
    other = next(n for n in NODES if n != leader)

    # partition: the isolated node cannot commit, the majority side serves; heal recovers
    await ex.apply(FaultOp(FaultKind.START_PARTITION, isolate(NODES, other)))
    assert not await _write(backend, other, 1, timeout=1.0)
    assert await _until(lambda: _write(backend, leader, 2))
    await ex.heal()
    assert await _until(lambda: _write(backend, other, 3))

    # pause: nothing answers until resumed
    await ex.apply(FaultOp(FaultKind.PAUSE, [other]))
    assert await _call(backend, other, {"type": "read", "key": "k"}, 0.5) == "indefinite"
    await ex.heal()
    assert isinstance(await _call(backend, other, {"type": "read", "key": "k"}, 3.0), dict)

    # kill: refused connections; after start it serves again with its data
    assert await _until(lambda: _write(backend, other, 42))
    await ex.apply(FaultOp(FaultKind.KILL, [other]))
    assert await _call(backend, other, {"type": "read", "key": "k"}) == "unreachable"
    await ex.heal()

    async def reads_42() -> bool:
        r = await _call(backend, other, {"type": "read", "key": "k"}, 2.0)
        return isinstance(r, dict) and r.get("value") == 42

    assert await _until(reads_42)

    # clock: a bump shows in the node's reported time; a strobe flips it; reset undoes both
    async def skew(n: str) -> float:
        return float((await backend.node_status(n))["time"]) - loop.time()

    await ex.apply(FaultOp(FaultKind.BUMP_CLOCK, {other: 100.0}))
    assert 99.0 < await skew(other) < 100.5
    await ex.apply(
        FaultOp(FaultKind.STROBE_CLOCK, {"nodes": {leader: 50.0}, "period": 0.05, "duration": 5.0})
    )
    seen = set()
    for _ in range(15):
        seen.add(round(await skew(leader) / 50.0))
        await asyncio.sleep(0.03)
    assert seen == {0, 1}
    await ex.heal()
    assert abs(await skew(other)) < 1.0 and abs(await skew(leader)) < 1.0

    # packet: delay on what the leader sends slows commits; heal restores them
    await ex.apply(FaultOp(FaultKind.START_PACKET, {"nodes": [leader], "delay": 0.3}))
    t0 = loop.time()
    assert await _write(backend, leader, 5, timeout=3.0)
    assert loop.time() - t0 >= 0.3
    await ex.heal()
    assert await residual_faults(backend, NODES) == []

    # startup sweep: leftovers set behind the nemesis's back are found and removed
    await backend.set_clock_offset("n3", 9.0)
    await backend.set_packet_faults("n2", loss=0.5)
    await backend.partition({"n1": ["n2"]})
    assert len(await residual_faults(backend, NODES)) == 3
    await ex.sweep()
    assert await residual_faults(backend, NODES) == []
    assert all(op["error"] is None for op in ex.journal.ops)  # type: ignore[attr-defined]
