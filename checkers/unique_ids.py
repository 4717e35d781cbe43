"""Unique-id checker (Maelstrom's ``unique-ids``): no two successful ``generate`` calls return the same id.

History shape: ``f="generate"``; the ok completion's value is the id (any JSON value). Failed and
indeterminate calls returned nothing and are only counted. ``unknown`` when no call succeeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from checkers.history import FAIL, INFO, OK, Op
from checkers.result import UNKNOWN, Evidence, Result, Validity


def _key(x: Any) -> Any:
    if isinstance(x, list | dict):
        return repr(x)
    return x


def check(history: Sequence[Op], *, f: str = "generate", max_listed: int = 32) -> Result:
    """Find ids handed out more than once; see the module docstring."""
    seen: dict[Any, list[int]] = {}
    counts = {OK: 0, FAIL: 0, INFO: 0}
    for op in history:
        if op.f != f or not op.is_client or op.type not in counts:
            continue
        counts[op.type] += 1
        if op.type == OK:
            seen.setdefault(_key(op.value), []).append(op.index)
    if counts[OK] == 0:
        return Result("unique-ids", UNKNOWN, {"counts": counts}, "no successful generate: nothing to check")
    dups = {k: v for k, v in seen.items() if len(v) > 1}
    numeric = [k for k in seen if isinstance(k, int | float) and not isinstance(k, bool)]
    valid: Validity = not dups
    details: dict[str, Any] = {
        "counts": counts,
        "distinct": len(seen),
        "duplicated-count": len(dups),
        "duplicated": [{"id": k, "op-indices": v} for k, v in list(dups.items())[:max_listed]],
        "range": [min(numeric), max(numeric)] if numeric else None,
    }
    text = (f"{counts[OK]} ids, all distinct" if valid
            else f"{len(dups)} ids handed out more than once among {counts[OK]} successful calls")
    evidence = (Evidence("duplicated", "Ids handed out more than once", len(dups),
                         tuple(details["duplicated"])),) if dups else ()
    blamed = tuple(i for d in details["duplicated"] for i in d["op-indices"])
    return Result("unique-ids", valid, details, text, evidence=evidence, blamed=blamed)
