"""The list-append transaction workload (Elle's): multi-key transactions of appends and reads.

Each transaction appends unique values to some keys and reads others; because an appended value stays
in its list forever and every value is unique, the order in which transactions saw each other can be
recovered from the reads, and Elle looks for dependency cycles that no serial order allows. Keys are
spread over the store's shards, so against ``twopc`` most transactions span several participants.

After healing, each key is read once more on its own (``final-read``, value ``{"participant": key,
"values": {key: list}}``): the two-phase-commit checker then verifies that every transaction's appends
are visible on all of its keys or on none (``ok`` => all, ``fail`` => none).

History: ``txn`` with a list of ``["append", k, v]`` / ``["r", k, null]`` micro-ops (reads filled in at
completion). Request: ``{"type": "txn", "txn": [...]}``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import INFO, OK, Op
from checkers.result import Result, compose
from harness.workloads.base import Completion, Invocation, OptionError, Workload, error_completion


class ListAppendWorkload(Workload):
    """Random list-append transactions, judged by Elle (strict serializability) and 2PC atomicity."""

    name = "list-append"
    checkers = ("elle-list-append", "2pc")
    description = "multi-key append/read transactions across shards; Elle cycles + all-or-nothing visibility"

    def __init__(self, rng: random.Random, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(rng, options)
        allowed = {"keys", "max_txn_length", "appends_per_key", "reads"}
        unknown = sorted(set(self.options) - allowed)
        if unknown:
            raise OptionError(
                f"unknown list-append option(s): {', '.join(unknown)}; valid: {', '.join(sorted(allowed))}")
        self.keys = int(self.options.get("keys", 6))
        self.max_len = int(self.options.get("max_txn_length", 4))
        self.appends_per_key = int(self.options.get("appends_per_key", 30))
        self.reads = float(self.options.get("reads", 0.5))
        if self.keys < 1 or self.max_len < 1 or self.appends_per_key < 1 or not 0 <= self.reads <= 1:
            raise OptionError("list-append options: keys, max_txn_length, appends_per_key >= 1; 0 <= reads <= 1")
        self._next_key = 0
        self._next_value = 0
        self._live = [self._new_key() for _ in range(self.keys)]
        self._appends: dict[str, int] = {k: 0 for k in self._live}

    def _new_key(self) -> str:
        self._next_key += 1
        return str(self._next_key - 1)

    def next_op(self) -> Invocation:
        """A transaction of 1..max_txn_length micro-ops on live keys; full keys are retired."""
        txn: list[list[Any]] = []
        for _ in range(self.rng.randint(1, self.max_len)):
            slot = self.rng.randrange(len(self._live))
            key = self._live[slot]
            if self.rng.random() < self.reads:
                txn.append(["r", key, None])
                continue
            self._next_value += 1
            txn.append(["append", key, self._next_value])
            self._appends[key] += 1
            if self._appends[key] >= self.appends_per_key:
                fresh = self._new_key()
                self._live[slot] = fresh
                self._appends[fresh] = 0
        return Invocation("txn", txn)

    def request(self, inv: Invocation) -> dict[str, Any]:
        """A ``txn`` request (the final read of one key is a one-read transaction)."""
        if inv.f == "txn":
            return {"type": "txn", "txn": inv.value}
        if inv.f == "final-read":
            return {"type": "txn", "txn": [["r", inv.value["participant"], None]]}
        raise ValueError(f"list-append workload has no op {inv.f!r}")

    def complete(self, inv: Invocation, reply: Mapping[str, Any]) -> Completion:
        """Reads are filled in from ``txn_ok``; a final read becomes ``{participant, values}``."""
        if reply.get("type") == "error":
            return error_completion(inv, reply)
        if reply.get("type") != "txn_ok":
            return Completion(INFO, inv.value, error=["unexpected-reply", str(reply.get("type"))])
        txn = reply.get("txn") or []
        if inv.f == "final-read":
            key = inv.value["participant"]
            seen = txn[0][2] if txn else None
            return Completion(OK, {"participant": key, "values": {key: seen if seen is not None else []}})
        return Completion(OK, [list(m) for m in txn])

    def final_ops(self) -> list[Invocation]:
        """Two solo reads of every key that was ever appended to (the last successful one counts)."""
        keys = [k for k, n in self._appends.items() if n > 0]
        return [Invocation("final-read", {"participant": k, "values": {k: None}}) for k in keys * 2]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Elle's list-append analysis (strict serializability) and per-transaction atomicity."""
        from checkers import elle, twopc

        return compose({"elle-list-append": elle.check_list_append(history), "2pc": twopc.check(history)})
