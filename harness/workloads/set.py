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
from dataclasses import dataclass
from typing import Any

from checkers.history import Op
from checkers.result import Result
from harness.workloads.base import Invocation, OpGenerator, OptionError, WorkloadSpec, check_option_names


@dataclass(frozen=True, slots=True)
class SetOptions:
    """The set's ``key``, the share of reads, how many final reads, and whether stale reads are errors."""

    key: str = "set"
    read_fraction: float = 0.25
    final_reads: int = 3
    linearizable: bool = True

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> SetOptions:
        """Validated options from a JSON object; ``OptionError`` says what is wrong."""
        check_option_names(raw, cls, "set")
        opts = cls(str(raw.get("key", "set")), float(raw.get("read_fraction", 0.25)),
                   int(raw.get("final_reads", 3)), bool(raw.get("linearizable", True)))
        if not 0.0 <= opts.read_fraction <= 1.0 or opts.final_reads < 1:
            raise OptionError("set options: read_fraction must be within [0, 1] and final_reads >= 1")
        return opts


class SetWorkload(WorkloadSpec):
    """Adds of unique integers to one set plus whole-set reads, judged by the set-full checker."""

    name = "set"
    checkers = ("set-full",)
    description = "add unique elements to a set and read it back; every acknowledged add must stay visible"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.options = SetOptions.parse(self.raw_options)

    def generator(self, rng: random.Random) -> SetGenerator:
        """The next unused element for one run."""
        return SetGenerator(self.options, rng)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """The kv request for a set op."""
        if inv.f == "add":
            return {"type": "add", "key": self.options.key, "element": inv.value}
        if inv.f == "read":
            return {"type": "read", "key": self.options.key}
        raise ValueError(f"set workload has no op {inv.f!r}")

    def ok_value(self, inv: Invocation, reply: Mapping[str, Any]) -> Any:
        """A read completes with the elements it saw (a missing key is the empty set)."""
        if inv.f == "read":
            value = reply.get("value")
            return list(value) if isinstance(value, list) else []
        return inv.value

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """A few whole-set reads, spread over the clients (and so over the nodes)."""
        return [Invocation("read", None) for _ in range(self.options.final_reads)]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Jepsen's set-full analysis; with ``linearizable`` a stale element is an error too."""
        from checkers.sets import check

        return check(list(history), linearizable=self.options.linearizable)


class SetGenerator(OpGenerator):
    """Reads, and adds of 0, 1, 2, ... in order."""

    def __init__(self, options: SetOptions, rng: random.Random) -> None:
        super().__init__(rng)
        self.options = options
        self._next = 0

    def next_op(self) -> Invocation:
        """A read with probability ``read_fraction``, else an add of the next unused element."""
        if self.rng.random() < self.options.read_fraction:
            return Invocation("read", None)
        element = self._next
        self._next += 1
        return Invocation("add", element)
