"""``splitbrain check``: re-judge a stored run, or check any history file on its own.

A run dir carries its spec, so the right workload checker is known; re-checking also rewrites
results.json and report.html, which is how a run whose harness was killed outright gets its verdict.
A bare history file (ours, Jepsen EDN, Elle JSON, Porcupine logs — detected from content) is checked
against a named model.

A run that did not reach its end (interrupted, or its harness killed: no results.json, or a
``status.json`` that never says finished) keeps those facts when re-checked, and a clean history is
reported as "valid as far as it went (cut short in phase P)", exit 2 — never as a plain valid. A
checker that cannot make sense of a file's history (wrong shapes for its model, another workload's
history) is the input's fault: one line naming file and checker, exit 254.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checkers.history import HistoryError, read_jsonl, torn_tail
from checkers.result import Result
from harness.run.session import (
    judge,
    qualify,
    read_phase_file,
    replay_command_for,
    still_running,
    write_results,
)
from harness.run.spec import read_spec
from harness.run.verdict import cut_short_reason, downgrade


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One checked input: its path, verdict, op count and checking time."""

    path: Path
    result: Result
    ops: int
    seconds: float
    exit_code: int
    note: str = ""  # why a verdict is qualified (cut short, mostly indeterminate)

    def line(self) -> str:
        """``path  verdict  N ops  T s  reason`` for the terminal (plus why a verdict is qualified)."""
        line = (
            f"{self.path}\t{self.result.verdict}\t{self.ops} ops\t{self.seconds:.2f}s\t{self.result.reason}"
        )
        return line + (f"\t({self.note})" if self.note else "")

    def to_json(self) -> dict[str, Any]:
        """One JSON object per input for ``--json``."""
        return {"path": str(self.path), "valid": self.result.valid, "ops": self.ops,
                "seconds": round(self.seconds, 3), "result": self.result.to_dict()}


def _warn(text: str) -> None:
    print(f"splitbrain: warning: {text}", file=sys.stderr)


def check_run_dir(run_dir: Path) -> CheckOutcome:
    """Re-check a stored run with its spec's workload checker and rewrite its results and report."""
    spec, _doc = read_spec(run_dir / "spec.json")
    status = read_phase_file(run_dir) or {}
    running = still_running(status)
    if running is not None:
        raise HistoryError(f"{run_dir}: the run is still going (harness pid {running}, phase "
                           f"{status.get('phase')}); check it once it has ended")
    history_path = run_dir / "history.jsonl"
    if not history_path.is_file():
        raise HistoryError(f"{run_dir}: no history.jsonl (the run never started its history?)")
    ops = read_jsonl(history_path)
    t0 = time.perf_counter()
    result, code = judge(spec, ops)
    seconds = time.perf_counter() - t0
    previous: dict[str, Any] = {}
    results_path = run_dir / "results.json"
    if results_path.is_file():
        try:
            loaded = json.loads(results_path.read_text(encoding="utf-8"))
            previous = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            previous = {}
    keep = ("phase", "interrupted", "error", "duration", "faults_applied", "faults")
    extra: dict[str, Any] = {k: previous[k] for k in keep if k in previous}
    if "phase" not in extra:
        # no results: the harness never finished (SIGKILL, power loss); the phase file says how far it got
        extra["phase"] = status.get("phase") if isinstance(status.get("phase"), str) else "unknown"
        extra["interrupted"] = True
        extra["killed"] = True
    extra["rechecked"] = True
    warnings: list[str] = []
    if torn_tail(history_path):
        warnings.append(
            "the last line of history.jsonl is torn (the writer was killed mid-line); it was skipped"
        )
        _warn(f"{history_path}: {warnings[-1]}")
    note = ""
    cut_short = bool(extra.get("interrupted")) or extra.get("phase") not in ("done", None)
    if cut_short and code != 255:
        reason = cut_short_reason(extra.get("phase"))
        if result.valid is True:
            result = downgrade(result, reason)
            code = result.exit_code
            note = reason
        else:
            note = f"cut short in phase {extra.get('phase')}"
        warnings.append(f"the run was cut short in phase {extra.get('phase')}")
    elif code != 255:
        qualified, code = qualify(result, code, ops, None)
        if qualified is not result and qualified.explanation:
            note = qualified.explanation.splitlines()[0]
        result = qualified
    if warnings:
        extra["warnings"] = warnings
    write_results(run_dir, spec, ops, result, code, replay=replay_command_for(spec, run_dir), extra=extra)
    n = sum(1 for op in ops if op.is_client and op.type == "invoke")
    return CheckOutcome(run_dir, result, n, seconds, code, note)


def check_file(path: Path, model: str, *, initial: Any = None, time_limit: float | None = None,
               checker: str | None = None, jobs: int | None = None,
               memory_limit: int | None = None) -> CheckOutcome:
    """Check one history file of any supported format: linearizability against ``model`` by default, or
    the named ``checker`` (``checkers.registry``; Elle, bank, set-full, lock, 2pc, ...) with its defaults.
    ``jobs``: worker processes for many keys (None: the cores); ``memory_limit``: MB (None: default cap)."""
    from checkers.importers import load_history
    from checkers.linearizability import check
    from checkers.registry import run as run_checker

    ops = load_history(path)
    if torn_tail(path) and path.suffix != ".edn":
        _warn(f"{path}: the last line is torn (a writer killed mid-line?); it was skipped")
    name = checker or "linearizable"
    t0 = time.perf_counter()
    try:
        if checker is None or checker == "linearizable":
            from checkers.linearizability.driver import default_jobs

            result = check(ops, model, initial=initial, time_limit=time_limit, jobs=jobs or default_jobs(),
                           memory_limit="auto" if memory_limit is None else memory_limit * 1_000_000)
        else:
            result = run_checker(checker, ops)
    except HistoryError as e:
        text = str(e)
        raise HistoryError(text if text.startswith(str(path)) else f"{path}: {text}") from None
    except RecursionError:
        raise HistoryError(f"{path}: values nested too deeply for the {name} checker") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        # the checker met values it cannot interpret: the history does not fit this checker or model
        what = f"the {name} checker" + (f" with model {model!r}" if name == "linearizable" else "")
        raise HistoryError(f"{path}: the history does not fit {what} ({type(e).__name__}: {e}); "
                           "is it a history of another workload? (--checker, --model)") from None
    seconds = time.perf_counter() - t0
    n = sum(1 for op in ops if op.is_client and op.type == "invoke")
    return CheckOutcome(path, result, n, seconds, result.exit_code)
