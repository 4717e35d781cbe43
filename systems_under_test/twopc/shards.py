"""Shard ownership and the micro-op interpreter of the two-phase-commit store.

Every node owns the keys that hash to it (``sha256(key) mod N`` over the sorted node ids): a fixed,
deterministic placement every node computes alike, so no directory service is needed and a test can
pick keys that land on the shard it wants to fault. A transaction is a list of Elle-style micro-ops
(``["r", k, None]``, ``["w", k, v]``, ``["append", k, v]``) plus the bank's ``["add", k, delta]``,
which refuses to drive a balance below zero.

``evaluate`` runs one shard's slice of a transaction against that shard's committed state *without*
changing it: a participant computes reads and the would-be writes at PREPARE time, holds its locks, and
installs the writes only if the coordinator decides COMMIT.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MICRO_OPS = ("r", "w", "append", "add")
WRITES = ("w", "append", "add")


def owner(key: str, nodes: Sequence[str]) -> str:
    """The node owning ``key`` among ``nodes`` (a stable hash of the key over the sorted ids)."""
    ordered = sorted(nodes)
    digest = hashlib.sha256(str(key).encode()).digest()
    return ordered[int.from_bytes(digest[:8], "big") % len(ordered)]


def validate(txn: Any) -> list[list[Any]]:
    """Check a client transaction's shape and return it as a list of ``[f, key, value]`` lists."""
    if not isinstance(txn, list) or not txn:
        raise ValueError("txn must be a non-empty list of micro-ops")
    out: list[list[Any]] = []
    for mop in txn:
        if not isinstance(mop, list) or len(mop) != 3 or mop[0] not in MICRO_OPS:
            raise ValueError(f"bad micro-op {mop!r}: expected [f, key, value] with f in {MICRO_OPS}")
        if mop[0] == "add" and not isinstance(mop[2], int):
            raise ValueError(f"add needs an integer delta, got {mop[2]!r}")
        out.append([mop[0], str(mop[1]), mop[2]])
    return out


def split(txn: Sequence[Sequence[Any]], nodes: Sequence[str]) -> dict[str, list[tuple[int, list[Any]]]]:
    """Group a transaction's micro-ops by owning node, remembering each op's position in the txn."""
    shards: dict[str, list[tuple[int, list[Any]]]] = {}
    for i, mop in enumerate(txn):
        shards.setdefault(owner(mop[1], nodes), []).append((i, list(mop)))
    return shards


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of evaluating one shard's micro-ops: reads by position, writes by key, or a refusal."""

    reads: dict[int, Any]
    writes: dict[str, Any]
    refusal: str | None = None


def evaluate(state: Mapping[str, Any], ops: Sequence[tuple[int, Sequence[Any]]]) -> Evaluation:
    """Evaluate micro-ops in order against ``state`` (unchanged); later ops see earlier writes."""
    view: dict[str, Any] = {}
    reads: dict[int, Any] = {}

    def current(key: str) -> Any:
        """The key's value as this slice has left it so far."""
        return view[key] if key in view else state.get(key)

    for pos, (f, key, value) in ops:
        if f == "r":
            cur = current(key)
            reads[pos] = list(cur) if isinstance(cur, list) else cur
        elif f == "w":
            view[key] = value
        elif f == "append":
            cur = current(key)
            view[key] = [*(cur if isinstance(cur, list) else []), value]
        elif f == "add":
            cur = current(key)
            new = (cur if isinstance(cur, int) else 0) + value
            if new < 0:
                return Evaluation({}, {}, f"insufficient: {key} would become {new}")
            view[key] = new
    return Evaluation(reads, view)


def lock_modes(ops: Sequence[tuple[int, Sequence[Any]]]) -> dict[str, bool]:
    """Key -> True if the shard's slice writes it (exclusive lock), False if it only reads it (shared)."""
    modes: dict[str, bool] = {}
    for _, (f, key, _v) in ops:
        modes[key] = modes.get(key, False) or f in WRITES
    return modes
