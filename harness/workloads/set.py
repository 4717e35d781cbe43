"""The set workload (Jepsen's set-full): add unique elements to one set, read it, and account for each.

Every add carries a fresh integer, so each element's fate can be traced on its own: an acknowledged
add that a later read does not show was lost (or, for a read that started after it was known, stale).
Reads return the whole set, which is why this workload uses one key: the history stays small per op
and the checker's cost is linear, unlike a linearizability search.

History values: add ``e`` (invoke and completion); read invoke ``null``, read ok the list of elements.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import Op
from checkers.result import UNKNOWN, Result
from harness.workloads.base import Invocation, OptionError, Workload


class SetWorkload(Workload):
    """Adds of unique integers to one set plus whole-set reads, judged by the set-full checker."""

    name = "set"
    checkers = ("set-full",)
    description = "add unique elements to a set and read it back; every acknowledged add must stay visible"

    def __init__(self, rng: random.Random, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(rng, options)
        allowed = {"key", "read_fraction", "final_reads", "linearizable"}
        unknown = sorted(set(self.options) - allowed)
        if unknown:
            raise OptionError(f"unknown set option(s): {', '.join(unknown)}; valid: {', '.join(sorted(allowed))}")
        self.key = str(self.options.get("key", "set"))
        self.read_fraction = float(self.options.get("read_fraction", 0.25))
        self.final_reads = int(self.options.get("final_reads", 3))
        self.linearizable = bool(self.options.get("linearizable", True))
        if not 0.0 <= self.read_fraction <= 1.0 or self.final_reads < 1:
            raise OptionError("set options: read_fraction must be within [0, 1] and final_reads >= 1")
        self._next = 0

    def next_op(self) -> Invocation:
        """A read with probability ``read_fraction``, else an add of the next unused element."""
        if self.rng.random() < self.read_fraction:
            return Invocation("read", None)
        element = self._next
        self._next += 1
        return Invocation("add", element)

    def request(self, inv: Invocation) -> dict[str, Any]:
        """The kv request for a set op."""
        if inv.f == "add":
            return {"type": "add", "key": self.key, "element": inv.value}
        if inv.f == "read":
            return {"type": "read", "key": self.key}
        raise ValueError(f"set workload has no op {inv.f!r}")

    def ok_value(self, inv: Invocation, reply: Mapping[str, Any]) -> Any:
        """A read completes with the elements it saw (a missing key is the empty set)."""
        if inv.f == "read":
            value = reply.get("value")
            return list(value) if isinstance(value, list) else []
        return inv.value

    def final_ops(self) -> list[Invocation]:
        """A few whole-set reads, spread over the clients (and so over the nodes)."""
        return [Invocation("read", None) for _ in range(self.final_reads)]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Jepsen's set-full analysis; with ``linearizable`` a stale element is an error too."""
        try:
            from checkers.sets import check
        except ImportError as e:
            return Result("set-full", UNKNOWN, explanation=f"set checker unavailable: {e}")
        return check(list(history), linearizable=self.linearizable)
