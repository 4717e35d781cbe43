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
import shutil
import signal
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checkers.history import Op
from checkers.result import EXIT_CRASHED, UNKNOWN, Result
from harness.backends.base import ClusterSpec
from harness.backends.registry import backend_entry
from harness.run.history_log import HistoryLog
from harness.run.runner import Progress, RunOutcome, build_schedule, build_workload_spec, execute
from harness.run.seeds import derive_seed
from harness.run.spec import RunSpec, SpecError, write_spec
from harness.run.store import git_commit, new_run_dir, update_latest, write_index, write_json
from harness.workloads import workload_class
from nemesis.executor import capabilities_for, require_capabilities
from nemesis.packages import resolve_packages
from systems_under_test.registry import UnknownName, resolve

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


def prepare(spec: RunSpec) -> RunSpec:
    """Validate every name and option of ``spec`` and fill in defaults; raises before anything runs.

    Errors (``UnknownName`` with the valid choices, ``SpecError``, workload ``OptionError``,
    ``ScheduleError``) are the user's to fix, so they surface here, before a run dir exists.
    """
    desc, _variant = resolve(spec.system)
    workload = spec.workload or desc.workloads[0]
    workload_class(workload)
    if workload not in desc.workloads:
        raise UnknownName(f"system {desc.name!r} does not support workload {workload!r}", desc.workloads)
    if spec.nodes < desc.min_nodes:
        raise SpecError(f"system {desc.name!r} needs at least {desc.min_nodes} nodes")
    backend_entry(spec.backend)
    resolve_packages(spec.nemesis)
    spec = spec.with_(workload=workload)
    build_schedule(spec)
    build_workload_spec(spec)
    return spec


def summarize(ops: tuple[Op, ...] | list[Op]) -> dict[str, int]:
    """Counts of client invocations and completions by type, and nemesis ops."""
    out = {"invoke": 0, "ok": 0, "fail": 0, "info": 0, "nemesis": 0}
    for op in ops:
        out["nemesis" if not op.is_client else op.type] += 1
    return out


def judge(spec: RunSpec, ops: list[Op] | tuple[Op, ...]) -> tuple[Result, int]:
    """Check a complete history with the spec's workload checker; a checker crash is ``unknown``/255."""
    try:
        result = build_workload_spec(spec).check(list(ops), time_limit=spec.check_time_limit)
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


def run_test(spec: RunSpec, *, store: Path = Path("store"), progress: Progress | None = None) -> RunResult:
    """Run ``spec`` end to end and store it; returns the verdict and Jepsen's exit code."""
    spec = prepare(spec)
    entry = backend_entry(spec.backend)
    run_dir = new_run_dir(store, spec.name)
    cluster = ClusterSpec(spec.system, spec.node_ids, run_dir, derive_seed(spec.seed, "nodes"),
                          dict(spec.config))
    try:
        backend = entry.make(cluster, run_spec=spec)
        require_capabilities(backend, capabilities_for(resolve_packages(spec.nemesis), build_schedule(spec)),
                             spec.backend)
    except Exception:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    replay = replay_command_for(spec, run_dir)
    started = time.time()
    write_spec(run_dir / "spec.json", spec, **git_commit(PROJECT_ROOT), command=replay, started=started)
    history = HistoryLog(run_dir / "history.jsonl")
    caught: dict[str, int] = {}

    async def main() -> RunOutcome:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        installed = []

        def on_signal(signum: int) -> None:
            if not caught and task is not None:
                caught["signal"] = signum
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, on_signal, sig)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            return await execute(backend, spec, history, progress)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    try:
        with asyncio.Runner(loop_factory=entry.new_loop_factory()) as runner:
            outcome = runner.run(main())
    finally:
        history.close()
        kill_now = getattr(backend, "kill_all_now", None)
        if kill_now is not None:
            kill_now()
    with contextlib.suppress(Exception):  # logs are best effort
        backend.collect_logs(run_dir / "nodes")
    extra: dict[str, Any] = {"phase": outcome.phase, "interrupted": outcome.interrupted,
                             "error": outcome.error,
                             "duration": round(time.time() - started, 3),
                             "faults_applied": outcome.faults_applied}
    if outcome.error is not None:
        result, code = Result("harness", UNKNOWN, explanation="the run crashed; see error"), EXIT_CRASHED
    elif outcome.interrupted:
        name = signal.Signals(caught.get("signal", signal.SIGINT)).name
        why = f"interrupted by {name}; not checked (splitbrain check {run_dir} judges what was recorded)"
        result, code = Result("harness", UNKNOWN, explanation=why), EXIT_INTERRUPTED
    else:
        result, code = judge(spec, outcome.ops)
    report = write_results(run_dir, spec, outcome.ops, result, code, replay=replay, extra=extra)
    return RunResult(run_dir, result, code, outcome, replay, report)
