"""Linearizability checking (DESIGN §7): is there a sequential order of the operations, consistent with
their real-time order, that the model accepts?

``check(history, model)`` splits keyed histories per key (P-compositionality: a history of independent
objects is linearizable iff each object's sub-history is), shrinks each sub-history soundly
(``reduce``), refutes the obvious cases up front, then runs the searches (``search``) under the
multi-key driver (``driver``): the keys take turns, cheapest first, with a slice of steps that doubles
every round, so one hard key never holds back a violation on another; ``jobs > 1`` continues the keys
still open after a short warm-up in forked workers. The first invalid key stops the check unless
``all_keys``. The budgets turn a hopeless search into ``unknown`` with the reason, naming every
undecided key: ``time_limit`` seconds over the whole check, ``memory_limit`` bytes of resident memory
("auto": 60 % of what is free when the search first checks), ``max_configs`` configurations per key
(by default 1,000,000 when there is no time limit, none when there is one).

Conventions: ``fail`` ops never happened, except a cas whose comparison failed (error 22), which is
kept as an observation (``failed_cas="auto"``; ``"observe"`` keeps every failed cas, ``"drop"`` none).
``info`` ops and invocations that never completed may take effect at any time after their invocation,
or never. With a non-nil initial register value and no op storing nil, a read that returned nil is a
read whose value is unknown (Knossos' convention for Jepsen histories); our own registers start as nil,
so there every nil read is an observation. ``keyed=None`` detects ``[key, value]`` histories (see
``entries``). Without ``time_limit`` the search is bounded only by ``max_configs``.

Result details (JSON-able): ``model``, ``keyed``, ``keys``, ``keys_checked``, ``invalid_keys``,
``unknown_keys``, ``stats`` (per-key sizes, reductions, configurations, steps), and for an invalid
history ``counterexample`` (the first failing key) and ``counterexamples`` (all found): the op that
cannot be placed, the longest linearizable prefix in linearization order, the states it could leave,
the ops concurrent with the stuck one and a one-paragraph ``explanation``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from operator import attrgetter, eq, itemgetter
from typing import Any

from checkers.history import Op
from checkers.linearizability.budget import AUTO_MEMORY
from checkers.linearizability.driver import WARMUP_SECONDS, KeyTask, advance, prepare, round_robin, run_jobs
from checkers.linearizability.entries import Entry, split_history
from checkers.linearizability.explain import counterexample_pair, op_dict
from checkers.linearizability.reduce import Reductions
from checkers.linearizability.search import SearchOptions, SearchOutcome
from checkers.models import Model, get_model
from checkers.result import UNKNOWN, Counterexample, Result

__all__ = ["DEFAULT_MAX_CONFIGS", "Reductions", "check", "check_entries"]

#: every reduction on (the default)
ALL_ON = Reductions()
#: configurations kept per key before giving up (bounds memory to a few hundred MB at worst)
DEFAULT_MAX_CONFIGS = 1_000_000
#: undecided keys named in the explanation of an unknown verdict (details list them all)
MAX_NAMED_KEYS = 8


_TIME = attrgetter("time")
_INDEX = attrgetter("index")
_CRASHED = itemgetter(3)  # Entry.crashed


def _sort_key(k: Any) -> tuple[int, Any]:
    return (0, k) if isinstance(k, (int, float)) else (1, repr(k))


def _untimed(history: Sequence[Op]) -> bool:
    """True for formats without timestamps, whose importers set each op's time to its position."""
    return all(map(eq, map(_TIME, history), map(_INDEX, history)))  # stops at the first timed op


def search_options(
    reductions: Reductions, deadline: float | None, max_configs: int | None, memory_limit: int | None = None
) -> SearchOptions:
    """The options of the search for these reductions and budget."""
    return SearchOptions(
        memory_limit=memory_limit,
        classes=reductions.classes,
        dominance=reductions.dominance,
        forced_reads=reductions.forced_reads,
        guided=reductions.guided,
        dead_ends=reductions.dead_ends,
        twins=reductions.twins,
        deadline=deadline,
        max_configs=max_configs,
    )


def check_entries(
    model: Model,
    entries: Sequence[Entry],
    *,
    reductions: Reductions = ALL_ON,
    deadline: float | None = None,
    max_configs: int | None = DEFAULT_MAX_CONFIGS,
    options: SearchOptions | None = None,
) -> tuple[SearchOutcome, dict[str, Any], Any]:
    """Check one key's entries: (search outcome, stats, refutation or None).

    ``options``: the search options ``search_options(reductions, deadline, max_configs)`` builds (or
    any others: tests shrink the check intervals with them).
    """
    task = prepare(model, None, entries, reductions)
    advance(task, options or search_options(reductions, deadline, max_configs), None)
    assert task.outcome is not None
    return task.outcome, task.stats, task.refutation


def check(
    history: Sequence[Op],
    model: str | Model = "cas-register",
    *,
    initial: Any = None,
    keyed: bool | None = None,
    time_limit: float | None = None,
    max_configs: int | None = None,
    memory_limit: int | None | str = "auto",
    jobs: int = 1,
    all_keys: bool = False,
    failed_cas: str = "auto",
    reductions: Reductions | None = None,
) -> Result:
    """Decide whether ``history`` is linearizable under ``model`` (see the module docstring)."""
    started = time.monotonic()
    m = get_model(model, initial)
    is_keyed, per_key = split_history(history, m, keyed=keyed, failed_cas=failed_cas)
    red = reductions or ALL_ON
    deadline = None if time_limit is None else started + time_limit
    if max_configs is not None:
        budget: int | None = max_configs
    else:
        budget = DEFAULT_MAX_CONFIGS if time_limit is None else None
    cap = AUTO_MEMORY if memory_limit == "auto" else memory_limit
    assert cap is None or isinstance(cap, int)

    tasks = sorted((prepare(m, key, per_key[key], red) for key in per_key), key=_task_order)
    opts = search_options(red, deadline, budget, cap)
    live, slice_steps = round_robin(tasks, opts, all_keys=all_keys,
                                    until=started + WARMUP_SECONDS if jobs > 1 else None)
    proven = not all_keys and any(t.outcome is not None and t.outcome.valid is False for t in tasks)
    if live and jobs > 1 and not proven:
        # the warm-up ran out with keys still open: workers continue them (nothing is redone)
        run_jobs(live, opts, jobs=jobs, all_keys=all_keys, slice_steps=slice_steps)
    for t in live:  # searches no longer needed (a violation is proven) end here
        if t.gen is not None:
            t.gen.close()
            t.gen = None

    invalid: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    checked = 0
    ce: Counterexample | None = None
    positions: bool | None = None
    for t in sorted(tasks, key=lambda t: _sort_key(t.key)) if len(tasks) > 1 else tasks:
        outcome = t.outcome
        if outcome is None:
            continue  # not needed: another key proved the history invalid first
        checked += 1
        stats[str(t.key)] = t.stats
        if outcome.valid is False:
            assert outcome.stuck is not None
            if not all_keys and invalid:
                continue  # only the first invalid key is reported
            if positions is None:
                positions = _untimed(history)
            # the typed counterexample is built for the key reported only, with its data
            data, typed = counterexample_pair(
                m, t.key, outcome.stuck, outcome.prefix, outcome.prefix_states, outcome.pending,
                t.refutation, positions=positions, typed=not invalid,
            )
            invalid.append(data)
            if typed is not None:
                ce = typed
        elif outcome.valid is None:
            entry: dict[str, Any] = {"key": t.key, "reason": outcome.reason}
            if outcome.stuck is not None:
                entry["deepest_prefix"] = [op_dict(m, e) for e in outcome.prefix]
            unknown.append(entry)

    valid: Any = False if invalid else (UNKNOWN if unknown else True)
    details: dict[str, Any] = {
        "model": m.name,
        "initial": m.initial,
        "keyed": is_keyed,
        "keys": len(per_key),
        "keys_checked": checked,
        "invalid_keys": [c["key"] for c in invalid],
        "unknown_keys": [u["key"] for u in unknown],
        "elapsed_s": round(time.monotonic() - started, 6),
        "stats": stats,
    }
    if invalid:
        details["counterexample"] = invalid[0]
        details["counterexamples"] = invalid
        explanation = invalid[0]["explanation"]
    elif unknown:
        details["unknown"] = unknown
        first = unknown[0]
        names = ", ".join(str(u["key"]) for u in unknown[:MAX_NAMED_KEYS])
        more = f" and {len(unknown) - MAX_NAMED_KEYS} more" if len(unknown) > MAX_NAMED_KEYS else ""
        explanation = (
            f"could not decide{' key ' + str(first['key']) if is_keyed else ''}: {first['reason']} "
            f"({len(unknown)} key(s) undecided{': ' + names + more if is_keyed else ''})"
        )
    else:
        explanation = f"linearizable: {len(per_key)} key(s), every one has a valid linearization"
    return Result(checker="linearizability", valid=valid, details=details, explanation=explanation,
                  reason=(f"{'key ' + repr(ce.key) + ': ' if is_keyed else ''}{ce.op.description} cannot be "
                          f"linearized" if ce is not None else ""),
                  counterexample=ce, key=ce.key if ce is not None else None,
                  blamed=ce.blamed if ce is not None else ())


def _task_order(t: KeyTask) -> tuple[Any, ...]:
    return (t.cost, _sort_key(t.key))
