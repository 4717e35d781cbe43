"""Every run writes a report, so a 10k-op report must render quickly (the bound is loose: shared CI cores)."""

from __future__ import annotations

import time

from report_runs import register_history

from checkers.history import Op
from reports.run_report import render_run_report


def test_a_10k_op_report_renders_in_about_a_second() -> None:
    ops: list[Op] = register_history(10_000, seed=2)
    results = {"valid": True, "result": {"checker": "linearizability", "valid": True, "details": {}}}
    render_run_report({"concurrency": 5}, results, ops[:50], assets="none")  # templates compiled once
    started = time.perf_counter()
    html = render_run_report({"concurrency": 5}, results, ops, assets="none")
    took = time.perf_counter() - started
    print(f"10k-op report: {took:.3f} s, {len(html) / 1e6:.1f} MB")
    assert '"count":10000' in html
    assert took < 4.0, f"rendering a 10k-op report took {took:.2f} s"
