"""From a history to per-key lists of ``Entry`` values, the input of the search.

An ``Entry`` is one client operation as the search sees it: its name ``f``, its input (from the
invocation), its output (from the completion; ``Outcome.UNKNOWN`` for crashed ops, ``Outcome.FAILED``
for a failed compare-and-set kept as an observation) and its real-time interval given as *positions* in
the history (the order events were recorded in), which is what real-time order means even when
timestamps tie or are missing. Crashed ops (``info``, or never completed) end at +infinity.

``fail`` ops never happened and are dropped, except that a cas whose comparison failed (error code 22,
"precondition failed") did happen and saw a value other than ``old``: with ``failed_cas="auto"`` those
are kept as observations (``"observe"`` keeps every failed cas, ``"drop"`` none, as Knossos does).

Keyed histories (values ``[key, x]``) are split per key. ``keyed=None`` auto-detects them: the model
must be keyable (register, cas-register, kv) and *every* client op value must be a two-item list whose
first item is a string key, and for ``cas`` whose second item is itself an ``[old, new]`` pair. So a
single register written with ints (Jepsen, Knossos, Porcupine etcd files: ``cas [1 2]``) is unkeyed, while
our workload's ``["k1", 4]`` and ``["k1", [1, 2]]`` and Porcupine's kv ``["0", "x 1 y"]`` are keyed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from checkers.history import FAIL, INVOKE, NEMESIS, OK, HistoryError, Op
from checkers.models.base import FAILED, UNKNOWN, Model, freeze

INFINITY = 1 << 62
_SCALAR = frozenset({int, str, float, bool, type(None)})
_SEQ = frozenset({list, tuple})
_FIRST = itemgetter(0)
_INV_POS = itemgetter(4)  # Entry.inv_pos
FAILED_CAS_MODES = ("auto", "observe", "drop")


class Entry(NamedTuple):
    """One client operation for the search (inputs/outputs frozen; positions define real time).

    A named tuple rather than a frozen dataclass: one is built for every operation of every checked
    history, and tuple construction is several times cheaper in the hot path of large checks.
    """

    f: str
    inp: Any
    out: Any
    crashed: bool
    inv_pos: int
    ret_pos: int
    invoke: Op
    complete: Op | None

    @property
    def process(self) -> Any:
        """The client process that ran the op."""
        return self.invoke.process


def is_precondition_failure(error: Any) -> bool:
    """True for Maelstrom's error 22 in any of the shapes producers record it."""
    if error == 22 or error == "22":
        return True
    if isinstance(error, dict):
        return is_precondition_failure(error.get("code")) or is_precondition_failure(error.get("type"))
    if isinstance(error, (list, tuple)) and error:
        return is_precondition_failure(error[0])
    return isinstance(error, str) and "precondition" in error


def detect_keyed(history: Sequence[Op], model: Model) -> bool:
    """Auto-detection of ``[key, value]`` histories (see the module docstring)."""
    if not model.keyable:
        return False
    seen = False
    for op in history:
        if op.type != INVOKE or op.process == NEMESIS:
            continue
        v = op.value
        if not (type(v) in (list, tuple) and len(v) == 2 and type(v[0]) is str):
            return False
        if op.f == "cas" and not (isinstance(v[1], (list, tuple)) and len(v[1]) == 2):
            return False
        seen = True
    return seen


def _where(op: Op) -> str:
    return f"op {op.index} (process {op.process}, {op.f})"


def split_entries(
    history: Sequence[Op], model: Model, *, keyed: bool, failed_cas: str = "auto"
) -> dict[Any, list[Entry]]:
    """Group the client operations into per-key entry lists (one list under key None when unkeyed).

    Pairs invocations with completions by process in one pass (the rules of ``checkers.history.pairs``:
    a process may not invoke twice without completing, nor complete what it never invoked).
    """
    return split_history(history, model, keyed=keyed, failed_cas=failed_cas)[1]


def split_history(
    history: Sequence[Op], model: Model, *, keyed: bool | None = None, failed_cas: str = "auto"
) -> tuple[bool, dict[Any, list[Entry]]]:
    """``(keyed, split_entries(...))``, with ``keyed=None`` decided as ``detect_keyed`` does.

    The checker's path: detection happens during the split itself, which assumes a keyed history and
    starts over unkeyed at the first invocation that does not have the keyed shape (for an unkeyed
    history that is its first client invocation, so the cost is one walk either way).
    """
    if failed_cas not in FAILED_CAS_MODES:
        raise ValueError(f"failed_cas must be one of {', '.join(FAILED_CAS_MODES)}, got {failed_cas!r}")
    if keyed is None:
        if model.keyable:
            per_key = _split(history, model, True, failed_cas, detect=True)
            if per_key is not None:
                return True, per_key
        keyed = False
    return keyed, _split(history, model, keyed, failed_cas, detect=False) or {}


def _split(
    history: Sequence[Op], model: Model, keyed: bool, failed_cas: str, *, detect: bool
) -> dict[Any, list[Entry]] | None:
    """One walk: pair each completion with its invocation and build its entry at once (None when
    ``detect`` finds an invocation without the keyed shape, or no client invocation at all).

    Errors keep the order of a pairing pass followed by an entry pass in invocation order: a pairing
    error is raised as it is met, an entry error only after the walk, the earliest invoked first.
    """
    fs = model.fs
    scalar = _SCALAR
    seq = _SEQ
    observe_all = failed_cas == "observe"
    auto = failed_cas == "auto"
    new_entry = tuple.__new__  # Entry(...) without the Python-level __new__ frame: this loop is hot
    open_: dict[Any, tuple[Op, int]] = {}
    out: defaultdict[Any, list[Entry]] = defaultdict(list)
    errors: list[tuple[int, str]] = []
    unkeyed = out[None] if not keyed else []
    for pos, op in enumerate(history):
        proc = op.process
        kind = op.type
        if kind == INVOKE:
            if proc == NEMESIS:  # faults are not client operations (their completions are met below)
                continue
            if proc in open_:
                raise HistoryError(f"op {op.index}: process {proc} invoked twice without completing")
            open_[proc] = (op, pos)
            if detect:
                v = op.value
                if not (type(v) in seq and len(v) == 2 and type(v[0]) is str) or (
                    op.f == "cas" and not (isinstance(v[1], (list, tuple)) and len(v[1]) == 2)
                ):
                    return None
            continue
        started = open_.pop(proc, None)
        if started is None:
            if proc == NEMESIS:
                continue
            raise HistoryError(f"op {op.index}: process {proc} completed an op it never invoked")
        inv, inv_pos = started
        f = inv.f
        if detect and kind == OK and f in fs:
            # the common case of a detected keyed history, in short: a completed op whose invocation has
            # the keyed shape already (the general path below handles everything else the same way)
            key, in_val = inv.value
            out_val = op.value
            if type(out_val) in seq and len(out_val) == 2:
                out_val = out_val[1]
                if type(in_val) not in scalar:
                    in_val = freeze(in_val)
                if type(out_val) not in scalar:
                    out_val = freeze(out_val)
                out[key].append(new_entry(Entry, (f, in_val, out_val, False, inv_pos, pos, inv, op)))
                continue
        elif not keyed and kind == OK and f in fs:
            # the same for an unkeyed history (a single register, Porcupine's etcd logs)
            in_val = inv.value
            out_val = op.value
            if type(in_val) not in scalar:
                if out_val == in_val:  # a write or cas completion repeats its input: frozen once
                    in_val = out_val = freeze(in_val)
                else:
                    in_val = freeze(in_val)
            if type(out_val) not in scalar:
                out_val = freeze(out_val)
            unkeyed.append(new_entry(Entry, (f, in_val, out_val, False, inv_pos, pos, inv, op)))
            continue
        elif not keyed and kind == FAIL and f == "cas" and f in fs:
            if observe_all or (auto and (op.error == 22 or is_precondition_failure(op.error))):
                in_val = inv.value
                if type(in_val) not in scalar:
                    in_val = freeze(in_val)
                unkeyed.append(new_entry(Entry, (f, in_val, FAILED, False, inv_pos, pos, inv, op)))
            continue
        ret_pos = pos
        if kind == OK:
            out_val = op.value
            crashed = False
        elif kind == FAIL:
            if not (f == "cas" and (observe_all or (auto and is_precondition_failure(op.error)))):
                continue
            out_val = FAILED
            crashed = False
        else:
            out_val = UNKNOWN
            crashed = True
            ret_pos = INFINITY
        if f not in fs:
            errors.append((inv_pos, _no_such_f(model, inv)))
            continue
        in_val = inv.value
        key = None
        if keyed:
            if detect:
                key, in_val = in_val  # the shape was checked at the invocation: [str key, value]
            elif _pair(in_val):
                key = in_val[0]
                if type(key) is not str:
                    key = freeze(key)
                in_val = in_val[1]
            else:
                errors.append((inv_pos, f"{_where(inv)}: keyed history needs [key, value], got {in_val!r}"))
                continue
            if kind == OK:
                if not (type(out_val) in seq and len(out_val) == 2) and not _pair(out_val):
                    errors.append(
                        (inv_pos, f"{_where(op)}: keyed completion needs [key, value], got {out_val!r}")
                    )
                    continue
                out_val = out_val[1]
        if type(in_val) not in scalar:
            in_val = freeze(in_val)
        if type(out_val) not in scalar and kind == OK:
            out_val = freeze(out_val)
        out[key].append(new_entry(Entry, (f, in_val, out_val, crashed, inv_pos, ret_pos, inv, op)))
    for inv, inv_pos in open_.values():  # never completed: crashed
        f = inv.f
        if f not in fs:
            errors.append((inv_pos, _no_such_f(model, inv)))
            continue
        in_val = inv.value
        key = None
        if keyed:
            if not _pair(in_val):
                errors.append((inv_pos, f"{_where(inv)}: keyed history needs [key, value], got {in_val!r}"))
                continue
            key = in_val[0]
            if type(key) is not str:
                key = freeze(key)
            in_val = in_val[1]
        if type(in_val) not in scalar:
            in_val = freeze(in_val)
        out[key].append(new_entry(Entry, (f, in_val, UNKNOWN, True, inv_pos, INFINITY, inv, None)))
    if errors:
        raise HistoryError(min(errors, key=_FIRST)[1])
    if detect and not out and not any(op.type == INVOKE and op.process != NEMESIS for op in history):
        return None
    if not keyed and not unkeyed:
        out.pop(None, None)  # created up front for the fast path above
    # entries were built as ops completed: restore invocation order, per key and across keys
    for lst in out.values():
        lst.sort(key=_INV_POS)
    return dict(sorted(out.items(), key=_first_invoked))


def _pair(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) == 2


def _first_invoked(item: tuple[Any, list[Entry]]) -> int:
    return item[1][0].inv_pos


def _no_such_f(model: Model, inv: Op) -> str:
    fs = model.fs
    return f"{_where(inv)}: model {model.name} has no operation {inv.f!r} (it knows {', '.join(sorted(fs))})"
