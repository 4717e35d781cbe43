"""Explore says why: every run line ends with its verdict's reason, even when a checker gives none."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkers.history import Op
from checkers.result import Result
from harness.apps.cli import run_cli
from harness.apps.explore import Verdict, coverage_of, reason_of


def test_reason_of_never_fails_on_missing_text() -> None:
    assert reason_of(Verdict(Result("lock", False), None, "", ())) == "lock: no explanation given"
    verdict = Verdict(Result("lock", False, explanation="\n"), None, "", ())
    assert reason_of(verdict) == "lock: no explanation given"
    assert reason_of(Verdict(Result("x", True, explanation="fine\nmore"), None, "", ())) == "fine"
    assert reason_of(Verdict(Result("x", None), "Traceback\nValueError: boom\n", "", ())).endswith("boom")


def test_coverage_counts_event_sequences_not_times() -> None:
    nem = Op(index=0, time=5, type="info", process="nemesis", f="kill", value=["n1"], node=None, error=None,
             extra={})
    a = coverage_of([("n1", "elected"), ("n1", "decided"), ("n1", "decided"), ("n2", "prepared")], [nem])
    assert a == {"start>elected", "elected>decided", "start>prepared", "kill>elected"}


def test_explore_prints_the_shrunk_schedule_for_a_checker_without_explanation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["explore", "--system", "lock:no-fencing", "--budget", "40", "--shrink-time", "5",
                    "--store", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 1, out.err[-2000:]
    assert "VIOLATION" in out.out and "shrunk schedule" in out.out and "replay:" in out.out
    lines = [line for line in out.err.splitlines() if line.strip().startswith("run ")]
    assert lines and all(line.rsplit(": ", 1)[-1].strip() not in ("", "true", "false") for line in lines)


def test_coverage_guided_search_counts_the_event_sequences_it_reached() -> None:
    from harness.apps.explore import ExploreOptions, explore

    report = explore(ExploreOptions("twopc", budget=8, coverage=True, time_limit=3.0))
    assert report.finding is None and report.runs >= 1
    assert report.coverage >= 3  # at least start>prepared, start>decided and prepared>decided
