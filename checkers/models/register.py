"""Register-like models: register, cas-register, Porcupine's key-value (get/put/append) and multi-register.

The single-value ones (register, cas-register, kv) are ``keyable``: a history of ``[key, x]`` values is
a product of independent registers, so the checker splits it per key (P-compositionality) and runs one
model per key.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from checkers.models.base import FAILED, INVALID, NO_VALUE, UNKNOWN, Model, show


class Register(Model):
    """A read/write register: ``read -> v`` must return the last value written."""

    name = "register"
    fs = frozenset({"read", "write"})
    keyable = True
    noun = "the register"
    read_only_fs = frozenset({"read"})

    def step(self, state: Any, f: str, inp: Any, out: Any) -> Any:
        """Apply read/write."""
        if f == "read":
            if out is UNKNOWN or out == state:
                return state
            return INVALID
        if f == "write":
            return inp
        raise ValueError(f"{self.name} has no operation {f!r}")

    def needs(self, f: str, inp: Any, out: Any) -> Any:
        """A read needs the value it returned; a successful cas needs its ``old``."""
        if f == "read" and out is not UNKNOWN and out is not FAILED:
            return out
        if f == "cas" and out is not UNKNOWN and out is not FAILED and isinstance(inp, tuple) and len(inp) == 2:
            return inp[0]
        return NO_VALUE

    def writes(self, f: str, inp: Any, out: Any) -> Any:
        """A write stores its input, a cas (if it succeeds) its ``new``."""
        if f == "write":
            return inp
        if f == "cas" and out is not FAILED and isinstance(inp, tuple) and len(inp) == 2:
            return inp[1]
        return NO_VALUE

    def describe_op(self, f: str, inp: Any, out: Any) -> str:
        """'read 3', 'write 4', 'cas 1->2'."""
        if f == "read":
            return "read" if out is UNKNOWN or out is FAILED else f"read {show(out)}"
        if f == "cas" and isinstance(inp, tuple) and len(inp) == 2:
            text = f"cas {show(inp[0])}->{show(inp[1])}"
            return text + (" (comparison failed)" if out is FAILED else "")
        return f"{f} {show(inp)}"


class CasRegister(Register):
    """A register with compare-and-set: ``cas [old new]`` succeeds only when the register holds ``old``.

    A ``cas`` that failed its comparison (``Outcome.FAILED``) observed that the register did *not* hold
    ``old``; a crashed one (``Outcome.UNKNOWN``) either swapped or found another value and did nothing.
    """

    name = "cas-register"
    fs = frozenset({"read", "write", "cas"})

    def step(self, state: Any, f: str, inp: Any, out: Any) -> Any:
        """Apply read/write/cas."""
        if f != "cas":
            return super().step(state, f, inp, out)
        try:
            old, new = inp
        except (TypeError, ValueError):
            raise ValueError(f"cas expects [old, new], got {inp!r}") from None
        if out is FAILED:
            return state if state != old else INVALID
        if state == old:
            return new
        return state if out is UNKNOWN else INVALID


class KeyValue(Model):
    """Porcupine's key-value model per key: ``get -> s``, ``put s``, ``append s`` concatenates strings.

    A missing key reads as the empty string, so ``initial=None`` means ``""``.
    """

    name = "kv"
    fs = frozenset({"get", "put", "append"})
    keyable = True
    noun = "the key"
    read_only_fs = frozenset({"get"})  # gets never change the value

    def __init__(self, initial: Any = None) -> None:
        super().__init__("" if initial is None else initial)

    def step(self, state: Any, f: str, inp: Any, out: Any) -> Any:
        """Apply get/put/append."""
        if f == "get":
            if out is UNKNOWN or out == state or (out is None and state == ""):
                return state
            return INVALID
        if f == "put":
            return "" if inp is None else inp
        if f == "append":
            return state + ("" if inp is None else inp)
        raise ValueError(f"{self.name} has no operation {f!r}")

    def target(self, f: str, inp: Any, out: Any) -> Any:
        """A completed get needs the value it returned."""
        if f == "get" and out is not UNKNOWN and out is not FAILED:
            return "" if out is None else out
        return NO_VALUE

    reach_is_prefix = True

    def may_reach(self, state: Any, target: Any) -> bool:
        """Gets keep the value and appends extend it: only a value that starts with it is reachable."""
        if isinstance(state, str) and isinstance(target, str):
            return target.startswith(state)
        return True

    def resets(self, f: str, inp: Any) -> bool:
        """A put replaces the value; a get or an append never shortens it."""
        return f == "put"

    def describe_op(self, f: str, inp: Any, out: Any) -> str:
        """'get -> "x 1 y"', 'append "z"'."""
        if f == "get":
            return "get" if out is UNKNOWN else f"get -> {show(out)}"
        return f"{f} {show(inp)}"


class MultiRegister(Model):
    """Several named registers read and written by transactions of micro-ops ``[f, k, v]`` (f r/w).

    The state is a sorted tuple of ``(key, value)`` pairs; a key never written holds ``initial``.
    Reads take their values from the completion (``out``); a crashed transaction applies its writes.
    """

    name = "multi-register"
    fs = frozenset({"txn", "read", "write"})
    noun = "the registers"
    read_only_fs = None  # a transaction is read-only when all its micro-ops are reads

    def init(self) -> Hashable:
        """No key written yet."""
        return ()

    def step(self, state: Any, f: str, inp: Any, out: Any) -> Any:
        """Apply every micro-op in order; any read mismatch rejects the transaction."""
        regs = dict(state)
        observed = not (out is UNKNOWN or out is FAILED or out is None)
        mops = out if observed else inp
        for mop in mops or ():
            try:
                mf, k, v = mop
            except (TypeError, ValueError):
                raise ValueError(f"micro-op must be [f, key, value], got {mop!r}") from None
            if mf in ("r", "read"):
                if observed and regs.get(k, self.initial) != v:
                    return INVALID
            elif mf in ("w", "write"):
                regs[k] = v
            else:
                raise ValueError(f"{self.name} has no micro-op {mf!r}")
        return tuple(sorted(regs.items(), key=repr))

    def is_read_only(self, f: str, inp: Any) -> bool:
        """A transaction of reads only."""
        try:
            return all(m[0] in ("r", "read") for m in inp or ())
        except (TypeError, IndexError):
            return False

    def describe(self, state: Any) -> str:
        """'{x 1, y 2}'."""
        return "{" + ", ".join(f"{show(k)} {show(v)}" for k, v in state) + "}"
