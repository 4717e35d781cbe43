"""The model contract: a small pure state machine the linearizability search replays operations against.

A model never mutates anything: ``step(state, f, inp, out)`` returns the state after the operation, or
``INVALID`` when the operation could not have returned ``out`` in ``state`` (``None`` is a real state:
registers start as ``null``). States must be hashable and
compare by value, because the search caches (linearized ops, state) configurations (Lowe's cache).

Inputs and outputs reach models *frozen* (lists -> tuples, dicts -> sorted item tuples, see ``freeze``)
so they can be hashed. ``out`` is one of the two ``Outcome`` markers when the operation's result is not
a plain value:

* ``Outcome.UNKNOWN``: the op crashed (``info``); if it took effect it did so with any result its input
  allows, so the step accepts and applies the op's effect.
* ``Outcome.FAILED``: a definite failure that still observed the state (a compare-and-set whose
  comparison failed, error 22): the step accepts only states in which that failure could happen.
"""

from __future__ import annotations

from collections.abc import Hashable
from enum import Enum
from typing import Any, ClassVar


class Outcome(Enum):
    """Markers for results that are not plain values."""

    UNKNOWN = "unknown"
    FAILED = "failed"
    INVALID = "invalid"
    NO_VALUE = "no value"

    # members are singletons compared by identity: hash them in C, not with Enum's Python __hash__ (they
    # are parts of the keys of the search's transition tables)
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return self.value


UNKNOWN = Outcome.UNKNOWN
FAILED = Outcome.FAILED
#: what ``step`` returns when the operation could not have happened (None is a legitimate state)
INVALID = Outcome.INVALID
#: what ``Model.writes`` / ``Model.needs`` return when they cannot say
NO_VALUE = Outcome.NO_VALUE


_FLAT = frozenset({list, tuple})
_SCALARS = frozenset({int, str, float, bool, type(None)})


def freeze(v: Any) -> Hashable:
    """A hashable, value-equal version of a JSON-ish value (lists -> tuples, dicts -> item tuples)."""
    t = type(v)
    if t in _SCALARS:
        return v  # type: ignore[no-any-return]
    if t in _FLAT:  # the common case first: a flat list of scalars ([old, new], [key, value])
        if len(v) == 2:
            a, b = v
            if type(a) in _SCALARS and type(b) in _SCALARS:
                return (a, b)
        return tuple([x if type(x) in _SCALARS else freeze(x) for x in v])
    if isinstance(v, list | tuple):
        return tuple([freeze(x) for x in v])
    if isinstance(v, dict):
        return tuple(sorted(((freeze(k), freeze(x)) for k, x in v.items()), key=repr))
    if isinstance(v, set | frozenset):
        return frozenset(freeze(x) for x in v)
    return v  # type: ignore[no-any-return]


def show(v: Any) -> str:
    """A short human rendering of a value (None as nil, tuples as lists)."""
    if v is None:
        return "nil"
    if type(v) is int:  # the common case first
        return str(v)
    if isinstance(v, tuple):
        return "[" + " ".join(show(x) for x in v) + "]"
    if isinstance(v, frozenset):
        return "#{" + " ".join(sorted(show(x) for x in v)) + "}"
    if isinstance(v, str):
        return repr(v)
    return str(v)


class Model:
    """Base class of every model; subclasses set ``name``, ``fs`` and implement ``init`` / ``step``."""

    name: ClassVar[str] = "model"
    #: the operation names this model understands
    fs: ClassVar[frozenset[str]] = frozenset()
    #: True if per-key histories (values ``[key, x]``) may be split and checked independently
    keyable: ClassVar[bool] = False
    #: what a state is called in explanations ("the register holds ...")
    noun: ClassVar[str] = "the object"
    #: the read-only operations (see ``is_read_only``) when the name alone decides, None when the input
    #: matters too (a subclass then overrides ``is_read_only``); lets the search skip a call per operation
    read_only_fs: ClassVar[frozenset[str] | None] = frozenset()

    def __init__(self, initial: Any = None) -> None:
        self.initial = freeze(initial)

    def init(self) -> Hashable:
        """The state before any operation."""
        return self.initial

    def step(self, state: Any, f: str, inp: Any, out: Any) -> Any:
        """The state after ``f(inp) -> out`` in ``state``, or ``INVALID`` if that result is impossible there."""
        raise NotImplementedError

    def is_read_only(self, f: str, inp: Any) -> bool:
        """True if the op never changes the state, whatever it returns (a crashed one constrains nothing)."""
        ro = self.read_only_fs
        return ro is not None and f in ro

    def needs(self, f: str, inp: Any, out: Any) -> Any:
        """The exact state this completed op requires (a read's result), or ``NO_VALUE`` if not that simple.

        With ``writes`` this lets the search abandon a configuration at once when the oldest pending op
        needs a value that no op still placeable before it can produce.
        """
        return NO_VALUE

    def writes(self, f: str, inp: Any, out: Any) -> Any:
        """The state this op leaves when it changes the state, or ``NO_VALUE`` (never, or not that simple)."""
        return NO_VALUE

    def target(self, f: str, inp: Any, out: Any) -> Any:
        """The exact state a completed op needs to succeed (a get's result), or ``NO_VALUE``; used with
        ``may_reach`` and ``resets`` (a model overriding ``may_reach`` must override all three)."""
        return NO_VALUE

    #: ``may_reach(s, t)`` is ``t.startswith(s)`` whenever both are strings (the search then calls that)
    reach_is_prefix: ClassVar[bool] = False

    def may_reach(self, state: Any, target: Any) -> bool:
        """False when no sequence of ops that do not ``reset`` can take ``state`` to ``target`` (True
        when unsure). Lets the search abandon a configuration in which some pending op's target has
        become unreachable."""
        return True

    def resets(self, f: str, inp: Any) -> bool:
        """True when the op may take the state out of what ``may_reach`` allows (a put); the state it
        leaves must then not depend on the one before. Conservative by default."""
        return True

    def crash_is_noop(self, f: str, inp: Any) -> bool:
        """True if a crashed (``info``) op of this kind can be dropped: taking effect or not is the same."""
        return self.is_read_only(f, inp)

    def describe(self, state: Any) -> str:
        """A short human rendering of a state."""
        return show(state)

    def describe_op(self, f: str, inp: Any, out: Any) -> str:
        """A short human rendering of an operation ("read 3", "cas 1->2")."""
        if out is UNKNOWN or out is None:
            return f"{f} {show(inp)}" if inp is not None else f
        if out is FAILED:
            return f"{f} {show(inp)} (failed)"
        return f"{f} {show(inp) if inp is not None else ''} -> {show(out)}".replace("  ", " ")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and type(self) is type(other) and self.initial == other.initial

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.initial))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(initial={self.initial!r})"
