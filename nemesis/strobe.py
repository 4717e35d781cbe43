"""Clock strobes: a node's clock flipping between two readings many times a second.

A bump moves a clock once; a strobe makes it jump back and forth (Jepsen's ``strobe-time``), which is
what exposes code that assumes time never goes backwards between two readings — lease checks,
timeouts computed from differences, timestamps used as versions. It runs as a background task on the
loop clock (virtual in the simulator) so the rest of the schedule goes on while a clock strobes, and
it can be cancelled at any moment by a reset or the final heal.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

MIN_PERIOD = 0.001


async def strobe(backend: Any, offsets: Mapping[str, float], period: float, duration: float) -> None:
    """Alternate each node's clock offset between its delta and 0 every ``period`` for ``duration`` s.

    The clocks are left at offset 0 when the strobe ends or is cancelled (best effort: a node that is
    down keeps the desired offset in the backend and gets it when it restarts).
    """
    loop = asyncio.get_running_loop()
    period = max(float(period), MIN_PERIOD)
    end = loop.time() + max(0.0, float(duration))
    high = True
    try:
        while loop.time() < end:
            for node, delta in sorted(offsets.items()):
                with contextlib.suppress(Exception):  # a node that cannot be reached now is retried next flip
                    await backend.set_clock_offset(node, float(delta) if high else 0.0)
            high = not high
            await asyncio.sleep(min(period, max(0.0, end - loop.time())) or MIN_PERIOD)
    finally:
        for node in sorted(offsets):
            with contextlib.suppress(Exception):
                await asyncio.shield(backend.set_clock_offset(node, 0.0))
