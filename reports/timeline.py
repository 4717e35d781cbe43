"""The timeline's data: every client op as a bar from invocation to completion, in compact columns.

A canvas renderer (``static/timeline.js``) draws it, so a 100k-op history stays usable where an
element per op would not. Rows are Jepsen's *threads*: a worker that retires its process after an
``info`` continues as ``process + concurrency``, so ``process % concurrency`` keeps one row per worker
instead of a new row per crash. Times are microseconds since the run started (integers keep the JSON
small; no bar is shorter than a microsecond matters on screen). The data is columnar — one array per
field — because that is roughly half the size of one object per op.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from checkers.history import Op, Pair, pairs
from reports.faults import fault_bands

TYPE_CODES = {"ok": 0, "fail": 1, "info": 2}
NEVER = -1


def lane_of(process: Any, concurrency: int | None) -> Any:
    """The row an op is drawn in: its thread when ``concurrency`` is known, else its process."""
    if concurrency and isinstance(process, int) and not isinstance(process, bool):
        return process % concurrency
    return process


def _lane_label(lane: Any, concurrency: int | None) -> str:
    return f"thread {lane}" if concurrency and isinstance(lane, int) else f"process {lane}"


def thread_map(ps: Sequence[Pair], concurrency: int | None) -> list[dict[str, Any]]:
    """Which processes each thread ran, in order: ``[{"thread": 4, "processes": [4, 10, 16]}]``.

    The history speaks of processes (a checker blames "process 16"); the timeline draws threads. Jepsen's
    mapping is thread = process mod concurrency: a worker whose op ended ``info`` retires its process and
    continues as process + concurrency. Empty when the concurrency is unknown (rows are processes then).
    """
    if not concurrency:
        return []
    seen: dict[int, list[int]] = {}
    for p in ps:
        proc = p.invoke.process
        if isinstance(proc, int) and not isinstance(proc, bool):
            procs = seen.setdefault(proc % concurrency, [])
            if proc not in procs:
                procs.append(proc)
    return [{"thread": t, "processes": sorted(procs)} for t, procs in sorted(seen.items())]


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int) and not isinstance(v, bool) else (1, str(v))


def timeline_data(ops: Sequence[Op], *, concurrency: int | None = None,
                  highlight: Iterable[int] = (), focus: int | None = None,
                  paired: Sequence[Pair] | None = None) -> dict[str, Any]:
    """The JSON document ``timeline.js`` draws (see the module docstring for its shape).

    ``highlight``: history indices (invocation or completion) of ops the checker blames, outlined;
    ``focus``: the index of the op "jump to first error" zooms to; ``paired``: ``pairs(ops)`` if already
    computed.
    """
    ps = pairs(ops) if paired is None else paired
    lanes = sorted({lane_of(p.invoke.process, concurrency) for p in ps}, key=_sort_key)
    lane_ix = {lane: i for i, lane in enumerate(lanes)}
    fs: dict[str, int] = {}
    nodes: dict[str, int] = {}
    cols: dict[str, list[Any]] = {
        k: [] for k in ("lane", "t0", "t1", "ty", "f", "p", "i", "c", "n", "v", "r", "e")
    }
    marked = set(highlight)
    hl: list[int] = []
    focus_op = NEVER
    for k, p in enumerate(ps):
        inv, comp = p.invoke, p.complete
        cols["lane"].append(lane_ix[lane_of(inv.process, concurrency)])
        cols["t0"].append(inv.time // 1000)
        cols["t1"].append(comp.time // 1000 if comp is not None else NEVER)
        cols["ty"].append(TYPE_CODES.get(p.type, 2))
        cols["f"].append(fs.setdefault(inv.f, len(fs)))
        cols["p"].append(inv.process)
        cols["i"].append(inv.index)
        cols["c"].append(comp.index if comp is not None else NEVER)
        node = inv.node if inv.node is not None else (comp.node if comp is not None else None)
        cols["n"].append(NEVER if node is None else nodes.setdefault(str(node), len(nodes)))
        cols["v"].append(inv.value)
        cols["r"].append(comp.value if comp is not None and comp.value != inv.value else None)
        cols["e"].append(comp.error if comp is not None else None)
        if inv.index in marked or (comp is not None and comp.index in marked):
            hl.append(k)
        if focus is not None and (inv.index == focus or (comp is not None and comp.index == focus)):
            focus_op = k
    end = max((op.time for op in ops), default=0) // 1000
    return {
        "lanes": [_lane_label(lane, concurrency) for lane in lanes],
        "fs": list(fs),
        "nodes": list(nodes),
        "types": list(TYPE_CODES),
        "ops": cols,
        "count": len(ps),
        "end": max(end, 1),
        "bands": [_band_us(b.to_dict()) for b in fault_bands(ops)],
        "highlight": hl,
        "focus": focus_op,
    }


def _band_us(band: dict[str, Any]) -> dict[str, Any]:
    return {**band, "start": band["start"] // 1000, "end": band["end"] // 1000}
