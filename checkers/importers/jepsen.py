"""Jepsen EDN histories (``history.edn``, Knossos data files, Porcupine's kv logs) into our ``Op`` shape.

Jepsen ops are maps such as ``{:process 3, :type :ok, :f :read, :value 4, :time 123, :index 7}``. A file
holds either one vector/list of such maps, or one map per line; ``;`` comments anywhere. Missing
``:index`` becomes the op's position, missing ``:time`` too (so ordering stays meaningful). Values are
converted recursively (keywords -> strings, sets -> sorted lists so they stay JSON-able) so transactions
keep Elle's micro-op form ``[["append", k, v], ["r", k, [..]]]``.

Porcupine's kv logs carry the key in a separate ``:key`` field; we fold it into the value as
``[key, value]``, the same shape our own keyed register workload uses, so the linearizability checker
splits them per key without being told.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checkers.history import TYPES, HistoryError, Op
from checkers.importers.edn import EdnError, Form, read_all

_CORE = ("index", "time", "type", "process", "f", "value", "node", "error")


def plain(v: Any) -> Any:
    """Turn EDN-read values into JSON-able ones: sets and tuples -> lists (sets sorted when possible)."""
    if isinstance(v, frozenset):
        items = [plain(x) for x in v]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def op_from_map(d: Mapping[Any, Any], position: int, where: str) -> Op:
    """Build an ``Op`` from one Jepsen op map; ``where`` (``file:line``) prefixes error messages."""
    if not isinstance(d, dict):
        raise HistoryError(f"{where}: expected an op map {{:type .. :process ..}}, got {type(d).__name__}")
    if "type" not in d:
        raise HistoryError(f"{where}: op map has no :type")
    typ = d["type"]
    if typ not in TYPES:
        raise HistoryError(f"{where}: :type must be one of :{', :'.join(TYPES)}, got {typ!r}")
    index = d.get("index", position)
    time = d.get("time", position)
    if not isinstance(index, int) or isinstance(index, bool):
        raise HistoryError(f"{where}: :index must be an integer, got {index!r}")
    if not isinstance(time, (int, float)) or isinstance(time, bool):
        raise HistoryError(f"{where}: :time must be a number, got {time!r}")
    process = d.get("process")  # absent in some hand-written histories: see checkers.history.pairs
    if process is not None and (not isinstance(process, (int, str)) or isinstance(process, bool)):
        raise HistoryError(f"{where}: :process must be an integer or :nemesis, got {process!r}")
    value = plain(d.get("value"))
    if "key" in d:
        value = [plain(d["key"]), value]
    extra = {str(k): plain(v) for k, v in d.items() if k not in _CORE and k != "key"}
    f = d.get("f")
    if f is None and isinstance(value, list) and value and all(isinstance(m, list) for m in value):
        f = "txn"  # Elle's EDN histories may leave out :f on transactions
    return Op(
        index=index,
        time=int(time),
        type=typ,
        process=process,
        f="" if f is None else str(f),
        value=value,
        node=d.get("node") if isinstance(d.get("node"), str) else None,
        error=plain(d.get("error")),
        extra=extra,
    )


def parse_edn_history(text: str, name: str) -> list[Op]:
    """Parse a Jepsen EDN history (one top-level vector/list of maps, or one map per line)."""
    try:
        forms = read_all(text)
    except EdnError as e:
        raise HistoryError(f"{name}:{e.line}: {e.message}") from None
    entries: list[tuple[Any, int]] = []
    if len(forms) == 1 and isinstance(forms[0].value, list):
        form: Form = forms[0]
        entries = list(zip(form.value, form.item_lines, strict=True))
    else:
        entries = [(f.value, f.line) for f in forms]
    ops = [op_from_map(d, i, f"{name}:{line}") for i, (d, line) in enumerate(entries)]
    check_process_fields(ops, [f"{name}:{line}" for _, line in entries])
    return ops


def check_process_fields(ops: list[Op], wheres: list[str]) -> None:
    """Every op has a process, or none has: a file that mixes them is most likely a broken export, and
    pairing some ops by process and others by position would silently give wrong operations."""
    if not ops:
        return
    first = ops[0].process is None
    for op, where in zip(ops, wheres, strict=True):
        if (op.process is None) != first:
            raise HistoryError(f"{where}: this op {'has' if first else 'has no'} process, unlike the first "
                               "op (give every op a :process, or none)")
