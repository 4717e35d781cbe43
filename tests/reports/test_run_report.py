"""The run report: verdict, counts, faults, the offending key's ops for invalid runs, and escaping."""

from __future__ import annotations

from pathlib import Path

from checkers.history import Op
from checkers.result import Evidence, Result, compose
from reports.index_page import render_index
from reports.run_report import blamed_ops, op_counts, render_run_report, write_run_report

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


def test_blamed_ops_bring_their_invocations() -> None:
    assert [op.index for op in blamed_ops(OPS, {4})] == [3, 4]
    assert [op.index for op in blamed_ops(OPS, {6, 1})] == [0, 1, 5, 6]
    assert blamed_ops(OPS, ()) == []


def test_invalid_report_shows_the_key_escapes_everything(tmp_path: Path) -> None:
    spec = {"system": "replication:async", "test_name": "<b>bold</b>", "seed": 1}
    result = Result("linearizability", False, {"elapsed_s": 0.1}, "stale read", key="k1", blamed=(4,))
    results = {"valid": False, "result": result.to_dict()}
    html = write_run_report(
        tmp_path, spec, results, OPS, replay_command="splitbrain run --seed 1"
    ).read_text()
    assert "INVALID" in html and "Offending key" in html and "stale read" in html
    assert "splitbrain run --seed 1" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html
    assert 'class="hl"' in html  # the op the checker named is highlighted
    key_section = html.split("Where it went wrong")[1].split("id=\"checkers\"")[0]
    assert "k2" not in key_section  # only the offending key's ops


def test_every_banner_carries_the_reason_and_names_no_key_it_lacks() -> None:
    """A non-register verdict: the banner and "where it went wrong" say why, and list the blamed ops."""
    twopc = Result("2pc", False, {}, "1 partial; 1 committed-invisible", blamed=(6,),
                   evidence=(Evidence("partial", "Partially visible transactions", 1,
                                      ({"op": {"index": 6}},)),))
    composed = compose({"elle-list-append": Result("elle-list-append", True, {}, "fine"), "2pc": twopc})
    html = render_run_report({"system": "twopc", "concurrency": 2},
                             {"valid": False, "result": composed.to_dict()},
                             OPS, assets="none")
    banner = html.split('id="verdict"')[1].split("</div>")[0]
    assert "2pc: 1 partial; 1 committed-invisible" in banner
    wrong = html.split('id="wrong"')[1].split('id="checkers"')[0]
    assert "1 partial; 1 committed-invisible" in wrong and "did not name a key" not in wrong
    assert "Partially visible transactions" in wrong and "The ops the checker blames" in wrong
    assert '<tr class="hl"><td>6</td>' in wrong and "<td>2 (0)</td>" in wrong  # process 2 is thread 0


def test_valid_report_and_index() -> None:
    html = render_run_report({"system": "replication"}, {"valid": True, "result": {"valid": True}}, OPS)
    assert 'data-verdict="VALID"' in html and "Where it went wrong" not in html and "start-partition" in html
    idx = render_index([{"test": "t", "stamp": "s", "path": "t/s", "valid": None, "system": "<x>", "ops": 3}])
    assert "no result" in idx and "&lt;x&gt;" in idx
