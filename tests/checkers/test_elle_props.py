"""Property tests: serial executions are always strictly serializable; a planted anomaly shows exactly
itself."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.elle import check
from checkers.elle.synth import PLANTED, list_append_history, plant, rw_register_history

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 120), concurrency=st.integers(1, 6),
       keys=st.integers(1, 5), fail_p=st.sampled_from([0.0, 0.2]), info_p=st.sampled_from([0.0, 0.2]),
       writes=st.integers(2, 8))
def test_serial_executions_are_strict_serializable(seed: int, n: int, concurrency: int, keys: int,
                                                   fail_p: float, info_p: float, writes: int) -> None:
    h = list_append_history(n, seed=seed, concurrency=concurrency, active_keys=keys, fail_p=fail_p,
                            info_p=info_p, max_writes_per_key=writes)
    r = check(h, consistency_models=["strict-serializable"])
    assert r.details["anomaly-types"] in ([], ["empty-transaction-graph"]), r.explanation
    assert r.valid in (True, "unknown")
    if r.valid == "unknown":  # only when nothing at all relates the transactions
        assert sum(r.details["stats"]["edges"].values()) == 0


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 120), concurrency=st.integers(1, 6),
       keys=st.integers(1, 5), wfr=st.booleans(), sequential=st.booleans(), linear=st.booleans())
def test_serial_rw_register_executions_are_strict_serializable(
    seed: int, n: int, concurrency: int, keys: int, wfr: bool, sequential: bool, linear: bool
) -> None:
    h = rw_register_history(n, seed=seed, concurrency=concurrency, active_keys=keys, fail_p=0.2, info_p=0.2,
                            max_writes_per_key=4)
    r = check(h, "rw-register", wfr_keys=wfr, sequential_keys=sequential, linearizable_keys=linear)
    assert r.details["anomaly-types"] in ([], ["empty-transaction-graph"]), r.explanation


def test_a_broken_store_is_caught_by_both_workloads() -> None:
    la = check(list_append_history(400, seed=1, concurrency=6, stale_p=0.3))
    rw = check(rw_register_history(400, seed=1, concurrency=6, stale_p=0.3), "rw-register", wfr_keys=True)
    assert la.valid is False and rw.valid is False
    assert any(t.startswith("G-single") for t in la.details["anomaly-types"])
    assert any(t.startswith(("G-single", "G2", "G-nonadjacent")) for t in rw.details["anomaly-types"])


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80), concurrency=st.integers(1, 5),
       pattern=st.sampled_from(sorted(PLANTED)))
def test_planting_one_anomaly_shows_exactly_that_class(
    seed: int, n: int, concurrency: int, pattern: str
) -> None:
    h = list_append_history(n, seed=seed, concurrency=concurrency, active_keys=3, fail_p=0.1, info_p=0.1)
    r = check(plant(h, pattern, seed=seed))
    # With (almost) nothing around it, a tiny pattern may also leave the graph without edges.
    assert set(r.details["anomaly-types"]) - {"empty-transaction-graph"} == PLANTED[pattern][1], r.explanation
    assert r.valid is False


def test_synthetic_history_is_deterministic_per_seed() -> None:
    a = list_append_history(50, seed=3, concurrency=4)
    b = list_append_history(50, seed=3, concurrency=4)
    c = list_append_history(50, seed=4, concurrency=4)
    assert [o.to_dict() for o in a] == [o.to_dict() for o in b]
    assert [o.to_dict() for o in a] != [o.to_dict() for o in c]
