"""Checkers for Maelstrom's workloads that our other checkers do not already cover.

* :func:`check_echo` — every ``echo_ok`` carries back exactly what was sent.
* :func:`check_convergence` — g-set and broadcast: Jepsen's set-full analysis over every read (lost /
  stale elements), plus Maelstrom's own demand that after healing *every* node's final read shows every
  acknowledged element (an element acknowledged but missing from some node's final read is
  ``unconverged``; missing from all of them is ``lost``).
* :func:`check_eventual_counter` — g-counter and pn-counter are only eventually consistent, so a read
  during the run may lag; it must still lie within what *could* have been added by then. The final
  reads (after healing) must lie within ``[definite, definite + indefinite]`` adds (by sign).
* :func:`absence_observations` — the lin-kv rewrite that keeps what Maelstrom throws away: a cas
  answered ``20 key-does-not-exist`` did not write, but it observed that the key was absent, so for the
  linearizability search it is a read of ``null`` over the same interval. (A read answered 20 is
  recorded by the workload directly as an ``ok`` read of ``null``; a cas answered ``22`` is kept by the
  linearizability checker as the observation "the value was not ``from``".) With these, a cluster that
  forgets its data on a crash is caught: a key that was written and is then reported absent cannot be
  linearized, where Maelstrom would have dropped the read as a failed op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from checkers import sets
from checkers.history import FAIL, INFO, OK, Op, pairs
from checkers.result import UNKNOWN, Result, Validity, compose


def _composed(parts: dict[str, Result]) -> Result:
    """``compose`` with an explanation: the sub-results that are not valid, else all of them."""
    merged = compose(parts)
    shown = [r for r in parts.values() if r.valid is not True] or list(parts.values())
    return replace(
        merged, explanation="; ".join(f"{r.checker}: {r.explanation}" for r in shown if r.explanation)
    )


KEY_DOES_NOT_EXIST = 20


def error_code(op: Op) -> Any:
    """The error code of a completion (``[code, text]`` or ``{"code": ..}``), or None."""
    err = op.error
    if isinstance(err, list | tuple) and err:
        return err[0]
    if isinstance(err, dict):
        return err.get("code")
    return None


def absence_observations(history: Sequence[Op]) -> list[Op]:
    """``history`` with each cas answered 20 turned into an ok read of ``null`` (see the module docstring)."""
    absent: set[int | str] = set()
    out: list[Op] = []
    for p in pairs(history):
        c = p.complete
        if p.invoke.f == "cas" and c is not None and c.type == FAIL and error_code(c) == KEY_DOES_NOT_EXIST:
            absent.add(p.invoke.index)
            absent.add(c.index)
    for op in history:
        if op.index in absent:
            key = op.value[0] if isinstance(op.value, list | tuple) and op.value else None
            op = replace(op, f="read", type=OK if op.type == FAIL else op.type, value=[key, None], error=None)
        out.append(op)
    return out


def check_echo(history: Sequence[Op]) -> Result:
    """Every ok echo returned what its invocation sent."""
    ok = bad = 0
    wrong: list[dict[str, Any]] = []
    for p in pairs(history):
        if p.invoke.f != "echo" or p.complete is None or p.complete.type != OK:
            continue
        ok += 1
        if p.complete.value != p.invoke.value:
            bad += 1
            if len(wrong) < 16:
                wrong.append({"op-index": p.complete.index, "sent": p.invoke.value, "got": p.complete.value})
    if ok == 0:
        return Result("echo", UNKNOWN, {"ok": 0}, "no successful echo: nothing to check")
    valid: Validity = bad == 0
    text = (
        f"{ok} echoes, all returned what was sent"
        if valid
        else f"{bad} of {ok} echoes returned something else"
    )
    return Result("echo", valid, {"ok": ok, "wrong-count": bad, "wrong": wrong}, text)


def check_convergence(history: Sequence[Op], *, add_f: str | None = None, max_listed: int = 32) -> Result:
    """Set-full over all reads, and every acknowledged element in every node's final read.

    ``add_f``: the op that adds an element (g-set ``add``, broadcast ``broadcast``); by default
    ``broadcast`` if the history has such ops, else ``add``.
    """
    if add_f is None:
        add_f = "broadcast" if any(op.f == "broadcast" for op in history) else "add"
    as_set = [
        replace(op, f="add" if op.f == add_f else ("read" if op.f == "final-read" else op.f))
        for op in history
    ]
    full = sets.check(as_set, linearizable=False, max_listed=max_listed)
    acked: set[Any] = set()
    finals: dict[str, set[Any]] = {}
    for p in pairs(history):
        c = p.complete
        if c is None or c.type != OK:
            continue
        if p.invoke.f == add_f:
            acked.add(sets._h(p.invoke.value))
        elif p.invoke.f == "final-read" and c.node is not None:
            finals[c.node] = {sets._h(e) for e in (c.value or [])}  # the node's last final read counts
    if not finals:
        conv = Result(
            "convergence", UNKNOWN, {"final-reads": 0}, "no successful final read: nothing to check"
        )
        return _composed({"set-full": full, "convergence": conv})
    missing = {node: sorted(acked - seen, key=repr) for node, seen in sorted(finals.items())}
    nowhere = sorted(set.intersection(*(acked - seen for seen in finals.values())), key=repr)
    unconverged = {n: m for n, m in missing.items() if m}
    valid: Validity = not unconverged
    details = {
        "acknowledged": len(acked),
        "nodes-read": sorted(finals),
        "lost-everywhere-count": len(nowhere),
        "lost-everywhere": nowhere[:max_listed],
        "unconverged": {n: {"count": len(m), "elements": m[:max_listed]} for n, m in unconverged.items()},
    }
    if valid:
        text = (f"all {len(acked)} acknowledged elements in the final read of every node "
                f"({', '.join(sorted(finals))})")
    else:
        worst = max(unconverged.items(), key=lambda kv: len(kv[1]))
        text = (
            f"{len(unconverged)} node(s) never showed some acknowledged elements after healing "
            f"(worst {worst[0]}: {len(worst[1])} missing; {len(nowhere)} missing on every node)"
        )
    conv = Result("convergence", valid, details, text)
    return _composed({"set-full": full, "convergence": conv})


def check_eventual_counter(history: Sequence[Op], *, max_listed: int = 32) -> Result:
    """Reads within what could have been added by then; final reads within the acknowledged bounds."""
    ps = pairs(history)
    adds = [p for p in ps if p.invoke.f == "add" and p.type != FAIL]
    ok_sum = sum(int(p.invoke.value) for p in adds if p.complete is not None and p.complete.type == OK)
    maybe = [int(p.invoke.value) for p in adds if p.complete is None or p.complete.type == INFO]
    final_lo = ok_sum + sum(d for d in maybe if d < 0)
    final_hi = ok_sum + sum(d for d in maybe if d > 0)
    errors: list[dict[str, Any]] = []
    reads = finals = 0
    for p in ps:
        c = p.complete
        if p.invoke.f not in ("read", "final-read") or c is None or c.type != OK:
            continue
        value = c.value
        if p.invoke.f == "final-read":
            finals += 1
            lo, hi = final_lo, final_hi
        else:
            reads += 1
            before = [int(a.invoke.value) for a in adds if a.invoke.time < c.time]
            lo, hi = sum(d for d in before if d < 0), sum(d for d in before if d > 0)
        if not isinstance(value, int | float) or isinstance(value, bool) or not lo <= value <= hi:
            errors.append(
                {"op-index": c.index, "f": p.invoke.f, "node": c.node, "value": value, "bounds": [lo, hi]}
            )
    if reads + finals == 0:
        return Result("eventual-counter", UNKNOWN, {"reads": 0}, "no successful read: nothing to check")
    valid: Validity = not errors
    if finals == 0 and valid:
        valid = UNKNOWN
    details = {
        "reads": reads,
        "final-reads": finals,
        "final-bounds": [final_lo, final_hi],
        "error-count": len(errors),
        "errors": errors[:max_listed],
    }
    if errors:
        first = errors[0]
        text = (
            f"{len(errors)} read(s) out of bounds; first: {first['f']} on {first['node']} "
            f"saw {first['value']}, "
            f"allowed {first['bounds']}"
        )
    elif finals == 0:
        text = "no successful final read: convergence not checked"
    else:
        text = f"{reads} reads within bounds; {finals} final reads within [{final_lo}, {final_hi}]"
    return Result("eventual-counter", valid, details, text)
