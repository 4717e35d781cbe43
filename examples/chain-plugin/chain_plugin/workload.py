"""``chain-kv``: reads and writes on a few registers, with a read/write balance of its own.

Registered as ``splitbrain.workloads: chain-kv = "chain_plugin.workload:ChainKVWorkload"``. Its option
``read_fraction`` (default 0.5) is the share of reads among the main-phase ops: chain replication's
reads and writes take different paths (tail vs. head), so the balance decides which path is stressed.
``keys`` (default 3) is the number of registers. The history is checked for linearizability.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from harness.api import Invocation, Op, OpGenerator, OptionError, Result, WorkloadSpec, check_linearizable

VALUES = 5  # a small value range makes a stale read likely to be visible


class ChainKVWorkload(WorkloadSpec):
    """Per-key reads and writes; ``read_fraction`` sets the mix. Stateless: a run's ops come from
    :class:`ChainKVGenerator`."""

    name = "chain-kv"
    checkers = ("linearizable",)
    description = "reads and writes on a few registers (option read_fraction); checked for linearizability"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        unknown = sorted(set(self.raw_options) - {"read_fraction", "keys"})
        if unknown:
            raise OptionError(f"unknown chain-kv option(s): {', '.join(unknown)}; valid: keys, read_fraction")
        self.read_fraction = float(self.raw_options.get("read_fraction", 0.5))
        self.keys = int(self.raw_options.get("keys", 3))
        if not 0.0 <= self.read_fraction <= 1.0 or self.keys < 1:
            raise OptionError("chain-kv options: read_fraction must be within [0, 1] and keys >= 1")

    def generator(self, rng: random.Random) -> ChainKVGenerator:
        """The ops of one run."""
        return ChainKVGenerator(rng, self.read_fraction, self.keys)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """Our client protocol's read / write requests."""
        if inv.f == "read":
            return {"type": "read", "key": inv.value[0]}
        return {"type": "write", "key": inv.value[0], "value": inv.value[1]}

    def ok_value(self, inv: Invocation, reply: Mapping[str, Any]) -> Any:
        """A read completes with the value it saw."""
        return [inv.value[0], reply.get("value")] if inv.f == "read" else inv.value

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """One read of every key the run used."""
        assert isinstance(gen, ChainKVGenerator)
        return [Invocation("read", [k, None]) for k in sorted(gen.used)]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Linearizability of each register (a cas-register model without cas)."""
        return check_linearizable(history, "cas-register", time_limit=time_limit)


class ChainKVGenerator(OpGenerator):
    """A read with probability ``read_fraction``, else a write of a small random value."""

    def __init__(self, rng: random.Random, read_fraction: float, keys: int) -> None:
        super().__init__(rng)
        self.read_fraction = read_fraction
        self.keys = keys
        self.used: set[str] = set()

    def next_op(self) -> Invocation:
        """The next op of the main phase."""
        key = f"k{self.rng.randrange(self.keys)}"
        self.used.add(key)
        if self.rng.random() < self.read_fraction:
            return Invocation("read", [key, None])
        return Invocation("write", [key, self.rng.randrange(VALUES)])
