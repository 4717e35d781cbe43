"""Stats checker: how many operations of each kind ended how (Jepsen's ``stats``).

Counts completions by ``f`` and type (ok / fail / info; invocations that never completed count as info),
plus nemesis operations by ``f``. It is informational: valid unless ``require_ok=True`` and some client
``f`` never succeeded (Jepsen's rule, useful to notice a workload that silently did nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from checkers.history import FAIL, INFO, OK, Op, pairs
from checkers.result import Result, Validity


def check(history: Sequence[Op], *, require_ok: bool = False) -> Result:
    """Count operations by f and outcome; see the module docstring."""
    by_f: dict[str, dict[str, int]] = {}
    for p in pairs(history):
        row = by_f.setdefault(p.invoke.f, {OK: 0, FAIL: 0, INFO: 0})
        row[p.type] = row.get(p.type, 0) + 1
    nemesis: dict[str, int] = {}
    for op in history:
        if not op.is_client:
            nemesis[op.f] = nemesis.get(op.f, 0) + 1
    total = {k: sum(r.get(k, 0) for r in by_f.values()) for k in (OK, FAIL, INFO)}
    never_ok = sorted(f for f, r in by_f.items() if r[OK] == 0)
    valid: Validity = not (require_ok and never_ok)
    details: dict[str, Any] = {
        "by-f": {f: {**r, "count": sum(r.values())} for f, r in sorted(by_f.items())},
        "total": {**total, "count": sum(total.values())},
        "nemesis": nemesis,
        "never-ok": never_ok,
    }
    text = ", ".join(f"{f}: {r[OK]} ok / {r[FAIL]} fail / {r[INFO]} info" for f, r in sorted(by_f.items()))
    return Result("stats", valid, details, text or "no client operations")
