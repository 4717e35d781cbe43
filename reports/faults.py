"""Fault intervals from a history's nemesis ops: the shaded bands of the timeline and the plots.

The nemesis journals each action as one op (``start-partition`` ... ``stop-partition``, ``kill`` ...
``start``, ``pause`` ... ``resume``, ``bump-clock`` ... ``reset-clock``, ``start-packet`` ...
``stop-packet``). A reader wants to see *when a fault was in force*, so openings are paired with their
undo into intervals; a fault never undone lasts to the end of the history, and an action that undoes
nothing open (or is not a known opener) is kept as an instant so nothing the nemesis did is hidden.
Jepsen-style histories that journal a nemesis ``invoke`` and then its ``info`` are read by their
completions only, so one action is not counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from checkers.history import INVOKE, NEMESIS, Op
from nemesis.table import TABLE, colours, load_plugins

# opener f -> (band kind, closer f), and band colours: from the fault table (plugin kinds included)
OPENERS: dict[str, tuple[str, str]] = {s.name: (s.family, s.undo) for s in TABLE.values()
                                       if s.undo is not None}
CLOSERS: dict[str, str] = {closer: kind for kind, closer in OPENERS.values()}
COLORS: dict[str, str] = colours()
MAX_LABEL = 160


@dataclass(frozen=True, slots=True)
class Band:
    """One fault in force from ``start`` to ``end`` (ns since run start); ``end == start`` for an instant."""

    kind: str
    start: int
    end: int
    label: str
    open_ended: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (times in ns)."""
        return {"kind": self.kind, "start": self.start, "end": self.end, "label": self.label,
                "open": self.open_ended, "color": COLORS.get(self.kind, COLORS["other"])}


def _kind_of(f: str) -> tuple[str, str | None]:
    """(band kind, closer f) for an opener; a generic ``start-x`` pairs with ``stop-x``."""
    if f not in OPENERS and load_plugins():  # a plugin's kinds, registered since this module loaded
        OPENERS.update({s.name: (s.family, s.undo) for s in TABLE.values() if s.undo is not None})
        CLOSERS.update({closer: kind for kind, closer in OPENERS.values()})
        COLORS.update(colours())
    if f in OPENERS:
        return OPENERS[f]
    if f.startswith("start-") and len(f) > 6:
        return f[6:], "stop-" + f[6:]
    return "", None


def _describe(op: Op) -> str:
    text = f"{op.f} {json.dumps(op.value, default=str, separators=(',', ':'))}"
    if op.error is not None:
        text += f" (error: {json.dumps(op.error, default=str)})"
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def nemesis_ops(ops: Sequence[Op]) -> list[Op]:
    """The nemesis actions, one op each (completions only when the history also journals invocations)."""
    nem = [op for op in ops if op.process == NEMESIS]
    if any(op.type != INVOKE for op in nem):
        nem = [op for op in nem if op.type != INVOKE]
    return nem


def fault_bands(ops: Sequence[Op]) -> list[Band]:
    """Fault intervals in start order; faults still open at the end last until the last op's time."""
    end_time = max((op.time for op in ops), default=0)
    open_: dict[str, tuple[int, list[str], str]] = {}  # closer f -> (start, labels, kind)
    bands: list[Band] = []
    for op in nemesis_ops(ops):
        kind, closer = _kind_of(op.f)
        if closer is not None:
            start, labels, _ = open_.get(closer, (op.time, [], kind))
            open_[closer] = (start, labels + [_describe(op)], kind)
        elif op.f in open_:
            start, labels, k = open_.pop(op.f)
            bands.append(Band(k, start, op.time, "; ".join(labels) + " … " + _describe(op)))
        else:
            bands.append(Band(CLOSERS.get(op.f, "other"), op.time, op.time, _describe(op)))
    for start, labels, k in open_.values():
        bands.append(Band(k, start, max(end_time, start), "; ".join(labels) + " (never undone)", True))
    bands.sort(key=lambda b: (b.start, b.end))
    return bands
