"""A fault kind written outside ``nemesis/``: "slow" makes nodes send everything late (no loss).

It is the whole of a new fault: its handlers, its table entries with their value shapes, and how a
``--nemesis slow`` package draws one. The test registers it with one line (or an entry point).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from nemesis.faults import FaultOp, PluginKind
from nemesis.table import FaultSpec, nodes_or_null, nodes_or_targets


async def start_slow(ex: Any, op: FaultOp) -> Any:
    targets = await ex._targets(op.value)
    for n in targets:
        await ex.backend.set_packet_faults(n, delay=0.05)
    return targets


async def stop_slow(ex: Any, op: FaultOp) -> Any:
    targets = ex._nodes(op.value)
    for n in targets:
        await ex.backend.set_packet_faults(n, delay=0.0)
    return targets


def draw(nodes: Sequence[str], rng: random.Random) -> FaultOp:
    return FaultOp(PluginKind("start-slow"), [rng.choice(list(nodes))])


SPECS = (
    FaultSpec("start-slow", "packet", "slow", "packet", "rgba(121,85,72,0.15)", "null, node ids or targets",
              start_slow, "stop-slow", nodes_or_targets, draw, "nodes send everything 50 ms late"),
    FaultSpec("stop-slow", "packet", "slow", "packet", "rgba(121,85,72,0.15)", "null or node ids", stop_slow,
              validate=nodes_or_null),
)
