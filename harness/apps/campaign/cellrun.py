"""Running one cell, in its own process: the run, its measurements, and a record file.

The parent only ever learns a cell's outcome from ``cells/<id>.json``, written atomically by the child
as its last act. So whatever happens to the child — an exception, a segfault, SIGKILL on timeout — the
parent can tell "finished" (the record exists) from "crashed" (it does not) without trusting the child's
exit path, and a cell that crashes never takes the campaign down.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from checkers.result import EXIT_CRASHED
from harness.apps.campaign.metrics import run_metrics
from harness.apps.campaign.model import Cell, CellRecord, Status
from harness.run.store import write_json

WARM_MODULES = (
    "harness.apps.campaign.backends",
    "harness.run.session",
    "harness.backends.sim.backend",
    "harness.backends.sim.loop",
    "harness.backends.local",
    "checkers.registry",
    "checkers.linearizability",
    "checkers.models",
    "reports.run_report",
    "reports.index_page",
    "reports.sections",
    "reports.plots",
    "reports.timeline",
    "reports.checker_view",
    "reports.counterexample",
    "reports.faults",
)


def warm_up() -> None:
    """Import what every cell uses (runner, checkers, report, all systems) in the process cells fork from.

    A forked cell would otherwise import them itself, on every run: a few hundred milliseconds of a
    short simulator cell, more on a busy machine. Missing optional modules are skipped.
    """
    import importlib

    for name in WARM_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    with contextlib.suppress(Exception):  # a broken system shows up in its own cells, not here
        from systems_under_test.registry import systems

        systems()


def record_path(campaign_dir: Path, cell_id: str) -> Path:
    """Where the record of ``cell_id`` lives."""
    return campaign_dir / "cells" / f"{cell_id}.json"


def read_record(campaign_dir: Path, cell_id: str) -> CellRecord | None:
    """The stored record of a cell, or None if it has none (not run, or its run died)."""
    path = record_path(campaign_dir, cell_id)
    try:
        return CellRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError):
        return None


def write_record(campaign_dir: Path, record: CellRecord) -> None:
    """Store a cell's record (atomically: a reader never sees half of it)."""
    path = record_path(campaign_dir, record.cell_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, record.to_dict())


def status_of(exit_code: int, interrupted: bool) -> Status:
    """The cell status for a run's exit code (0 valid, 1 invalid, 2 unknown, 255 crashed)."""
    if interrupted:
        return Status.INTERRUPTED
    return {0: Status.VALID, 1: Status.INVALID, 2: Status.UNKNOWN}.get(exit_code, Status.CRASHED)


def execute_cell(cell: Cell, campaign_dir: Path, plan: Any = None) -> CellRecord:
    """Run the cell's plan (or its spec) into ``<campaign_dir>/runs`` and measure it; a failure is a crashed record."""
    from harness.apps.campaign.backends import ensure_backends
    from harness.run.session import run_test

    ensure_backends()
    started = time.monotonic()
    try:
        res = run_test(plan if plan is not None else cell.spec, store=campaign_dir / "runs")
    except Exception:  # noqa: BLE001 - a crashing cell is recorded, never raised into the campaign
        return CellRecord(
            cell.id,
            Status.CRASHED,
            EXIT_CRASHED,
            None,
            round(time.monotonic() - started, 3),
            error=traceback.format_exc(),
        )
    metrics = run_metrics(res.outcome.ops, time_limit=cell.spec.time_limit, details=res.result.details)
    metrics["faults_applied"] = res.outcome.faults_applied
    status = status_of(res.exit_code, res.outcome.interrupted)
    error = res.outcome.error
    if (
        error is None and status is Status.CRASHED
    ):  # e.g. the checker crashed: its explanation has the traceback
        error = res.result.explanation or None
    return CellRecord(
        cell.id,
        status,
        res.exit_code,
        os.path.relpath(res.run_dir, campaign_dir),
        round(time.monotonic() - started, 3),
        metrics,
        error,
    )


def child_main(cell: Cell, campaign_dir: Path, plan: Any = None) -> None:
    """Entry point of a cell's process: output to the cell's log file, then run and record the cell."""
    if hasattr(signal, "pthread_sigmask"):  # the parent forked us with SIGINT held back
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    log = campaign_dir / "cells" / f"{cell.id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    record = execute_cell(cell, campaign_dir, plan)
    if record.error:
        print(record.error, file=sys.stderr)
    write_record(campaign_dir, record)
    sys.stdout.flush()
    sys.stderr.flush()
