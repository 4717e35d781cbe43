"""Synthetic transactional histories: a simulated strictly serializable store, plus planted anomalies.

Used by the benchmark and the property tests. ``simulate`` runs ``concurrency`` clients against
an in-memory store in which every transaction takes effect atomically at one random moment between its
invocation and its completion, so the history is strictly serializable by construction — whatever the
interleaving, failures (never applied) or indeterminate outcomes (applied or not, recorded ``info``).

``plant`` inserts a small hand-made anomaly, on fresh keys and fresh processes, as one contiguous block at
a random position of such a history: it shares no data with the rest and overlaps nothing in time, so
exactly the anomaly classes listed in ``PLANTED`` for it appear.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from checkers.history import Op

# pattern -> (transactions as (type, micro-ops as completed), the anomaly types the checker must report)
PLANTED: dict[str, tuple[list[tuple[str, list[list[Any]]]], frozenset[str]]] = {
    "G0": ([("ok", [["append", "x", 1], ["append", "y", 1]]),
            ("ok", [["append", "x", 2], ["append", "y", 2]]),
            ("ok", [["r", "x", [1, 2]], ["r", "y", [2, 1]]])], frozenset({"G0"})),
    "G1c": ([("ok", [["append", "x", 1], ["r", "y", [1]]]),
             ("ok", [["append", "x", 2], ["append", "y", 1]]),
             ("ok", [["r", "x", [1, 2]]])], frozenset({"G1c"})),
    "G-single-item": ([("ok", [["append", "x", 1], ["append", "y", 1]]),
                       ("ok", [["append", "x", 2], ["r", "y", []]]),
                       ("ok", [["r", "x", [1, 2]]])], frozenset({"G-single-item"})),
    "G-nonadjacent-item": ([("ok", [["append", "x", 1], ["append", "t", 1]]),
                            ("ok", [["r", "x", [1]], ["r", "y", []]]),
                            ("ok", [["append", "y", 1], ["append", "z", 2]]),
                            ("ok", [["r", "z", [2]], ["r", "t", []]])], frozenset({"G-nonadjacent-item"})),
    "G2-item": ([("ok", [["append", "x", 0]]),
                 ("ok", [["r", "x", [0]], ["append", "x", 1]]),
                 ("ok", [["r", "x", [0]], ["append", "x", 2]])], frozenset({"G2-item", "lost-update"})),
    "G1a": ([("fail", [["append", "x", 1]]),
             ("ok", [["r", "x", [1]]])], frozenset({"G1a"})),
    # Reading T0's intermediate state also means T1 saw T0 yet missed its later append: a G-single too.
    "G1b": ([("ok", [["append", "x", 1], ["append", "x", 2]]),
             ("ok", [["r", "x", [1]]])], frozenset({"G1b", "G-single-item"})),
    "internal": ([("ok", [["append", "x", 1], ["r", "x", []]])], frozenset({"internal"})),
    "duplicate-elements": ([("ok", [["append", "x", 1]]),
                            ("ok", [["r", "x", [1, 1]]])], frozenset({"duplicate-elements"})),
    "incompatible-order": ([("ok", [["append", "x", 1]]),
                            ("ok", [["append", "x", 2]]),
                            ("ok", [["r", "x", [1, 2]]]),
                            ("ok", [["r", "x", [2, 1]]])],
                           # The order taken (the first longest read, [1 2]) makes the last reader, which
                           # ran after T1 finished, miss T1's append: a real-time stale read as well.
                           frozenset({"incompatible-order", "G-single-item-realtime"})),
    "dirty-update": ([("fail", [["append", "x", 1]]),
                      ("ok", [["append", "x", 2]]),
                      ("ok", [["r", "x", [1, 2]]])], frozenset({"dirty-update", "G1a"})),
    "future-read": ([("ok", [["r", "x", [1]], ["append", "x", 1]])], frozenset({"future-read"})),
}


def list_append_history(n_txns: int, *, seed: int, **opts: Any) -> list[Op]:
    """A strictly serializable list-append history of ``n_txns`` transactions (see :func:`simulate`)."""
    return simulate(n_txns, seed=seed, workload="list-append", **opts)


def rw_register_history(n_txns: int, *, seed: int, **opts: Any) -> list[Op]:
    """A strictly serializable rw-register history of ``n_txns`` transactions (see :func:`simulate`)."""
    return simulate(n_txns, seed=seed, workload="rw-register", **opts)


def simulate(n_txns: int, *, seed: int, workload: str = "list-append", concurrency: int = 5,
             active_keys: int = 8, max_txn_len: int = 4, max_writes_per_key: int = 32, fail_p: float = 0.0,
             info_p: float = 0.0, stale_p: float = 0.0) -> list[Op]:
    """Run ``concurrency`` clients against the in-memory store (see the module docstring).

    Writes are unique per key (``append`` of 1, 2, 3 ... or ``w`` of them); after ``max_writes_per_key``
    a key is retired for a fresh one, as Jepsen's generators do. ``stale_p > 0`` breaks the store on
    purpose: that fraction of reads is served from a snapshot up to a few dozen transactions old, which
    yields many anomalies in large components (a worst case for the cycle search).
    """
    registers = workload == "rw-register"
    wf = "w" if registers else "append"
    rng = random.Random(seed)
    store: dict[int, Any] = {}
    snapshots: list[dict[int, Any]] = [{}]
    writes: dict[int, int] = {}
    keys = list(range(active_keys))
    next_key = active_keys
    procs = list(range(concurrency))
    idle = list(range(concurrency))
    pending: dict[int, dict[str, Any]] = {}  # slot -> txn state
    out: list[Op] = []
    started = 0

    def emit(typ: str, process: int, value: Any) -> None:
        out.append(Op(len(out), len(out) * 1000, typ, process, "txn", value))

    while started < n_txns or pending:
        choices = []
        if idle and started < n_txns:
            choices.append("invoke")
        unapplied = [s for s, t in pending.items() if not t["applied"]]
        if unapplied:
            choices.append("apply")
        if any(t["applied"] for t in pending.values()):
            choices.append("complete")
        action = rng.choice(choices)
        if action == "invoke":
            slot = idle.pop(rng.randrange(len(idle)))
            txn = []
            for _ in range(rng.randint(1, max_txn_len)):
                k = keys[min(int(rng.expovariate(0.5)), len(keys) - 1)]
                if rng.random() < 0.5:
                    txn.append(["r", k, None])
                else:
                    n = writes.get(k, 0) + 1
                    writes[k] = n
                    txn.append([wf, k, n])
                    if n >= max_writes_per_key:
                        keys[keys.index(k)] = next_key
                        next_key += 1
            outcome = "fail" if rng.random() < fail_p else ("info" if rng.random() < info_p else "ok")
            pending[slot] = {"txn": txn, "applied": False, "outcome": outcome, "result": None}
            emit("invoke", procs[slot], [list(m) for m in txn])
            started += 1
        elif action == "apply":
            slot = rng.choice(unapplied)
            t = pending[slot]
            t["applied"] = True
            if t["outcome"] == "fail" or (t["outcome"] == "info" and rng.random() < 0.5):
                continue
            result = []
            if stale_p and rng.random() < 0.2:
                snapshots.append({k: v if registers else list(v) for k, v in store.items()})
                del snapshots[:-8]
            for f, k, v in t["txn"]:
                if f == "r":
                    src = rng.choice(snapshots) if stale_p and rng.random() < stale_p else store
                    result.append(["r", k, src.get(k) if registers else list(src.get(k, []))])
                elif registers:
                    store[k] = v
                    result.append(["w", k, v])
                else:
                    store.setdefault(k, []).append(v)
                    result.append(["append", k, v])
            t["result"] = result
        else:
            slot = rng.choice([s for s, t in pending.items() if t["applied"]])
            t = pending.pop(slot)
            if t["outcome"] == "ok":
                emit("ok", procs[slot], t["result"])
            elif t["outcome"] == "fail":
                emit("fail", procs[slot], [list(m) for m in t["txn"]])
            else:
                emit("info", procs[slot], [list(m) for m in t["txn"]])
                procs[slot] += concurrency
            idle.append(slot)
    return out


def plant(history: Sequence[Op], pattern: str, *, seed: int, key_prefix: str = "planted") -> list[Op]:
    """``history`` with the anomaly ``pattern`` (a key of ``PLANTED``) inserted as one block.

    The block goes at a random op boundary; transactions in flight there overlap the whole block, so
    they are real-time unrelated to it, and the others are ordered entirely before or after it.
    """
    txns, _ = PLANTED[pattern]
    rng = random.Random(seed)
    at = rng.randint(0, len(history))
    base_proc = 1 + max((op.process for op in history if isinstance(op.process, int)), default=0)
    block: list[Op] = []
    for i, (typ, mops) in enumerate(txns):
        renamed = [[f, f"{key_prefix}-{k}", v] for f, k, v in mops]
        invoke = [[f, k, None if f == "r" else v] for f, k, v in renamed]
        block.append(Op(0, 0, "invoke", base_proc + i, "txn", invoke))
        block.append(Op(0, 0, typ, base_proc + i, "txn", renamed if typ == "ok" else invoke))
    merged = list(history[:at]) + block + list(history[at:])
    return [Op(i, i * 1000, op.type, op.process, op.f, op.value, op.node, op.error, op.extra)
            for i, op in enumerate(merged)]
