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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from checkers.history import INFO, OK, Op
from checkers.result import Result, compose
from harness.workloads.base import (
    Completion,
    Invocation,
    OpGenerator,
    OptionError,
    WorkloadSpec,
    check_option_names,
    error_completion,
)


@dataclass(frozen=True, slots=True)
class ListAppendOptions:
    """Live ``keys``, the longest transaction, appends before a key retires, and the share of reads."""

    keys: int = 6
    max_txn_length: int = 4
    appends_per_key: int = 30
    reads: float = 0.5

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ListAppendOptions:
        """Validated options from a JSON object; ``OptionError`` says what is wrong."""
        check_option_names(raw, cls, "list-append")
        opts = cls(int(raw.get("keys", 6)), int(raw.get("max_txn_length", 4)),
                   int(raw.get("appends_per_key", 30)),
                   float(raw.get("reads", 0.5)))
        if (opts.keys < 1 or opts.max_txn_length < 1 or opts.appends_per_key < 1
                or not 0 <= opts.reads <= 1):
            raise OptionError(
                "list-append options: keys, max_txn_length, appends_per_key >= 1; 0 <= reads <= 1"
            )
        return opts


class ListAppendWorkload(WorkloadSpec):
    """Random list-append transactions, judged by Elle (strict serializability) and 2PC atomicity."""

    name = "list-append"
    checkers = ("elle-list-append", "2pc")
    description = "multi-key append/read transactions across shards; Elle cycles + all-or-nothing visibility"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.options = ListAppendOptions.parse(self.raw_options)

    def generator(self, rng: random.Random) -> ListAppendGenerator:
        """Live keys and unique values for one run."""
        return ListAppendGenerator(self.options, rng)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """A ``txn`` request (the final read of one key is a one-read transaction)."""
        if inv.f == "txn":
            return {"type": "txn", "txn": inv.value}
        if inv.f == "final-read":
            return {"type": "txn", "txn": [["r", inv.value["participant"], None]]}
        raise ValueError(f"list-append workload has no op {inv.f!r}")

    def complete(self, inv: Invocation, reply: Mapping[str, Any], gen: OpGenerator) -> Completion:
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

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """Two solo reads of every key that was ever appended to (the last successful one counts)."""
        assert isinstance(gen, ListAppendGenerator)
        keys = [k for k, n in gen.appends.items() if n > 0]
        return [Invocation("final-read", {"participant": k, "values": {k: None}}) for k in keys * 2]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Elle's list-append analysis (strict serializability) and per-transaction atomicity."""
        from checkers import elle, twopc

        return compose({"elle-list-append": elle.check_list_append(history), "2pc": twopc.check(history)})


class TxnShape(Protocol):
    """What a transaction generator needs of its workload's options."""

    @property
    def keys(self) -> int: ...
    @property
    def reads(self) -> float: ...
    @property
    def max_txn_length(self) -> int: ...
    @property
    def appends_per_key(self) -> int: ...


class ListAppendGenerator(OpGenerator):
    """Transactions of 1..max_txn_length micro-ops over a few live keys; a key retires after
    ``appends_per_key`` writes. Written values are unique over the run. ``writes`` is the write verb
    (``"append"``, or ``"w"`` for rw-register) and ``key`` makes a key of its serial number."""

    def __init__(self, options: TxnShape, rng: random.Random, *, writes: str = "append",
                 key: Callable[[int], Any] = str) -> None:
        super().__init__(rng)
        self.options = options
        self.writes = writes
        self._key = key
        self._next_key = 0
        self._next_value = 0
        self._live = [self._new_key() for _ in range(options.keys)]
        self.appends: dict[Any, int] = {k: 0 for k in self._live}

    def _new_key(self) -> Any:
        self._next_key += 1
        return self._key(self._next_key - 1)

    def next_op(self) -> Invocation:
        """A transaction of 1..max_txn_length micro-ops on live keys; full keys are retired."""
        txn: list[list[Any]] = []
        for _ in range(self.rng.randint(1, self.options.max_txn_length)):
            slot = self.rng.randrange(len(self._live))
            key = self._live[slot]
            if self.rng.random() < self.options.reads:
                txn.append(["r", key, None])
                continue
            self._next_value += 1
            txn.append([self.writes, key, self._next_value])
            self.appends[key] += 1
            if self.appends[key] >= self.options.appends_per_key:
                fresh = self._new_key()
                self._live[slot] = fresh
                self.appends[fresh] = 0
        return Invocation("txn", txn)
