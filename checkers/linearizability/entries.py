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

from collections.abc import Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from checkers.history import FAIL, INFO, INVOKE, NEMESIS, OK, HistoryError, Op
from checkers.models.base import FAILED, UNKNOWN, Model, freeze

INFINITY = 1 << 62
_SCALAR = frozenset({int, str, float, bool, type(None)})
_FIRST = itemgetter(0)
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
    if failed_cas not in FAILED_CAS_MODES:
        raise ValueError(f"failed_cas must be one of {', '.join(FAILED_CAS_MODES)}, got {failed_cas!r}")
    open_: dict[Any, tuple[Op, int]] = {}
    done: list[tuple[int, Op, int, Op | None]] = []
    for pos, op in enumerate(history):
        proc = op.process
        if proc == NEMESIS:
            continue
        if op.type == INVOKE:
            if proc in open_:
                raise HistoryError(f"op {op.index}: process {proc} invoked twice without completing")
            open_[proc] = (op, pos)
        else:
            started = open_.pop(proc, None)
            if started is None:
                raise HistoryError(f"op {op.index}: process {proc} completed an op it never invoked")
            done.append((started[1], started[0], pos, op))
    for inv, pos in open_.values():
        done.append((pos, inv, INFINITY, None))
    done.sort(key=_FIRST)

    fs = model.fs
    out: dict[Any, list[Entry]] = {}
    scalar = _SCALAR
    new_entry = tuple.__new__  # Entry(...) without the Python-level __new__ frame: this loop is hot
    for inv_pos, inv, ret_pos, comp in done:
        kind = INFO if comp is None else comp.type
        f = inv.f
        if kind == FAIL:
            observe = f == "cas" and (
                failed_cas == "observe"
                or (failed_cas == "auto" and comp is not None and is_precondition_failure(comp.error))
            )
            if not observe:
                continue
        if f not in fs:
            raise HistoryError(
                f"{_where(inv)}: model {model.name} has no operation {f!r} (it knows {', '.join(sorted(fs))})"
            )
        key: Any = None
        in_val = inv.value
        out_val = None if comp is None else comp.value
        if keyed:
            if not (isinstance(in_val, (list, tuple)) and len(in_val) == 2):
                raise HistoryError(f"{_where(inv)}: keyed history needs [key, value], got {in_val!r}")
            key = in_val[0]
            if type(key) is not str:
                key = freeze(key)
            in_val = in_val[1]
            if kind == OK:
                if not (isinstance(out_val, (list, tuple)) and len(out_val) == 2):
                    raise HistoryError(
                        f"{_where(comp or inv)}: keyed completion needs [key, value], got {out_val!r}"
                    )
                out_val = out_val[1]
        if kind == OK:
            crashed = False
            if type(out_val) not in scalar:
                out_val = freeze(out_val)
        elif kind == FAIL:
            crashed = False
            out_val = FAILED
        else:
            crashed = True
            out_val = UNKNOWN
            ret_pos = INFINITY
        if type(in_val) not in scalar:
            in_val = freeze(in_val)
        lst = out.get(key)
        if lst is None:
            lst = out[key] = []
        lst.append(new_entry(Entry, (f, in_val, out_val, crashed, inv_pos, ret_pos, inv, comp)))
    return out
