"""Running a campaign on a Dask cluster: every cell a Dask task, every result written into the local store.

``--cluster tcp://HOST:PORT`` connects to a running ``dask scheduler``; ``--cluster local:N`` starts an
in-process ``LocalCluster`` of N single-threaded worker processes on 127.0.0.1. Placement, queueing,
worker loss and retries are Dask's: the campaign only says what each cell needs and collects results.

*Resources.* Workers declare what their machine offers (``dask worker ... --resources
"cores=2,docker=1"``) and each cell asks for what it uses (:func:`requirements`): simulator cells ask for
nothing (they run on any worker thread), local-backend cells for one ``cores`` slot (and ``etcd`` or
``redis`` when they start those servers), docker cells for ``cores`` and ``docker``. A worker's
``cores=N`` is how many real clusters it runs at once — the local executor's ``parallel_real``. Before
anything is submitted the client checks that every cell can be placed on some connected worker and
refuses the campaign otherwise, naming the missing resource, instead of leaving tasks queued forever.

*Results.* A task returns the cell's record and its run directory packed as a gzip'd tar
(``dask_worker``); the client unpacks it under ``<campaign dir>/runs``, points the run's text files at
their new place, and writes ``cells/<id>.json`` last — the same files, in the same order of "finished",
as a local cell. The comparison report, ``--resume``, the store index and ``serve`` read nothing else.

*Exactly once.* A task's key is derived from the cell id (and the campaign directory, so two campaigns
on one cluster never share a result). A worker that dies mid-cell has its task rescheduled by the
scheduler (up to its ``allowed-failures``); an exception in the task is retried ``RETRIES`` times. The
client writes a cell only from its future's single result, so a cell that ran twice is stored once.

*Same code everywhere.* Before submitting, the client asks every worker for its splitbrain version and
git commit and refuses a cluster that differs; each task checks again, for workers that join later.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.apps.campaign.cellrun import EXIT_CRASHED, write_record
from harness.apps.campaign.executor import Observer, Outcome, kept_records, open_directory, validate
from harness.apps.campaign.model import Campaign, CampaignError, Cell, CellRecord, Status
from harness.run.store import update_latest, write_index
from reports.assets import ensure_store_assets

POLL = 0.02
RETRIES = 2  # an exception in a task (not a dead worker: the scheduler reschedules those itself)
WORKER_WAIT = 30.0  # seconds to wait for a first worker to join the scheduler
CONNECT_TIMEOUT = 15.0
STRAND_CHECK = 5.0  # seconds between checks that every waiting cell still has a worker able to run it
STRANDED_GRACE = 60.0  # how long cells may wait for such a worker (one may be restarting) before giving up
REWRITTEN = ("spec.json", "results.json", "report.html")  # the run files that name their own directory
MAX_WORKERS_SHOWN = 4
_LOCAL = re.compile(r"local:(\d+)")
_TCP = re.compile(r"tcp://([^:/\s]+|\[[0-9a-fA-F:]+\]):(\d{1,5})")


@dataclass(frozen=True, slots=True)
class ClusterAddress:
    """A parsed ``--cluster`` value: an in-process cluster of ``workers`` or a scheduler's address."""

    kind: str  # "local" or "tcp"
    address: str = ""
    workers: int = 0


def parse_cluster(text: str) -> ClusterAddress:
    """``local:N`` or ``tcp://HOST:PORT``; anything else is the user's error, with the accepted forms."""
    text = text.strip()
    m = _LOCAL.fullmatch(text)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise CampaignError("--cluster local:N needs at least one worker (N >= 1)")
        return ClusterAddress("local", workers=n)
    m = _TCP.fullmatch(text)
    if m and 0 < int(m.group(2)) < 65536:
        return ClusterAddress("tcp", address=text)
    raise CampaignError(
        f"cluster {text!r}: expected tcp://HOST:PORT (a running dask scheduler) or local:N "
        "(N worker processes on this machine)"
    )


def requirements(cell: Cell) -> dict[str, float]:
    """The Dask resources a worker must offer to run ``cell`` (see the module docstring)."""
    backend = cell.spec.backend
    if backend == "docker":
        return {"cores": 1, "docker": 1}
    if backend == "local":
        need = {"cores": 1.0}
        system = cell.spec.system.split(":", 1)[0]
        if system in ("etcd", "redis"):
            need[system] = 1.0
        return need
    return {}


def detect_resources() -> dict[str, float]:
    """What this machine offers to one worker of a ``local:N`` cluster (one real cluster at a time)."""
    offered: dict[str, float] = {"cores": 1}
    if shutil.which("etcd"):
        offered["etcd"] = 1
    if shutil.which("redis-server"):
        offered["redis"] = 1
    if shutil.which("docker"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            if (
                subprocess.run(["docker", "info"], check=False, capture_output=True, timeout=10).returncode
                == 0
            ):
                offered["docker"] = 1
    return offered


def client_identity() -> dict[str, Any]:
    """This client's splitbrain version and commit (what every worker must match)."""
    from harness.apps.campaign.dask_worker import identity

    return dict(identity())


@contextlib.contextmanager
def connect(cluster: str, *, resources: Mapping[str, float] | None = None) -> Iterator[Any]:
    """A Dask ``Client`` for ``cluster`` (starting a ``LocalCluster`` for ``local:N``), closed afterwards."""
    where = parse_cluster(cluster)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise CampaignError("--cluster needs Dask distributed: pip install 'distributed'") from None
    local = None
    try:
        if where.kind == "local":
            local = LocalCluster(
                n_workers=where.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                resources=dict(resources if resources is not None else detect_resources()),
                silence_logs=logging.ERROR,
            )
            client = Client(local)
        else:
            try:
                client = Client(where.address, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as e:
                raise CampaignError(f"cannot reach the Dask scheduler at {where.address}: {e}") from None
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.close()
    finally:
        if local is not None:
            with contextlib.suppress(Exception):
                local.close()


def workers_info(client: Any) -> dict[str, dict[str, Any]]:
    """Every connected worker's scheduler entry (resources, threads), by address."""
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # older distributed: every worker is listed anyway
        info = client.scheduler_info()
    return dict(info.get("workers", {}))


def check_workers(client: Any, expected: Mapping[str, Any], *, wait: float = WORKER_WAIT) -> dict[str, Any]:
    """Wait for a worker, then refuse the cluster if any worker runs other code; returns the identities."""
    try:
        client.wait_for_workers(1, timeout=wait)
    except TimeoutError:
        raise CampaignError(
            f"no Dask worker joined the scheduler within {wait:g} s; start one with: "
            f"dask worker {client.scheduler.address}"
        ) from None
    from harness.apps.campaign.dask_worker import prepare_worker

    try:
        ids: dict[str, Any] = client.run(prepare_worker)
    except Exception as e:  # noqa: BLE001 - a worker without splitbrain fails to unpickle the function
        raise CampaignError(
            f"a Dask worker cannot run splitbrain ({type(e).__name__}: {e}); install the same splitbrain "
            "on every worker"
        ) from None
    bad = [
        f"{addr} runs {got.get('version')} (commit {got.get('commit') or 'unknown'})"
        for addr, got in sorted(ids.items())
        if got.get("version") != expected["version"]
        or (expected.get("commit") and got.get("commit") and got["commit"] != expected["commit"])
    ]
    if bad:
        raise CampaignError(
            f"refusing the cluster: this client runs splitbrain {expected['version']} "
            f"(commit {expected.get('commit') or 'unknown'}) but " + "; ".join(bad)
            + ". Install the same version on every worker."
        )
    return ids


def unplaceable(cells: list[Cell], workers: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Cells no connected worker can run, grouped by what they ask for (empty: all can run)."""
    offers = [dict(w.get("resources") or {}) for w in workers.values()]
    out: dict[str, list[str]] = {}
    for cell in cells:
        need = requirements(cell)
        if not any(all(o.get(k, 0) >= v for k, v in need.items()) for o in offers):
            label = ", ".join(f"{k}={v:g}" for k, v in sorted(need.items())) or "a worker"
            out.setdefault(label, []).append(cell.id)
    return out


def check_placeable(cells: list[Cell], workers: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse a campaign with cells that no worker offers the resources for (they would queue forever)."""
    missing = unplaceable(cells, workers)
    if not missing:
        return
    offered = sorted(
        {", ".join(f"{k}={v:g}" for k, v in sorted((w.get("resources") or {}).items())) or "none"
         for w in workers.values()}
    )
    lines = [
        f"{len(ids)} cell(s) need {need} (e.g. {ids[0]})" for need, ids in sorted(missing.items())
    ]
    raise CampaignError(
        "no worker of the cluster can run some cells: " + "; ".join(lines)
        + f". Workers offer: {' | '.join(offered)}. Start a worker with the resources, e.g. "
        "dask worker SCHEDULER --resources \"cores=1,docker=1\""
    )


def task_key(directory: Path, cell: Cell) -> str:
    """The Dask key of a cell: its id, qualified by the campaign directory it is stored in."""
    where = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:8]
    return f"splitbrain-cell-{where}-{cell.id}"


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Note SIGINT instead of raising KeyboardInterrupt for the duration, then raise it (main thread only);
    a second one raises at once (a result that never arrives must not make Ctrl-C useless).

    Blocking the signal would not do: the Dask client's threads would take it, and Python raises it in the
    main thread whichever thread the kernel picked."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def note(signum: int, _frame: Any) -> None:
        if caught:
            raise KeyboardInterrupt
        caught.append(signum)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def store_cell(directory: Path, payload: Mapping[str, Any]) -> CellRecord:
    """Write a cell that ran on a worker into ``directory`` as a local cell would be; returns its record."""
    rec = CellRecord.from_dict(payload["record"])
    incoming = directory / f".incoming-{rec.cell_id}"
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=_bytes_io(payload["archive"]), mode="r:gz") as tar:
            tar.extractall(incoming, filter="data")
        run_dir = rec.run_dir
        if run_dir and (incoming / run_dir).is_dir():
            target = _free_path(directory / run_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(incoming / run_dir, target)
            new_rel = os.path.relpath(target, directory)
            _repoint(target, Path(payload["scratch"]) / run_dir, target, Path(payload["scratch"]), directory)
            rec = CellRecord(
                rec.cell_id, rec.status, rec.exit_code, new_rel, rec.wall_seconds, rec.metrics, rec.error
            )
            with contextlib.suppress(OSError):
                update_latest(directory / "runs", target)
            ensure_store_assets(directory / "runs")  # the report's plotly.js, shared by the store's runs
        elif run_dir:
            rec = CellRecord(
                rec.cell_id, rec.status, rec.exit_code, None, rec.wall_seconds, rec.metrics, rec.error
            )
        log = incoming / "cells" / f"{rec.cell_id}.log"
        if log.is_file():
            os.replace(log, directory / "cells" / f"{rec.cell_id}.log")
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    write_record(directory, rec)
    return rec


def _bytes_io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def _free_path(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... if taken (a retried cell whose first run is still stored)."""
    if not path.exists():
        return path
    n = 2
    while path.with_name(f"{path.name}-{n}").exists():
        n += 1
    return path.with_name(f"{path.name}-{n}")


def _repoint(run_dir: Path, old_run: Path, new_run: Path, old_root: Path, new_root: Path) -> None:
    """Rewrite the worker's paths in the run's small text files (replay commands) to the client's."""
    pairs = [(str(old_run), str(new_run.resolve())), (str(old_root), str(new_root.resolve()))]
    for name in REWRITTEN:
        path = run_dir / name
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        changed = text
        for old, new in pairs:
            changed = changed.replace(old, new)
        if changed != text:
            path.write_text(changed, encoding="utf-8")


class Tally:
    """Cells queued, and running / done / failed per worker: the cluster half of the progress line."""

    def __init__(self, queued: int):
        self.queued = queued
        self.running_on: dict[str, str] = {}  # cell id -> worker address
        self.done: dict[str, int] = {}
        self.failed: dict[str, int] = {}

    def start(self, cell_id: str, worker: str) -> bool:
        """A cell started on ``worker``; True the first time this cell starts (not on a retry)."""
        first = cell_id not in self.running_on
        if first:
            self.queued = max(0, self.queued - 1)
        self.running_on[cell_id] = worker
        return first

    def finish(self, cell_id: str, worker: str | None, failed: bool) -> None:
        """A cell's result arrived (``worker`` None: it never ran, e.g. its worker kept dying)."""
        if self.running_on.pop(cell_id, None) is None:
            self.queued = max(0, self.queued - 1)
        w = worker or "?"
        bucket = self.failed if failed else self.done
        bucket[w] = bucket.get(w, 0) + 1

    def line(self) -> str:
        """``queued 12 | 127.0.0.1:40001 running 1 done 5 failed 0 | ...``."""
        workers = sorted(set(self.running_on.values()) | set(self.done) | set(self.failed))
        parts = [f"queued {self.queued}"]
        for w in workers[:MAX_WORKERS_SHOWN]:
            running = sum(1 for v in self.running_on.values() if v == w)
            parts.append(
                f"{w.removeprefix('tcp://')} running {running} done {self.done.get(w, 0)} "
                f"failed {self.failed.get(w, 0)}"
            )
        if len(workers) > MAX_WORKERS_SHOWN:
            parts.append(f"+{len(workers) - MAX_WORKERS_SHOWN} more workers")
        return " | ".join(parts)


def _failed_record(cell: Cell, exc: BaseException, began: float) -> CellRecord:
    """The record of a cell whose task failed (its worker kept dying, or the task kept raising)."""
    name = type(exc).__name__
    if name == "KilledWorker":
        why = f"the workers running this cell kept dying ({exc}); Dask gave up on it"
    else:
        why = f"the cell's Dask task failed after {RETRIES} retries: {name}: {exc}"
    return CellRecord(cell.id, Status.CRASHED, EXIT_CRASHED, None, round(time.monotonic() - began, 3),
                      error=why)


def run_campaign_on_cluster(
    campaign: Campaign,
    directory: Path,
    *,
    cluster: str,
    resume: bool = False,
    max_cells: int | None = None,
    observer: Observer | None = None,
    retry_crashed: bool = False,
    resources: Mapping[str, float] | None = None,
) -> Outcome:
    """Run the campaign's unfinished cells as Dask tasks on ``cluster``; same directory layout as local.

    ``resources`` overrides what each worker of a ``local:N`` cluster offers (default: detected).
    Budgets: ``time`` stops starting cells (queued ones are cancelled and stay pending); ``cell_timeout``
    is enforced on the worker; parallelism is the cluster's (worker threads and resources).
    """
    validate(campaign)
    kept = (
        kept_records(campaign, directory, retry_crashed=retry_crashed)
        if resume and (directory / "campaign.json").is_file()
        else {}
    )
    todo = [c for c in campaign.cells if c.id not in kept]
    if max_cells is not None:
        todo = todo[:max_cells]
    todo_ids = {c.id for c in todo}
    left_out = [c.id for c in campaign.cells if c.id not in kept and c.id not in todo_ids]
    notify = observer or (lambda kind, cell, rec: None)
    detail = getattr(observer, "set_detail", None)
    expected = client_identity()
    with connect(cluster, resources=resources) as client:
        check_workers(client, expected)
        check_placeable(todo, workers_info(client))
        kept = open_directory(campaign, directory, resume=resume, retry_crashed=retry_crashed)
        out = Outcome(campaign, directory, dict(kept), kept=list(kept))
        events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        from harness.apps.campaign.dask_worker import EVENT_TOPIC, run_cell_task

        with contextlib.suppress(Exception):
            client.subscribe_topic(EVENT_TOPIC, events.put)
        tally = Tally(len(todo))
        began = time.monotonic()
        deadline = None if campaign.budget.time is None else began + campaign.budget.time
        futures = {}
        keys = {cell.id: task_key(directory, cell) for cell in todo}
        by_key: dict[str, Cell] = {keys[cell.id]: cell for cell in todo}
        for cell in todo:
            key = keys[cell.id]
            futures[key] = client.submit(
                run_cell_task,
                cell.to_dict(),
                campaign.budget.cell_timeout,
                expected,
                key=key,
                resources=requirements(cell) or None,
                retries=RETRIES,
                pure=False,
            )
        from distributed import as_completed

        started: set[str] = set()
        finished: set[str] = set()
        cells = {c.id: c for c in todo}
        shown = ""
        lost: list[str] = []  # cells whose tasks the cluster cancelled (e.g. the scheduler went away)
        stranded_since: dict[str, float] = {}
        next_check = time.monotonic() + STRAND_CHECK
        try:
            ac = as_completed(list(futures.values()))
            remaining = set(futures)  # keys neither collected nor cancelled
            given_up: set[str] = set()  # keys this client cancelled (time budget, stranded cells)
            while remaining:
                _drain(events, tally, cells, started, finished, notify)
                if detail is not None and tally.line() != shown:
                    shown = tally.line()
                    detail(shown, None)
                for fut in ac.next_batch(block=False) if ac.has_ready() else []:
                    # A Ctrl-C takes effect once the cell is stored and counted: cut between its run
                    # directory and its record, it would run again on resume and be stored twice.
                    with _sigint_deferred():
                        cell = by_key[fut.key]
                        remaining.discard(fut.key)
                        if cell.id in finished:
                            continue
                        try:
                            got = None if fut.status == "cancelled" else _collect(fut, cell, directory, began)
                        except CancelledError:  # distributed's FutureCancelledError derives from it
                            got = None
                        if got is None:
                            if fut.key not in given_up:
                                lost.append(cell.id)
                            continue
                        rec, worker = got
                        finished.add(cell.id)
                        if cell.id not in started:
                            started.add(cell.id)
                            notify("start", cell, None)
                        tally.finish(cell.id, worker, rec.status is Status.CRASHED)
                        out.records[cell.id] = rec
                        out.ran.append(cell.id)
                        if detail is not None:
                            shown = tally.line()
                            detail(shown, worker)
                        notify("done", cell, rec)
                        fut.release()
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + STRAND_CHECK
                    waiting = [c for c in todo if keys[c.id] in remaining and c.id not in started]
                    stranded = _stranded(waiting, workers_info(client), stranded_since)
                    for need, ids in stranded.items():
                        for cid in ids:
                            key = keys[cid]
                            given_up.add(key)
                            remaining.discard(key)
                            futures[key].cancel()
                        out.notes.append(
                            f"{len(ids)} cell(s) needing {need} were not run: no connected worker offered "
                            f"it for {STRANDED_GRACE:g} s (e.g. {ids[0]}); start such a worker and --resume"
                        )
                if deadline is not None and time.monotonic() >= deadline:
                    for key in [k for k in remaining if by_key[k].id not in started]:
                        given_up.add(key)
                        remaining.discard(key)
                        futures[key].cancel()
                time.sleep(POLL)
        except KeyboardInterrupt:
            out.interrupted = True
            client.cancel([f for f in futures.values() if not f.done()])
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(EVENT_TOPIC)
    if lost:
        out.notes.append(
            f"{len(lost)} cell(s) were cancelled by the cluster (did the scheduler restart?), e.g. "
            f"{lost[0]}; --resume runs them"
        )
    with contextlib.suppress(Exception):  # the runs' own index, as each local cell leaves it
        if (directory / "runs").is_dir():
            write_index(directory / "runs")
    out.pending = left_out + [c.id for c in todo if c.id not in out.records]
    return out


def _stranded(
    waiting: list[Cell], workers: Mapping[str, Mapping[str, Any]], since: dict[str, float]
) -> dict[str, list[str]]:
    """Waiting cells that no connected worker has been able to run for ``STRANDED_GRACE`` seconds."""
    now = time.monotonic()
    missing = unplaceable(waiting, workers)
    stuck = {cid for ids in missing.values() for cid in ids}
    for cid in list(since):
        if cid not in stuck:
            del since[cid]
    out: dict[str, list[str]] = {}
    for need, ids in missing.items():
        for cid in ids:
            if now - since.setdefault(cid, now) >= STRANDED_GRACE:
                out.setdefault(need, []).append(cid)
    for ids in out.values():
        for cid in ids:
            since.pop(cid, None)
    return out


def _drain(
    events: Any,
    tally: Tally,
    cells: Mapping[str, Cell],
    started: set[str],
    finished: set[str],
    notify: Observer,
) -> None:
    """Apply the workers' start events to the tally; the first start of a cell is reported once."""
    while True:
        try:
            item = events.get_nowait()
        except queue.Empty:
            return
        msg = item[1] if isinstance(item, tuple) and len(item) == 2 else item
        if not isinstance(msg, Mapping) or msg.get("event") != "start":
            continue
        cid = str(msg.get("cell"))
        cell = cells.get(cid)
        if cell is None or cid in finished:
            continue
        tally.start(cid, str(msg.get("worker")))
        if cid not in started:
            started.add(cid)
            notify("start", cell, None)


def _collect(fut: Any, cell: Cell, directory: Path, began: float) -> tuple[CellRecord, str | None]:
    """The finished future's cell, written into ``directory``; a failed task becomes a crashed record."""
    if fut.status == "error":
        exc = fut.exception()
        if type(exc).__name__ == "VersionMismatch":
            raise CampaignError(f"refusing the cluster: {exc}. Install the same version on every worker.")
        rec = _failed_record(cell, exc, began)
        write_record(directory, rec)
        return rec, None
    payload = fut.result()
    return store_cell(directory, payload), str(payload.get("worker"))
