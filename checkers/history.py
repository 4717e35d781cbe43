"""The history format (DESIGN §5): one Jepsen-shaped operation per line of ``history.jsonl``.

``Op`` mirrors Jepsen's op maps: ``index``, ``time`` (ns since run start), ``type`` (invoke / ok / fail /
info), ``process`` (int for clients, ``"nemesis"`` for faults), ``f``, ``value``, and optionally the
``node`` the client talked to and an ``error``. ``process`` is None for ops of imported histories that
leave it out (elle-cli writes some so): checkers that only look at completed ops (Elle's anomalies without
process order, long fork, sets) need no process, and pairing treats such ops as one sequential lane. Anything
else a producer recorded is kept in ``extra``
so that a round trip loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INVOKE, OK, FAIL, INFO = "invoke", "ok", "fail", "info"
TYPES = (INVOKE, OK, FAIL, INFO)
NEMESIS = "nemesis"

_CORE_FIELDS = ("index", "time", "type", "process", "f", "value", "node", "error")


class HistoryError(ValueError):
    """A malformed history; the message names the file and line (``file:line: what is wrong``)."""


@dataclass(frozen=True, slots=True)
class Op:
    """One history event."""

    index: int
    time: int
    type: str
    process: int | str | None
    f: str
    value: Any = None
    node: str | None = None
    error: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_client(self) -> bool:
        """True for client operations, False for nemesis ones."""
        return self.process != NEMESIS

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``history.jsonl`` (None-valued optional fields omitted)."""
        d: dict[str, Any] = {
            "index": self.index,
            "time": self.time,
            "type": self.type,
            "process": self.process,
            "f": self.f,
            "value": self.value,
        }
        if self.node is not None:
            d["node"] = self.node
        if self.error is not None:
            d["error"] = self.error
        d.update(self.extra)
        return d

    @staticmethod
    def from_dict(d: Mapping[str, Any], *, where: str = "") -> Op:
        """Build an Op from a decoded JSON object; ``where`` prefixes error messages."""
        prefix = f"{where}: " if where else ""
        for k in ("type", "process", "f"):
            if k not in d:
                raise HistoryError(f"{prefix}missing field {k!r}")
        if d["type"] not in TYPES:
            raise HistoryError(f"{prefix}type must be one of {', '.join(TYPES)}, got {d['type']!r}")
        try:
            index = int(d.get("index", -1))
            time = int(d.get("time", 0))
        except (TypeError, ValueError, OverflowError) as e:
            raise HistoryError(f"{prefix}index/time must be integers ({e})") from None
        extra = {k: v for k, v in d.items() if k not in _CORE_FIELDS}
        return Op(
            index=index,
            time=time,
            type=d["type"],
            process=d["process"],
            f=str(d["f"]),
            value=d.get("value"),
            node=d.get("node"),
            error=d.get("error"),
            extra=extra,
        )


def dumps(op: Op) -> str:
    """One compact JSON line for ``op`` (no trailing newline); stable key order for byte-identical files."""
    return json.dumps(op.to_dict(), separators=(",", ":"), sort_keys=False)


def iter_jsonl(path: str | Path, *, tolerate_torn_tail: bool = True) -> Iterator[Op]:
    """Yield the ops of a ``history.jsonl``.

    A last line without a newline is what a writer killed mid-write leaves; it is skipped when
    ``tolerate_torn_tail`` (every complete line must still parse; :func:`torn_tail` tells whether there
    was one, so callers can say so). Missing ``index`` fields are filled with the line position.
    """
    p = Path(path)
    try:
        with p.open("r", encoding="utf-8") as fh:
            lines = fh.readlines()
    except UnicodeDecodeError as e:
        raise HistoryError(f"{p}: not a UTF-8 text file ({e.reason})") from None
    yield from iter_jsonl_lines(lines, str(p), tolerate_torn_tail=tolerate_torn_tail)


def iter_jsonl_lines(lines: Sequence[str], name: str, *, tolerate_torn_tail: bool = True) -> Iterator[Op]:
    """The ops of JSON lines already read (``name`` is used in error messages); see :func:`iter_jsonl`."""
    p = name
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        torn = not line.endswith("\n") and lineno == len(lines)
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            if torn and tolerate_torn_tail:
                return
            raise HistoryError(f"{p}:{lineno}: not valid JSON ({e.msg})") from None
        except RecursionError:
            raise HistoryError(f"{p}:{lineno}: JSON nested too deeply") from None
        except ValueError as e:  # e.g. an integer literal too long to convert
            raise HistoryError(f"{p}:{lineno}: not valid JSON ({e})") from None
        if not isinstance(d, dict):
            raise HistoryError(f"{p}:{lineno}: expected a JSON object, got {type(d).__name__}")
        op = Op.from_dict(d, where=f"{p}:{lineno}")
        if op.index < 0:
            op = Op(lineno - 1, op.time, op.type, op.process, op.f, op.value, op.node, op.error, op.extra)
        yield op


def torn_tail(path: str | Path) -> bool:
    """Whether a JSON-lines file ends in a partial line (a writer killed mid-line), which readers skip."""
    try:
        with Path(path).open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 65536))
            tail = fh.read()
    except OSError:
        return False
    if not tail or tail.endswith(b"\n"):
        return False
    last = tail.rsplit(b"\n", 1)[-1]
    if not last.strip():
        return False
    try:
        json.loads(last)
    except ValueError:
        return True
    return False


def read_jsonl(path: str | Path) -> list[Op]:
    """Read a whole ``history.jsonl`` into a list of ops."""
    return list(iter_jsonl(path))


def write_jsonl(path: str | Path, ops: Iterable[Op]) -> None:
    """Write ops to ``path`` as JSON lines."""
    with Path(path).open("w", encoding="utf-8") as fh:
        fh.writelines(dumps(op) + "\n" for op in ops)


@dataclass(frozen=True, slots=True)
class Pair:
    """A client operation: its invocation and its completion (None if it never completed)."""

    invoke: Op
    complete: Op | None

    @property
    def type(self) -> str:
        """ok / fail / info; an op with no completion counts as info (it may still take effect)."""
        return self.complete.type if self.complete is not None else INFO


def pairs(history: Sequence[Op]) -> list[Pair]:
    """Match each client invocation with its completion by process, in invocation order.

    Raises ``HistoryError`` when a process invokes twice without completing, or completes an op it
    never invoked. Ops without a process pair only while they strictly alternate invoke/completion (then
    the pairing is the only one possible); anything else is ambiguous and is refused with that reason.
    """
    open_: dict[Any, Op] = {}
    out: list[Pair | None] = []
    slot: dict[Any, int] = {}
    for op in history:
        if not op.is_client:
            continue
        if op.type == INVOKE:
            if op.process in open_:
                if op.process is None:
                    raise HistoryError(f"op {op.index}: ops without a process overlap, so invocations "
                                       "cannot be paired with completions (this checker needs :process)")
                raise HistoryError(f"op {op.index}: process {op.process} invoked twice without completing")
            open_[op.process] = op
            slot[op.process] = len(out)
            out.append(None)
        else:
            inv = open_.pop(op.process, None)
            if inv is None:
                raise HistoryError(f"op {op.index}: process {op.process} completed an op it never invoked")
            out[slot.pop(op.process)] = Pair(inv, op)
    for proc, inv in open_.items():
        out[slot[proc]] = Pair(inv, None)
    return [p for p in out if p is not None]
