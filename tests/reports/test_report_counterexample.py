"""The counterexample view: built from the real checker's output, for more than one model."""

from __future__ import annotations

from pathlib import Path

from report_runs import register_history, write_run

from checkers.history import Op
from checkers.linearizability import check
from checkers.result import Result, compose
from reports.counterexample import counterexample_view, linearization_points
from reports.run_report import render_run_report


def _stale_run() -> tuple[list[Op], Result]:
    ops = register_history(600, seed=3, stale_at=200)
    result = check(ops)
    assert result.valid is False, "the planted stale read must be caught"
    return ops, result


def test_view_names_the_stuck_op_states_and_a_consistent_linearization() -> None:
    _, result = _stale_run()
    composed = Result.from_dict(compose({"lin": result}).to_dict())  # as a report reads it back from disk
    ce = composed.counterexample
    assert ce is not None and ce == result.counterexample and composed.key == ce.key
    assert set(composed.blamed) == {ce.op.index, ce.op.complete_index}
    view = counterexample_view(ce, shown=10, concurrency=5)
    assert view["stuck"]["index"] == ce.op.index and view["states"] == list(ce.prefix_states)
    assert view["stuck"]["who"] == f"process {ce.op.process} (thread {ce.op.process % 5})"
    assert view["prefix_total"] == len(ce.prefix) and len(view["prefix"]) == min(10, len(ce.prefix))
    assert view["hidden"] == len(ce.prefix) - len(view["prefix"])
    points = linearization_points(ce.prefix)
    assert points == sorted(points), "linearization points follow the linearization order"
    for op, t in zip(ce.prefix, points, strict=True):
        assert op.invoke_time is not None and op.invoke_time <= t, op
        assert op.complete_time is None or t <= op.complete_time, "a point lies within its op"
    roles = [b["role"] for b in view["svg"]["bars"]]
    assert roles.count("stuck") == 1 and roles.count("prefix") == len(view["prefix"])
    assert len(view["svg"]["points"]) == len(view["prefix"])


def test_mutex_counterexample_gets_the_same_view() -> None:
    ops = [Op(0, 0, "invoke", 0, "acquire", None), Op(1, 10, "ok", 0, "acquire", None),
           Op(2, 20, "invoke", 1, "acquire", None), Op(3, 30, "ok", 1, "acquire", None)]
    result = check(ops, model="mutex")
    assert result.valid is False
    ce = result.counterexample
    assert ce is not None
    view = counterexample_view(ce)
    assert view["stuck"]["process"] == 1 and view["prefix"][0]["process"] == 0
    html = render_run_report({"system": "lock"}, {"valid": False, "result": result.to_dict()}, ops,
                             assets="none")
    assert 'id="counterexample"' in html and 'id="stuck-op"' in html and view["stuck"]["description"] in html


def test_invalid_report_shows_the_counterexample_and_jump(tmp_path: Path) -> None:
    ops, result = _stale_run()
    html = write_run(tmp_path / "t" / "20260101T000000", ops).read_text()
    ce = result.counterexample
    assert ce is not None
    assert 'id="counterexample"' in html and "data-jump-error" in html and 'data-act="error"' in html
    assert ce.op.description in html
    for state in ce.prefix_states:
        assert f'<code class="state">{state}</code>' in html


def test_valid_report_has_no_counterexample(tmp_path: Path) -> None:
    html = write_run(tmp_path / "t" / "20260101T000000", register_history(300, seed=4)).read_text()
    assert (
        'data-verdict="VALID"' in html
        and 'id="counterexample"' not in html
        and 'data-act="error"' not in html
    )


def test_report_lists_fault_intervals_and_node_logs(tmp_path: Path) -> None:
    run_dir = tmp_path / "t" / "20260101T000000"
    (run_dir / "nodes").mkdir(parents=True)
    (run_dir / "nodes" / "n1.log").write_text("node log")
    html = write_run(run_dir, register_history(300, seed=4)).read_text()
    faults = html.split('class="fault-intervals"')[1].split("</table>")[0]
    assert faults.count("<tr>") == 1 + 3, "three partitions: two healed, the last never undone"
    assert "(never undone)" in faults
    assert 'href="nodes/n1.log"' in html
