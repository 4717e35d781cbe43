"""Two-phase-commit atomicity: after healing, each transaction is visible on all its participants or none.

History shape (what a 2PC system and workload must record):

* ``f="txn"`` client ops whose value is a list of write micro-ops ``["append", k, v]`` (preferred: an
  appended element stays visible forever) or ``["w", k, v]`` (then every key should be written by one
  transaction only, since a later write hides an earlier one). Reads, if any, are ignored here.
* Keys live on participants: ``shard_of`` maps a key to its participant — a dict, a function, or ``None``
  (each key is its own participant). Keys are compared by their string form, since JSON turns them into
  strings.
* After the nemesis healed and the cluster quiesced, one ok ``f="final-read"`` per participant with value
  ``{"participant": p, "values": {k: list-or-value}}``; a bare ``{k: ...}`` map with the participant in
  the op's ``node`` field also works, and so does ``{"values": {...}}`` naming no participant at all (each
  key then counts for the participant ``shard_of`` assigns it). The last final read of a participant
  counts.

Per transaction, every write is *visible* if the final read of its participant shows it (the element is in
the list, or the register holds the value). The outcome must match: ok => all writes visible; fail =>
none; info => all or none. Anything in between is ``partial`` (the atomicity violation 2PC exists to
prevent); ``committed-invisible`` and ``aborted-visible`` are whole-transaction mismatches. A write whose
participant has no final read leaves that transaction ``unchecked`` (verdict ``unknown`` if nothing else
is wrong).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from checkers.history import FAIL, OK, Op, pairs
from checkers.result import UNKNOWN, Evidence, Result, Validity, op_indices

TITLES = {"partial": "Partially visible transactions", "committed-invisible": "Committed but invisible",
          "aborted-visible": "Aborted but visible"}
ShardOf = Mapping[Any, Any] | Callable[[Any], Any] | None


def _participant(shard_of: ShardOf, key: Any) -> str:
    if shard_of is None:
        return str(key)
    if callable(shard_of):
        return str(shard_of(key))
    if key in shard_of:
        return str(shard_of[key])
    return str(shard_of.get(str(key), key))


def _final_reads(history: Sequence[Op], shard_of: ShardOf) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for op in history:
        if op.f != "final-read" or op.type != OK or not isinstance(op.value, Mapping):
            continue
        v = op.value
        if "values" in v and isinstance(v["values"], Mapping):
            part, values = v.get("participant", op.node), v["values"]
        else:
            part, values = op.node, v
        if part is not None:
            out[str(part)] = {str(k): val for k, val in values.items()}
            continue
        # No participant named: each key's value is the final state of the participant owning it.
        for k, val in values.items():
            out.setdefault(_participant(shard_of, k), {})[str(k)] = val
    return out


def _visible(f: str, value: Any, state: Any) -> bool:
    if f == "append":
        return isinstance(state, list | tuple) and value in state
    return bool(state == value)


def check(history: Sequence[Op], *, shard_of: ShardOf = None, max_listed: int = 32) -> Result:
    """Classify every transaction's writes as all / none / partially visible; see the module docstring."""
    finals = _final_reads(history, shard_of)
    errors: dict[str, list[dict[str, Any]]] = {}
    counts = {"all": 0, "none": 0, "partial": 0, "unchecked": 0, "read-only": 0}
    for p in pairs(history):
        if p.invoke.f != "txn":
            continue
        outcome = p.type
        src = p.complete if p.complete is not None and outcome == OK else p.invoke
        mops = [m for m in (src.value or []) if isinstance(m, list | tuple) and len(m) == 3
                and m[0] in ("append", "w")]
        if not mops:
            counts["read-only"] += 1
            continue
        seen: dict[str, list[bool]] = {}
        unchecked = False
        for f, k, v in mops:
            part = _participant(shard_of, k)
            if part not in finals:
                unchecked = True
                continue
            seen.setdefault(part, []).append(_visible(f, v, finals[part].get(str(k))))
        flags = [b for bs in seen.values() for b in bs]
        case = {"op": (p.complete or p.invoke).to_dict(), "outcome": outcome,
                "visible": {part: bs for part, bs in seen.items()}}
        if flags and any(flags) and not all(flags):
            counts["partial"] += 1
            errors.setdefault("partial", []).append(case)
            continue
        if unchecked:
            counts["unchecked"] += 1
            continue
        if all(flags):
            counts["all"] += 1
            if outcome == FAIL:
                errors.setdefault("aborted-visible", []).append(case)
        else:
            counts["none"] += 1
            if outcome == OK:
                errors.setdefault("committed-invisible", []).append(case)
    valid: Validity = False if errors else (UNKNOWN if counts["unchecked"] or not finals else True)
    details: dict[str, Any] = {
        "participants": sorted(finals),
        "counts": counts,
        "error-counts": {k: len(v) for k, v in errors.items()},
        "errors": {k: v[:max_listed] for k, v in errors.items()},
    }
    if not finals:
        text = "no final reads: atomicity cannot be judged"
    elif errors:
        text = "; ".join(f"{len(v)} {k}" for k, v in errors.items())
    else:
        text = f"{counts['all']} transactions visible everywhere, {counts['none']} nowhere, none partially"
        if counts["unchecked"]:
            text += f"; {counts['unchecked']} not checkable (participant without a final read)"
    evidence = tuple(Evidence(k, TITLES.get(k, k), len(v), tuple(v[:max_listed])) for k, v in errors.items())
    blamed = op_indices(c for v in errors.values() for c in v[:max_listed])
    return Result("2pc", valid, details, text, evidence=evidence, blamed=blamed)
