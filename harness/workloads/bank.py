"""The bank workload (Jepsen's bank test): transfers between accounts and reads of every balance.

Against a transactional store -- ``twopc`` here, whose accounts live on different shards -- every
transfer moves money between two accounts atomically, and every read sees one consistent cut of all
balances; so the total never changes and no balance goes negative. A read that sums to anything else
is the visible trace of a non-atomic commit (half a transfer) or an inconsistent read.

History: ``transfer`` with value ``{"from": a, "to": b, "amount": n}``; ``read`` invoked with ``null``
and completed with ``{account: balance}``. Requests: ``{"type": "transfer", ...}`` and
``{"type": "balances", "keys": accounts}``. The accounts and their total must match the system's
initial balances (``twopc``'s default: ``acct0``..``acct4`` with 20 each, total 100).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checkers.history import INFO, OK, Op
from checkers.result import Result
from harness.workloads.base import (
    Completion,
    Invocation,
    OpGenerator,
    OptionError,
    WorkloadSpec,
    check_option_names,
    error_completion,
)

DEFAULT_ACCOUNTS = tuple(f"acct{i}" for i in range(5))
DEFAULT_TOTAL = 100


@dataclass(frozen=True, slots=True)
class BankOptions:
    """The ``accounts`` and their conserved ``total``, the largest transfer, and the share of reads."""

    accounts: tuple[str, ...] = DEFAULT_ACCOUNTS
    total: int = DEFAULT_TOTAL
    max_amount: int = 5
    reads: float = 0.3

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> BankOptions:
        """Validated options from a JSON object; ``OptionError`` says what is wrong."""
        check_option_names(raw, cls, "bank")
        opts = cls(tuple(str(a) for a in raw.get("accounts", DEFAULT_ACCOUNTS)),
                   int(raw.get("total", DEFAULT_TOTAL)),
                   int(raw.get("max_amount", 5)), float(raw.get("reads", 0.3)))
        if len(opts.accounts) < 2 or opts.max_amount < 1 or not 0 <= opts.reads <= 1:
            raise OptionError("bank options: at least 2 accounts, max_amount >= 1, 0 <= reads <= 1")
        return opts


class BankWorkload(WorkloadSpec):
    """Random transfers and whole-bank reads, judged by the bank checker."""

    name = "bank"
    checkers = ("bank",)
    description = "transfers between accounts on different shards + reads of all balances; total conserved"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.options = BankOptions.parse(self.raw_options)

    def generator(self, rng: random.Random) -> BankGenerator:
        """Transfers and reads for one run."""
        return BankGenerator(self.options, rng)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """The twopc request for a bank op."""
        if inv.f == "read":
            return {"type": "balances", "keys": list(self.options.accounts)}
        if inv.f == "transfer":
            return {"type": "transfer", **inv.value}
        raise ValueError(f"bank workload has no op {inv.f!r}")

    def complete(self, inv: Invocation, reply: Mapping[str, Any], gen: OpGenerator) -> Completion:
        """A read completes with the balances it saw (``balances_ok``); a transfer with its invoke value."""
        if reply.get("type") == "error":
            return error_completion(inv, reply)
        if inv.f == "read" and reply.get("type") == "balances_ok":
            return Completion(OK, dict(reply.get("value") or {}))
        if inv.f == "transfer" and reply.get("type") == "transfer_ok":
            return Completion(OK, inv.value)
        return Completion(INFO, inv.value, error=["unexpected-reply", str(reply.get("type"))])

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """A few reads after healing (a read may abort on a lock conflict; one success is enough)."""
        return [Invocation("read", None) for _ in range(3)]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Every ok read sums to the total, lists every account and has no negative balance."""
        from checkers import bank

        return bank.check(history, total=self.options.total, accounts=list(self.options.accounts))


class BankGenerator(OpGenerator):
    """Reads of every balance, or transfers between two distinct accounts."""

    def __init__(self, options: BankOptions, rng: random.Random) -> None:
        super().__init__(rng)
        self.options = options
        self._accounts = list(options.accounts)

    def next_op(self) -> Invocation:
        """A read of every balance, or a transfer of 1..max_amount between two distinct accounts."""
        if self.rng.random() < self.options.reads:
            return Invocation("read", None)
        a, b = self.rng.sample(self._accounts, 2)
        return Invocation(
            "transfer", {"from": a, "to": b, "amount": self.rng.randint(1, self.options.max_amount)}
        )
