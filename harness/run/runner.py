"""The runner: drives one test through its phases on any backend (DESIGN §6).

``execute`` is the asyncio core — setup, main (clients + nemesis), heal, quiesce, final reads,
teardown (always, in ``finally``) — and uses nothing but ``asyncio``, the backend interface and the
loop clock, so the same code runs against real processes and inside the virtual-time simulator.
Everything around it that touches the file system and the wall clock (run dir, checking, report,
store index) lives in :mod:`harness.run.session`.

Clients follow Jepsen's process model: ``concurrency`` workers, worker ``i`` bound to node
``nodes[i % n]`` and starting as process ``i``. An op whose outcome is unknown (``info``) retires the
process — it may still take effect at any later time, so the same process must not invoke again —
and the worker continues as process ``old + concurrency`` on a fresh connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from checkers.history import FAIL, INFO, INVOKE, OK, Op
from harness.backends.base import Backend, Connection, Indefinite, SetupError, Unreachable
from harness.run.history_log import Counts, HistoryLog
from harness.run.plan import RunPlan, plan_of
from harness.run.seeds import child_rng
from harness.run.spec import RunSpec
from harness.workloads import Invocation, Workload
from nemesis.executor import NemesisExecutor
from nemesis.faults import TimedFault

Progress = Callable[[str, Counts, list[str]], None]
"""Called with (phase, running counts, active faults) after every op and at each phase change."""

HEAL_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What happened: the history, how far the run got, and whether it was cut short."""

    ops: tuple[Op, ...]
    phase: str  # the last phase entered
    interrupted: bool  # cancelled (Ctrl-C / SIGTERM)
    error: str | None  # the crash, formatted, if the run crashed
    schedule: tuple[TimedFault, ...]
    faults_applied: int
    setup_error: str | None = None  # the cluster did not start (the system's fault, not the harness's)


class Pacer:
    """Hands out main-phase ops at ``rate`` per second on average until ``deadline`` (loop time).

    Gaps are uniform in ``[0, 2/rate]`` (Jepsen's stagger) and shared by all clients, so the total
    rate holds whatever the concurrency. A client that was busy gets the next free slot, not a burst.
    """

    def __init__(self, workload: Workload, rate: float, rng: random.Random, origin: float, deadline: float):
        self.workload = workload
        self.rate = rate
        self.rng = rng
        self.deadline = deadline
        self._next_at = origin

    async def next(self) -> Invocation | None:
        """Wait for the next slot and return its op, or None once the time limit is reached."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(self._next_at, now)
        if at >= self.deadline:
            return None
        self._next_at = at + self.rng.uniform(0.0, 2.0 / self.rate)
        if at > now:
            await asyncio.sleep(at - now)
        if loop.time() >= self.deadline:
            return None
        return self.workload.next_op()


class FinalOps:
    """The final-read phase's ops, handed out as fast as clients take them; one that does not succeed is
    handed out again after a pause, a few times.

    Why: a correct system may still be settling after the heal (an in-doubt transaction holds its locks
    until its decision arrives), and final reads that all abort at once left a run with nothing to
    check, so its verdict was "unknown" for no fault of the system.
    """

    RETRIES = 5
    BACKOFF = 0.5  # seconds

    def __init__(self, ops: Sequence[Invocation]) -> None:
        self._ops = list(ops)
        self._tries: dict[int, int] = {}

    async def next(self) -> Invocation | None:
        """The next final op, or None when all were handed out."""
        return self._ops.pop(0) if self._ops else None

    def again(self, inv: Invocation) -> bool:
        """Queue ``inv`` once more unless it already had its retries; True if queued."""
        tries = self._tries.get(id(inv), 0)
        if tries >= self.RETRIES:
            return False
        self._tries[id(inv)] = tries + 1
        self._ops.append(inv)
        return True


class _Worker:
    """One client thread of control: a process id, a bound node and a connection."""

    def __init__(self, index: int, spec: RunSpec, backend: Backend, workload: Workload, history: HistoryLog):
        self.spec = spec
        self.backend = backend
        self.workload = workload
        self.history = history
        self.node = spec.node_ids[index % spec.nodes]
        self.process = index
        self.conn: Connection | None = None
        self.req_id = 0
        self.last_type = ""  # the completion type of the last op (OK, FAIL or INFO)

    async def _retire_connection(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            with contextlib.suppress(Exception):  # closing a dead connection may fail; nothing to do
                await conn.close()

    async def run(self, source: Pacer | FinalOps) -> None:
        """Invoke ops from ``source`` one at a time until it runs dry.

        After an op fails because the node was unreachable (refused instantly), the client waits its
        fair share of the rate (``concurrency / rate``) before asking for another op: otherwise the
        clients of a dead node, never waiting for replies, would grab most of the shared op slots and
        starve the clients of live nodes, which are the ones that can expose a bug.
        """
        try:
            while (inv := await source.next()) is not None:
                reachable = await self.invoke(inv)
                if isinstance(source, FinalOps) and self.last_type != OK and source.again(inv):
                    await asyncio.sleep(FinalOps.BACKOFF)
                elif not reachable:
                    await asyncio.sleep(self.spec.concurrency / self.spec.rate)
        finally:
            await self._retire_connection()

    async def invoke(self, inv: Invocation) -> bool:
        """Perform one op and record its invocation and completion; False if the node was unreachable."""
        h, process, node = self.history, self.process, self.node
        h.append(INVOKE, process, inv.f, inv.value, node=node)
        self.last_type = INFO
        if self.conn is None:
            try:
                self.conn = await self.backend.connect(node)
            except (Unreachable, OSError) as e:
                h.append(FAIL, process, inv.f, inv.value, node=node, error=["unreachable", str(e)])
                return False
        self.req_id += 1
        req = {**self.workload.request(inv), "req_id": self.req_id}
        try:
            reply = await self.conn.call(req, self.spec.op_timeout)
        except Unreachable as e:
            h.append(FAIL, process, inv.f, inv.value, node=node, error=["unreachable", str(e)])
            await self._retire_connection()
            return False
        except Indefinite as e:
            h.append(INFO, process, inv.f, inv.value, node=node, error=["indefinite", str(e)])
            await self._retire_process()
            return True
        done = self.workload.complete(inv, reply)
        h.append(done.type, process, inv.f, done.value, node=node, error=done.error)
        self.last_type = done.type
        if done.type == INFO:
            await self._retire_process()
        return True

    async def _retire_process(self) -> None:
        self.process += self.spec.concurrency
        await self._retire_connection()


async def _cancel(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def execute(
    backend: Backend,
    plan: RunPlan | RunSpec,
    history: HistoryLog,
    progress: Progress | None = None,
    *,
    workload: Workload | None = None,
    schedule: Sequence[TimedFault] | None = None,
) -> RunOutcome:
    """Run every phase of one ``plan`` on ``backend``, journaling into ``history``; teardown always runs.

    Everything was resolved and validated when the plan was built (a spec is planned here, for callers
    that start from one); an explicit ``schedule`` is validated against the plan's backend before setup.
    Cancellation (Ctrl-C) heals and tears down, then returns an outcome marked ``interrupted``.
    """
    loop = asyncio.get_running_loop()
    plan = plan_of(plan)
    if schedule is not None:
        plan = plan.with_schedule(schedule)
    spec = plan.spec
    wl = workload if workload is not None else plan.new_workload()
    sched = list(plan.schedule)
    nemesis = NemesisExecutor(backend, history, spec.node_ids, child_rng(spec.seed, "nemesis-targets"))
    phase = "setup"

    def report(new_phase: str | None = None) -> None:
        nonlocal phase
        if new_phase is not None:
            phase = new_phase
        if progress is not None:
            progress(phase, history.counts, nemesis.active())

    listener = (lambda _op: report()) if progress is not None else None
    if listener is not None:
        history.listeners.append(listener)
    interrupted, error, setup_error = False, None, None
    history.start_clock()
    try:
        report("setup")
        await backend.setup()
        await nemesis.sweep()  # Jepsen heals on setup: leftovers of a crashed earlier run on a reused cluster
        report("main")
        origin = loop.time()
        pacer = Pacer(wl, spec.rate, child_rng(spec.seed, "pacer"), origin, origin + spec.time_limit)
        workers = [_Worker(i, spec, backend, wl, history) for i in range(spec.concurrency)]
        nemesis_task = asyncio.ensure_future(nemesis.run(sched, origin))
        client_tasks = [asyncio.ensure_future(w.run(pacer)) for w in workers]
        try:
            await asyncio.gather(*client_tasks)
        finally:
            await _cancel([*client_tasks, nemesis_task])
        report("heal")
        await nemesis.heal()
        await nemesis.confirm_healed()
        report("quiesce")
        await asyncio.sleep(spec.quiesce)
        report("final")
        final = FinalOps(wl.final_ops())
        final_tasks = [asyncio.ensure_future(w.run(final)) for w in workers]
        try:
            await asyncio.gather(*final_tasks)
        finally:
            await _cancel(final_tasks)
        report("done")
    except asyncio.CancelledError:
        interrupted = True
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        await _best_effort(nemesis.heal())
    except SetupError as e:
        setup_error = str(e)
    except Exception:  # noqa: BLE001 - any crash is reported, after healing and teardown
        error = traceback.format_exc()
        await _best_effort(nemesis.heal())
    finally:
        try:
            await asyncio.wait_for(backend.teardown(), HEAL_TIMEOUT)
        except Exception:  # noqa: BLE001
            error = (error or "") + "teardown failed:\n" + traceback.format_exc()
        if listener is not None:
            history.listeners.remove(listener)
    return RunOutcome(tuple(history.ops), phase, interrupted, error, tuple(sched), nemesis.applied,
                      setup_error)


async def _best_effort(coro: Any) -> None:
    with contextlib.suppress(Exception):  # healing a broken cluster may fail; teardown follows anyway
        await asyncio.wait_for(coro, HEAL_TIMEOUT)
