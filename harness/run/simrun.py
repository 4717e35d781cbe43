"""Run one ``RunSpec`` entirely in the simulator, in memory or streaming its history to a file.

This is the simulator's equivalent of the session around the runner: it builds a ``SimBackend`` for
the spec, drives the ordinary :func:`harness.run.runner.execute` on a fresh virtual-time loop and hands
back the outcome plus the simulator's own counters. The explorer and the benchmark call it many times
per second; ``splitbrain run --backend sim`` goes through the normal session with the same backend.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends.base import ClusterSpec
from harness.backends.sim.backend import SimBackend, make_sim_backend
from harness.backends.sim.loop import new_loop
from harness.backends.sim.network import LinkParams
from harness.run.history_log import HistoryLog
from harness.run.plan import RunPlan, plan_of
from harness.run.runner import Progress, RunOutcome, execute
from harness.run.spec import RunSpec
from nemesis.faults import TimedFault


@dataclass(frozen=True, slots=True)
class SimRun:
    """One simulated run: the runner's outcome, simulator counters and the wall time it took."""

    outcome: RunOutcome
    stats: dict[str, Any]
    wall_seconds: float
    backend: SimBackend


def cluster_spec(spec: RunSpec | RunPlan, run_dir: Path | None = None) -> ClusterSpec:
    """The backend-level cluster spec of a run, seeded exactly as ``harness.run.session`` seeds it."""
    return plan_of(spec).cluster(run_dir or Path("."))


def run_spec(
    spec: RunSpec | RunPlan,
    *,
    history_path: Path | None = None,
    peer_link: LinkParams | None = None,
    client_link: LinkParams | None = None,
    schedule: Sequence[TimedFault] | None = None,
    progress: Progress | None = None,
) -> SimRun:
    """Run a spec (planned here) or a plan on a fresh virtual-time loop; the history goes to ``history_path``.

    The simulator is the host whatever backend the spec names (the explorer plans for ``sim``).
    """
    plan = plan_of(spec)
    if schedule is not None:
        plan = plan.with_schedule(schedule)
    links = {k: v for k, v in (("peer_link", peer_link), ("client_link", client_link)) if v is not None}
    backend = make_sim_backend(plan.cluster(history_path.parent if history_path else Path(".")), **links)
    history = HistoryLog(history_path)
    box: list[RunOutcome] = []

    async def main() -> None:
        # The outcome leaves through ``box``, not as the task's result: asyncio.Runner builds the repr
        # of its main task (result included) when it swaps the SIGINT handler back, and the repr of a
        # whole history took a noticeable share of a short run.
        box.append(await execute(backend, plan, history, progress))

    t0 = time.perf_counter()
    try:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            runner.run(main())
    finally:
        history.close()
    wall = time.perf_counter() - t0
    outcome = box[0]
    stats = backend.stats() if backend._loop is not None else {}
    return SimRun(outcome, stats, wall, backend)
