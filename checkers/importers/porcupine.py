"""Porcupine's Jepsen etcd logs: ``INFO  jepsen.util - <process>\\t:<type>\\t:<f>\\t<value>`` lines.

The order of lines is the order of events (there are no timestamps), so each op's ``time`` is its
position. An ``:info`` line is a crashed op (the client timed out): its value in the log is a reason
such as ``:timed-out``, not the op's value, so we keep the invocation's value (the op may still take
effect with it) and move the reason into ``error``. Lines of other loggers are ignored, as Porcupine does.

A ``:fail :cas`` line is a compare-and-set whose comparison failed: Porcupine's etcd model reads it as
an observation that the register did not hold ``old``, so we give it error 22 ("precondition failed"),
which the linearizability checker keeps as that observation. Other ``:fail`` lines (a read that timed
out) never happened.
"""

from __future__ import annotations

import re
from typing import Any

from checkers.history import INFO, INVOKE, TYPES, HistoryError, Op
from checkers.importers.edn import EdnError, loads
from checkers.importers.jepsen import plain

LINE = re.compile(r"^\S+\s+jepsen\.util\s+-\s+(.*)$")
# fields are separated by a tab in most logs and by runs of spaces in some; Porcupine accepts any
# whitespace between them, so do we
_FIELDS = re.compile(r"^(\S+)\s+:(\S+)\s+:(\S+)(?:\s+(.*?))?\s*$")
#: the error a ``:fail :cas`` line gets: the comparison failed (Maelstrom's "precondition failed")
PRECONDITION_FAILED = 22


def looks_like_etcd_log(first_line: str) -> bool:
    """True when a line has the Jepsen logger prefix these logs use."""
    return LINE.match(first_line) is not None


def parse_etcd_log(text: str, name: str) -> list[Op]:
    """Parse a Porcupine etcd Jepsen log into ops."""
    ops: list[Op] = []
    open_values: dict[Any, Any] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        m = LINE.match(raw)
        if m is None:
            continue
        where = f"{name}:{lineno}"
        fields = _FIELDS.match(m.group(1))
        if fields is None:
            raise HistoryError(f"{where}: expected '<process> :<type> :<f> <value>' after 'jepsen.util -'")
        proc_text, typ, f, value_text = fields.groups()
        if typ not in TYPES:
            raise HistoryError(f"{where}: type must be one of :{', :'.join(TYPES)}, got :{typ}")
        if re.fullmatch(r"-?\d+", proc_text):
            process: int | str = int(proc_text)
        elif proc_text.startswith(":"):
            process = proc_text[1:]
        else:
            raise HistoryError(f"{where}: process must be an integer or :nemesis, got {proc_text!r}")
        try:
            value = plain(loads(value_text)) if value_text not in (None, "") else None
        except EdnError as e:
            raise HistoryError(f"{where}: bad value {value_text!r} ({e.message})") from None
        error = None
        if typ == INVOKE:
            open_values[process] = value
        elif typ == INFO and process in open_values:
            error = value
            value = open_values.pop(process)
        else:
            open_values.pop(process, None)
            if typ == "fail" and f == "cas":
                error = PRECONDITION_FAILED
        pos = len(ops)
        ops.append(Op(index=pos, time=pos, type=typ, process=process, f=f, value=value, error=error))
    if not ops:
        raise HistoryError(f"{name}:1: no 'jepsen.util' op lines found")
    return ops
