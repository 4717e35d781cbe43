"""The workload interface: what clients do, how an op becomes a request, and who judges the history.

A workload (Maelstrom's notion) owns everything specific to one kind of test — the ops it generates,
the request each op becomes, how a reply turns into a completed history value, the final reads after
healing, and the checker(s) that judge the history — so the runner can drive a register test, a set
test or a bank test without knowing which. It comes in two halves: a stateless :class:`WorkloadSpec`
(options, requests, completions, final reads, checkers) and a stateful :class:`OpGenerator` built per
run from the run's rng. Checking a history needs only the spec.
"""

from __future__ import annotations

import dataclasses
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from checkers.history import FAIL, INFO, OK, Op
from checkers.result import Result


class OptionError(ValueError):
    """A workload option that does not exist or has a bad value."""


@dataclass(frozen=True, slots=True)
class Invocation:
    """An op a client is about to perform: history ``f`` and invoke ``value``."""

    f: str
    value: Any


@dataclass(frozen=True, slots=True)
class Completion:
    """How an op ended: history ``type`` (ok / fail / info), completed ``value`` and optional ``error``."""

    type: str
    value: Any
    error: Any = None


def check_option_names(raw: Mapping[str, Any], options_type: type[Any], workload: str) -> None:
    """Refuse option names that ``options_type`` (a dataclass) has no field for, listing the valid ones."""
    allowed = {f.name for f in dataclasses.fields(options_type)}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise OptionError(
            f"unknown {workload} option(s): {', '.join(unknown)}; valid: {', '.join(sorted(allowed))}"
        )


class WorkloadSpec(ABC):
    """What a workload *is*, independent of any run: its options, how an op becomes a request and how a
    reply becomes a completion (which errors are definite), its final reads, and the checker(s) that
    judge its histories.

    A spec holds no run state, so judging a stored history needs only the spec (``check``), never a
    generator. The state of one run — which keys are live, which grants were seen — lives in the
    :class:`OpGenerator` that :meth:`generator` builds; ``request``, ``complete`` and ``final_ops`` are
    handed that generator because some workloads' requests depend on what the run has seen so far.
    """

    name: ClassVar[str] = ""
    checkers: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.raw_options: Mapping[str, Any] = dict(options or {})

    @abstractmethod
    def generator(self, rng: random.Random) -> OpGenerator:
        """A fresh op generator for one run, drawing every choice from ``rng``."""

    @abstractmethod
    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """The client request (without ``req_id``) that performs ``inv``."""

    @abstractmethod
    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """Ops run after healing and quiescing (e.g. a read of every key ``gen`` ever used)."""

    @abstractmethod
    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Judge a whole history of this workload."""

    def complete(self, inv: Invocation, reply: Mapping[str, Any], gen: OpGenerator) -> Completion:
        """Turn a node's reply into a completion; errors are ``fail`` only when definite."""
        if reply.get("type") == "error":
            return error_completion(inv, reply)
        if reply.get("type") == f"{inv.f}_ok":
            return Completion(OK, self.ok_value(inv, reply))
        return Completion(INFO, inv.value, error=["unexpected-reply", str(reply.get("type"))])

    def ok_value(self, inv: Invocation, reply: Mapping[str, Any]) -> Any:
        """The completed value of a successful op (default: the invoke value)."""
        return inv.value

    def cluster_config(self, nodes: Sequence[str]) -> Mapping[str, Any]:
        """System config this workload needs the cluster of ``nodes`` to have (default: none).

        The run plan puts it under the run's own config overrides in the backend's ``ClusterSpec``, so
        a backend learns what the workload asks of the nodes (e.g. Maelstrom's broadcast topology,
        sent to each node after ``init``) without ever seeing the run spec.
        """
        return {}


class OpGenerator(ABC):
    """The stateful half of a workload: the ops of one run, drawn from the run's rng."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    @abstractmethod
    def next_op(self) -> Invocation:
        """The next op of the main phase (called once per invocation, in invocation order)."""


class Workload:
    """One run's workload: the stateless spec together with the generator that run draws ops from.

    This is what the runner drives; each method routes to the half that owns it.
    """

    __slots__ = ("gen", "spec")

    def __init__(self, spec: WorkloadSpec, gen: OpGenerator) -> None:
        self.spec = spec
        self.gen = gen

    @property
    def name(self) -> str:
        """The workload's name."""
        return self.spec.name

    def next_op(self) -> Invocation:
        """The generator's next op."""
        return self.gen.next_op()

    def request(self, inv: Invocation) -> dict[str, Any]:
        """The spec's request for ``inv`` in this run."""
        return self.spec.request(inv, self.gen)

    def complete(self, inv: Invocation, reply: Mapping[str, Any]) -> Completion:
        """The spec's completion of ``inv`` from ``reply`` in this run."""
        return self.spec.complete(inv, reply, self.gen)

    def final_ops(self) -> list[Invocation]:
        """The spec's final ops for what this run generated."""
        return self.spec.final_ops(self.gen)

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """The spec's checker(s)."""
        return self.spec.check(history, time_limit=time_limit)


def error_completion(inv: Invocation, reply: Mapping[str, Any]) -> Completion:
    """An error reply: ``fail`` if the node says the op certainly did not happen, else ``info``."""
    error = [reply.get("code"), reply.get("text", "")]
    if reply.get("definite") is True:
        return Completion(FAIL, inv.value, error=error)
    return Completion(INFO, inv.value, error=error)
