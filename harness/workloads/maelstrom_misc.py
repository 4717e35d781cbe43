"""Maelstrom's small workloads: ``echo``, ``unique-ids``, ``g-set``, ``broadcast``, ``g-counter``, ``pn-counter``.

Request and reply shapes are Maelstrom's (its workload docs):

* echo: ``echo {echo}`` -> ``echo_ok {echo}``; the reply must carry back what was sent.
* unique-ids: ``generate`` -> ``generate_ok {id}``; no id may be handed out twice.
* g-set: ``add {element}`` -> ``add_ok``; ``read`` -> ``read_ok {value: [...]}``.
* broadcast: ``broadcast {message}`` -> ``broadcast_ok``; ``read`` -> ``read_ok {messages: [...]}``;
  ``topology {topology}`` -> ``topology_ok`` is sent to every node by the harness after ``init``.
* g-counter / pn-counter: ``add {delta}`` -> ``add_ok``; ``read`` -> ``read_ok {value}``.

The set and counter workloads end with ``final-read`` ops after healing, handed out one per client in
client order (client ``i`` talks to node ``i mod nodes``), so with at least as many clients as nodes
every node is read: Maelstrom's demand is that *every* node eventually shows every acknowledged update.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import INFO, OK, Op
from checkers.result import Result
from harness.workloads.base import Completion, Invocation, OptionError, Workload, error_completion


def _options(name: str, options: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise OptionError(f"unknown {name} option(s): {', '.join(unknown)}; valid: {', '.join(sorted(allowed)) or 'none'}")


class EchoWorkload(Workload):
    """Each op sends a fresh string and expects it back."""

    name = "echo"
    checkers = ("echo",)
    description = "Maelstrom echo: every echo_ok returns what was sent"

    def __init__(self, rng: random.Random, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(rng, options)
        _options(self.name, self.options, set())
        self._n = 0

    def next_op(self) -> Invocation:
        """An echo of a fresh string."""
        self._n += 1
        return Invocation("echo", f"please echo {self._n}")

    def request(self, inv: Invocation) -> dict[str, Any]:
        """``{"type": "echo", "echo": s}``."""
        return {"type": "echo", "echo": inv.value}

    def ok_value(self, inv: Invocation, reply: Mapping[str, Any]) -> Any:
        """What came back."""
        return reply.get("echo")

    def final_ops(self) -> list[Invocation]:
        """No final phase."""
        return []

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Every ok echo returned what it sent."""
        from checkers.maelstrom import check_echo

        return check_echo(history)


class UniqueIdsWorkload(Workload):
    """``generate`` calls; every id must be distinct."""

    name = "unique-ids"
    checkers = ("unique-ids",)
    description = "Maelstrom unique-ids: generate ids on every node, also across partitions and restarts; no duplicates"

    def __init__(self, rng: random.Random, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(rng, options)
        _options(self.name, self.options, set())

    def next_op(self) -> Invocation:
        """A generate."""
        return Invocation("generate", None)

    def request(self, inv: Invocation) -> dict[str, Any]:
        """``{"type": "generate"}``."""
        return {"type": "generate"}

    def ok_value(self, inv: Invocation, reply: Mapping[str, Any]) -> Any:
        """The id handed out."""
        value = reply.get("id")
        return list(value) if isinstance(value, tuple) else value

    def final_ops(self) -> list[Invocation]:
        """No final phase."""
        return []

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """No id twice."""
        from checkers.unique_ids import check

        return check(history, f="generate")


class _FinalReads(Workload):
    """Shared by the set and counter workloads: reads during the run and ``final-read`` ops after healing."""

    read_field = "value"
    allowed: frozenset[str] = frozenset({"read_fraction", "final_reads"})

    def __init__(self, rng: random.Random, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(rng, options)
        _options(self.name, self.options, set(self.allowed))
        self.read_fraction = float(self.options.get("read_fraction", 0.25))
        self.final_reads = int(self.options.get("final_reads", 10))
        if not 0 <= self.read_fraction <= 1 or self.final_reads < 1:
            raise OptionError(f"{self.name} options: read_fraction within [0, 1], final_reads >= 1")

    def final_ops(self) -> list[Invocation]:
        """``final_reads`` reads after healing, one per client in client order (so one per node first)."""
        return [Invocation("final-read", None) for _ in range(self.final_reads)]

    def complete(self, inv: Invocation, reply: Mapping[str, Any]) -> Completion:
        """A final read is answered ``read_ok`` like a read."""
        if reply.get("type") == "error":
            return error_completion(inv, reply)
        expected = "read_ok" if inv.f in ("read", "final-read") else f"{inv.f}_ok"
        if reply.get("type") != expected:
            return Completion(INFO, inv.value, error=["unexpected-reply", str(reply.get("type"))])
        if inv.f in ("read", "final-read"):
            return Completion(OK, self.read_value(reply.get(self.read_field)))
        return Completion(OK, inv.value)

    def read_value(self, value: Any) -> Any:
        """The completed value of a read."""
        return sorted(value, key=repr) if isinstance(value, list) else value


class GSetWorkload(_FinalReads):
    """Adds of unique integers to a grow-only set; every acknowledged add reaches every node."""

    name = "g-set"
    checkers = ("set-full", "convergence")
    description = "Maelstrom g-set: add/read; every acknowledged element eventually in every node's read"
    add_type, add_field = "add", "element"

    def __init__(self, rng: random.Random, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(rng, options)
        self._next = 0

    def next_op(self) -> Invocation:
        """A read with probability ``read_fraction``, else an add of the next unused integer."""
        if self.rng.random() < self.read_fraction:
            return Invocation("read", None)
        self._next += 1
        return Invocation(self.add_type, self._next)

    def request(self, inv: Invocation) -> dict[str, Any]:
        """An add or a read."""
        if inv.f == self.add_type:
            return {"type": self.add_type, self.add_field: inv.value}
        return {"type": "read"}

    def read_value(self, value: Any) -> Any:
        """The elements read (a missing or bad field reads as nothing)."""
        return sorted(value, key=repr) if isinstance(value, list) else []

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Set-full (lost / stale) and per-node convergence after healing."""
        from checkers.maelstrom import check_convergence

        return check_convergence(history, add_f=self.add_type)


class BroadcastWorkload(GSetWorkload):
    """Maelstrom broadcast: every acknowledged message reaches every node (topology sent after init)."""

    name = "broadcast"
    description = "Maelstrom broadcast (with topology): every acknowledged message eventually read on every node"
    add_type, add_field = "broadcast", "message"
    read_field = "messages"
    allowed = frozenset({"read_fraction", "final_reads", "topology"})

    def __init__(self, rng: random.Random, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(rng, options)
        if self.options.get("topology", "grid") not in ("grid", "line", "tree", "total"):
            raise OptionError("broadcast option topology must be one of grid, line, tree, total")


class GCounterWorkload(_FinalReads):
    """Increments of a grow-only counter; reads within bounds, final reads equal the acknowledged sum."""

    name = "g-counter"
    checkers = ("eventual-counter",)
    description = "Maelstrom g-counter: add positive deltas; reads within bounds, final reads converge"
    negative = False

    def next_op(self) -> Invocation:
        """A read, or an add of a small delta (negative too for the pn-counter)."""
        if self.rng.random() < self.read_fraction:
            return Invocation("read", None)
        delta = self.rng.randint(1, 5)
        if self.negative and self.rng.random() < 0.4:
            delta = -delta
        return Invocation("add", delta)

    def request(self, inv: Invocation) -> dict[str, Any]:
        """An add or a read."""
        if inv.f == "add":
            return {"type": "add", "delta": inv.value}
        return {"type": "read"}

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Counter bounds for an eventually consistent counter."""
        from checkers.maelstrom import check_eventual_counter

        return check_eventual_counter(history)


class PNCounterWorkload(GCounterWorkload):
    """Like g-counter, with decrements."""

    name = "pn-counter"
    description = "Maelstrom pn-counter: add positive and negative deltas; reads within bounds, final reads converge"
    negative = True
