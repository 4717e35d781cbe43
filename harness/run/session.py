"""One whole test run on a real event loop: validate, make the run dir, execute, check, store, report.

This is the synchronous shell around :func:`harness.run.runner.execute`. It owns what the asyncio core
must not touch — the wall clock (run dir names), signals, the file system, the checker and the
report — and guarantees the run dir is always left complete and consistent: whatever happened (a
verdict, Ctrl-C, SIGTERM, a crash) there is a spec.json, a history.jsonl of complete lines, a
results.json, a report.html and the node logs, and no node process is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from checkers.history import Op
from checkers.result import EXIT_CRASHED, EXIT_UNKNOWN, UNKNOWN, Result
from harness.backends.procguard import same_process, start_time
from harness.run.history_log import HistoryLog
from harness.run.plan import RunPlan, build_plan, plan_of
from harness.run.runner import Progress, RunOutcome, execute
from harness.run.spec import RunSpec, write_spec
from harness.run.store import git_commit, new_run_dir, update_latest, write_index, write_json
from harness.run.verdict import FaultSummary, downgrade, fault_summary, indeterminate_reason, requested_kinds
from harness.workloads import workload_class
from nemesis.table import UNDO_OF
from systems_under_test.registry import resolve

EXIT_INTERRUPTED = 2
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of :func:`run_test`: where it is stored, the verdict and the exit code."""

    run_dir: Path
    result: Result
    exit_code: int
    outcome: RunOutcome
    replay_command: str
    report_path: Path
    faults: FaultSummary | None = None  # faults that took effect (None: not a complete run's count)


def prepare(spec: RunSpec) -> RunPlan:
    """Resolve and validate every name and option of ``spec`` into its run plan; raises before anything runs.

    Errors (``UnknownName`` with the valid choices, ``SpecError``, workload ``OptionError``,
    ``ScheduleError``, ``CapabilityError``, ``PluginError``) are the user's to fix, so they surface here,
    before a run dir exists. See :func:`harness.run.plan.build_plan`.
    """
    return build_plan(spec)


def summarize(ops: tuple[Op, ...] | list[Op]) -> dict[str, int]:
    """Counts of client invocations and completions by type, and nemesis ops."""
    out = {"invoke": 0, "ok": 0, "fail": 0, "info": 0, "nemesis": 0}
    for op in ops:
        out["nemesis" if not op.is_client else op.type] += 1
    return out


def judge(plan: RunPlan | RunSpec, ops: list[Op] | tuple[Op, ...]) -> tuple[Result, int]:
    """Check a complete history with the run's workload checker; a checker crash is ``unknown``/255.

    A stored spec (``splitbrain check RUN_DIR``) needs only its workload, not a whole plan: the run's
    backend or faults need not be available where it is re-checked.
    """
    if isinstance(plan, RunPlan):
        spec, cls = plan.spec, plan.workload_class
    else:
        spec = plan
        cls = workload_class(spec.workload or resolve(spec.system)[0].workloads[0])
    try:
        result = cls(spec.workload_options).check(list(ops), time_limit=spec.check_time_limit)
    except Exception:  # noqa: BLE001 - a checker bug must not lose the run
        trace = traceback.format_exc()
        return Result("checker", UNKNOWN, explanation="the checker crashed:\n" + trace,
                      reason="the checker crashed: " + trace.strip().splitlines()[-1]), EXIT_CRASHED
    return result, result.exit_code


def write_results(run_dir: Path, spec: RunSpec, ops: list[Op] | tuple[Op, ...], result: Result, code: int,
                  *, replay: str, extra: dict[str, Any] | None = None) -> Path:
    """Write results.json and report.html for a run and refresh the store index and ``latest`` link."""
    from reports.run_report import write_run_report

    counts = summarize(ops)
    doc = {"valid": result.valid, "verdict": result.verdict, "reason": result.reason, "exit_code": code,
           "ops": counts["invoke"], "counts": counts,
           "result": result.to_dict(), "replay": replay, **(extra or {})}
    write_json(run_dir / "results.json", doc)
    report = write_run_report(run_dir, spec.to_dict(), doc, list(ops), result=result, replay_command=replay)
    store = run_dir.parent.parent
    try:
        update_latest(store, run_dir)
        write_index(store)
    except OSError:
        pass
    return report


def replay_command_for(spec: RunSpec, run_dir: Path) -> str:
    """The command that re-runs ``spec`` (the stored spec file when flags cannot express it)."""
    if spec.schedule is not None or spec.workload_options or spec.config:
        return f"splitbrain run --spec {run_dir / 'spec.json'}"
    return spec.replay_command()


def run_test(
    spec: RunSpec | RunPlan, *, store: Path = Path("store"), progress: Progress | None = None
) -> RunResult:
    """Run a spec (planned here) or a plan end to end and store it; returns the verdict and exit code."""
    plan = plan_of(spec)
    spec = plan.spec
    entry = plan.backend
    run_dir = new_run_dir(store, spec.name)
    try:
        backend = plan.make_backend(run_dir)
    except Exception:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    replay = replay_command_for(spec, run_dir)
    started = time.time()
    write_spec(run_dir / "spec.json", spec, **git_commit(PROJECT_ROOT), command=replay, started=started)
    history = HistoryLog(run_dir / "history.jsonl")
    caught: dict[str, int] = {}
    status = _PhaseFile(run_dir, started)
    tracked = status.wrap(progress)

    async def main() -> RunOutcome:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_signal(signum: int) -> None:
            # The first signal cuts the run short (heal, teardown, bookkeeping); any later one only
            # hurries the teardown along — it never skips the report, ``latest`` or the index.
            if not caught and task is not None:
                caught["signal"] = signum
                _detach_closed_terminal(signum)
                task.cancel()
            else:
                caught["count"] = caught.get("count", 1) + 1
                _hurry(backend)

        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, on_signal, sig)
        if caught and task is not None:
            task.cancel()  # a signal arrived before these handlers were in place: stop as if it came now
        return await execute(backend, plan, history, tracked)

    with _SignalsDeferred(caught, backend) as deferred:
        try:
            with asyncio.Runner(loop_factory=entry.new_loop_factory()) as runner:
                outcome = runner.run(main())
        finally:
            deferred.install()  # closing the loop reset the signals to their defaults
            history.close()
            kill_now = getattr(backend, "kill_all_now", None)
            if kill_now is not None:
                kill_now()
        with contextlib.suppress(Exception):  # logs are best effort
            backend.collect_logs(run_dir / "nodes")
        extra: dict[str, Any] = {"phase": outcome.phase, "interrupted": outcome.interrupted,
                                 "error": outcome.error, "setup_error": outcome.setup_error,
                                 "duration": round(time.time() - started, 3),
                                 # history time (virtual on the sim backend, where wall time says little)
                                 "history_duration": round(
                                     max((op.time for op in outcome.ops), default=0) / 1e9, 3)}
        faults = fault_summary(outcome.ops, requested_kinds(spec.nemesis, spec.schedule, spec.system),
                               planned=sum(1 for tf in outcome.schedule if tf.op.kind in UNDO_OF))
        extra["faults_applied"] = faults.total
        extra["faults"] = faults.to_json()
        if faults.requested and (faults.total == 0 or faults.missing):
            extra["warnings"] = [faults.phrase()]
        if outcome.error is not None:
            last = (outcome.error.strip().splitlines() or ["?"])[-1]
            result = Result("harness", UNKNOWN, explanation="the run crashed; see error",
                            reason="the harness crashed: " + last)
            code = EXIT_CRASHED
        elif outcome.setup_error is not None:
            first = (outcome.setup_error.strip().splitlines() or ["?"])[0]
            result = Result("harness", UNKNOWN, reason="the cluster did not start: " + first,
                            explanation="the cluster did not start:\n" + outcome.setup_error)
            code = EXIT_UNKNOWN  # nothing was tested
        elif outcome.interrupted:
            name = signal.Signals(caught.get("signal", signal.SIGINT)).name
            why = f"interrupted by {name}; not checked (splitbrain check {run_dir} judges what was recorded)"
            result, code = (
                Result("harness", UNKNOWN, explanation=why, reason=f"interrupted by {name}"),
                EXIT_INTERRUPTED,
            )
        else:
            result, code = judge(plan, outcome.ops)
            result, code = qualify(result, code, outcome.ops, faults)
        report = write_results(run_dir, spec, outcome.ops, result, code, replay=replay, extra=extra)
        status.finish(outcome.phase)
    if caught and code == 0:
        code = (
            EXIT_INTERRUPTED  # a signal during the bookkeeping: the run is complete, but say it was stopped
        )
    return RunResult(run_dir, result, code, outcome, replay, report, faults)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def qualify(
    result: Result, code: int, ops: tuple[Op, ...] | list[Op], faults: FaultSummary | None
) -> tuple[Result, int]:
    """Turn a ``valid`` that says little (most ops indeterminate, no planned fault took) into ``unknown``."""
    if code == EXIT_CRASHED:
        return result, code
    reason = indeterminate_reason(ops) or (faults.downgrade_reason() if faults is not None else None)
    if reason is None or result.valid is not True:
        return result, code
    result = downgrade(result, reason)
    return result, result.exit_code


def _hurry(backend: Any) -> None:
    """Second interrupt: no more restarts, no grace periods, every node killed at once."""
    with contextlib.suppress(AttributeError):
        backend.hurry = True
    kill_now = getattr(backend, "kill_all_now", None)
    if kill_now is not None:
        with contextlib.suppress(Exception):
            kill_now()


def _detach_closed_terminal(signum: int) -> None:
    """After SIGHUP the terminal is gone: point stdout/stderr at /dev/null so the teardown's output cannot
    fail."""
    if signum != signal.SIGHUP:
        return
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            if os.isatty(fd):
                os.dup2(devnull, fd)
        os.close(devnull)


class _SignalsDeferred:
    """Outside the event loop (log collection, checking, report, index), a stop signal is noted, not fatal.

    SIGINT would otherwise raise KeyboardInterrupt in the middle of writing the report, and SIGTERM or
    SIGHUP would end the process at once; both leave a run without report, ``latest`` or index entry.
    While the loop runs, its own handlers (installed by ``main``) take precedence.
    """

    def __init__(self, caught: dict[str, int], backend: Any) -> None:
        self.caught = caught
        self.backend = backend
        self.saved: dict[int, Any] = {}

    def _note(self, signum: int, _frame: Any) -> None:
        self.caught.setdefault("signal", signum)
        self.caught["count"] = self.caught.get("count", 0) + 1
        _detach_closed_terminal(signum)
        _hurry(self.backend)

    def install(self) -> None:
        """(Re)install the deferring handlers (main thread only; elsewhere signals are not ours)."""
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                with contextlib.suppress(OSError, ValueError):
                    previous = signal.signal(sig, self._note)
                    self.saved.setdefault(sig, previous)

    def __enter__(self) -> Self:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.saved.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(sig, handler)


class _PhaseFile:
    """``status.json`` in the run dir: the phase the run is in, so a run cut short by SIGKILL says where."""

    def __init__(self, run_dir: Path, started: float) -> None:
        self.path = run_dir / "status.json"
        self.started = started
        self.phase: str | None = None
        self.pid_start = start_time(os.getpid())  # with the pid, tells this harness from a reused pid
        self._write("starting", finished=False)

    def _write(self, phase: str, *, finished: bool) -> None:
        with contextlib.suppress(OSError):
            write_json(
                self.path,
                {"phase": phase, "finished": finished, "pid": os.getpid(), "pid_start": self.pid_start,
                 "started": self.started},
            )

    def wrap(self, progress: Progress | None) -> Progress:
        """A progress callback that records phase changes (and forwards everything to ``progress``)."""

        def tracked(phase: str, counts: Any, faults: list[str]) -> None:
            if phase != self.phase:
                self.phase = phase
                self._write(phase, finished=False)
            if progress is not None:
                progress(phase, counts, faults)

        return tracked

    def finish(self, phase: str) -> None:
        """The run's bookkeeping is complete."""
        self._write(phase, finished=True)


def read_phase_file(run_dir: Path) -> dict[str, Any] | None:
    """The run's ``status.json`` (None when absent or unreadable)."""
    try:
        doc = json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def still_running(status: dict[str, Any] | None) -> int | None:
    """The pid of the harness still writing the run that ``status`` (its ``status.json``) describes, or
    None when that run finished or its harness is gone (a pid reused by another process does not count)."""
    if not status or status.get("finished") is not False:
        return None
    pid, start = status.get("pid"), status.get("pid_start")
    if not isinstance(pid, int) or isinstance(pid, bool) or not isinstance(start, str) or pid == os.getpid():
        return None
    return pid if same_process(pid, start) else None
