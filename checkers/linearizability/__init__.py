"""Linearizability checking (DESIGN §7): is there a sequential order of the operations, consistent with
their real-time order, that the model accepts?

``check(history, model)`` splits keyed histories per key (P-compositionality: a history of independent
objects is linearizable iff each object's sub-history is), shrinks each sub-history soundly
(``reduce``), refutes the obvious cases up front, then runs the search (``search``). The first invalid
key stops the check unless ``all_keys``; the budget (``time_limit`` seconds over the whole check,
``max_configs`` configurations per key) turns a hopeless search into ``unknown``.

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
from operator import attrgetter, itemgetter
from typing import Any

from checkers.history import Op
from checkers.linearizability.entries import Entry, split_history
from checkers.linearizability.explain import counterexample, op_dict
from checkers.linearizability.reduce import (
    Reductions,
    drop_unknown_nil_reads,
    impossible_read,
    reduce_entries,
)
from checkers.linearizability.search import SearchOptions, SearchOutcome, search
from checkers.models import Model, get_model
from checkers.result import UNKNOWN, Counterexample, Result

__all__ = ["DEFAULT_MAX_CONFIGS", "Reductions", "check", "check_entries"]

#: every reduction on (the default)
ALL_ON = Reductions()
#: configurations kept per key before giving up (bounds memory to a few hundred MB at worst)
DEFAULT_MAX_CONFIGS = 1_000_000
#: extra configurations granted to find a prefix after an up-front refutation
REFUTATION_PREFIX_CONFIGS = 20_000


_TIME = attrgetter("time")
_INDEX = attrgetter("index")
_CRASHED = itemgetter(3)  # Entry.crashed


def _sort_key(k: Any) -> tuple[int, Any]:
    return (0, k) if isinstance(k, (int, float)) else (1, repr(k))


def _untimed(history: Sequence[Op]) -> bool:
    """True for formats without timestamps, whose importers set each op's time to its position."""
    return list(map(_TIME, history)) == list(map(_INDEX, history))


def search_options(reductions: Reductions, deadline: float | None, max_configs: int | None) -> SearchOptions:
    """The options of the search for these reductions and budget."""
    return SearchOptions(
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

    ``options``: the search options ``search_options(reductions, deadline, max_configs)`` builds, when
    the caller checks many keys with the same settings (they are then built once).
    """
    entries, nil_reads = drop_unknown_nil_reads(model, entries)
    refutation = impossible_read(model, entries) if reductions.precheck else None
    rmodel, reduced, stats = reduce_entries(model, entries, reductions)
    if refutation is not None:
        opts = search_options(reductions, deadline, REFUTATION_PREFIX_CONFIGS)
    else:
        opts = options or search_options(reductions, deadline, max_configs)
    outcome = search(rmodel, reduced, opts)
    if refutation is not None:
        outcome.valid = False  # the refutation is a proof; the search only supplies the prefix
    if stats.get("unobserved_values_renamed"):
        # report the ops as recorded, not as renamed for the search
        originals = {id(e.invoke): e for e in entries}
        outcome.prefix = [originals.get(id(e.invoke), e) for e in outcome.prefix]
        outcome.pending = [originals.get(id(e.invoke), e) for e in outcome.pending]
        outcome.witness = [originals.get(id(e.invoke), e) for e in outcome.witness]
        if outcome.stuck is not None:
            outcome.stuck = originals.get(id(outcome.stuck.invoke), outcome.stuck)
    if refutation is not None:
        outcome.stuck = refutation.entry
    if nil_reads:
        stats["unknown_nil_reads_dropped"] = nil_reads
    stats.update(
        ops=len(entries),
        searched=len(reduced),
        crashed=sum(map(_CRASHED, reduced)),
        configs=outcome.configs,
        steps=outcome.steps,
    )
    return outcome, stats, refutation


def check(
    history: Sequence[Op],
    model: str | Model = "cas-register",
    *,
    initial: Any = None,
    keyed: bool | None = None,
    time_limit: float | None = None,
    max_configs: int | None = None,
    all_keys: bool = False,
    failed_cas: str = "auto",
    reductions: Reductions | None = None,
) -> Result:
    """Decide whether ``history`` is linearizable under ``model`` (see the module docstring)."""
    started = time.monotonic()
    m = get_model(model, initial)
    is_keyed, per_key = split_history(history, m, keyed=keyed, failed_cas=failed_cas)
    red = reductions or Reductions()
    deadline = None if time_limit is None else started + time_limit
    budget = DEFAULT_MAX_CONFIGS if max_configs is None else max_configs

    invalid: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    checked = 0
    order = sorted(per_key, key=_sort_key)
    if red.precheck and len(order) > 1:
        # keys refuted up front go first: a cheap certain verdict beats a budget spent elsewhere
        refuted = {k for k in order if impossible_read(m, per_key[k]) is not None}
        order = [k for k in order if k in refuted] + [k for k in order if k not in refuted]
    opts = search_options(red, deadline, budget)
    for key in order:
        outcome, st, refutation = check_entries(
            m, per_key[key], reductions=red, deadline=deadline, max_configs=budget, options=opts
        )
        checked += 1
        stats[str(key)] = st
        if outcome.valid is False:
            assert outcome.stuck is not None
            invalid.append(
                counterexample(
                    m, key, outcome.stuck, outcome.prefix, outcome.prefix_states, outcome.pending, refutation,
                    positions=_untimed(history),
                )
            )
            if not all_keys:
                break
        elif outcome.valid is None:
            entry: dict[str, Any] = {"key": key, "reason": outcome.reason}
            if outcome.stuck is not None:
                entry["deepest_prefix"] = [op_dict(m, e) for e in outcome.prefix]
            unknown.append(entry)
            if deadline is not None and time.monotonic() > deadline:
                break

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
        explanation = (
            f"could not decide{' key ' + str(first['key']) if is_keyed else ''}: {first['reason']} "
            f"({len(unknown)} key(s) undecided)"
        )
    else:
        explanation = f"linearizable: {len(per_key)} key(s), every one has a valid linearization"
    ce = Counterexample.from_dict(invalid[0]) if invalid else None
    return Result(checker="linearizability", valid=valid, details=details, explanation=explanation,
                  reason=(f"{'key ' + repr(ce.key) + ': ' if is_keyed else ''}{ce.op.description} cannot be "
                          f"linearized" if ce is not None else ""),
                  counterexample=ce, key=ce.key if ce is not None else None,
                  blamed=ce.blamed if ce is not None else ())
