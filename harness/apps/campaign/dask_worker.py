"""The worker side of a Dask campaign: run one cell on this machine and pack its run for the client.

A Dask task runs in a worker *thread*, and the worker process has several threads (its event loop, the
executor, the nanny link), so forking it directly is unsafe. Each cell therefore runs in a process forked
by a ``forkserver`` whose server preloads the harness: single-threaded forks that cost milliseconds, and a
process boundary so a cell that segfaults, hangs or leaks cannot take the worker with it — the same
isolation as the local executor. The cell writes into a private scratch directory laid out like a
campaign directory (``runs/``, ``cells/<id>.json``, ``cells/<id>.log``); the task then packs the cell's
run directory and log into one gzip'd tar and returns it with the record, so the client can write the
cell into its own store exactly as a local cell would be. The cell's files are removed afterwards; the
store-wide assets (plotly.js under ``runs/_assets``) are not shipped: the client's store has its own.

Nothing here needs the Dask client: the module is imported on workers (by reference, when a task is
unpickled), so it imports ``distributed`` only inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import multiprocessing
import os
import shutil
import signal
import socket
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.apps.campaign.cellrun import EXIT_CRASHED, child_main, read_record, warm_up
from harness.apps.campaign.model import Cell, CellRecord, Status

TERM_GRACE = 5.0
ABANDON_POLL = 0.5
WATCH_PARENT = 0.5
EVENT_TOPIC = "splitbrain-cell"
OUR_PACKAGES = ("harness.", "checkers", "reports", "systems_under_test", "nemesis")


def _preload() -> list[str]:
    """What the forkserver imports once so that no cell process imports it again: the worker's main
    first (else every cell process would run it again, see ``forkserver_main``), then everything a cell
    uses (``cellrun.warm_up``)."""
    import sys

    warm_up()
    first = ["harness.apps.campaign.forkserver_main", "harness.apps.campaign.dask_worker"]
    ours = sorted(m for m in sys.modules if m.startswith(OUR_PACKAGES) and not m.endswith("__main__"))
    return [*first, *(m for m in ours if m not in first)]


def _name_main() -> None:
    """Tell the forkserver (through its environment) which main module a cell child expects loaded."""
    from multiprocessing import spawn

    from harness.apps.campaign.forkserver_main import ENV

    data = spawn.get_preparation_data("cell")
    if "init_main_from_name" in data:
        os.environ[ENV] = f"name:{data['init_main_from_name']}"
    elif "init_main_from_path" in data:
        os.environ[ENV] = f"path:{data['init_main_from_path']}"


_ctx_lock = threading.Lock()
_ctx: Any = None
_scratch: Path | None = None


class VersionMismatch(RuntimeError):
    """This worker runs another splitbrain than the client (the task refuses to run the cell)."""


@functools.cache
def identity() -> dict[str, Any]:
    """What the client compares before trusting a worker with cells: splitbrain version and git commit.

    Cached: the code a process runs was imported once, whatever happens to the checkout afterwards.
    """
    from importlib.metadata import PackageNotFoundError, version

    from harness.run.session import PROJECT_ROOT
    from harness.run.store import git_commit

    try:
        ver = version("splitbrain")
    except PackageNotFoundError:
        ver = "unknown"
    return {"version": ver, "commit": git_commit(PROJECT_ROOT)["commit"], "host": socket.gethostname()}


def _context() -> Any:
    """The process's forkserver context (started once, with the harness preloaded)."""
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            if "forkserver" in methods:
                _name_main()
                ctx.set_forkserver_preload(_preload())
            _ctx = ctx
        return _ctx


def prepare_worker() -> dict[str, Any]:
    """Start this worker's forkserver now (the harness imports take a while) and say who we are."""
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with contextlib.suppress(Exception):  # the first cell would start it anyway
            forkserver.ensure_running()
    return identity()


def _cell_child(cell: Cell, scratch: Path, worker_pid: int) -> None:
    """Cell process: stop the run (SIGTERM: it tears its cluster down) if the worker dies, then run it."""

    parent = os.getppid()  # the forkserver, which exits with the worker (or the worker itself)

    def watch() -> None:
        while True:
            time.sleep(WATCH_PARENT)
            try:
                os.kill(worker_pid, 0)
                gone = os.getppid() != parent
            except ProcessLookupError:
                gone = True
            except PermissionError:
                gone = False
            if gone:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="watch-worker", daemon=True).start()
    child_main(cell, scratch)


@contextlib.contextmanager
def _may_have_children() -> Any:
    """Let a daemonic worker process (Dask's default under a nanny) start the cell process.

    ``multiprocessing`` refuses children in daemonic processes because a daemon is killed without
    cleanup; the cell process watches the worker and stops itself when it goes, which is the cleanup
    that rule protects, so the flag is lifted for the start only.
    """
    config = multiprocessing.current_process()._config  # the only switch for this rule
    was = config.get("daemon")
    config["daemon"] = False
    try:
        yield
    finally:
        if was is not None:
            config["daemon"] = was


def run_cell_here(
    cell: Cell, scratch: Path, timeout: float, abandoned: Callable[[], bool] = lambda: False
) -> CellRecord:
    """Run ``cell`` in a child process into ``scratch``; a death or timeout is a crashed record.

    ``abandoned`` is polled while the cell runs: once it says nobody wants the result any more (the
    client cancelled the campaign or went away), the cell is stopped like a timed-out one.
    """
    ctx = _context()
    began = time.monotonic()
    with _ctx_lock, _may_have_children():  # one thread at a time flips the process-wide flag
        proc = ctx.Process(target=_cell_child, args=(cell, scratch, os.getpid()), name=f"cell {cell.id}")
        proc.daemon = True
        proc.start()
    timed_out = False
    deadline = began + timeout
    given_up = False
    while proc.is_alive() and time.monotonic() < deadline:
        if abandoned():
            given_up = True
            break
        proc.join(min(ABANDON_POLL, max(0.0, deadline - time.monotonic())))
    if proc.is_alive():
        timed_out = True
        proc.terminate()
        proc.join(TERM_GRACE)
        if proc.is_alive():
            proc.kill()
            proc.join()
    rec = read_record(scratch, cell.id)
    if rec is None or timed_out:
        why = (
            "stopped: the campaign no longer wants this cell (cancelled or its client went away)"
            if given_up
            else f"killed after the cell timeout of {timeout:g} s"
            if timed_out
            else f"the cell's process died (exit code {proc.exitcode}) without a result"
        )
        rec = CellRecord(
            cell.id, Status.CRASHED, EXIT_CRASHED, rec.run_dir if rec else None,
            round(time.monotonic() - began, 3), error=why,
        )
    return rec


def pack(scratch: Path, record: CellRecord) -> bytes:
    """The cell's run directory and log as a gzip'd tar, paths relative to the campaign directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        if record.run_dir:
            run_dir = scratch / record.run_dir
            if run_dir.is_dir():
                tar.add(run_dir, arcname=record.run_dir)
        log = scratch / "cells" / f"{record.cell_id}.log"
        if log.is_file():
            tar.add(log, arcname=f"cells/{record.cell_id}.log")
    return buf.getvalue()


def _abandoned_check(worker: Any) -> Callable[[], bool]:
    """True once the scheduler has cancelled or forgotten this thread's task (best effort: False if the
    worker's task table cannot be read on this version of distributed)."""
    try:
        from distributed.worker import thread_state

        key = thread_state.key
        tasks = worker.state.tasks
    except (ImportError, AttributeError):
        return lambda: False

    def abandoned() -> bool:
        ts = tasks.get(key)
        return ts is None or getattr(ts, "state", "executing") in ("cancelled", "released", "forgotten")

    return abandoned


def _scratch_root(worker: Any) -> Path:
    """This worker process's scratch campaign directory (kept: its ``runs/_assets`` copy is reused).

    Each cell writes only below ``runs/<cell id>/`` and ``cells/<cell id>.*``, which are removed once the
    cell is packed; a cell id runs at most once at a time on a worker (its task key is unique).
    """
    global _scratch
    with _ctx_lock:
        if _scratch is None or not _scratch.is_dir():
            base = getattr(worker, "local_directory", None)
            _scratch = Path(tempfile.mkdtemp(prefix="splitbrain-cells-", dir=base))
            (_scratch / "cells").mkdir()
        return _scratch


def run_cell_task(cell_doc: dict[str, Any], timeout: float, expected: dict[str, Any]) -> dict[str, Any]:
    """The Dask task of one cell: check the version, run the cell, return its record and packed run.

    Returns ``{"record", "archive", "scratch", "worker", "seconds"}``; ``scratch`` is the absolute path the
    run was written under (the client rewrites it to its own directory in the run's text files).
    """
    from distributed import get_worker

    worker = get_worker()
    mine = dict(identity())
    if mine["version"] != expected["version"] or (
        expected.get("commit") and mine["commit"] and mine["commit"] != expected["commit"]
    ):
        raise VersionMismatch(
            f"worker {worker.address} runs splitbrain {mine['version']} (commit {mine['commit']}), "
            f"the client {expected['version']} (commit {expected.get('commit')})"
        )
    cell = Cell.from_dict(cell_doc)
    started = time.monotonic()
    with contextlib.suppress(Exception):  # progress events are a convenience
        worker.log_event(EVENT_TOPIC, {"event": "start", "cell": cell.id, "worker": worker.address})
    scratch = _scratch_root(worker)
    try:
        record = run_cell_here(cell, scratch, timeout, _abandoned_check(worker))
        archive = pack(scratch, record)
    finally:  # the worker keeps nothing of the cell: the client has it now (or it is retried)
        shutil.rmtree(scratch / "runs" / cell.id, ignore_errors=True)
        for suffix in (".json", ".log"):
            (scratch / "cells" / f"{cell.id}{suffix}").unlink(missing_ok=True)
    return {
        "record": record.to_dict(),
        "archive": archive,
        "scratch": str(scratch),
        "worker": worker.address,
        "seconds": round(time.monotonic() - started, 3),
    }
