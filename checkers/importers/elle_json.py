"""Elle's JSON histories: one JSON array of Jepsen op objects (``f`` is often absent: it means ``txn``).

The array is decoded element by element so that a bad op is reported with the line it starts on.
Type and f strings are accepted with or without a leading colon (some exporters keep Clojure's).
"""

from __future__ import annotations

import json
from typing import Any

from checkers.history import HistoryError, Op
from checkers.importers.jepsen import check_process_fields

_DECODER = json.JSONDecoder()


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _strip_colon(v: Any) -> Any:
    return v[1:] if isinstance(v, str) and v.startswith(":") else v


def parse_json_array(text: str, name: str) -> list[Op]:
    """Parse a JSON array of op objects into ops (``f`` defaults to ``txn``)."""
    pos = text.index("[") + 1
    ops: list[Op] = []
    wheres: list[str] = []
    n = len(text)
    line = _line(text, pos)
    last = pos
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            raise HistoryError(f"{name}:{_line(text, n)}: JSON array is never closed")
        if text[pos] == "]":
            break
        line += text.count("\n", last, pos)
        last = pos
        try:
            d, pos = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise HistoryError(f"{name}:{e.lineno}: not valid JSON ({e.msg})") from None
        if not isinstance(d, dict):
            raise HistoryError(f"{name}:{line}: expected an op object, got {type(d).__name__}")
        d = dict(d)
        d["type"] = _strip_colon(d.get("type"))
        d["f"] = _strip_colon(d.get("f", "txn"))
        d.setdefault("process", None)  # absent in some hand-written histories: see checkers.history.pairs
        if "index" not in d:
            d["index"] = len(ops)
        if "time" not in d:
            d["time"] = len(ops)
        ops.append(Op.from_dict(d, where=f"{name}:{line}"))
        wheres.append(f"{name}:{line}")
    check_process_fields(ops, wheres)
    rest = text[pos + 1 :].strip()
    if rest:
        raise HistoryError(f"{name}:{_line(text, pos + 1)}: unexpected text after the JSON array")
    return ops
