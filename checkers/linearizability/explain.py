"""Counterexamples as data (for ``results.json`` and the report) and as one paragraph a person can follow."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from checkers.history import Op
from checkers.linearizability.entries import Entry
from checkers.linearizability.reduce import UNOBSERVED, Refutation
from checkers.models.base import FAILED, UNKNOWN, Model, show

MAX_LISTED = 4


def seconds(ns: int | None) -> str:
    """'1.204 s' from nanoseconds (history time)."""
    return "?" if ns is None else f"{ns / 1e9:.3f} s"


def when(op: Op | None, positions: bool) -> str:
    """When an event happened: seconds, or its position for formats without timestamps."""
    if op is None:
        return "never"
    return f"event {op.index}" if positions else seconds(op.time)


def _show_value(v: Any) -> str:
    return "a value no operation observed" if v is UNOBSERVED else show(v)


_UNOBSERVED_TEXT = repr(UNOBSERVED)


def op_desc(model: Model, e: Entry, memo: dict[Any, str] | None = None) -> str:
    """'read 3 by process 4' (``memo``: descriptions of (f, input, output) already made)."""
    key = e[:3]
    text = None if memo is None else memo.get(key)
    if text is None:
        text = model.describe_op(e.f, e.inp, e.out)
        if _UNOBSERVED_TEXT in text:
            text = text.replace(_UNOBSERVED_TEXT, "an unobserved value")
        if memo is not None:
            memo[key] = text
    return f"{text} by process {e.invoke.process}"


def op_dict(model: Model, e: Entry, memo: dict[Any, str] | None = None) -> dict[str, Any]:
    """One op of a counterexample, JSON-able."""
    comp = e.complete
    inv = e.invoke
    value = comp.value if comp is not None and comp.type == "ok" else inv.value
    return {
        "index": inv.index,
        "complete_index": None if comp is None else comp.index,
        "process": inv.process,
        "f": e.f,
        "type": "info" if e.crashed else (comp.type if comp is not None else "info"),
        "value": value,
        "invoke_time": inv.time,
        "complete_time": None if e.crashed or comp is None else comp.time,
        "description": op_desc(model, e, memo),
    }


def _need(model: Model, e: Entry) -> str:
    """What the op needs from the state, in words."""
    if e.f in ("read", "get") and e.out is not UNKNOWN:
        return f"it returned {_show_value(e.out)}"
    if e.f == "cas" and isinstance(e.inp, tuple) and len(e.inp) == 2:
        if e.out is FAILED:
            return f"its comparison failed, so {model.noun} did not hold {_show_value(e.inp[0])}"
        return f"it needs {model.noun} to hold {_show_value(e.inp[0])}"
    return "it is impossible in each of them"


def _alternatives(model: Model, states: Sequence[Hashable]) -> str:
    texts = [model.describe(s).replace(repr(UNOBSERVED), "an unobserved value") for s in states]
    if not texts:
        return "no state"
    if len(texts) == 1:
        return texts[0]
    return ", ".join(texts[:-1]) + " or " + texts[-1]


def explain(
    model: Model,
    key: Any,
    stuck: Entry,
    prefix: Sequence[Entry],
    states: Sequence[Hashable],
    pending: Sequence[Entry],
    refutation: Refutation | None = None,
    positions: bool = False,
) -> str:
    """The paragraph: which op cannot be placed, what the prefix leaves, and why that is not enough."""
    where = f" on key {show(key)}" if key is not None else ""
    head = (
        f"{op_desc(model, stuck)}{where} (invoked at {when(stuck.invoke, positions)}, completed at "
        f"{when(stuck.complete, positions)})"
    )
    if refutation is not None:
        v = _show_value(refutation.value)
        if refutation.writers:
            w = refutation.writers[0]
            why = (
                f"observed {v}, but every operation that could write {v} was invoked after it returned "
                f"(the first: {op_desc(model, w)} invoked at {when(w.invoke, positions)})"
            )
        else:
            why = f"observed {v}, a value no operation ever wrote and not the initial value"
        return f"{head} cannot be linearized: it {why}."
    done = [e for e in prefix if not e.crashed]
    tail = ", then ".join(op_desc(model, e) for e in done[-3:])
    crashed = [e for e in prefix if e.crashed]
    text = f"{head} cannot be linearized. "
    if done:
        text += (
            f"The longest linearizable prefix has {len(done)} completed operation(s)"
            + (f" and {len(crashed)} crashed one(s) taking effect" if crashed else "")
            + f", ending with {tail}; "
        )
    else:
        text += "No operation can be linearized before it; "
    text += f"after it {model.noun} can only be in state {_alternatives(model, states)}, but {_need(model, stuck)}"
    if pending:
        listed = ", ".join(op_desc(model, e) for e in pending[:MAX_LISTED])
        more = f" and {len(pending) - MAX_LISTED} more" if len(pending) > MAX_LISTED else ""
        text += f", and no order of the operations concurrent with it ({listed}{more}) makes it possible"
    return text + "."


def counterexample(
    model: Model,
    key: Any,
    stuck: Entry,
    prefix: Sequence[Entry],
    states: Sequence[Hashable],
    pending: Sequence[Entry],
    refutation: Refutation | None = None,
    positions: bool = False,
) -> dict[str, Any]:
    """The counterexample of one key as JSON-able data (see ``checkers.linearizability.check``)."""
    memo: dict[Any, str] = {}
    prefix_ops = [op_dict(model, e, memo) for e in prefix]
    for i, d in enumerate(prefix_ops):
        d["order"] = i
    return {
        "key": key,
        "op": op_dict(model, stuck, memo),
        "prefix": prefix_ops,
        "prefix_states": [model.describe(s).replace(repr(UNOBSERVED), "an unobserved value") for s in states],
        "concurrent": [op_dict(model, e, memo) for e in pending],
        "refuted_up_front": refutation is not None,
        "explanation": explain(model, key, stuck, prefix, states, pending, refutation, positions),
    }
