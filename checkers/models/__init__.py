"""Models for the linearizability checker: name -> small pure state-machine class (see ``base.Model``)."""

from __future__ import annotations

import json
from typing import Any

from checkers.models.base import FAILED, INVALID, NO_VALUE, UNKNOWN, Model, Outcome, freeze, show
from checkers.models.collections import FifoQueue, SetModel
from checkers.models.locks import FencingLock, Mutex
from checkers.models.register import CasRegister, KeyValue, MultiRegister, Register

MODELS: dict[str, type[Model]] = {
    m.name: m for m in (Register, CasRegister, KeyValue, MultiRegister, Mutex, FencingLock, SetModel, FifoQueue)
}
_ALIASES = {"fifo-queue": "queue", "lock": "mutex", "kv-append": "kv", "key-value": "kv"}

__all__ = [
    "FAILED",
    "INVALID",
    "MODELS",
    "NO_VALUE",
    "UNKNOWN",
    "CasRegister",
    "FencingLock",
    "FifoQueue",
    "KeyValue",
    "Model",
    "MultiRegister",
    "Mutex",
    "Outcome",
    "Register",
    "SetModel",
    "freeze",
    "get_model",
    "parse_initial",
    "show",
]


def get_model(name: str | Model, initial: Any = None) -> Model:
    """A model instance by name (or the instance itself); ``ValueError`` lists the valid names."""
    if isinstance(name, Model):
        return name
    cls = MODELS.get(_ALIASES.get(name, name))
    if cls is None:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    return cls(initial)


def parse_initial(text: str | None) -> Any:
    """Parse an ``--initial`` value: JSON (``0``, ``"x"``, ``[1,2]``, ``null``), ``nil``, else the raw text."""
    if text is None:
        return None
    t = text.strip()
    if t in ("nil", "None", ""):
        return None
    try:
        return json.loads(t)
    except json.JSONDecodeError:
        return t
