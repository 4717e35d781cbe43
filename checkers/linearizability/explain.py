"""Counterexamples as data (for ``results.json`` and the report) and as one paragraph a person can follow."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from itertools import filterfalse
from operator import itemgetter
from typing import Any

from checkers.history import Op
from checkers.linearizability.entries import Entry
from checkers.linearizability.reduce import UNOBSERVED, Refutation
from checkers.models.base import FAILED, UNKNOWN, Model, show
from checkers.result import Counterexample, OpRef

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
    return _op_pair(model, e, memo, None, False)[0]


def _op_pair(
    model: Model, e: Entry, memo: dict[Any, str] | None, order: int | None, typed: bool
) -> tuple[dict[str, Any], OpRef | None]:
    """One op of a counterexample as JSON-able data and (``typed``) as the result's ``OpRef``, built
    from the same fields (``order``: its position in the linearization, for prefix ops)."""
    if memo is None:
        memo = {}
    return _op_pairs(model, (e,), memo, order is not None, typed, order or 0)[0]


def _op_pairs(
    model: Model, entries: Sequence[Entry], memo: dict[Any, str], ordered: bool, typed: bool, first: int = 0
) -> list[tuple[dict[str, Any], OpRef | None]]:
    """``_op_pair`` of each entry (``ordered``: the ops get orders ``first``, ``first + 1``, ...), in one
    loop: a counterexample lists every op of its prefix (a call per op cost 3 % more instructions)."""
    out: list[tuple[dict[str, Any], OpRef | None]] = []
    get = memo.get
    describe_op = model.describe_op
    order = first
    for e in entries:
        f, inp, res, crashed, _inv_pos, _ret_pos, inv, comp = e
        process = inv.process
        if comp is None:
            kind = "info"
            value = inv.value
            c_index = c_time = None
        else:
            kind = "info" if crashed else comp.type
            value = comp.value if kind == "ok" else inv.value
            c_index = comp.index
            c_time = None if crashed else comp.time
        key = (f, inp, res)
        text = get(key)
        if text is None:  # op_desc's work, without looking the memo up again
            text = describe_op(f, inp, res)
            if _UNOBSERVED_TEXT in text:
                text = text.replace(_UNOBSERVED_TEXT, "an unobserved value")
            memo[key] = text
        index = inv.index
        i_time = inv.time
        d = {"index": index, "complete_index": c_index, "process": process, "f": f, "type": kind,
             "value": value, "invoke_time": i_time, "complete_time": c_time,
             "description": f"{text} by process {process}"}
        if ordered:
            d["order"] = order
            order += 1
        if not typed:
            out.append((d, None))
        elif (type(index) in _INT_OR_NONE and type(c_index) in _INT_OR_NONE and type(i_time) in _INT_OR_NONE
                and type(c_time) in _INT_OR_NONE and type(f) is str):
            ref = _new(OpRef)  # OpRef.of(d), inline
            ref.__dict__.update(d)
            out.append((d, ref))
        else:
            # as OpRef.from_dict reads the data: an index or a time that is not an int is None
            out.append((d, OpRef.from_dict(d)))
    return out


_INT_OR_NONE = frozenset({int, type(None)})
_new = object.__new__
_DATA = itemgetter(0)
_CRASHED = itemgetter(3)  # Entry.crashed
_TYPED = itemgetter(1)


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
    memo: dict[Any, str] | None = None,
) -> str:
    """The paragraph: which op cannot be placed, what the prefix leaves, and why that is not enough
    (``memo``: descriptions of ops already made, see ``op_desc``)."""
    where = f" on key {show(key)}" if key is not None else ""
    head = (
        f"{op_desc(model, stuck, memo)}{where} (invoked at {when(stuck.invoke, positions)}, completed at "
        f"{when(stuck.complete, positions)})"
    )
    if refutation is not None:
        v = _show_value(refutation.value)
        if refutation.writers:
            w = refutation.writers[0]
            why = (
                f"observed {v}, but every operation that could write {v} was invoked after it returned "
                f"(the first: {op_desc(model, w, memo)} invoked at {when(w.invoke, positions)})"
            )
        else:
            why = f"observed {v}, a value no operation ever wrote and not the initial value"
        return f"{head} cannot be linearized: it {why}."
    done = list(filterfalse(_CRASHED, prefix))
    tail = ", then ".join(op_desc(model, e, memo) for e in done[-3:])
    crashed = list(filter(_CRASHED, prefix))
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
        listed = ", ".join(op_desc(model, e, memo) for e in pending[:MAX_LISTED])
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
    return counterexample_pair(model, key, stuck, prefix, states, pending, refutation, positions, typed=False)[0]


def counterexample_pair(
    model: Model,
    key: Any,
    stuck: Entry,
    prefix: Sequence[Entry],
    states: Sequence[Hashable],
    pending: Sequence[Entry],
    refutation: Refutation | None = None,
    positions: bool = False,
    *,
    typed: bool = True,
) -> tuple[dict[str, Any], Counterexample | None]:
    """``counterexample`` and (``typed``) the same as the result's ``Counterexample``, built together
    (what ``Counterexample.from_dict`` of the data gives, without reading the data back)."""
    memo: dict[Any, str] = {}
    op_d, op_r = _op_pairs(model, (stuck,), memo, False, typed)[0]
    prefix_pairs = _op_pairs(model, prefix, memo, True, typed)
    pending_pairs = _op_pairs(model, pending, memo, False, typed)
    states_text = [model.describe(s).replace(_UNOBSERVED_TEXT, "an unobserved value") for s in states]
    text = explain(model, key, stuck, prefix, states, pending, refutation, positions, memo)
    d = {
        "key": key,
        "op": op_d,
        "prefix": list(map(_DATA, prefix_pairs)),
        "prefix_states": states_text,
        "concurrent": list(map(_DATA, pending_pairs)),
        "refuted_up_front": refutation is not None,
        "explanation": text,
    }
    if not typed:
        return d, None
    assert op_r is not None
    ce = Counterexample(
        key=key,
        op=op_r,
        prefix=tuple(map(_TYPED, prefix_pairs)),
        prefix_states=tuple(states_text),
        concurrent=tuple(map(_TYPED, pending_pairs)),
        explanation=text,
        refuted_up_front=refutation is not None,
    )
    return d, ce
