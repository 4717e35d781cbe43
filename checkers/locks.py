"""Lock-service safety: fencing tokens and mutual exclusion of the writes they guard.

History shape (values are objects; ``lock`` names the lock and may be omitted when there is one):

* ``f="acquire"``: invoke ``{"owner": o, "lock": l}``; the ok completion carries the granted fencing
  token ``{"owner": o, "lock": l, "token": t}`` (tokens are numbers).
* ``f="release"``: ``{"owner": o, "lock": l, "token": t}``; ok means the service confirmed that grant
  was still current when it was released.
* ``f="write"``: a write to the guarded resource, ``{"owner": o, "lock": l, "token": t}``; ok means the
  resource accepted it. If the resource reports its acceptance order, put it in the completion as
  ``"seq"`` (an integer); otherwise real-time order is used (W1 completed before W2 was invoked).

Checks, per lock:

* ``duplicate-token``: two successful acquires were granted the same token;
* ``token-order``: an acquire that began after another completed got a token that is not larger;
* ``overlapping-holds``: two grants that were both released successfully held the lock at the same
  time for certain — each from its acquire's completion to its release's invocation;
* ``write-during-other-hold``: a write accepted entirely within another grant's certain hold;
* ``stale-write``: in acceptance order, a write carried a smaller token than an earlier accepted
  one — the resource let a deposed holder through, which fencing exists to prevent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import OK, Op, Pair, pairs
from checkers.result import UNKNOWN, Evidence, Result, Validity, op_indices


def _field(p: Pair, name: str) -> Any:
    for op in (p.complete, p.invoke):
        if op is not None and isinstance(op.value, Mapping) and name in op.value:
            return op.value[name]
    return None


def check(history: Sequence[Op], *, max_listed: int = 32) -> Result:
    """Check fencing-token order and mutual exclusion; see the module docstring."""
    by_lock: dict[str, dict[str, list[Pair]]] = {}
    for p in pairs(history):
        if p.invoke.f in ("acquire", "release", "write") and p.type == OK:
            lock = repr(_field(p, "lock"))
            by_lock.setdefault(lock, {"acquire": [], "release": [], "write": []})[p.invoke.f].append(p)
    errors: dict[str, list[dict[str, Any]]] = {}

    def err(kind: str, **case: Any) -> None:
        errors.setdefault(kind, []).append(case)

    n_acq = n_write = 0
    for lock, ops in by_lock.items():
        acquires = [p for p in ops["acquire"] if _field(p, "token") is not None]
        n_acq += len(acquires)
        grants: dict[Any, Pair] = {}
        for p in acquires:
            t = _field(p, "token")
            if t in grants:
                err("duplicate-token", lock=lock, token=t,
                    ops=[grants[t].complete.to_dict(), p.complete.to_dict()])  # type: ignore[union-attr]
            else:
                grants[t] = p
        for a, b in _realtime_inversions(acquires):
            err("token-order", lock=lock, earlier=a.complete.to_dict(), later=b.complete.to_dict())  # type: ignore[union-attr]
        holds = []
        for r in ops["release"]:
            g = grants.get(_field(r, "token"))
            if g is not None and g.complete is not None and g.complete.time < r.invoke.time:
                holds.append((g.complete.time, r.invoke.time, _field(r, "token"), _field(g, "owner")))
        holds.sort(key=lambda h: (h[0], h[1]))
        for i, h in enumerate(holds):
            for h2 in holds[i + 1:]:
                if h2[0] >= h[1]:
                    break
                err("overlapping-holds", lock=lock, holds=[_hold(h), _hold(h2)])
        writes = [w for w in ops["write"] if w.complete is not None]
        n_write += len(writes)
        for w in writes:
            t = _field(w, "token")
            for h in holds:
                if h[2] != t and h[0] < w.invoke.time and w.complete.time < h[1]:  # type: ignore[union-attr]
                    err("write-during-other-hold", lock=lock, write=w.complete.to_dict(), hold=_hold(h))  # type: ignore[union-attr]
                    break
        seqs = [w for w in writes if isinstance(_field(w, "seq"), int)]
        if writes and len(seqs) == len(writes):
            seqs.sort(key=lambda w: _field(w, "seq"))
            top: Pair | None = None
            for w in seqs:
                if top is not None and _num(_field(w, "token")) < _num(_field(top, "token")):
                    err("stale-write", lock=lock, write=w.complete.to_dict(), after=top.complete.to_dict())  # type: ignore[union-attr]
                elif top is None or _num(_field(w, "token")) > _num(_field(top, "token")):
                    top = w
        else:
            for a, b in _realtime_inversions(writes, strict=True):
                err("stale-write", lock=lock, write=b.complete.to_dict(), after=a.complete.to_dict())  # type: ignore[union-attr]
    if n_acq == 0 and n_write == 0:
        return Result("lock", UNKNOWN, {"locks": len(by_lock)},
                      "no successful acquire or write: nothing to check")
    valid: Validity = not errors
    details: dict[str, Any] = {
        "locks": len(by_lock),
        "acquires": n_acq,
        "writes": n_write,
        "error-counts": {k: len(v) for k, v in errors.items()},
        "errors": {k: v[:max_listed] for k, v in errors.items()},
    }
    text = (f"{n_acq} grants and {n_write} guarded writes, all safe" if valid
            else "; ".join(f"{len(v)} {k}" for k, v in errors.items()))
    evidence = tuple(Evidence(k, k.replace("-", " ").capitalize(), len(v), tuple(v[:max_listed]))
                     for k, v in errors.items())
    blamed = op_indices(c for v in errors.values() for c in v[:max_listed])
    return Result("lock", valid, details, text, evidence=evidence, blamed=blamed)


def _num(x: Any) -> float:
    return float(x) if isinstance(x, int | float) else float("-inf")


def _hold(h: tuple[int, int, Any, Any]) -> dict[str, Any]:
    return {"from": h[0], "until": h[1], "token": h[2], "owner": h[3]}


def _realtime_inversions(ps: list[Pair], strict: bool = False) -> list[tuple[Pair, Pair]]:
    """Pairs (a, b) where a completed before b was invoked but b's token is not larger (``strict``:
    smaller). A sweep in time keeps the largest token completed so far."""
    events = []
    for p in ps:
        assert p.complete is not None
        events.append((p.invoke.time, 0, p))  # at equal times an invocation is not "after"
        events.append((p.complete.time, 1, p))
    events.sort(key=lambda e: (e[0], e[1]))
    best: Pair | None = None
    out = []
    for _, kind, p in events:
        tok = _num(_field(p, "token"))
        if kind == 0:
            if best is not None:
                top = _num(_field(best, "token"))
                if tok < top or (not strict and tok == top):
                    out.append((best, p))
        elif best is None or tok > _num(_field(best, "token")):
            best = p
    return out
