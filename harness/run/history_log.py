"""The live history: numbers ops, stamps them with loop time, and streams them to ``history.jsonl``.

Every op is written and flushed the moment it happens, so a harness that is killed outright still
leaves a history whose complete lines all parse (only a torn last line can be lost, and readers skip
it). Time is read from the running event loop — virtual in the simulator — in nanoseconds since the
run started, as DESIGN §5 asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from checkers.history import FAIL, INFO, INVOKE, NEMESIS, OK, Op, dumps


@dataclass(slots=True)
class Counts:
    """Running totals for progress display."""

    invoke: int = 0
    ok: int = 0
    fail: int = 0
    info: int = 0
    nemesis: int = 0


class HistoryLog:
    """An append-only history, optionally mirrored line by line to a file."""

    def __init__(self, path: Path | None = None) -> None:
        self.ops: list[Op] = []
        self.counts = Counts()
        self._fh: IO[str] | None = path.open("a", encoding="utf-8") if path is not None else None
        self._t0: float | None = None
        self.listeners: list[Callable[[Op], None]] = []

    def start_clock(self) -> None:
        """Mark the run's time origin (the loop clock now)."""
        self._t0 = asyncio.get_running_loop().time()

    def now_ns(self) -> int:
        """Nanoseconds since :meth:`start_clock` on the loop clock."""
        loop_now = asyncio.get_running_loop().time()
        if self._t0 is None:
            self._t0 = loop_now
        return round((loop_now - self._t0) * 1e9)

    def append(
        self,
        type_: str,
        process: int | str,
        f: str,
        value: Any,
        *,
        node: str | None = None,
        error: Any = None,
    ) -> Op:
        """Record one op now and flush it to the file."""
        op = Op(len(self.ops), self.now_ns(), type_, process, f, value, node, error)
        self.ops.append(op)
        if process == NEMESIS:
            self.counts.nemesis += 1
        elif type_ == INVOKE:
            self.counts.invoke += 1
        elif type_ == OK:
            self.counts.ok += 1
        elif type_ == FAIL:
            self.counts.fail += 1
        elif type_ == INFO:
            self.counts.info += 1
        if self._fh is not None:
            self._fh.write(dumps(op) + "\n")
            self._fh.flush()
        for listener in self.listeners:
            listener(op)
        return op

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
