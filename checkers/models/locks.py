"""Lock models: a plain mutex and a fencing-token lock guarding a register.

Lock histories carry the owner in the op value (``acquire``/``release`` value = owner, or None when the
history does not name owners). A fencing lock's ``acquire`` returns a token (an int, ``[owner, token]``
or ``{"owner": .., "token": ..}``); guarded ``write`` ops carry ``[token, value]``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from checkers.models.base import FAILED, INVALID, UNKNOWN, Model, show

_HELD_ANON = "<held>"


def _token(v: Any) -> int | None:
    """The fencing token inside an acquire result, whatever its shape."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, tuple):
        for k, x in v if all(isinstance(p, tuple) and len(p) == 2 for p in v) else ():
            if k == "token":
                return _token(x)
        if len(v) == 2 and isinstance(v[1], int):
            return v[1]
    return None


class Mutex(Model):
    """A mutex: ``acquire`` succeeds only when free, ``release`` only when held (by the same owner if named).

    The state is ``()`` when free and ``(owner,)`` when held (owner ``"<held>"`` for anonymous histories):
    a tuple so that every state, free or held, is a small hashable value.
    """

    name = "mutex"
    fs = frozenset({"acquire", "release"})
    noun = "the lock"

    def init(self) -> Hashable:
        """Free."""
        return ()

    def step(self, state: Any, f: str, inp: Any, out: Any) -> Any:
        """Apply acquire/release."""
        owner = _HELD_ANON if inp is None else inp
        if f == "acquire":
            if not state:
                return (owner,)
            return state if out is UNKNOWN else INVALID
        if f == "release":
            if state and (inp is None or state[0] in (owner, _HELD_ANON)):
                return ()
            return state if out is UNKNOWN else INVALID
        raise ValueError(f"{self.name} has no operation {f!r}")

    def describe(self, state: Any) -> str:
        """'free' or 'held by X'."""
        if not state:
            return "free"
        return "held" if state[0] == _HELD_ANON else f"held by {show(state[0])}"


class FencingLock(Model):
    """A lock that hands out strictly increasing fencing tokens, guarding a register.

    State ``(last_token, write_token, value)``: ``acquire -> t`` needs ``t > last_token``; a guarded
    ``write [t v]`` that storage accepted needs ``write_token <= t <= last_token`` (a token not yet issued,
    or older than one storage already accepted, must be rejected); ``read -> v`` returns the guarded value;
    ``release`` constrains nothing. A crashed acquire's token is unknown, so it adds no constraint (no
    later token is required to exceed it): it is treated as never having happened.
    """

    name = "fencing-lock"
    fs = frozenset({"acquire", "release", "write", "read"})
    noun = "the lock"
    read_only_fs = frozenset({"read", "release"})  # reads and releases leave the state alone

    def init(self) -> Hashable:
        """No token issued, nothing written."""
        return (-(2**63), -(2**63), self.initial)

    def step(self, state: Any, f: str, inp: Any, out: Any) -> Any:
        """Apply acquire/release/write/read."""
        last, wtok, value = state
        if f == "acquire":
            if out is UNKNOWN or out is FAILED:
                return state
            t = _token(out)
            if t is None:
                raise ValueError(f"acquire result carries no fencing token: {out!r}")
            return (t, wtok, value) if t > last else INVALID
        if f == "release":
            return state
        if f == "write":
            try:
                t, v = inp
            except (TypeError, ValueError):
                raise ValueError(f"guarded write expects [token, value], got {inp!r}") from None
            return (last, t, v) if wtok <= t <= last else (state if out is UNKNOWN else INVALID)
        if f == "read":
            return state if out is UNKNOWN or out == value else INVALID
        raise ValueError(f"{self.name} has no operation {f!r}")

    def crash_is_noop(self, f: str, inp: Any) -> bool:
        """A crashed acquire is as good as never having happened (see the class doc)."""
        return f in ("read", "release", "acquire")

    def describe(self, state: Any) -> str:
        """'last token 3, storage accepted token 2, value 5'."""
        last, wtok, value = state
        lt = "none" if last == -(2**63) else str(last)
        wt = "none" if wtok == -(2**63) else str(wtok)
        return f"last token {lt}, storage accepted token {wt}, value {show(value)}"
