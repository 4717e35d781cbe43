"""Durable records: an append-only JSON-lines file made durable with fsync.

The core's ``Persist`` effects must be on disk before any later message or reply leaves the node
(otherwise a crash could forget something another node or a client already relied on). Writing each
record at once with ``os.write`` puts it in the kernel (it survives a SIGKILL of this process) and one
``fsync`` before the next outgoing ``Send``/``Reply`` makes the whole batch durable against a machine
crash while paying for a single sync per batch.

A crash can tear the last line. Loading ignores such a line and truncates it away, so later appends
start on a clean line instead of being glued to the fragment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FILE_NAME = "durable.jsonl"


class CorruptRecord(ValueError):
    """A complete line of the durable file that is not a JSON object (not a torn tail)."""


def load(path: Path) -> list[dict[str, Any]]:
    """Every complete record of ``path`` in order (missing file: none); a torn last line is dropped."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # bytes after the last newline are a torn tail
    records: list[dict[str, Any]] = []
    for lineno, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise CorruptRecord(f"{path}:{lineno}: not JSON ({e.msg})") from e
        if not isinstance(rec, dict):
            raise CorruptRecord(f"{path}:{lineno}: not a JSON object")
        records.append(rec)
    if end < len(data):
        with path.open("r+b") as fh:
            fh.truncate(end)
    return records


class DurableLog:
    """Appends records to the durable file; :meth:`sync` makes every earlier append durable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.dirty = False
        self.appended = 0
        self.syncs = 0

    def append(self, record: dict[str, Any]) -> None:
        """Write ``record`` as one line (in the kernel at once; durable after the next sync)."""
        line = (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode()
        view = memoryview(line)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.dirty = True
        self.appended += 1

    def sync(self) -> None:
        """fsync if anything was appended since the last sync."""
        if self.dirty:
            os.fsync(self._fd)
            self.dirty = False
            self.syncs += 1

    def close(self) -> None:
        """Sync and close the file (idempotent)."""
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1
