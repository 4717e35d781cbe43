"""Hand-written tiny histories, one per anomaly class, for the Elle-style checker."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest

from checkers.elle import check, check_list_append, check_rw_register
from checkers.elle.graph import REALTIME, RW, WR, WW, DepGraph, sccs
from checkers.history import Op


def serial(*txns: tuple[str, list[list[Any]]] | list[list[Any]], first_process: int = 0) -> list[Op]:
    """Transactions one after the other, each on its own process: invoke, then completion."""
    ops: list[Op] = []
    for i, t in enumerate(txns):
        typ, mops = t if isinstance(t, tuple) else ("ok", t)
        invoke = [[f, k, None if f == "r" else v] for f, k, v in mops]
        p = first_process + i
        ops.append(Op(len(ops), len(ops), "invoke", p, "txn", invoke))
        ops.append(Op(len(ops), len(ops), typ, p, "txn", mops if typ == "ok" else invoke))
    return ops


def types(history: list[Op], workload: str = "list-append", **opts: Any) -> set[str]:
    return set(check(history, workload, **opts).details["anomaly-types"])


# --- list-append: cycles -------------------------------------------------------------------------------

def test_serial_history_is_valid_and_explains_nothing() -> None:
    h = serial([["append", "x", 1]], [["r", "x", [1]], ["append", "x", 2]], [["r", "x", [1, 2]]])
    r = check_list_append(h)
    assert r.valid is True
    assert r.details["anomaly-types"] == []
    assert r.details["stats"]["edges"]["ww"] == 1 and r.details["stats"]["edges"]["wr"] == 2


def test_g0_write_cycle() -> None:
    h = serial([["append", "x", 1], ["append", "y", 1]], [["append", "x", 2], ["append", "y", 2]],
               [["r", "x", [1, 2]], ["r", "y", [2, 1]]])
    r = check_list_append(h)
    assert r.valid is False
    assert r.details["anomaly-types"] == ["G0"]
    assert r.details["not"] == ["read-uncommitted"]
    case = r.details["anomalies"]["G0"][0]
    assert [s["type"] for s in case["steps"]] == ["ww", "ww"]
    assert "a contradiction" in case["explanation"] and "appended 2 after" in case["explanation"]


def test_g1c_circular_information_flow() -> None:
    h = serial([["append", "x", 1], ["r", "y", [1]]], [["append", "x", 2], ["append", "y", 1]],
               [["r", "x", [1, 2]]])
    r = check_list_append(h)
    assert r.details["anomaly-types"] == ["G1c"]
    assert r.details["not"] == ["read-committed"]
    assert sorted(s["type"] for s in r.details["anomalies"]["G1c"][0]["steps"]) == ["wr", "ww"]


def test_g_single_item_read_skew() -> None:
    h = serial([["append", "x", 1], ["append", "y", 1]], [["append", "x", 2], ["r", "y", []]],
               [["r", "x", [1, 2]]])
    r = check_list_append(h)
    assert r.details["anomaly-types"] == ["G-single-item"]
    assert r.details["not"] == ["consistent-view", "repeatable-read"]
    text = r.details["anomalies"]["G-single-item"][0]["explanation"]
    assert "initial (empty) state of key 'y'" in text
    assert {"G-single", "G-nonadjacent", "G2-item"} <= set(r.details["implied-anomalies"])


def test_g_nonadjacent_item() -> None:
    h = serial([["append", "x", 1], ["append", "t", 1]], [["r", "x", [1]], ["r", "y", []]],
               [["append", "y", 1], ["append", "z", 2]], [["r", "z", [2]], ["r", "t", []]])
    r = check_list_append(h)
    assert r.details["anomaly-types"] == ["G-nonadjacent-item"]
    assert r.details["not"] == ["repeatable-read", "snapshot-isolation"]
    steps = [s["type"] for s in r.details["anomalies"]["G-nonadjacent-item"][0]["steps"]]
    assert steps.count("rw") == 2 and len(steps) == 4


def concurrent(*txns: list[list[Any]]) -> list[Op]:
    """All transactions invoked first, then all completed (no real-time order among them)."""
    ops = [Op(i, i, "invoke", i, "txn", [[f, k, None if f == "r" else v] for f, k, v in t])
           for i, t in enumerate(txns)]
    ops += [Op(len(txns) + i, len(txns) + i, "ok", i, "txn", t) for i, t in enumerate(txns)]
    return ops


def test_write_skew_is_g2_item_and_allowed_by_snapshot_isolation() -> None:
    h = concurrent([["r", "x", []], ["r", "y", []], ["append", "x", 1]],
                   [["r", "x", []], ["r", "y", []], ["append", "y", 1]])
    assert types(h) == {"G2-item"}
    assert check_list_append(h, consistency_models=["snapshot-isolation"]).valid is True
    assert check_list_append(h, consistency_models=["serializable"]).valid is False


def test_sequential_write_skew_also_breaks_strong_snapshot_isolation() -> None:
    # Run one after the other, the second should have seen the first's append under strong SI: the
    # real-time edge plus one rw edge close a cycle in the SI extension, proven without a named cycle.
    h = serial([["r", "x", []], ["r", "y", []], ["append", "x", 1]],
               [["r", "x", []], ["r", "y", []], ["append", "y", 1]])
    r = check_list_append(h)
    assert set(r.details["anomaly-types"]) == {"G2-item", "strong-snapshot-isolation-cycle-exists"}
    assert r.details["not"] == ["repeatable-read", "strong-snapshot-isolation"]
    case = r.details["anomalies"]["strong-snapshot-isolation-cycle-exists"][0]
    assert case["scc"] == [1] and case["not"] == "strong-snapshot-isolation"
    assert check_list_append(h, consistency_models=["snapshot-isolation"]).valid is True


def test_lost_update_is_g2_item_too() -> None:
    h = serial([["append", "x", 0]], [["r", "x", [0]], ["append", "x", 1]],
               [["r", "x", [0]], ["append", "x", 2]])
    r = check_list_append(h)
    assert set(r.details["anomaly-types"]) == {"G2-item", "lost-update"}
    assert r.details["not"] == ["cursor-stability", "update-atomic"]
    assert r.details["anomalies"]["lost-update"][0]["value"] == [0]


def test_realtime_variant_needs_realtime_edges() -> None:
    # T1 appends 1; T2 starts after T1 finished yet reads x empty: only real time orders them.
    h = serial([["append", "x", 1]], [["r", "x", []]], [["r", "x", [1]]])
    r = check_list_append(h)
    assert r.details["anomaly-types"] == ["G-single-item-realtime"]
    assert r.details["not"] == ["strong-snapshot-isolation"]
    kinds = [s["type"] for s in r.details["anomalies"]["G-single-item-realtime"][0]["steps"]]
    assert sorted(kinds) == ["realtime", "rw"]
    assert check_list_append(h, consistency_models=["serializable"]).valid is True


def test_process_variant_under_strong_session_models() -> None:
    # The same stale read, but on one process: a session (process) order violation.
    h = serial([["append", "x", 1]], [["r", "x", []]], [["r", "x", [1]]])
    h = [Op(o.index, o.time, o.type, 0 if o.process in (0, 1) else 9, o.f, o.value) for o in h]
    r = check_list_append(h, consistency_models=["strong-session-snapshot-isolation"])
    assert r.details["anomaly-types"] == ["G-single-item-process"]
    assert r.valid is False


# --- list-append: non-cyclic anomalies ---------------------------------------------------------------

@pytest.mark.parametrize(("txns", "expected"), [
    ([("fail", [["append", "x", 1]]), [["r", "x", [1]]]], {"G1a", "empty-transaction-graph"}),
    ([[["append", "x", 1], ["append", "x", 2]], [["r", "x", [1]]]], {"G1b", "G-single-item"}),
    ([[["append", "x", 1], ["r", "x", []]]], {"internal", "empty-transaction-graph"}),
    ([[["append", "x", 1]], [["r", "x", [1, 1]]]], {"duplicate-elements"}),
    ([[["r", "x", [1]], ["append", "x", 1]]], {"future-read", "empty-transaction-graph"}),
    ([("fail", [["append", "x", 1]]), [["append", "x", 2]], [["r", "x", [1, 2]]]], {"G1a", "dirty-update"}),
])
def test_non_cyclic_anomalies(txns: list[Any], expected: set[str]) -> None:
    r = check_list_append(serial(*txns))
    assert set(r.details["anomaly-types"]) == expected
    assert r.valid is False


def test_incompatible_order_between_concurrent_readers() -> None:
    ops = [Op(0, 0, "invoke", 0, "txn", [["append", "x", 1]]),
           Op(1, 1, "invoke", 1, "txn", [["append", "x", 2]]),
           Op(2, 2, "invoke", 2, "txn", [["r", "x", None]]), Op(3, 3, "invoke", 3, "txn", [["r", "x", None]]),
           Op(4, 4, "ok", 0, "txn", [["append", "x", 1]]), Op(5, 5, "ok", 1, "txn", [["append", "x", 2]]),
           Op(6, 6, "ok", 2, "txn", [["r", "x", [1, 2]]]), Op(7, 7, "ok", 3, "txn", [["r", "x", [2, 1]]])]
    r = check_list_append(ops)
    assert "incompatible-order" in r.details["anomaly-types"]
    assert r.details["anomalies"]["incompatible-order"][0]["values"] == [[2, 1], [1, 2]]


def test_incompatible_orders_still_yield_realtime_cycles() -> None:
    # [1 3] then [1 2 3]: 2 was slipped in before 3 after a reader had seen [1 3].
    h = serial([["append", "x", 1]], [["append", "x", 3]], [["r", "x", [1, 3]]], [["append", "x", 2]],
               [["r", "x", [1, 2, 3]]])
    r = check_list_append(h)
    assert set(r.details["anomaly-types"]) == {"G1c-realtime", "incompatible-order",
                                               "strong-PL-1-cycle-exists"}
    assert r.details["not"] == ["read-committed", "strong-read-uncommitted"]
    assert r.details["anomalies"]["incompatible-order"][0]["values"] == [[1, 3], [1, 2, 3]]
    assert r.details["anomalies"]["strong-PL-1-cycle-exists"][0]["scc"] == [3, 5, 7]
    text = r.details["anomalies"]["G1c-realtime"][0]["explanation"]
    assert "completed (op 5) before" in text and "appended 3 after" in text


def test_only_failed_and_empty_graph_is_unknown() -> None:
    r = check_list_append(serial([["append", "x", 1]]))
    assert r.valid == "unknown"
    assert r.details["anomaly-types"] == ["empty-transaction-graph"]


def test_info_transaction_may_or_may_not_commit() -> None:
    h = serial(("info", [["append", "x", 1]]), [["r", "x", [1]]], [["r", "x", [1]]])
    assert check_list_append(h).valid is True
    h2 = serial(("info", [["append", "x", 1]]), [["r", "x", []]], [["r", "x", []]])
    assert check_list_append(h2).valid is True


def test_malformed_micro_op_is_unknown_with_message() -> None:
    r = check_list_append(serial([["increment", "x", 1]]))
    assert r.valid == "unknown"
    assert "micro-ops" in r.details["error"]


def test_unknown_model_is_rejected_with_choices() -> None:
    with pytest.raises(ValueError, match="known:"):
        check_list_append(serial([["append", "x", 1]]), consistency_models=["acid-ish"])


def test_budget_exhaustion_reports_timeout_but_still_a_cycle() -> None:
    h = serial([["append", "x", 1], ["append", "y", 1]], [["append", "x", 2], ["append", "y", 2]],
               [["r", "x", [1, 2]], ["r", "y", [2, 1]]])
    r = check_list_append(h, budget=0)
    assert "cycle-search-timeout" in r.details["anomaly-types"]
    assert "G0" in r.details["anomaly-types"]  # the fallback cycle
    assert r.valid is False


# --- rw-register -------------------------------------------------------------------------------------

def test_rw_register_g1a_and_empty_graph() -> None:
    h = serial(("fail", [["w", "x", 2]]), [["r", "x", 2]])
    r = check_rw_register(h)
    assert set(r.details["anomaly-types"]) == {"G1a", "empty-transaction-graph"}
    assert r.details["not"] == ["read-committed"]


def test_rw_register_g1b_and_internal() -> None:
    h = serial([["w", "x", 1], ["w", "x", 2]], [["r", "x", 1]])
    assert "G1b" in types(h, "rw-register")
    assert types(serial([["w", "x", 1], ["r", "x", 3]]), "rw-register") >= {"internal"}


def test_rw_register_g_single_from_initial_state() -> None:
    # T2 read x's initial nil but saw T1's y: T2 before T1 (rw on x) and after it (wr on y).
    h = serial([["w", "x", 1], ["w", "y", 1]], [["r", "x", None], ["r", "y", 1]])
    r = check_rw_register(h)
    assert r.details["anomaly-types"] == ["G-single-item"]
    assert "read the initial nil for key 'x'" in r.details["anomalies"]["G-single-item"][0]["explanation"]


def test_rw_register_lost_update_and_wfr_g2() -> None:
    h = serial([["w", "x", 0]], [["r", "x", 0], ["w", "x", 1]], [["r", "x", 0], ["w", "x", 2]])
    assert "lost-update" in types(h, "rw-register")
    assert types(h, "rw-register", wfr_keys=True) == {"lost-update", "G2-item"}


def test_rw_register_cyclic_versions() -> None:
    h = serial([["r", "x", 1], ["w", "x", 2]], [["r", "x", 2], ["w", "x", 1]])
    assert "cyclic-versions" in types(h, "rw-register", wfr_keys=True)


def test_rw_register_linearizable_keys_orders_writes_by_real_time() -> None:
    # T3 began after T2's write of x = 2 completed, yet read T1's older 1: only real-time order on the key
    # says 1 came before 2 (no transaction read one and wrote the other).
    h = serial([["w", "x", 1]], [["w", "x", 2]], [["r", "x", 1]])
    assert check_rw_register(h, wfr_keys=True).valid is True
    r = check_rw_register(h, linearizable_keys=True)
    assert r.details["anomaly-types"] == ["G-single-item-realtime"]
    assert "read 1 for key 'x', which" in r.details["anomalies"]["G-single-item-realtime"][0]["explanation"]
    # Concurrent writes are not ordered: the same reads with T1 and T2 overlapping are fine.
    w1, w2, r = [["w", "x", 1]], [["w", "x", 2]], [["r", "x", 1]]
    overlapping = [Op(0, 0, "invoke", 0, "txn", w1), Op(1, 1, "invoke", 1, "txn", w2),
                   Op(2, 2, "ok", 1, "txn", w2), Op(3, 3, "ok", 0, "txn", w1),
                   Op(4, 4, "invoke", 2, "txn", [["r", "x", None]]), Op(5, 5, "ok", 2, "txn", r)]
    assert check_rw_register(overlapping, linearizable_keys=True).valid is True


def test_rw_register_valid_serial() -> None:
    h = serial([["w", "x", 1]], [["r", "x", 1], ["w", "y", 1]], [["r", "y", 1], ["r", "x", 1]])
    r = check_rw_register(h, wfr_keys=True, sequential_keys=True)
    assert r.valid is True


# --- graph machinery ---------------------------------------------------------------------------------

def test_sccs_agree_with_networkx() -> None:
    import random

    rng = random.Random(7)
    for _ in range(30):
        n = rng.randint(1, 40)
        g = DepGraph(n)
        nxg = nx.DiGraph()
        nxg.add_nodes_from(range(n))
        for _ in range(rng.randint(0, 3 * n)):
            a, b = rng.randrange(n), rng.randrange(n)
            if a != b:
                g.link(a, b, rng.choice([WW, WR, RW, REALTIME]))
                nxg.add_edge(a, b)
        ours = sorted(sorted(c) for c in sccs(g))
        theirs = sorted(sorted(c) for c in nx.strongly_connected_components(nxg) if len(c) > 1)
        assert ours == theirs
