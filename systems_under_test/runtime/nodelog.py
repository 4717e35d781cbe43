"""The node log: timestamped human-readable lines, flushed as they are written.

Each line carries the wall-clock time (to correlate with other nodes' logs and the history) and the
node's own clock (which a clock fault shifts), so a reader can see what the core believed the time was.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TextIO


class NodeLog:
    """Appends ``<utc time> <node> [node clock] text`` lines to a file."""

    def __init__(self, path: Path | None, node: str) -> None:
        self.node = node
        self._fh: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = path.open("a", encoding="utf-8", buffering=1)

    def write(self, text: str, node_time: float | None = None) -> None:
        """Log one line (multi-line text is indented so every log line starts with a timestamp)."""
        if self._fh is None:
            return
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        clock = "" if node_time is None else f" [{node_time:.6f}]"
        body = text.rstrip("\n").replace("\n", "\n    ")
        self._fh.write(f"{stamp} {self.node}{clock} {body}\n")

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
