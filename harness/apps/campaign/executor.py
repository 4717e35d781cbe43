"""Running a campaign: cells in parallel child processes, resumable, within budgets.

Each cell runs in its own forked process (the harness is already imported, so a cheap simulator cell
costs milliseconds of start-up, not an interpreter boot) with its own run directory under
``<campaign dir>/runs``. At most ``parallel`` cells run at once, and at most ``parallel_real`` of them on
real processes or containers: simulator cells are CPU-bound and share the cores well, local/docker
cells start whole clusters and time out under contention.

The campaign directory is the unit of resumption::

    campaign.json           the expanded campaign (cells and budgets)
    cells/<id>.json         one record per finished cell      cells/<id>.log  the cell's output
    runs/<id>/<stamp>/      each cell's ordinary run directory (spec, history, results, report)
    report.html             the comparison report

A cell is finished when its record exists with a final status; ``resume`` runs only the others.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from harness.apps.campaign.backends import ensure_backends
from harness.apps.campaign.cellrun import (
    EXIT_CRASHED,
    child_main,
    read_record,
    record_path,
    warm_up,
    write_record,
)
from harness.apps.campaign.model import Campaign, CampaignError, Cell, CellRecord, Status
from harness.run.store import write_json

POLL = 0.05
TERM_GRACE = 5.0

Observer = Callable[[str, Cell, CellRecord | None], None]
"""Called as ``observer("start" | "done", cell, record)``."""


@dataclass(slots=True)
class Outcome:
    """What a campaign invocation did: every record (old and new), what ran now, what is left."""

    campaign: Campaign
    directory: Path
    records: dict[str, CellRecord] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)  # ids run by this invocation
    kept: list[str] = field(default_factory=list)  # ids whose earlier records were kept (resume)
    pending: list[str] = field(default_factory=list)  # ids not run (budget, cell limit, interrupt)
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)  # what the user should know (e.g. cells left stranded)


def validate(campaign: Campaign) -> dict[str, Any]:
    """Plan every cell before anything runs (raises the user's error); the plans by cell id.

    Each cell's process runs the plan made here: nothing is resolved again in the child.
    """
    from harness.run.session import prepare

    ensure_backends()
    return {cell.id: prepare(cell.spec) for cell in campaign.cells}


def _context() -> Any:
    """Fork where available (the harness is already imported: cheap cells), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def open_directory(
    campaign: Campaign, directory: Path, *, resume: bool, retry_crashed: bool = False
) -> dict[str, CellRecord]:
    """Create (or, resuming, reopen) the campaign directory; returns the final records to keep."""
    marker = directory / "campaign.json"
    if marker.exists() and not resume:
        raise CampaignError(f"{directory} already holds a campaign; use --resume to continue it")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cells").mkdir(exist_ok=True)
    write_json(marker, campaign.to_dict())
    return kept_records(campaign, directory, retry_crashed=retry_crashed) if resume else {}


def kept_records(
    campaign: Campaign, directory: Path, *, retry_crashed: bool = False
) -> dict[str, CellRecord]:
    """The records in ``directory`` that resuming ``campaign`` keeps: final ones of its current cells."""
    kept: dict[str, CellRecord] = {}
    for cell in campaign.cells:
        rec = read_record(directory, cell.id)
        if rec is not None and rec.status.final and not (retry_crashed and rec.status is Status.CRASHED):
            kept[cell.id] = rec
    return kept


def load_directory(directory: Path) -> tuple[Campaign, dict[str, CellRecord]]:
    """The campaign stored in ``directory`` and every record it has (for reports)."""
    try:
        campaign = Campaign.from_dict(json.loads((directory / "campaign.json").read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise CampaignError(f"{directory}: no campaign.json (is this a campaign directory?)") from None
    except (ValueError, KeyError, TypeError) as e:
        raise CampaignError(f"{directory}/campaign.json: unreadable ({e})") from None
    records = {}
    for cell in campaign.cells:
        rec = read_record(directory, cell.id)
        if rec is not None:
            records[cell.id] = rec
    return campaign, records


def run_campaign(
    campaign: Campaign,
    directory: Path,
    *,
    resume: bool = False,
    max_cells: int | None = None,
    observer: Observer | None = None,
    retry_crashed: bool = False,
) -> Outcome:
    """Run the campaign's unfinished cells in parallel; Ctrl-C stops it cleanly (finished cells are kept).

    Resuming keeps every finished cell; ``retry_crashed`` runs crashed ones again too (after fixing what
    crashed them).
    """
    plans = validate(campaign)
    kept = open_directory(campaign, directory, resume=resume, retry_crashed=retry_crashed)
    out = Outcome(campaign, directory, dict(kept), kept=list(kept))
    todo = [c for c in campaign.cells if c.id not in kept]
    if len(todo) > 1 and _context().get_start_method() == "fork":
        warm_up()  # once here rather than in every forked cell
    budget = campaign.budget
    deadline = None if budget.time is None else time.monotonic() + budget.time
    running: dict[str, tuple[Cell, BaseProcess, float]] = {}
    ctx = _context()
    notify = observer or (lambda kind, cell, rec: None)
    started = 0
    try:
        while todo or running:
            _reap(out, running, budget.cell_timeout, notify)
            may_start = (deadline is None or time.monotonic() < deadline) and (
                max_cells is None or started < max_cells
            )
            if not may_start:
                if not running:
                    break
            else:
                for cell in list(todo):
                    if len(running) >= budget.parallel:
                        break
                    if cell.real and sum(1 for c, _, _ in running.values() if c.real) >= budget.parallel_real:
                        continue
                    if max_cells is not None and started >= max_cells:
                        break
                    record_path(directory, cell.id).unlink(missing_ok=True)  # no stale record as its result
                    with _no_sigint():  # a Ctrl-C must not land between the fork and the bookkeeping
                        proc = ctx.Process(target=child_main, args=(cell, directory, plans[cell.id]),
                                           name=f"cell {cell.id}")
                        proc.start()
                        running[cell.id] = (cell, proc, time.monotonic())
                    todo.remove(cell)
                    started += 1
                    notify("start", cell, None)
            if running:
                time.sleep(POLL)
    except KeyboardInterrupt:
        out.interrupted = True
        _stop_all(running)
        _reap(out, running, budget.cell_timeout, notify, final=True)
    out.pending = [c.id for c in todo] + [cid for cid, rec in out.records.items() if not rec.status.final]
    return out


@contextlib.contextmanager
def _no_sigint() -> Iterator[None]:
    """Hold SIGINT back for the duration (delivered right after); the forked child unblocks it itself."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _reap(
    out: Outcome,
    running: dict[str, tuple[Cell, BaseProcess, float]],
    timeout: float,
    notify: Observer,
    *,
    final: bool = False,
) -> None:
    """Collect finished children (and kill those past the cell timeout) into records."""
    for cid, (cell, proc, began) in list(running.items()):
        timed_out = False
        if proc.is_alive() and not final:
            if time.monotonic() - began <= timeout:
                continue
            timed_out = True
            _terminate(proc)
        proc.join(timeout=TERM_GRACE if final else None)
        if proc.is_alive():
            proc.kill()
            proc.join()
        del running[cid]
        rec = read_record(out.directory, cid)
        if rec is None or timed_out:
            why = (
                f"killed after the cell timeout of {timeout:g} s"
                if timed_out
                else f"the cell's process died (exit code {proc.exitcode}) without a result"
            )
            rec = CellRecord(
                cid,
                Status.INTERRUPTED if out.interrupted else Status.CRASHED,
                EXIT_CRASHED,
                rec.run_dir if rec else None,
                round(time.monotonic() - began, 3),
                error=why,
            )
            write_record(out.directory, rec)
        out.records[cid] = rec
        out.ran.append(cid)
        notify("done", cell, rec)


def _terminate(proc: BaseProcess) -> None:
    """SIGTERM (the run then tears its cluster down), SIGKILL if it does not exit in time."""
    proc.terminate()
    proc.join(TERM_GRACE)
    if proc.is_alive():
        proc.kill()


def _stop_all(running: dict[str, tuple[Cell, BaseProcess, float]]) -> None:
    """Ask every running cell to stop (SIGTERM: each run records itself as interrupted and cleans up)."""
    for _cell, proc, _ in running.values():
        if proc.is_alive():
            with contextlib.suppress(OSError):
                proc.terminate()
