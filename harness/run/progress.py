"""The live progress line on stderr: phase, ops done (ok/fail/info), and faults in effect.

On a terminal it is one line redrawn in place (rich); when stderr is a file or pipe it prints a plain
line every few seconds instead, so CI logs stay readable. Wall-clock throttling is fine here: this
is the CLI's display, not the runner's logic.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.text import Text

from harness.run.history_log import Counts


class ProgressLine:
    """A ``Progress`` callable for the runner that renders to stderr."""

    def __init__(self, console: Console | None = None, *, interval: float = 0.2, plain_interval: float = 5.0):
        self.console = console or Console(stderr=True)
        self.live: Live | None = None
        self.interval = interval if self.console.is_terminal else plain_interval
        self._last = 0.0
        self._phase = ""

    @staticmethod
    def text(phase: str, counts: Counts, faults: list[str]) -> str:
        """The progress line's text."""
        active = ", ".join(faults) if faults else "none"
        return (f"[{phase}] ops {counts.invoke}  ok {counts.ok}  fail {counts.fail}  info {counts.info}  "
                f"faults: {active}")

    def __call__(self, phase: str, counts: Counts, faults: list[str]) -> None:
        now = time.monotonic()
        if phase == self._phase and now - self._last < self.interval:
            return
        self._phase, self._last = phase, now
        line = self.text(phase, counts, faults)
        if self.console.is_terminal:
            if self.live is None:
                self.live = Live(Text(line), console=self.console, auto_refresh=False, transient=True)
                self.live.start()
            self.live.update(Text(line), refresh=True)
        else:
            self.console.print(line, markup=False, highlight=False)

    def close(self) -> None:
        """Remove the live line (idempotent)."""
        if self.live is not None:
            self.live.stop()
            self.live = None

