"""``splitbrain check``: re-judge a stored run, or check any history file on its own.

A run dir carries its spec, so the right workload checker is known; re-checking also rewrites
results.json and report.html, which is how a run whose harness was killed outright gets its verdict.
A bare history file (ours, Jepsen EDN, Elle JSON, Porcupine logs — detected from content) is checked
against a named model.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checkers.history import read_jsonl
from checkers.result import Result
from harness.run.session import judge, replay_command_for, write_results
from harness.run.spec import read_spec


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One checked input: its path, verdict, op count and checking time."""

    path: Path
    result: Result
    ops: int
    seconds: float
    exit_code: int

    def line(self) -> str:
        """``path  verdict  N ops  T s  reason`` for the terminal."""
        return (
            f"{self.path}\t{self.result.verdict}\t{self.ops} ops\t{self.seconds:.2f}s\t{self.result.reason}"
        )

    def to_json(self) -> dict[str, Any]:
        """One JSON object per input for ``--json``."""
        return {"path": str(self.path), "valid": self.result.valid, "ops": self.ops,
                "seconds": round(self.seconds, 3), "result": self.result.to_dict()}


def check_run_dir(run_dir: Path) -> CheckOutcome:
    """Re-check a stored run with its spec's workload checker and rewrite its results and report."""
    spec, _doc = read_spec(run_dir / "spec.json")
    ops = read_jsonl(run_dir / "history.jsonl")
    t0 = time.perf_counter()
    result, code = judge(spec, ops)
    seconds = time.perf_counter() - t0
    previous: dict[str, Any] = {}
    results_path = run_dir / "results.json"
    if results_path.is_file():
        try:
            previous = json.loads(results_path.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
    extra: dict[str, Any] = {k: previous[k]
                             for k in ("phase", "interrupted", "error", "duration", "faults_applied")
                             if k in previous}
    extra["rechecked"] = True
    write_results(run_dir, spec, ops, result, code, replay=replay_command_for(spec, run_dir), extra=extra)
    n = sum(1 for op in ops if op.is_client and op.type == "invoke")
    return CheckOutcome(run_dir, result, n, seconds, code)


def check_file(path: Path, model: str, *, initial: Any = None, time_limit: float | None = None,
               checker: str | None = None) -> CheckOutcome:
    """Check one history file of any supported format: linearizability against ``model`` by default, or
    the named ``checker`` (``checkers.registry``; Elle, bank, set-full, lock, 2pc, ...) with its defaults."""
    from checkers.importers import load_history
    from checkers.linearizability import check
    from checkers.registry import run as run_checker

    ops = load_history(path)
    t0 = time.perf_counter()
    if checker is None or checker == "linearizable":
        result = check(ops, model, initial=initial, time_limit=time_limit)
    else:
        result = run_checker(checker, ops)
    seconds = time.perf_counter() - t0
    n = sum(1 for op in ops if op.is_client and op.type == "invoke")
    return CheckOutcome(path, result, n, seconds, result.exit_code)
