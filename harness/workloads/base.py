"""The workload interface: what clients do, how an op becomes a request, and who judges the history.

A workload (Maelstrom's notion) owns everything specific to one kind of test — the ops it generates,
the request each op becomes, how a reply turns into a completed history value, the final reads after
healing, and the checker(s) that judge the history — so the runner can drive a register test, a set
test or a bank test without knowing which. A workload instance belongs to one run: it may keep state
(e.g. which keys are live) and draws every choice from the rng it was built with.
"""

from __future__ import annotations

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


class Workload(ABC):
    """Base class of workloads; subclasses set ``name``/``checkers`` and implement the hooks."""

    name: ClassVar[str] = ""
    checkers: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    def __init__(self, rng: random.Random, options: Mapping[str, Any] | None = None) -> None:
        self.rng = rng
        self.options: Mapping[str, Any] = dict(options or {})

    @abstractmethod
    def next_op(self) -> Invocation:
        """The next op of the main phase (called once per invocation, in invocation order)."""

    @abstractmethod
    def request(self, inv: Invocation) -> dict[str, Any]:
        """The client request (without ``req_id``) that performs ``inv``."""

    @abstractmethod
    def final_ops(self) -> list[Invocation]:
        """Ops run after healing and quiescing (e.g. a read of every key ever written)."""

    @abstractmethod
    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Judge a whole history of this workload."""

    def complete(self, inv: Invocation, reply: Mapping[str, Any]) -> Completion:
        """Turn a node's reply into a completion; errors are ``fail`` only when definite."""
        if reply.get("type") == "error":
            return error_completion(inv, reply)
        if reply.get("type") == f"{inv.f}_ok":
            return Completion(OK, self.ok_value(inv, reply))
        return Completion(INFO, inv.value, error=["unexpected-reply", str(reply.get("type"))])

    def ok_value(self, inv: Invocation, reply: Mapping[str, Any]) -> Any:
        """The completed value of a successful op (default: the invoke value)."""
        return inv.value


def error_completion(inv: Invocation, reply: Mapping[str, Any]) -> Completion:
    """An error reply: ``fail`` if the node says the op certainly did not happen, else ``info``."""
    error = [reply.get("code"), reply.get("text", "")]
    if reply.get("definite") is True:
        return Completion(FAIL, inv.value, error=error)
    return Completion(INFO, inv.value, error=error)
