"""The multi-key driver: every key of a keyed history searched under one shared, growing budget.

Checking keys one after the other lets one hard key starve the rest: a violation on an easy key is
found only after the hard key has spent its whole budget. Here every key's search is a resumable
generator (``search_steps``), and the keys take turns (round-robin, cheapest first) with a slice of
steps that doubles every round (iterative deepening without repeated work: a paused search keeps its
cache and resumes where it stopped). So

* a key that needs ``W`` steps is decided after at most about ``2 W`` steps of each key still open,
  whatever the order of the keys in the file;
* the first proven violation ends the check (unless every key is wanted), however hard the others are;
* a key is ``unknown`` only when its own search ran out of a budget (time, memory, configurations),
  and the result names every such key.

With ``jobs > 1`` the keys still open after a short warm-up in this process are dealt out to forked
worker processes (each continues the searches it inherits, so nothing is redone); the first worker to
prove a violation stops the others.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Any

from checkers.linearizability.budget import AUTO_MEMORY, default_memory_limit, rss_bytes
from checkers.linearizability.entries import Entry
from checkers.linearizability.reduce import (
    Reductions,
    Refutation,
    drop_unknown_nil_reads,
    impossible_read,
    is_register,
    reduce_entries,
    reduce_register,
)
from checkers.linearizability.search import SearchOptions, SearchOutcome, search_steps
from checkers.models import Model

#: steps of the first slice of every key; each round doubles it
FIRST_SLICE = 1024
#: extra configurations granted to find a prefix after an up-front refutation
REFUTATION_PREFIX_CONFIGS = 20_000
#: seconds the driver works in process before it forks workers (small checks never pay for a fork)
WARMUP_SECONDS = 0.25
_CRASHED = itemgetter(3)  # Entry.crashed


@dataclass(slots=True)
class KeyTask:
    """One key: its entries as recorded, the reduced form the search runs on, and the search itself."""

    key: Any
    entries: list[Entry]
    model: Model  # the model of the search (renamed values, see reduce)
    reduced: list[Entry]
    stats: dict[str, Any]
    refutation: Refutation | None
    cost: tuple[int, int]
    crashed: int = 0  # crashed ops the search runs with
    gen: Generator[int, int | None, SearchOutcome] | None = None
    outcome: SearchOutcome | None = None


def prepare(model: Model, key: Any, entries: Sequence[Entry], red: Reductions) -> KeyTask:
    """Drop unknown nil reads, look for an up-front refutation, apply the reductions."""
    kept, nil_reads = drop_unknown_nil_reads(model, entries)
    fused = reduce_register(model, kept, red.precheck) if red.all_pre_search and is_register(model) else None
    if fused is not None:
        refutation, rmodel, reduced, stats = fused
    else:
        refutation = impossible_read(model, kept) if red.precheck else None
        rmodel, reduced, stats = reduce_entries(model, kept, red)
    if nil_reads:
        stats["unknown_nil_reads_dropped"] = nil_reads
    crashed = sum(map(_CRASHED, reduced))
    # cheapest first: a refuted key costs a bounded prefix search; then fewer crashed ops, fewer ops
    cost = (0, 0) if refutation is not None else (1 + crashed, len(reduced))
    return KeyTask(key, kept, rmodel, reduced, stats, refutation, cost, crashed)


def advance(task: KeyTask, opts: SearchOptions, steps: int | None) -> bool:
    """Run the task's search for about ``steps`` more steps (None: to the end); True when it ended.
    The search is created on the first call (a refuted key gets a small budget: only its prefix is
    searched for)."""
    try:
        if task.gen is None:
            if task.refutation is not None:
                opts = replace(opts, max_configs=REFUTATION_PREFIX_CONFIGS)
            task.gen = search_steps(task.model, task.reduced, opts, first_slice=steps)
            next(task.gen)
        else:
            task.gen.send(steps)
    except StopIteration as done:
        finish(task, done.value)
        return True
    return False


def finish(task: KeyTask, outcome: SearchOutcome) -> None:
    """Record the outcome: ops reported as recorded (not as renamed for the search), stats completed."""
    task.gen = None
    if task.refutation is not None:
        outcome.valid = False  # the refutation is a proof; the search only supplies the prefix
        outcome.reason = ""
    if task.stats.get("unobserved_values_renamed"):
        originals = {id(e.invoke): e for e in task.entries}
        outcome.prefix = [originals.get(id(e.invoke), e) for e in outcome.prefix]
        outcome.pending = [originals.get(id(e.invoke), e) for e in outcome.pending]
        outcome.witness = [originals.get(id(e.invoke), e) for e in outcome.witness]
        if outcome.stuck is not None:
            outcome.stuck = originals.get(id(outcome.stuck.invoke), outcome.stuck)
    if task.refutation is not None:
        outcome.stuck = task.refutation.entry

    task.stats.update(
        ops=len(task.entries),
        searched=len(task.reduced),
        crashed=task.crashed,
        configs=outcome.configs,
        steps=outcome.steps,
    )
    task.outcome = outcome


def round_robin(
    tasks: list[KeyTask],
    opts: SearchOptions,
    *,
    all_keys: bool,
    slice_steps: int = FIRST_SLICE,
    until: float | None = None,
    stop: Callable[[], bool] | None = None,
    on_done: Callable[[KeyTask], None] | None = None,
) -> tuple[list[KeyTask], int]:
    """Give every open task a slice in turn, doubling the slice each round, until all have ended, a
    violation is proven (unless ``all_keys``), the clock passes ``until`` or ``stop()`` says so.
    Returns the tasks still open (in order) and the slice the next round would use."""
    live = [t for t in tasks if t.outcome is None]
    while live:
        nxt: list[KeyTask] = []
        for i, t in enumerate(live):
            if advance(t, opts, slice_steps):
                assert t.outcome is not None
                if on_done is not None:
                    on_done(t)
                if t.outcome.valid is False and not all_keys:
                    return nxt + live[i + 1 :], slice_steps
            else:
                nxt.append(t)
            if (until is not None and time.monotonic() > until) or (stop is not None and stop()):
                return nxt + live[i + 1 :], slice_steps
        live = nxt
        slice_steps *= 2
    return live, slice_steps


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def deal(tasks: list[KeyTask], jobs: int) -> list[list[KeyTask]]:
    """Deal the tasks (cheapest first) to ``jobs`` hands like cards, so each hand gets easy and hard ones."""
    hands: list[list[KeyTask]] = [[] for _ in range(min(jobs, len(tasks)))]
    for i, t in enumerate(tasks):
        hands[i % len(hands)].append(t)
    return hands


def run_jobs(live: list[KeyTask], opts: SearchOptions, *, jobs: int, all_keys: bool, slice_steps: int) -> None:
    """Continue the open tasks in ``jobs`` forked workers (each inherits its searches mid-way) and
    collect their outcomes into the tasks; the first proven violation stops every worker (unless
    ``all_keys``). Where fork is not available the tasks continue in this process."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    try:
        ctx = mp.get_context("fork")
    except ValueError:
        round_robin(live, opts, all_keys=all_keys, slice_steps=slice_steps)
        return
    hands = deal(live, jobs)
    cap = opts.memory_limit
    if cap == AUTO_MEMORY:
        cap = default_memory_limit()
    if cap is not None:  # each worker grows into its share of what is left
        now = rss_bytes()
        opts = replace(opts, memory_limit=now + max(cap - now, 0) // len(hands))
    stop = ctx.Event()
    readers = []
    procs = []
    for hand in hands:
        r, w = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_worker, args=(hand, opts, all_keys, slice_steps, stop, w), daemon=True)
        p.start()
        w.close()
        readers.append(r)
        procs.append(p)
    by_id = {id(t): t for t in live}
    ids = {r: [id(t) for t in hand] for r, hand in zip(readers, hands, strict=True)}
    open_readers = list(readers)
    while open_readers:
        for r in wait(open_readers):
            try:
                i, outcome, stats = r.recv()  # type: ignore[union-attr]
            except (EOFError, OSError):
                open_readers.remove(r)
                continue
            task = by_id[ids[r][i]]
            task.gen = None
            task.outcome = outcome
            task.stats = stats
            if outcome.valid is False and not all_keys:
                stop.set()
    for p in procs:
        p.join()
    for t in live:
        if t.outcome is None and not stop.is_set():
            # a worker died without an answer (killed from outside): say so rather than guess
            t.gen = None
            t.outcome = SearchOutcome(valid=None, reason="worker process ended without an answer")


def _worker(hand: list[KeyTask], opts: SearchOptions, all_keys: bool, slice_steps: int, stop: Any,
            conn: Any) -> None:
    """A forked worker: continue the searches of ``hand``, sending each outcome as it comes."""
    index = {id(t): i for i, t in enumerate(hand)}

    def report(t: KeyTask) -> None:
        conn.send((index[id(t)], t.outcome, t.stats))

    round_robin(hand, opts, all_keys=all_keys, slice_steps=slice_steps, stop=stop.is_set, on_done=report)
    conn.close()
