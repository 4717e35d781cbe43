"""The counterexample view: why a history is not linearizable, drawn the way Porcupine draws it.

The linearizability checker reports, for the first key it cannot linearize, the longest linearizable
prefix *in linearization order*, the op that cannot be placed after it, the states the prefix can
leave the object in and the ops concurrent with the stuck one. The view draws the end of that prefix
as bars per process with a linearization point on each (the earliest time consistent with the order:
each point is the later of the op's invocation and the previous point), then the stuck op in red with
the states it could have seen. Nothing here depends on the model: the checker already describes ops
and states in the model's own words, so every model gets the same view.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from checkers.result import Counterexample, OpRef

SHOWN_PREFIX = 40
WIDTH, LEFT, RIGHT, ROW, TOP = 1000, 150, 20, 26, 28


def process_label(process: Any, concurrency: int | None) -> str:
    """``process 16 (thread 4)``: the history's process id with the timeline row (thread) it is drawn in."""
    if concurrency and isinstance(process, int) and not isinstance(process, bool):
        return f"process {process} (thread {process % concurrency})"
    return f"process {process}"


def _op_view(op: OpRef, role: str, concurrency: int | None = None) -> dict[str, Any]:
    t0, t1 = op.invoke_time, op.complete_time
    return {
        "role": role,
        "index": op.index,
        "complete_index": op.complete_index,
        "process": op.process,
        "who": process_label(op.process, concurrency),
        "f": op.f,
        "type": op.type,
        "value": json.dumps(op.value, default=str, separators=(",", ":")),
        "description": op.description,
        "order": op.order,
        "t0": t0,
        "t1": t1,
        "invoked": "?" if t0 is None else f"{t0 / 1e9:.6f}",
        "completed": "never (crashed)" if t1 is None else f"{t1 / 1e9:.6f}",
    }


def linearization_points(prefix: Sequence[OpRef]) -> list[int]:
    """Earliest linearization time of each prefix op, non-decreasing and never before its invocation."""
    points: list[int] = []
    last = 0
    for op in prefix:
        last = max(last, op.invoke_time or 0)
        points.append(last)
    return points


def counterexample_view(ce: Counterexample, *, concurrency: int | None = None,
                        shown: int = SHOWN_PREFIX) -> dict[str, Any]:
    """Everything the ``_counterexample.html`` partial draws, including the SVG geometry.

    ``concurrency`` (the run's client count) labels each process with the thread it is drawn in on
    the timeline, so "process 16" in the explanation can be found there as thread 16 mod concurrency.
    """
    prefix = list(ce.prefix)
    points = linearization_points(prefix)
    tail, tail_points = prefix[-shown:], points[-shown:]
    stuck = _op_view(ce.op, "stuck", concurrency)
    tail_views = [_op_view(p, "prefix", concurrency) for p in tail]
    concurrent = [_op_view(p, "concurrent", concurrency) for p in ce.concurrent]
    drawn = tail_views + concurrent + [stuck]
    times = [t for v in drawn for t in (v["t0"], v["t1"]) if t is not None]
    lo, hi = (min(times), max(times)) if times else (0, 1)
    hi = hi + max((hi - lo) // 20, 1)
    procs = sorted({str(v["process"]) for v in drawn},
                   key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
    labels = {str(v["process"]): v["who"] for v in drawn}
    row = {p: i for i, p in enumerate(procs)}
    scale = (WIDTH - LEFT - RIGHT) / max(hi - lo, 1)

    def x(t: int) -> float:
        return round(LEFT + (t - lo) * scale, 1)

    bars = []
    for v in drawn:
        t0 = v["t0"] if v["t0"] is not None else lo
        t1 = v["t1"] if v["t1"] is not None else hi
        y = TOP + row[str(v["process"])] * ROW
        title = (f"{v['description']} · {v['type']} · history index {v['index']} · invoked {v['invoked']} s, "
                 f"completed {v['completed']}")
        bars.append({"x": x(t0), "w": max(round(x(t1) - x(t0), 1), 3.0), "y": y + 4, "h": ROW - 8,
                     "role": v["role"], "crashed": v["t1"] is None, "title": title,
                     "label": v["description"], "index": v["index"]})
    pts = [{"x": x(t), "y": TOP + row[str(v["process"])] * ROW + ROW / 2, "order": v["order"]}
           for v, t in zip(tail_views, tail_points, strict=True)]
    stuck_y = TOP + row[str(stuck["process"])] * ROW + ROW / 2
    stuck_x = x(max(stuck["t0"] or lo, tail_points[-1] if tail_points else lo))
    return {
        "key": json.dumps(ce.key, default=str),
        "explanation": ce.explanation,
        "states": list(ce.prefix_states),
        "stuck": stuck,
        "prefix": tail_views,
        "prefix_total": len(prefix),
        "hidden": len(prefix) - len(tail),
        "concurrent": concurrent,
        "refuted_up_front": ce.refuted_up_front,
        "svg": {
            "width": WIDTH, "height": TOP + len(procs) * ROW + 8, "left": LEFT,
            "rows": [{"label": labels[p], "y": TOP + i * ROW + ROW / 2} for i, p in enumerate(procs)],
            "bars": bars, "points": pts, "stuck": {"x": stuck_x, "y": stuck_y},
            "path": " ".join(f"{p['x']},{p['y']}" for p in pts),
            "span": f"{lo / 1e9:.3f} s – {hi / 1e9:.3f} s",
        },
    }
