"""Per-run measurements and the campaign's verdicts, exit codes and comparison rows (pure, synthetic)."""

from __future__ import annotations

from checkers.history import Op
from harness.apps.campaign import summary
from harness.apps.campaign.loader import build_campaign
from harness.apps.campaign.metrics import fault_intervals, first_violation_ns, percentile, run_metrics
from harness.apps.campaign.model import Campaign, CellRecord, Status

S = 1_000_000_000


def _history() -> list[Op]:
    ops: list[Op] = []

    def add(t: float, type_: str, proc: int | str, f: str, value: object = None) -> None:
        ops.append(Op(len(ops), int(t * S), type_, proc, f, value))

    add(0.0, "invoke", 0, "write", ["k", 1])
    add(0.1, "ok", 0, "write", ["k", 1])  # quiet, ok, 100 ms
    add(1.0, "info", "nemesis", "start-partition", {"n1": ["n2"]})
    add(1.5, "invoke", 1, "read", ["k", None])
    add(1.8, "ok", 1, "read", ["k", 1])  # in fault, ok, 300 ms
    add(2.0, "invoke", 0, "write", ["k", 2])
    add(3.0, "info", 0, "write", ["k", 2])  # in fault, unknown
    add(4.0, "info", "nemesis", "stop-partition", None)
    add(5.0, "invoke", 1, "cas", ["k", [1, 2]])
    add(5.2, "fail", 1, "cas", ["k", [1, 2]])  # quiet, fail
    add(20.0, "invoke", 1, "read", ["k", None])  # final read, after the main phase
    add(20.05, "ok", 1, "read", ["k", 1])
    return ops


def test_run_metrics_from_a_history() -> None:
    details = {
        "counterexample": {"op": {"invoke_time": 2 * S, "complete_time": 3 * S}},
        "counterexamples": [{"op": {"invoke_time": 5 * S, "complete_time": int(5.2 * S)}}],
    }
    m = run_metrics(_history(), time_limit=10.0, details=details)
    assert fault_intervals(_history()) == [(1 * S, 4 * S)]
    assert m["ops"] == 5 and m["ok"] == 3
    assert m["throughput"] == 0.2  # two ok ops invoked in the 10 s main phase; the final read is not counted
    assert m["availability_faults"] == 0.5  # the read ok, the write info
    assert m["availability_quiet"] == round(2 / 3, 4)
    assert m["latency_p50_ms"] == 100.0 and m["latency_p99_ms"] == 300.0
    assert m["first_violation_s"] == 3.0 and m["fault_seconds"] == 3.0


def test_first_violation_falls_back_to_the_invocation_and_none() -> None:
    assert first_violation_ns({"counterexample": {"op": {"invoke_time": 7, "complete_time": None}}}) == 7
    assert first_violation_ns({"keys": 3}) is None
    assert percentile([], 0.5) is None and percentile([5.0, 1.0, 3.0], 0.5) == 3.0


def _campaign(min_detection: float = 1.0) -> Campaign:
    return build_campaign(
        {
            "campaign": {"min_detection": min_detection},
            "matrix": [
                {"systems": ["replication", "replication:async"], "faults": ["partition"], "seeds": 4}
            ],
        }
    )


def _records(camp: Campaign, statuses: dict[str, list[Status]]) -> dict[str, CellRecord]:
    out = {}
    for variant, sts in statuses.items():
        cells = [c for c in camp.cells if c.variant == variant]
        for cell, st in zip(cells, sts, strict=False):
            out[cell.id] = CellRecord(
                cell.id,
                st,
                {"valid": 0, "invalid": 1}.get(st.value, 2),
                None,
                1.0,
                {"throughput": 10.0, "first_violation_s": 2.0 if st is Status.INVALID else None},
            )
    return out


V, X, U, C = Status.VALID, Status.INVALID, Status.UNKNOWN, Status.CRASHED


def test_verdicts_and_exit_codes() -> None:
    camp = _campaign()
    good = _records(camp, {"replication": [V] * 4, "replication:async": [X] * 4})
    assert [g.verdict for g in summary.groups(camp, good)] == ["safe", "caught"]
    assert summary.exit_code(camp, good) == 0
    missed = _records(camp, {"replication": [V] * 4, "replication:async": [X, X, X, V]})
    assert summary.exit_code(camp, missed) == 1
    assert summary.exit_code(_campaign(0.75), missed) == 0  # 3 of 4 seeds meets a 75 % threshold
    broken = _records(camp, {"replication": [V, V, X, V], "replication:async": [X] * 4})
    assert [g.verdict for g in summary.groups(camp, broken)] == ["broken", "caught"]
    assert summary.exit_code(camp, broken) == 1
    unknown = _records(camp, {"replication": [V, V, U, V], "replication:async": [X] * 4})
    assert summary.exit_code(camp, unknown) == 2
    partial = _records(camp, {"replication": [V, V], "replication:async": [X] * 4})
    assert summary.exit_code(camp, partial) == 2
    crashed = _records(camp, {"replication": [V, V, V, C], "replication:async": [X] * 4})
    assert summary.exit_code(camp, crashed) == 255


def test_comparison_rows() -> None:
    camp = _campaign()
    recs = _records(camp, {"replication": [V] * 4, "replication:async": [X, X, V, X]})
    rows = {r["variant"]: r for r in summary.implementations(camp, recs)}
    assert rows["replication:async"]["detection_rate"] == 0.75
    assert rows["replication:async"]["first_violation_s_median"] == 2.0
    assert rows["replication"]["detection_rate"] == 0.0 and rows["replication"]["throughput"] == 10.0
    zoo = {z["variant"]: z for z in summary.zoo(camp, recs)}
    assert (zoo["replication:async"]["caught"], zoo["replication:async"]["seeds"]) == (3, 4)
    doc = summary.report_doc(camp, recs)
    assert doc["totals"]["invalid"] == 3 and doc["exit_code"] == 1
    assert sum(len(g["cells"]) for g in doc["groups"]) == 8


def test_first_violation_of_checkers_that_name_the_history_op() -> None:
    from checkers.bank import check as bank_check
    from checkers.history import Op

    ops = [
        Op(0, 10, "invoke", 0, "read", None),
        Op(1, 20, "ok", 0, "read", {"a": 5, "b": 5}),
        Op(2, 30, "invoke", 1, "read", None),
        Op(3, 45, "ok", 1, "read", {"a": 5, "b": 7}),
    ]
    result = bank_check(ops, total=10)
    assert result.valid is False
    assert first_violation_ns(result.to_dict()["details"]) == 45
