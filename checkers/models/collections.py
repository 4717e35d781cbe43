"""Collection models: a grow-only set (add / read-all) and a FIFO queue (enqueue / dequeue)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from checkers.models.base import FAILED, INVALID, UNKNOWN, Model, show


class SetModel(Model):
    """A set: ``add e`` inserts, ``read -> [..]`` returns every element added so far (order ignored).

    The state is a frozenset; ``initial`` (default empty) may be any collection.
    """

    name = "set"
    fs = frozenset({"add", "read"})
    noun = "the set"
    read_only_fs = frozenset({"read"})  # reads never change the set

    def init(self) -> Hashable:
        """The initial elements."""
        initial: Any = self.initial
        return frozenset(initial or ())

    def step(self, state: Any, f: str, inp: Any, out: Any) -> Any:
        """Apply add/read."""
        if f == "add":
            return state | {inp}
        if f == "read":
            if out is UNKNOWN:
                return state
            return state if frozenset(out or ()) == state else INVALID
        raise ValueError(f"{self.name} has no operation {f!r}")



class FifoQueue(Model):
    """A FIFO queue: ``enqueue v`` appends; ``dequeue -> v`` removes the head (``-> nil`` when empty).

    The state is a tuple, head first. A crashed dequeue may have removed the head.
    """

    name = "queue"
    fs = frozenset({"enqueue", "dequeue"})
    noun = "the queue"

    def init(self) -> Hashable:
        """The initial contents (default empty)."""
        initial: Any = self.initial
        return tuple(initial or ())

    def step(self, state: Any, f: str, inp: Any, out: Any) -> Any:
        """Apply enqueue/dequeue."""
        if f == "enqueue":
            return state + (inp,)
        if f == "dequeue":
            if out is UNKNOWN:
                return state[1:]
            if out is FAILED or out is None:
                return state if not state else INVALID
            return state[1:] if state and state[0] == out else INVALID
        raise ValueError(f"{self.name} has no operation {f!r}")

    def describe(self, state: Any) -> str:
        """'[1 2 3] (head first)'."""
        return f"{show(state)} (head first)" if state else "empty"
