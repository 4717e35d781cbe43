"""Maelstrom's small workloads: ``echo``, ``unique-ids``, ``g-set``, ``broadcast``, ``g-counter``,
``pn-counter``.

Request and reply shapes are Maelstrom's (its workload docs):

* echo: ``echo {echo}`` -> ``echo_ok {echo}``; the reply must carry back what was sent.
* unique-ids: ``generate`` -> ``generate_ok {id}``; no id may be handed out twice.
* g-set: ``add {element}`` -> ``add_ok``; ``read`` -> ``read_ok {value: [...]}``.
* broadcast: ``broadcast {message}`` -> ``broadcast_ok``; ``read`` -> ``read_ok {messages: [...]}``;
  ``topology {topology}`` -> ``topology_ok`` is sent to every node by the harness after ``init`` (the
  workload hands it to the cluster as config ``after_init``, see :meth:`BroadcastWorkload.cluster_config`).
* g-counter / pn-counter: ``add {delta}`` -> ``add_ok``; ``read`` -> ``read_ok {value}``.

The set and counter workloads end with ``final-read`` ops after healing, handed out one per client in
client order (client ``i`` talks to node ``i mod nodes``), so with at least as many clients as nodes
every node is read: Maelstrom's demand is that *every* node eventually shows every acknowledged update.

Each workload is a stateless :class:`WorkloadSpec` and an :class:`OpGenerator` holding one run's
counters.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from checkers.history import INFO, OK, Op
from checkers.result import Result
from harness.workloads.base import (
    Completion,
    Invocation,
    OpGenerator,
    OptionError,
    WorkloadSpec,
    error_completion,
)

TOPOLOGIES = ("grid", "line", "tree", "total")


def _options(name: str, options: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise OptionError(
            f"unknown {name} option(s): {', '.join(unknown)}; valid: {', '.join(sorted(allowed)) or 'none'}"
        )


class EchoWorkload(WorkloadSpec):
    """Each op sends a fresh string and expects it back."""

    name = "echo"
    checkers = ("echo",)
    description = "Maelstrom echo: every echo_ok returns what was sent"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        _options(self.name, self.raw_options, set())

    def generator(self, rng: random.Random) -> EchoGenerator:
        """Numbered strings for one run."""
        return EchoGenerator(rng)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """``{"type": "echo", "echo": s}``."""
        return {"type": "echo", "echo": inv.value}

    def ok_value(self, inv: Invocation, reply: Mapping[str, Any]) -> Any:
        """What came back."""
        return reply.get("echo")

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """No final phase."""
        return []

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Every ok echo returned what it sent."""
        from checkers.maelstrom import check_echo

        return check_echo(history)


class EchoGenerator(OpGenerator):
    """``please echo 1``, ``please echo 2``, ..."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self._n = 0

    def next_op(self) -> Invocation:
        """An echo of a fresh string."""
        self._n += 1
        return Invocation("echo", f"please echo {self._n}")


class UniqueIdsWorkload(WorkloadSpec):
    """``generate`` calls; every id must be distinct."""

    name = "unique-ids"
    checkers = ("unique-ids",)
    description = (
        "Maelstrom unique-ids: generate ids on every node, also across partitions and restarts; no duplicates"
    )

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        _options(self.name, self.raw_options, set())

    def generator(self, rng: random.Random) -> UniqueIdsGenerator:
        """Nothing but ``generate``."""
        return UniqueIdsGenerator(rng)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """``{"type": "generate"}``."""
        return {"type": "generate"}

    def ok_value(self, inv: Invocation, reply: Mapping[str, Any]) -> Any:
        """The id handed out."""
        value = reply.get("id")
        return list(value) if isinstance(value, tuple) else value

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """No final phase."""
        return []

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """No id twice."""
        from checkers.unique_ids import check

        return check(history, f="generate")


class UniqueIdsGenerator(OpGenerator):
    """Every op is a ``generate``."""

    def next_op(self) -> Invocation:
        """A generate."""
        return Invocation("generate", None)


class _FinalReads(WorkloadSpec):
    """Shared by the set and counter workloads: reads during the run and ``final-read`` ops after healing."""

    read_field: ClassVar[str] = "value"
    allowed: ClassVar[frozenset[str]] = frozenset({"read_fraction", "final_reads"})

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        _options(self.name, self.raw_options, set(self.allowed))
        self.read_fraction = float(self.raw_options.get("read_fraction", 0.25))
        self.final_reads = int(self.raw_options.get("final_reads", 10))
        if not 0 <= self.read_fraction <= 1 or self.final_reads < 1:
            raise OptionError(f"{self.name} options: read_fraction within [0, 1], final_reads >= 1")

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """``final_reads`` reads after healing, one per client in client order (so one per node first)."""
        return [Invocation("final-read", None) for _ in range(self.final_reads)]

    def complete(self, inv: Invocation, reply: Mapping[str, Any], gen: OpGenerator) -> Completion:
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
    add_type: ClassVar[str] = "add"
    add_field: ClassVar[str] = "element"

    def generator(self, rng: random.Random) -> GSetGenerator:
        """Adds of 1, 2, 3, ... mixed with reads."""
        return GSetGenerator(rng, self.read_fraction, self.add_type)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
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


class GSetGenerator(OpGenerator):
    """A read with probability ``read_fraction``, else an add of the next unused integer."""

    def __init__(self, rng: random.Random, read_fraction: float, add_type: str) -> None:
        super().__init__(rng)
        self.read_fraction = read_fraction
        self.add_type = add_type
        self._next = 0

    def next_op(self) -> Invocation:
        """A read, or an add of the next integer."""
        if self.rng.random() < self.read_fraction:
            return Invocation("read", None)
        self._next += 1
        return Invocation(self.add_type, self._next)


class BroadcastWorkload(GSetWorkload):
    """Maelstrom broadcast: every acknowledged message reaches every node (topology sent after init)."""

    name = "broadcast"
    description = (
        "Maelstrom broadcast (with topology): every acknowledged message eventually read on every node"
    )
    add_type, add_field = "broadcast", "message"
    read_field = "messages"
    allowed = frozenset({"read_fraction", "final_reads", "topology"})

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.topology = self.raw_options.get("topology", "grid")
        if self.topology not in TOPOLOGIES:
            raise OptionError(f"broadcast option topology must be one of {', '.join(TOPOLOGIES)}")

    def cluster_config(self, nodes: Sequence[str]) -> Mapping[str, Any]:
        """Each node gets its neighbours in a ``topology`` message right after ``init`` (``after_init``)."""
        return {"after_init": [{"type": "topology", "topology": topology(str(self.topology), list(nodes))}]}


class GCounterWorkload(_FinalReads):
    """Increments of a grow-only counter; reads within bounds, final reads equal the acknowledged sum."""

    name = "g-counter"
    checkers = ("eventual-counter",)
    description = "Maelstrom g-counter: add positive deltas; reads within bounds, final reads converge"
    negative: ClassVar[bool] = False

    def generator(self, rng: random.Random) -> CounterGenerator:
        """Small deltas (negative too for the pn-counter) mixed with reads."""
        return CounterGenerator(rng, self.read_fraction, self.negative)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
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
    description = (
        "Maelstrom pn-counter: add positive and negative deltas; reads within bounds, final reads converge"
    )
    negative = True


class CounterGenerator(OpGenerator):
    """A read with probability ``read_fraction``, else an add of 1..5 (negated 40% of the time if
    ``negative``)."""

    def __init__(self, rng: random.Random, read_fraction: float, negative: bool) -> None:
        super().__init__(rng)
        self.read_fraction = read_fraction
        self.negative = negative

    def next_op(self) -> Invocation:
        """A read, or an add of a small delta."""
        if self.rng.random() < self.read_fraction:
            return Invocation("read", None)
        delta = self.rng.randint(1, 5)
        if self.negative and self.rng.random() < 0.4:
            delta = -delta
        return Invocation("add", delta)


def topology(kind: str, nodes: Sequence[str]) -> dict[str, list[str]]:
    """Each node's neighbours for the broadcast workload's ``topology`` message (Maelstrom's default:
    grid)."""
    n = len(nodes)
    if kind == "total":
        return {a: [b for b in nodes if b != a] for a in nodes}
    if kind == "line":
        return {a: [nodes[j] for j in (i - 1, i + 1) if 0 <= j < n] for i, a in enumerate(nodes)}
    if kind == "tree":
        out: dict[str, list[str]] = {a: [] for a in nodes}
        for i in range(1, n):
            parent = nodes[(i - 1) // 2]
            out[parent].append(nodes[i])
            out[nodes[i]].append(parent)
        return out
    if kind != "grid":
        raise ValueError(f"unknown topology {kind!r}; valid: {', '.join(TOPOLOGIES)}")
    width = max(1, math.isqrt(n - 1) + 1) if n > 1 else 1
    grid: dict[str, list[str]] = {}
    for i, a in enumerate(nodes):
        r, c = divmod(i, width)
        near = [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)]
        grid[a] = [
            nodes[rr * width + cc]
            for rr, cc in near
            if 0 <= cc < width and 0 <= rr * width + cc < n and rr >= 0
        ]
    return grid
