"""Maelstrom's ``lin-kv``, ``txn-list-append`` and ``txn-rw-register`` workloads, with request/reply shapes
as its docs define.

``lin-kv``: ``read {key}`` -> ``read_ok {value}``, ``write {key, value}`` -> ``write_ok``, ``cas {key,
from, to}`` -> ``cas_ok``; errors 20 (key-does-not-exist) and 22 (precondition-failed). Keys are
integers, values small integers, each key retires after ``ops_per_key`` ops (as in our ``register``
workload, which this extends), and the history is checked for linearizability per key.

Where Maelstrom throws information away we keep it (``absence``, on by default): a read answered 20 is
recorded as an ``ok`` read of ``null`` — it *observed* that the key is absent — instead of a failed op,
and a cas answered 20 is kept as a ``fail`` whose error code the checker turns into the same
observation (see :func:`checkers.maelstrom.absence_observations`). A cas answered 22 stays a ``fail``
that the linearizability checker uses as "the value was not ``from``". So a node that forgets
everything on a restart, and then says "no such key", is caught; with ``absence: false`` the workload
records those answers as Maelstrom does (failed ops that constrain nothing) and it passes.

``txn-list-append``: ``txn {txn: [["append", k, v], ["r", k, null], ...]}`` -> ``txn_ok {txn}`` with the
reads filled in; judged by Elle's list-append checker (strict serializability). ``txn-rw-register`` is
the same with writes of values unique per key, judged by Elle's rw-register checker.

Each workload is a stateless :class:`WorkloadSpec` (options, requests, completions, checker) and an
:class:`OpGenerator` that holds one run's keys and counters.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checkers.history import INFO, OK, Op
from checkers.result import UNKNOWN, Result
from harness.workloads.base import (
    Completion,
    Invocation,
    OpGenerator,
    OptionError,
    WorkloadSpec,
    check_option_names,
    error_completion,
)
from harness.workloads.register import RegisterGenerator, RegisterWorkload
from harness.workloads.txn_append import ListAppendGenerator

KEY_DOES_NOT_EXIST = 20


class LinKVWorkload(RegisterWorkload):
    """Maelstrom's lin-kv: read/write/cas on integer keys, linearizability with absence observations."""

    name = "lin-kv"
    checkers = ("linearizability",)
    description = (
        "Maelstrom lin-kv: read/write/cas per key; linearizable, key-does-not-exist counts as a read of nil"
    )

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        opts = dict(options or {})
        absence = opts.pop("absence", True)
        if not isinstance(absence, bool):
            raise OptionError("lin-kv option absence must be true or false")
        super().__init__(opts)
        self.raw_options = {**self.raw_options, "absence": absence}
        self.absence = absence

    def generator(self, rng: random.Random) -> LinKVGenerator:
        """The register generator with integer keys (Maelstrom's lin-kv keys are integers)."""
        return LinKVGenerator(self.options, rng)

    def complete(self, inv: Invocation, reply: Mapping[str, Any], gen: OpGenerator) -> Completion:
        """Replies as Maelstrom defines them; a read answered 20 is an ok read of null (with ``absence``)."""
        if reply.get("type") == "error":
            code = reply.get("code")
            if self.absence and inv.f == "read" and code == KEY_DOES_NOT_EXIST:
                return Completion(OK, [inv.value[0], None])
            return error_completion(inv, reply)
        return super().complete(inv, reply, gen)

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Per-key linearizability (cas-register) after turning cas-answered-20 into absence observations."""
        from checkers.linearizability import check
        from checkers.maelstrom import absence_observations

        ops = absence_observations(history) if self.absence else list(history)
        return check(ops, "cas-register", keyed=True, time_limit=time_limit)  # integer keys: say so


class LinKVGenerator(RegisterGenerator):
    """Register ops whose keys are the integers 0, 1, 2, ..."""

    def _new_key(self) -> Any:
        self._next_key += 1
        return self._next_key - 1


@dataclass(frozen=True, slots=True)
class TxnOptions:
    """``keys`` live at once, at most ``max_txn_length`` micro-ops per transaction, ``appends_per_key``
    writes before a key retires, and the share of ``reads`` among micro-ops."""

    keys: int = 5
    max_txn_length: int = 4
    appends_per_key: int = 30
    reads: float = 0.5

    @classmethod
    def parse(cls, raw: Mapping[str, Any], workload: str) -> TxnOptions:
        """Validated options from a JSON object; ``OptionError`` says what is wrong."""
        check_option_names(raw, cls, workload)
        opts = cls(
            int(raw.get("keys", 5)),
            int(raw.get("max_txn_length", 4)),
            int(raw.get("appends_per_key", 30)),
            float(raw.get("reads", 0.5)),
        )
        if opts.keys < 1 or opts.max_txn_length < 1 or opts.appends_per_key < 1 or not 0 <= opts.reads <= 1:
            raise OptionError(
                f"{workload} options: keys, max_txn_length, appends_per_key >= 1; 0 <= reads <= 1"
            )
        return opts


class MaelstromTxnListAppend(WorkloadSpec):
    """Maelstrom's txn-list-append: transactions of appends and reads, judged by Elle."""

    name = "txn-list-append"
    checkers = ("elle-list-append",)
    description = "Maelstrom txn-list-append: multi-key append/read transactions; Elle, strict serializable"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.options = TxnOptions.parse(self._txn_options(), self.name)

    def _txn_options(self) -> Mapping[str, Any]:
        """The raw options that shape transactions (a subclass takes its own out first)."""
        return self.raw_options

    def generator(self, rng: random.Random) -> TxnGenerator:
        """Live keys and per-key append counts for one run."""
        return TxnGenerator(self.options, rng, writes="append")

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """``{"type": "txn", "txn": [...]}``."""
        return {"type": "txn", "txn": inv.value}

    def complete(self, inv: Invocation, reply: Mapping[str, Any], gen: OpGenerator) -> Completion:
        """``txn_ok`` fills the reads in; errors by Maelstrom's table (30 txn-conflict is definite)."""
        if reply.get("type") == "error":
            return error_completion(inv, reply)
        if reply.get("type") != "txn_ok" or not isinstance(reply.get("txn"), list):
            return Completion(INFO, inv.value, error=["unexpected-reply", str(reply.get("type"))])
        return Completion(OK, [list(m) if isinstance(m, list) else m for m in reply["txn"]])

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """One read-only transaction of every key written to."""
        assert isinstance(gen, TxnGenerator)
        return [Invocation("txn", [["r", k, None]]) for k, n in gen.appends.items() if n > 0]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Elle's list-append analysis."""
        from checkers import elle

        if not any(op.type == OK and op.f == "txn" for op in history):
            return Result("elle-list-append", UNKNOWN, {}, "no successful transaction: nothing to check")
        return elle.check_list_append(history)


class MaelstromTxnRWRegister(MaelstromTxnListAppend):
    """Maelstrom's txn-rw-register: transactions of reads and (unique) writes, judged by Elle's
    rw-register checker."""

    name = "txn-rw-register"
    checkers = ("elle-rw-register",)
    description = "Maelstrom txn-rw-register: multi-key read/write transactions; Elle, strict serializable"

    def _txn_options(self) -> Mapping[str, Any]:
        opts = dict(self.raw_options)
        self.consistency = str(opts.pop("consistency", "strict-serializable"))
        return opts

    def generator(self, rng: random.Random) -> TxnGenerator:
        """Like txn-list-append, with writes of values unique per key (Elle infers versions from them)."""
        return TxnGenerator(self.options, rng, writes="w")

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Elle's rw-register analysis against ``consistency`` (default strict-serializable)."""
        from checkers import elle

        if not any(op.type == OK and op.f == "txn" for op in history):
            return Result("elle-rw-register", UNKNOWN, {}, "no successful transaction: nothing to check")
        # Version orders are inferred from every source the checked model makes sound: a transaction's
        # write follows its read of the key (atomic transactions), and writes in real-time order
        # installed versions in that order (each key linearizable, as strict serializability implies).
        models = (self.consistency,)
        return elle.check_rw_register(
            history,
            consistency_models=models,
            wfr_keys=elle.models.implies(models, "read-atomic"),
            linearizable_keys=elle.models.implies(models, "linearizable"),
        )


class TxnGenerator(ListAppendGenerator):
    """The list-append generator with integer keys, as Maelstrom's txn workloads use them
    (``writes``: ``"append"`` or ``"w"``)."""

    def __init__(self, options: TxnOptions, rng: random.Random, *, writes: str) -> None:
        super().__init__(options, rng, writes=writes, key=int)


__all__ = [
    "LinKVGenerator",
    "LinKVWorkload",
    "MaelstromTxnListAppend",
    "MaelstromTxnRWRegister",
    "TxnGenerator",
    "TxnOptions",
]
