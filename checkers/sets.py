"""Set-full checker (Jepsen's ``set-full``): what became of every element added to a set.

History shape: ``f="add"`` with the element as value (ok / fail / info), and ``f="read"`` whose ok
completion's value is the list of elements present. Elements may be any JSON value.

An element becomes *known* at the earlier of its add's ok completion and the completion of the first read
that shows it. Every ok read *invoked after* that moment ought to contain it. Per element:

* ``stable``: present in every such read;
* ``stale``: missing from some of them, but present from some read on until the end — with the latency
  from becoming known to the start of the first read of that final all-present run;
* ``lost``: missing from the last such read (it vanished, or an acknowledged add never showed up);
* ``never-read``: known, but no read was invoked afterwards, so nothing can be said;
* ``unobserved``: never seen and never acknowledged (a failed or indeterminate add) — not an error.

A read containing an element more than once reports it as ``duplicated``. The history is invalid if any
element is lost or duplicated, or — with ``linearizable=True`` — stale; ``unknown`` when there was no ok
read at all.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from checkers.history import OK, Op, pairs
from checkers.result import UNKNOWN, Evidence, Result, Validity


def _h(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_h(e) for e in x)
    if isinstance(x, dict):
        return tuple(sorted((str(k), _h(v)) for k, v in x.items()))
    return x


def check(history: Sequence[Op], *, linearizable: bool = False, max_listed: int = 32) -> Result:
    """Classify every added element; see the module docstring."""
    adds: dict[Any, tuple[Op, Op | None]] = {}
    reads: list[tuple[int, int, set[Any]]] = []  # (invoke time, complete time, elements)
    duplicated: dict[Any, int] = {}
    for p in pairs(history):
        if p.invoke.f == "add":
            e = _h(p.invoke.value)
            if e not in adds or (p.complete is not None and p.complete.type == OK):
                adds[e] = (p.invoke, p.complete)
        elif p.invoke.f == "read" and p.complete is not None and p.complete.type == OK:
            vals = [_h(e) for e in (p.complete.value or [])]
            s = set(vals)
            if len(s) != len(vals):
                for e in s:
                    if vals.count(e) > 1:
                        duplicated[e] = max(duplicated.get(e, 0), vals.count(e))
            reads.append((p.invoke.time, p.complete.time, s))
    if not reads:
        return Result("set-full", UNKNOWN, {"reads": 0, "adds": len(adds)},
                      "no successful read: nothing to check")
    reads.sort(key=lambda r: r[0])
    invoked = [r[0] for r in reads]
    # One pass over the reads: for each element, the (sorted) positions of the reads showing it and the
    # earliest completion among them.
    present_at: dict[Any, list[int]] = {}
    first_seen: dict[Any, int] = {}
    for j, (_, done, elems) in enumerate(reads):
        for e in elems:
            present_at.setdefault(e, []).append(j)
            if e not in first_seen or done < first_seen[e]:
                first_seen[e] = done
    outcome: dict[str, list[Any]] = {k: [] for k in ("stable", "stale", "lost", "never-read", "unobserved")}
    latencies: dict[Any, int] = {}
    seen_only = set(present_at) - set(adds)
    n = len(reads)
    for e in list(adds) + sorted(seen_only, key=repr):
        _, comp = adds.get(e, (None, None))
        known = comp.time if comp is not None and comp.type == OK else None
        if e in first_seen and (known is None or first_seen[e] < known):
            known = first_seen[e]
        if known is None:
            outcome["unobserved"].append(e)
            continue
        k0 = bisect.bisect_right(invoked, known)  # reads invoked after the element became known
        if k0 == n:
            outcome["never-read"].append(e)
            continue
        pos = present_at.get(e, [])
        if not pos or pos[-1] != n - 1:
            outcome["lost"].append(e)
            continue
        # Start of the final run of consecutive reads that all show the element.
        i = len(pos) - 1
        while i > 0 and pos[i - 1] == pos[i] - 1 and pos[i - 1] >= k0:
            i -= 1
        start = max(pos[i], k0)
        if start == k0:
            outcome["stable"].append(e)
        else:
            outcome["stale"].append(e)
            latencies[e] = reads[start][0] - known
    valid: Validity = not (outcome["lost"] or duplicated or (linearizable and outcome["stale"]))
    lat = sorted(latencies.values())
    details: dict[str, Any] = {
        "reads": len(reads),
        "adds": len(adds),
        "counts": {k: len(v) for k, v in outcome.items()} | {"duplicated": len(duplicated)},
        **{k: v[:max_listed] for k, v in outcome.items() if k in ("lost", "stale", "never-read")},
        "duplicated": [[e, n] for e, n in list(duplicated.items())[:max_listed]],
        "stale-latency-ns": {"max": lat[-1], "median": lat[len(lat) // 2]} if lat else None,
    }
    c = details["counts"]
    text = (f"{c['stable']} stable, {c['stale']} stale, {c['lost']} lost, {c['never-read']} never read, "
            f"{c['duplicated']} duplicated of {len(adds)} added elements")
    evidence = [Evidence(kind, title, len(outcome[kind]), tuple(outcome[kind][:max_listed]))
                for kind, title in (("lost", "Lost elements"), ("stale", "Stale elements"),
                                    ("never-read", "Never read")) if outcome[kind]]
    if duplicated:
        evidence.insert(1, Evidence("duplicated", "Duplicated elements (element, copies in one read)",
                                    len(duplicated), tuple(details["duplicated"])))
    blamed = tuple(op.index for e in outcome["lost"] for op in adds.get(e, ()) if op is not None)
    if not valid:
        bad = [f"{c[k]} {k}" for k in ("lost", "duplicated", "stale") if c[k]
               and (k != "stale" or linearizable)]
        reason = f"{', '.join(bad)} of {len(adds)} added elements"
    else:
        reason = text
    return Result("set-full", valid, details, text, reason=reason, evidence=tuple(evidence),
                  blamed=blamed[:max_listed * 2])
