"""Checker for Maelstrom's ``kafka`` workload: replicated logs, one per key, with committed offsets.

History values (see ``harness.workloads.maelstrom_kafka``): ``send`` invoke ``[key, msg]``, ok
``[key, msg, offset]``; ``poll`` / ``final-poll`` invoke ``{key: from_offset}``, ok
``{key: [[offset, msg], ...]}``; ``commit_offsets`` ``{key: offset}``; ``list_committed_offsets`` ok
``{key: offset}``.

What it finds (each a list in ``details``):

* **inconsistent-offsets** — two different messages seen (by sends or polls) at the same offset of a key;
* **duplicated** — one message (every sent message is unique) at two offsets of a key;
* **reordered** — a poll whose offsets for a key do not strictly increase;
* **lost** — an acknowledged send missing from a poll that read across its offset (started at or
  before it and returned a later one), or from a final poll (which reads each log from 0 after healing);
* **committed-regression** — a ``list_committed_offsets`` that returned an offset lower than one an
  earlier (completed before it was invoked) call returned for the same key.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from checkers.history import OK, Op, pairs
from checkers.result import UNKNOWN, Result, Validity


def _entries(value: Any) -> dict[str, list[tuple[int, Any]]]:
    out: dict[str, list[tuple[int, Any]]] = {}
    if isinstance(value, dict):
        for key, items in value.items():
            if isinstance(items, list):
                out[str(key)] = [
                    (int(i[0]), i[1]) for i in items if isinstance(i, list | tuple) and len(i) == 2
                ]
    return out


def check(history: Sequence[Op], *, max_listed: int = 16) -> Result:
    """Kafka-style logs: lost, duplicated, reordered messages, offset clashes, committed-offset regressions.

    See the module docstring for each anomaly.
    """
    at: dict[tuple[str, int], set[Any]] = {}  # (key, offset) -> messages seen there
    where: dict[tuple[str, Any], set[int]] = {}  # (key, msg) -> offsets it was seen at
    acked: list[tuple[str, Any, int, int]] = []  # key, msg, offset, op index
    reordered: list[dict[str, Any]] = []
    polls: list[tuple[str, int, list[tuple[int, Any]], bool]] = []  # key, from, entries, final
    committed: list[tuple[int, int, dict[str, int]]] = []
    for p in pairs(history):
        c = p.complete
        if c is None or c.type != OK:
            continue
        if p.invoke.f == "send" and isinstance(c.value, list) and len(c.value) == 3:
            key, msg, off = str(c.value[0]), c.value[1], int(c.value[2])
            acked.append((key, msg, off, c.index))
            at.setdefault((key, off), set()).add(repr(msg))
            where.setdefault((key, repr(msg)), set()).add(off)
        elif p.invoke.f in ("poll", "final-poll"):
            start = p.invoke.value if isinstance(p.invoke.value, dict) else {}
            for key, items in _entries(c.value).items():
                offs = [o for o, _ in items]
                if any(b <= a for a, b in pairwise(offs)):
                    reordered.append({"op-index": c.index, "key": key, "offsets": offs[:20]})
                for off, msg in items:
                    at.setdefault((key, off), set()).add(repr(msg))
                    where.setdefault((key, repr(msg)), set()).add(off)
                polls.append((key, int(start.get(key, 0) or 0), items, p.invoke.f == "final-poll"))
        elif p.invoke.f == "list_committed_offsets" and isinstance(c.value, dict):
            committed.append((p.invoke.time, c.time, {str(k): int(v) for k, v in c.value.items()}))
    if not acked:
        return Result("kafka", UNKNOWN, {"sends": 0}, "no acknowledged send: nothing to check")
    inconsistent = [{"key": k, "offset": o, "msgs": sorted(m)} for (k, o), m in at.items() if len(m) > 1]
    duplicated = [{"key": k, "msg": m, "offsets": sorted(o)} for (k, m), o in where.items() if len(o) > 1]
    lost: list[dict[str, Any]] = []
    for key, msg, off, index in acked:
        for pkey, from_off, entries, final in polls:
            if pkey != key or from_off > off:
                continue
            polled = {o for o, _ in entries}
            if off not in polled and (final or any(o > off for o in polled)):
                lost.append({"key": key, "msg": msg, "offset": off, "send-index": index})
                break
    regressions: list[dict[str, Any]] = []
    committed.sort()
    for i, (_, done_a, a) in enumerate(committed):
        for invoked_b, _, b in committed[i + 1 :]:
            if invoked_b <= done_a:
                continue
            for key, off in a.items():
                if key in b and b[key] < off:
                    regressions.append({"key": key, "before": off, "after": b[key]})
    valid: Validity = not (inconsistent or duplicated or reordered or lost or regressions)
    details: dict[str, Any] = {
        "sends": len(acked),
        "polls": len(polls),
        "inconsistent-offsets": inconsistent[:max_listed],
        "duplicated": duplicated[:max_listed],
        "reordered": reordered[:max_listed],
        "lost": lost[:max_listed],
        "committed-regression": regressions[:max_listed],
        "counts": {
            "inconsistent-offsets": len(inconsistent),
            "duplicated": len(duplicated),
            "reordered": len(reordered),
            "lost": len(lost),
            "committed-regression": len(regressions),
        },
    }
    if valid:
        text = (f"{len(acked)} acknowledged sends, {len(polls)} polled ranges: "
                "nothing lost, duplicated or reordered")
    else:
        counts: dict[str, int] = details["counts"]
        text = "; ".join(f"{n} {name}" for name, n in counts.items() if n)
    return Result("kafka", valid, details, text)
