"""Transactions as the cycle checker sees them: one record per client ``txn`` operation.

A history interleaves invocations and completions; the dependency analysis wants one value per
transaction: its micro-ops (with the read results of the completion when it has them), how it ended
(ok / info / fail), its process, and *where* in the history it started and finished, because the
real-time order is "T1 finished before T2 started" in history order (Elle's convention, which also works
for histories without timestamps). Completions that arrive without an invocation (some recorded histories
hold only completions) are taken as instantaneous transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from checkers.history import FAIL, INFO, INVOKE, NEMESIS, OK, HistoryError, Op

Mop = Sequence[Any]


@dataclass(slots=True)
class Txn:
    """One transaction: dense id, its completion (or invocation) op, and its micro-ops.

    Treated as immutable, but not declared ``frozen``: a frozen dataclass's constructor is about three
    times slower, which at 10^5 transactions is a visible share of the whole check.
    """

    id: int
    op: Op
    type: str
    process: Any
    mops: Sequence[Mop]
    start: int
    end: int | None

    @property
    def index(self) -> int:
        """History index of the op that represents this transaction (its completion when known)."""
        return self.op.index

    def describe(self) -> str:
        """A compact rendering for explanations: ``index 7 (process 2, ok): [[append 1 3] ...]``."""
        mops = " ".join("[" + " ".join(_fmt(x) for x in m) + "]" for m in self.mops)
        return f"op {self.index} (process {self.process}, {self.type}): [{mops}]"


def _fmt(x: Any) -> str:
    if x is None:
        return "nil"
    if isinstance(x, list | tuple):
        return "[" + " ".join(_fmt(e) for e in x) + "]"
    return str(x)


def extract(history: Sequence[Op], f: str = "txn") -> tuple[list[Txn], list[Txn]]:
    """Pair up ``f`` operations into ``(possible, failed)`` transactions.

    ``possible`` holds ok and info ones (those that may have taken effect) with dense ids 0..n-1 in
    invocation order; ``failed`` the definitely-aborted ones (ids continue after ``possible``).
    """
    open_: dict[Any, int] = {}
    invokes: list[tuple[int, Op]] = []
    comps: list[tuple[Op, int] | None] = []
    for pos, op in enumerate(history):
        if op.f != f or op.process == NEMESIS:
            continue
        if op.type == INVOKE:
            if op.process is None and None in open_:
                raise HistoryError(f"op {op.index}: ops without a process overlap, so invocations cannot be "
                                   "paired with completions (this history needs :process)")
            # A process invoking again without completing leaves its earlier op open: never completed.
            open_[op.process] = len(invokes)
            invokes.append((pos, op))
            comps.append(None)
        else:
            slot = open_.pop(op.process, None)
            if slot is None:
                invokes.append((pos, op))
                comps.append((op, pos))
            else:
                comps[slot] = (op, pos)
    possible: list[Txn] = []
    failed: list[tuple[int, Op, tuple[Op, int] | None]] = []
    for (start, inv_op), comp in zip(invokes, comps, strict=True):
        if comp is None:
            value = inv_op.value
            possible.append(Txn(len(possible), inv_op, INFO, inv_op.process,
                                value if isinstance(value, list | tuple) else (), start, None))
            continue
        cop, end = comp
        typ = cop.type
        if typ == FAIL:
            failed.append((start, inv_op, comp))
            continue
        value = cop.value if cop.value is not None else inv_op.value
        possible.append(Txn(len(possible), cop, OK if typ == OK else INFO, inv_op.process,
                            value if isinstance(value, list | tuple) else (), start, end if typ == OK
                            else None))
    n = len(possible)
    fails: list[Txn] = []
    for start, inv_op, comp in failed:
        cop, end = comp  # type: ignore[misc]
        value = cop.value if cop.value is not None else inv_op.value
        fails.append(Txn(n + len(fails), cop, FAIL, inv_op.process,
                         value if isinstance(value, list | tuple) else (), start, end))
    return possible, fails
