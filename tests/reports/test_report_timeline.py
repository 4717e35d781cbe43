"""Timeline data, fault bands and safe embedding of history values in <script>."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from checkers.history import Op
from reports.embed import inline_js, script_json
from reports.faults import fault_bands
from reports.timeline import lane_of, timeline_data

OPS = [
    Op(0, 1_000, "invoke", 0, "write", ["k", 1], "n1"),
    Op(1, 2_000, "invoke", 1, "read", ["k", None], "n2"),
    Op(2, 3_000, "info", "nemesis", "start-partition", {"n1": ["n2"]}),
    Op(3, 4_000, "ok", 1, "read", ["k", 1], "n2"),
    Op(4, 9_000, "info", 0, "write", ["k", 1], "n1", error=["indefinite", "timeout"]),
    Op(5, 9_500, "invoke", 2, "write", ["k", 2], "n1"),  # thread 0 continues as process 2 (concurrency 2)
    Op(6, 10_000, "info", "nemesis", "stop-partition", None),
    Op(7, 11_000, "info", "nemesis", "kill", ["n3"]),
    Op(8, 12_000, "invoke", 3, "cas", ["k", [1, 3]], "n2"),
    Op(9, 13_000, "fail", 3, "cas", ["k", [1, 3]], "n2", error=[22, "precondition failed"]),
]


def test_ops_become_columns_in_thread_rows() -> None:
    d = timeline_data(OPS, concurrency=2, highlight=[3], focus=8)
    cols = d["ops"]
    assert d["count"] == 4 and d["lanes"] == ["thread 0", "thread 1"]
    assert cols["lane"] == [0, 1, 0, 1], "process 2 = process 0 + concurrency shares thread 0's row"
    assert cols["t0"] == [1, 2, 9, 12] and cols["t1"] == [9, 4, -1, 13], "µs; never completed is -1"
    assert [d["types"][t] for t in cols["ty"]] == ["info", "ok", "info", "fail"]
    assert cols["r"] == [None, ["k", 1], None, None], (
        "completion value only when it differs from the invocation"
    )
    assert cols["e"][3] == [22, "precondition failed"]
    assert d["highlight"] == [1] and d["focus"] == 3
    assert [d["fs"][f] for f in cols["f"]] == ["write", "read", "write", "cas"]


def test_without_concurrency_rows_are_processes() -> None:
    d = timeline_data(OPS)
    assert d["lanes"] == ["process 0", "process 1", "process 2", "process 3"]
    assert lane_of("nemesis", 3) == "nemesis" and lane_of(7, 3) == 1


def test_fault_bands_pair_openers_with_their_undo() -> None:
    bands = fault_bands(OPS)
    assert [(b.kind, b.start, b.end, b.open_ended) for b in bands] == [
        ("partition", 3_000, 10_000, False), ("kill", 11_000, 13_000, True)]
    assert "never undone" in bands[1].label and "n3" in bands[1].label


def test_jepsen_style_nemesis_invoke_info_counts_once_and_stray_undo_is_an_instant() -> None:
    ops = [Op(0, 10, "invoke", "nemesis", "pause", None), Op(1, 20, "info", "nemesis", "pause", ["n1"]),
           Op(2, 50, "info", "nemesis", "resume", ["n1"]), Op(3, 60, "info", "nemesis", "resume", ["n2"]),
           Op(4, 70, "info", "nemesis", "start-frobnicate", 1),
           Op(5, 80, "info", "nemesis", "stop-frobnicate", 1)]
    got = [(b.kind, b.start, b.end) for b in fault_bands(ops)]
    assert got == [("pause", 20, 50), ("pause", 60, 60), ("frobnicate", 70, 80)]


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
                    max_leaves=20))
def test_script_json_round_trips_and_cannot_close_a_script(value: object) -> None:
    text = script_json(value)
    assert json.loads(text) == value
    for bad in ("</", "<!--", "\u2028", "\u2029", "<", ">"):
        assert bad not in text


def test_known_breakouts_are_neutralised() -> None:
    evil = ["</script><script>alert(1)</script>", "<!--<script>", "\u2028x"]
    text = script_json(evil)
    assert "</script" not in text.lower() and json.loads(text) == evil
    assert inline_js('s = "</ScRiPt>"; t = "<!--"') == 's = "<\\/ScRiPt>"; t = "<\\!--"'


def test_empty_and_malformed_histories_still_get_a_report() -> None:
    from reports.run_report import render_run_report

    empty = render_run_report({}, {"valid": "unknown", "result": {}}, [], assets="none")
    assert 'data-verdict="UNKNOWN"' in empty and '"count":0' in empty
    twice = [Op(0, 1, "invoke", 0, "read", ["k", None]), Op(1, 2, "invoke", 0, "read", ["k", None])]
    html = render_run_report({}, {"valid": "unknown", "result": {}}, twice, assets="none")
    assert "No timeline: op 1: process 0 invoked twice" in html and 'id="timeline-data"' not in html
