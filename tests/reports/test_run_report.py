"""The run report: verdict, counts, faults, the offending key's ops for invalid runs, and escaping."""

from __future__ import annotations

from pathlib import Path

from checkers.history import Op
from reports.index_page import render_index
from reports.run_report import named_indices, offending_key, op_counts, write_run_report

OPS = [
    Op(0, 0, "invoke", 0, "write", ["k1", 1], "n1"),
    Op(1, 10, "ok", 0, "write", ["k1", 1], "n1"),
    Op(2, 20, "info", "nemesis", "start-partition", {"n1": ["<script>alert(1)</script>"]}),
    Op(3, 30, "invoke", 1, "read", ["k1", None], "n2"),
    Op(4, 40, "ok", 1, "read", ["k1", 0], "n2"),
    Op(5, 50, "invoke", 2, "read", ["k2", None], "n3"),
    Op(6, 60, "fail", 2, "read", ["k2", None], "n3", error=["unreachable", "x"]),
]


def test_counts_by_f_and_type() -> None:
    rows = {r["f"]: r for r in op_counts(OPS)}
    assert rows["read"] == {"f": "read", "invoke": 2, "ok": 1, "fail": 1, "info": 0}
    assert rows["write"]["ok"] == 1 and "start-partition" not in rows


def test_offending_key_and_named_ops_are_found_in_details() -> None:
    details = {"keys": {"k1": {"valid": False, "key": "k1", "op": {"index": 4}, "previous": [{"index": 1}]}}}
    assert offending_key(details) == "k1"
    assert named_indices(details) == {4}, "the blamed op, not every op the details mention"
    assert named_indices({"previous": [{"index": 1}, {"index": 2}]}) == {1, 2}
    assert offending_key({"invalid_keys": ["k9"]}) == "k9"
    assert offending_key({}) is None


def test_invalid_report_shows_the_key_escapes_everything(tmp_path: Path) -> None:
    spec = {"system": "replication:async", "test_name": "<b>bold</b>", "seed": 1}
    results = {"valid": False, "result": {"checker": "linearizability", "valid": False, "explanation": "stale read",
                                          "details": {"key": "k1", "op": {"index": 4}}}}
    html = write_run_report(tmp_path, spec, results, OPS, replay_command="splitbrain run --seed 1").read_text()
    assert "INVALID" in html and "Offending key" in html and "stale read" in html
    assert "splitbrain run --seed 1" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html
    assert 'class="hl"' in html  # the op the checker named is highlighted
    key_section = html.split("Where it went wrong")[1].split("Checker details")[0]
    assert "k2" not in key_section  # only the offending key's ops


def test_valid_report_and_index() -> None:
    from reports.run_report import render_run_report

    html = render_run_report({"system": "replication"}, {"valid": True, "result": {"valid": True}}, OPS)
    assert "valid" in html and "Where it went wrong" not in html and "start-partition" in html
    idx = render_index([{"test": "t", "stamp": "s", "path": "t/s", "valid": None, "system": "<x>", "ops": 3}])
    assert "no result" in idx and "&lt;x&gt;" in idx
