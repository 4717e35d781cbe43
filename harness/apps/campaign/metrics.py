"""Per-run measurements a comparison needs, computed from the history and the checker's details.

* throughput: ok client ops invoked during the main phase, per second of main phase;
* latency p50/p99 of ok ops (ms), invoke to completion;
* availability during faults: of the client ops invoked while some fault was active, the share that
  completed ok (and the same share outside faults, for contrast) — a CP system is expected to lose
  availability on the minority side, an AP one to keep it and lose safety instead;
* time to first violation: when the checker's counterexample happened in the run — the completion of
  the op that cannot be placed (its invocation if it never completed), the earliest over all
  counterexamples the checker reports. That is "how fast the bug was found" in run time.

Fault intervals come from the nemesis ops in the history: a start (``start-partition``, ``kill``,
``pause``, ``bump-clock``, ``start-packet``) opens one, the matching undo closes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import INVOKE, OK, Op, pairs
from nemesis.table import TABLE

_OPENS = {s.name: s.family for s in TABLE.values() if s.undo is not None}  # from the fault table
_CLOSES = {s.undo: s.family for s in TABLE.values() if s.undo is not None}
NS = 1_000_000_000


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]


def fault_intervals(ops: Sequence[Op]) -> list[tuple[int, int]]:
    """Time intervals (ns) during which at least one fault was in effect."""
    active: dict[str, int] = {}
    opened: int | None = None
    out: list[tuple[int, int]] = []
    end = max((op.time for op in ops), default=0)
    for op in ops:
        if op.is_client:
            continue
        if op.f in _OPENS:
            if not active and opened is None:
                opened = op.time
            active[_OPENS[op.f]] = active.get(_OPENS[op.f], 0) + 1
        elif op.f in _CLOSES and active.get(_CLOSES[op.f]):
            active.pop(_CLOSES[op.f])
            if not active and opened is not None:
                out.append((opened, op.time))
                opened = None
    if opened is not None:
        out.append((opened, end))
    return out


def _inside(t: int, intervals: Sequence[tuple[int, int]]) -> bool:
    return any(a <= t < b for a, b in intervals)


def first_violation_ns(details: Any) -> int | None:
    """Run time (ns) of the earliest violation named in a checker's details.

    Linearizability names its op with ``invoke_time``/``complete_time`` (the completion is when the
    violation became observable); the bank, set, lock and 2PC checkers name the history op itself, whose
    ``time`` is when it was recorded.
    """
    found: list[int] = []

    def visit(obj: Any) -> None:
        if isinstance(obj, Mapping):
            op = obj.get("op")
            if isinstance(op, Mapping) and ("complete_time" in op or "invoke_time" in op):
                t = op.get("complete_time") if op.get("complete_time") is not None else op.get("invoke_time")
                if isinstance(t, int):
                    found.append(t)
            elif isinstance(op, Mapping) and isinstance(op.get("time"), int):
                found.append(op["time"])
            for v in obj.values():
                visit(v)
        elif isinstance(obj, list):
            for v in obj:
                visit(v)

    visit(details)
    return min(found) if found else None


def run_metrics(ops: Sequence[Op], *, time_limit: float, details: Any = None) -> dict[str, Any]:
    """Throughput, latency, availability in and out of faults, and time to first violation, JSON-able."""
    client = [op for op in ops if op.is_client]
    invokes = [op for op in client if op.type == INVOKE]
    start = min((op.time for op in invokes), default=0)
    main_end = start + int(time_limit * NS)
    latencies: list[float] = []
    ok_main = 0
    faults = fault_intervals(ops)
    tally = {"in": [0, 0], "out": [0, 0]}  # [ok, completed]
    try:
        matched = pairs(client)
    except ValueError:  # a malformed history has no meaningful latencies
        matched = []
    for pair in matched:
        inv, comp = pair.invoke, pair.complete
        if comp is None:
            continue
        where = "in" if _inside(inv.time, faults) else "out"
        tally[where][1] += 1
        if comp.type == OK:
            tally[where][0] += 1
            latencies.append((comp.time - inv.time) / 1e6)
            if inv.time <= main_end:
                ok_main += 1
    ttfv = first_violation_ns(details)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    return {
        "ops": len(invokes),
        "ok": len(latencies),
        "throughput": round(ok_main / time_limit, 3) if time_limit > 0 else None,
        "latency_p50_ms": None if p50 is None else round(p50, 3),
        "latency_p99_ms": None if p99 is None else round(p99, 3),
        "availability_faults": _share(tally["in"]),
        "availability_quiet": _share(tally["out"]),
        "fault_seconds": round(sum(b - a for a, b in faults) / NS, 3),
        "first_violation_s": None if ttfv is None else round(ttfv / NS, 6),
    }


def _share(pair: list[int]) -> float | None:
    ok, total = pair
    return round(ok / total, 4) if total else None
