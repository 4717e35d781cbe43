"""The register workload: reads, writes and compare-and-sets on a few independent integer registers.

This is Jepsen's classic linearizability test. Keys are independent (each register is checked on its
own — P-compositionality), and each key retires after ``ops_per_key`` ops and is replaced by a fresh
one, as Jepsen's independent generator does: a linearizability search is exponential in the number of
concurrent and crashed ops per key, so many short per-key histories are checkable where one long one
is not. Values are drawn from a small range so that compare-and-sets succeed often enough to matter.

History values (DESIGN §5): read invoke ``[k, null]`` / ok ``[k, v]``; write ``[k, v]``;
cas ``[k, [old, new]]``. Registers start as ``null``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checkers.history import Op
from checkers.result import Result
from harness.workloads.base import Invocation, OpGenerator, OptionError, WorkloadSpec, check_option_names

DEFAULT_MIX: Mapping[str, float] = {"read": 1.0, "write": 1.0, "cas": 1.0}


@dataclass(frozen=True, slots=True)
class RegisterOptions:
    """``keys`` live at once, ``ops_per_key`` before a key retires, ``values`` drawn from range(values),
    and the op ``mix`` (relative weights of read / write / cas)."""

    keys: int = 3
    ops_per_key: int = 100
    values: int = 5
    mix: tuple[tuple[str, float], ...] = tuple(DEFAULT_MIX.items())

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> RegisterOptions:
        """Validated options from a JSON object; ``OptionError`` says what is wrong."""
        check_option_names(raw, cls, "register")
        mix = dict(raw.get("mix", DEFAULT_MIX))
        opts = cls(int(raw.get("keys", 3)), int(raw.get("ops_per_key", 100)), int(raw.get("values", 5)),
                   tuple((f, float(w)) for f, w in mix.items() if float(w) > 0))
        bad = sorted(set(mix) - set(DEFAULT_MIX))
        if bad or opts.keys < 1 or opts.ops_per_key < 1 or opts.values < 1:
            raise OptionError(
                "register options: keys, ops_per_key and values must be >= 1; mix may name only read, "
                "write, cas"
            )
        if not opts.mix:
            raise OptionError("register mix needs at least one op with a positive weight")
        return opts


class RegisterWorkload(WorkloadSpec):
    """Per-key register ops (read / write / cas) judged by the cas-register linearizability checker."""

    name = "register"
    checkers = ("linearizability",)
    description = "read/write/cas on independent integer registers; checked for linearizability"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.options = RegisterOptions.parse(self.raw_options)

    def generator(self, rng: random.Random) -> RegisterGenerator:
        """Live keys and per-key op counts for one run."""
        return RegisterGenerator(self.options, rng)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """The kv request for a register op."""
        key = inv.value[0]
        if inv.f == "read":
            return {"type": "read", "key": key}
        if inv.f == "write":
            return {"type": "write", "key": key, "value": inv.value[1]}
        if inv.f == "cas":
            old, new = inv.value[1]
            return {"type": "cas", "key": key, "from": old, "to": new}
        raise ValueError(f"register workload has no op {inv.f!r}")

    def ok_value(self, inv: Invocation, reply: Mapping[str, Any]) -> Any:
        """A read completes with the value it saw; writes and cas with their invoke value."""
        if inv.f == "read":
            return [inv.value[0], reply.get("value")]
        return inv.value

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """One read of every key that received at least one op, in key order."""
        assert isinstance(gen, RegisterGenerator)
        return [Invocation("read", [k, None]) for k, n in gen.used.items() if n > 0]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Linearizability against a cas-register model, per key."""
        from checkers.linearizability import check

        return check(list(history), "cas-register", time_limit=time_limit)


class RegisterGenerator(OpGenerator):
    """Random register ops on a few live keys; a key that has had ``ops_per_key`` ops is replaced."""

    def __init__(self, options: RegisterOptions, rng: random.Random) -> None:
        super().__init__(rng)
        self.options = options
        self._next_key = 0
        self._live: list[str] = [self._new_key() for _ in range(options.keys)]
        self.used: dict[str, int] = {k: 0 for k in self._live}

    def _new_key(self) -> str:
        key = f"k{self._next_key}"
        self._next_key += 1
        return key

    def next_op(self) -> Invocation:
        """A random op on a random live key; a key that has had ``ops_per_key`` ops is replaced."""
        slot = self.rng.randrange(len(self._live))
        key = self._live[slot]
        self.used[key] += 1
        if self.used[key] >= self.options.ops_per_key:
            fresh = self._new_key()
            self._live[slot] = fresh
            self.used[fresh] = 0
        mix = self.options.mix
        values = self.options.values
        f = self.rng.choices([m[0] for m in mix], weights=[m[1] for m in mix])[0]
        if f == "read":
            return Invocation("read", [key, None])
        if f == "write":
            return Invocation("write", [key, self.rng.randrange(values)])
        return Invocation("cas", [key, [self.rng.randrange(values), self.rng.randrange(values)]])
