"""The campaign on the terminal: a live progress bar (cells done, surprises so far, ETA) and summary tables.

On a terminal the bar is redrawn in place; when output goes to a file or pipe one plain line is printed
per finished cell instead, so CI logs stay readable. The bar refreshes only when the executor reports
an event (no refresh thread: cells are forked from this process, and forking with threads is unsafe).
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from harness.apps.campaign import summary
from harness.apps.campaign.model import Campaign, Cell, CellRecord, Expect, Status

STYLE = {
    "valid": "green",
    "invalid": "red",
    "unknown": "yellow",
    "crashed": "magenta",
    "interrupted": "dim",
    "caught": "green",
    "safe": "green",
    "missed": "bold red",
    "broken": "bold red",
    "incomplete": "yellow",
}


class LiveDisplay:
    """An executor observer that shows progress; call :meth:`close` when the campaign ends."""

    def __init__(self, campaign: Campaign, kept: Mapping[str, CellRecord], console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.campaign = campaign
        self.records: dict[str, CellRecord] = dict(kept)
        total = len(campaign.cells)
        self.surprises = 0
        self.crashed = 0
        self.running = 0
        self.detail = ""  # the cluster's queued / per-worker counts (Dask campaigns)
        self.worker: str | None = None  # where the cell reported next ran
        self.progress: Progress | None = None
        if self.console.is_terminal:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                auto_refresh=False,
                transient=False,
            )
            self.task = self.progress.add_task(self._label(0), total=total, completed=len(kept))
            self.progress.start()

    def _label(self, running: int) -> str:
        label = (
            f"{self.campaign.name}: running {running}, unexpected {self.surprises}, crashed {self.crashed}"
        )
        return f"{label} | {self.detail}" if self.detail else label

    def set_detail(self, text: str, worker: str | None = None) -> None:
        """The cluster's counts (``queued N | worker running r done d failed f | ...``), shown from now on."""
        self.detail = text
        self.worker = worker
        if self.progress is not None:
            self.progress.update(self.task, description=self._label(self.running))
            self.progress.refresh()

    def __call__(self, kind: str, cell: Cell, record: CellRecord | None) -> None:
        self.running += 1 if kind == "start" else -1
        running = self.running
        if kind == "done" and record is not None:
            self.records[cell.id] = record
            if record.status is Status.CRASHED:
                self.crashed += 1
            elif (cell.expect is Expect.VALID and record.status is Status.INVALID) or (
                cell.expect is Expect.INVALID and record.status is Status.VALID
            ):
                self.surprises += 1
        if self.progress is not None:
            self.progress.update(
                self.task, description=self._label(running), advance=1 if kind == "done" else 0
            )
            self.progress.refresh()
        elif kind == "done" and record is not None:
            done = sum(1 for r in self.records.values() if r.status.final)
            self.console.print(
                f"[{done}/{len(self.campaign.cells)}] {cell.id}: {record.status.value} "
                f"({record.wall_seconds:.1f}s)"
                + (f" on {self.worker}" if self.worker else "")
                + (f" | {self.detail}" if self.detail else ""),
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    def close(self) -> None:
        """Stop the live bar (idempotent)."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _fmt(v: object, suffix: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}{suffix}"
    return f"{v}{suffix}"


def summary_tables(campaign: Campaign, records: Mapping[str, CellRecord]) -> list[Table]:
    """The end-of-campaign tables: per implementation, and the bug zoo (variant x fault)."""
    many_backends = len({c.spec.backend for c in campaign.cells}) > 1
    impl = Table(title=f"{campaign.name}: implementations (* = planted bug)", title_justify="left")
    impl.add_column("variant", no_wrap=True)
    cols = (["backend"] if many_backends else []) + [
        "runs",
        "invalid",
        "1st viol",
        "ok/s",
        "p50/p99 ms",
        "avail",
        "wall s",
    ]
    for col in cols:
        impl.add_column(col, justify="left" if col == "backend" else "right", no_wrap=True)
    for row in summary.implementations(campaign, records):
        cells = ([row["backend"]] if many_backends else []) + [
            f"{row['done']}/{row['cells']}",
            f"{row['invalid']} {_pct(row['detection_rate'])}",
            _fmt(row["first_violation_s_median"], "s"),
            _fmt(row["throughput"]),
            f"{_fmt(row['latency_p50_ms'])}/{_fmt(row['latency_p99_ms'])}",
            _pct(row["availability_faults"]),
            _fmt(row["wall_seconds"]),
        ]
        impl.add_row(row["variant"] + (" *" if row["planted_bug"] else ""), *cells)
    zoo = Table(title=f"{campaign.name}: variant x fault, invalid in k of n seeds", title_justify="left")
    zoo.add_column("variant", no_wrap=True)
    for col in ["fault"] + (["backend"] if many_backends else []) + ["invalid", "verdict"]:
        zoo.add_column(col, no_wrap=True)
    for row in summary.zoo(campaign, records):
        style = STYLE.get(row["verdict"], "")
        found = f"{row['caught']}/{row['seeds']}" + (
            "" if row["done"] == row["seeds"] else f" ({row['done']} run)"
        )
        zoo.add_row(
            row["variant"] + (" *" if row["planted_bug"] else ""),
            row["fault"],
            *([row["backend"]] if many_backends else []),
            found,
            f"[{style}]{row['verdict']}[/]" if style else row["verdict"],
        )
    return [impl, zoo]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def _table_width(console: Console, table: Table) -> int | None:
    """The width to print ``table`` at: the terminal's on a terminal; elsewhere (a CI log, a pipe, a file)
    the table's own natural width, which rich would otherwise cut to 80 columns and wrap cell by cell."""
    if console.is_terminal:
        return None
    from rich.measure import Measurement

    natural = Measurement.get(
        console, console.options.update(width=100_000, max_width=100_000), table
    ).maximum
    return max(natural, 20)


def print_summary(
    campaign: Campaign, records: Mapping[str, CellRecord], console: Console | None = None
) -> None:
    """Print the summary tables and the totals line."""
    console = console or Console()
    for table in summary_tables(campaign, records):
        width, kept = _table_width(console, table), console.width
        if width is not None:
            console.width = width  # print(width=) alone is capped at the console's width
        try:
            console.print(table)
        finally:
            console.width = kept
    t = summary.totals(campaign, records)
    console.print(
        f"cells: {t['cells']}  valid {t['valid']}  invalid {t['invalid']}  unknown {t['unknown']}  "
        f"crashed {t['crashed']}  not run {t['pending'] + t['interrupted']}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
