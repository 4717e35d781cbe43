"""The linearizability checker: labelled corpus verdicts, counterexamples, budgets, keyed histories."""

from __future__ import annotations

import itertools
import json
import re
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from conftest import corpus_manifest

from checkers.history import HistoryError, Op
from checkers.importers import load_history
from checkers.linearizability import Reductions, check
from checkers.linearizability.entries import (
    detect_keyed,
    split_entries,
    split_history,
)
from checkers.models import FAILED, INVALID, UNKNOWN, freeze, get_model, parse_initial

LIN_ROWS = [r for r in corpus_manifest() if r["check"].startswith("linearizable:")]


def model_of(check_spec: str) -> tuple[str, Any]:
    """'linearizable:cas-register(initial=nil)' -> ('cas-register', None); kv(...) -> ('kv', None)."""
    m = re.match(r"linearizable:([\w-]+)(?:\((.*)\))?$", check_spec)
    assert m, check_spec
    name, args = m.group(1), m.group(2) or ""
    init = re.search(r"initial=([^;,)]+)", args)
    return name, parse_initial(init.group(1)) if init else None


def replay(model_name: str, initial: Any, prefix: list[dict[str, Any]], history: list[Op]) -> None:
    """A counterexample prefix must itself be linearizable: replay it in order, checking real time."""
    by_index = {op.index: op for op in history}
    model = get_model(model_name, initial)
    state = model.init()
    keyed = model.keyable and all(isinstance(p["value"], list) and len(p["value"]) == 2 and
                                  isinstance(p["value"][0], str) for p in prefix)
    for p in prefix:
        inv = by_index[p["index"]]
        comp = by_index.get(p["complete_index"]) if p["complete_index"] is not None else None
        in_val = inv.value[1] if keyed else inv.value
        if comp is None or comp.type == "info":
            out: Any = UNKNOWN
        elif comp.type == "fail":
            out = FAILED  # a failed cas kept as an observation
        else:
            out = freeze(comp.value[1] if keyed else comp.value)
        state = model.step(state, inv.f, freeze(in_val), out)
        assert state is not INVALID, f"prefix op {p} cannot be applied"
    orders = [p["order"] for p in prefix]
    assert orders == list(range(len(prefix)))


@pytest.mark.parametrize("row", LIN_ROWS, ids=[r["path"] for r in LIN_ROWS])
def test_corpus_verdicts(corpus: Path, row: dict[str, str]) -> None:
    ops = load_history(corpus / row["path"])
    name, initial = model_of(row["check"])
    res = check(ops, name, initial=initial, time_limit=30)
    expected = {"valid": True, "invalid": False}[row["expected"]]
    assert res.valid is expected, res.explanation
    json.dumps(res.to_dict())  # results.json must be able to hold it
    if expected is False:
        cx = res.details["counterexample"]
        assert cx["explanation"] and res.explanation == cx["explanation"]
        assert cx["op"]["process"] is not None and cx["op"]["f"]
        replay(name, initial, cx["prefix"], ops)


def test_counterexample_of_a_concurrent_stale_read() -> None:
    """Knossos' minimal rethink case: 0 written, then concurrently write 4 / read 3."""
    ops = [
        Op(0, 0, "invoke", 0, "write", 0),
        Op(1, 1_000_000_000, "ok", 0, "write", 0),
        Op(2, 1_100_000_000, "invoke", 1, "read", None),
        Op(3, 1_150_000_000, "invoke", 2, "write", 4),
        Op(4, 1_204_000_000, "ok", 1, "read", 3),
        Op(5, 1_300_000_000, "ok", 2, "write", 4),
        Op(6, 1_300_000_000, "invoke", 2, "write", 3),
        Op(7, 1_400_000_000, "ok", 2, "write", 3),
    ]
    res = check(ops, "cas-register")
    assert res.valid is False
    cx = res.details["counterexample"]
    assert cx["op"]["index"] == 2 and cx["op"]["process"] == 1
    # the write of 3 was invoked after the read returned: the up-front refutation names it
    assert cx["refuted_up_front"] is True
    assert "read 3 by process 1" in res.explanation and "1.204 s" in res.explanation
    assert "invoked after it returned" in res.explanation


def test_counterexample_prefix_and_states_from_the_search() -> None:
    """Two sequential writes then a read of the older value: the prefix holds both writes."""
    ops = [
        Op(0, 0, "invoke", 0, "write", 1),
        Op(1, 10, "ok", 0, "write", 1),
        Op(2, 20, "invoke", 0, "write", 2),
        Op(3, 30, "invoke", 1, "read", None),
        Op(4, 40, "ok", 0, "write", 2),
        Op(5, 50, "ok", 1, "read", 2),
        Op(6, 60, "invoke", 1, "read", None),
        Op(7, 70, "ok", 1, "read", 1),
    ]
    res = check(ops, "cas-register")
    assert res.valid is False
    cx = res.details["counterexample"]
    assert cx["refuted_up_front"] is False
    assert cx["op"]["index"] == 6
    assert [p["index"] for p in cx["prefix"]] == [0, 2, 3]
    assert cx["prefix_states"] == ["2"]
    assert "can only be in state 2" in cx["explanation"] and "returned 1" in cx["explanation"]


def test_crashed_write_can_explain_a_read_and_fail_means_never() -> None:
    base = [Op(0, 0, "invoke", 0, "write", 1), Op(1, 1, "info", 0, "write", 1)]
    read1 = [Op(2, 2, "invoke", 1, "read", None), Op(3, 3, "ok", 1, "read", 1)]
    assert check(base + read1, "register").valid is True
    failed = [Op(0, 0, "invoke", 0, "write", 1), Op(1, 1, "fail", 0, "write", 1)]
    assert check(failed + read1, "register").valid is False
    never_completed = [Op(0, 0, "invoke", 0, "write", 1)]
    assert check(never_completed + read1, "register").valid is True


def test_keyed_auto_detection_and_per_key_results() -> None:
    ops = [
        Op(0, 0, "invoke", 0, "write", ["x", 1]),
        Op(1, 1, "ok", 0, "write", ["x", 1]),
        Op(2, 2, "invoke", 1, "cas", ["y", [None, 5]]),
        Op(3, 3, "ok", 1, "cas", ["y", [None, 5]]),
        Op(4, 4, "invoke", 0, "read", ["x", None]),
        Op(5, 5, "ok", 0, "read", ["x", 1]),
        Op(6, 6, "invoke", 1, "read", ["y", None]),
        Op(7, 7, "ok", 1, "read", ["y", 4]),
        Op(8, 8, "info", "nemesis", "start-partition", {"n1": ["n2"]}),
    ]
    res = check(ops, "cas-register")
    assert res.details["keyed"] is True and res.details["keys"] == 2
    assert res.valid is False and res.details["invalid_keys"] == ["y"]
    assert check(ops[:6], "cas-register").valid is True
    # single-register values that merely look like pairs of ints stay unkeyed
    unkeyed = [Op(0, 0, "invoke", 0, "cas", [1, 2]), Op(1, 1, "fail", 0, "cas", [1, 2])]
    assert check(unkeyed, "cas-register").details["keyed"] is False


def test_one_walk_split_agrees_with_detection_then_split(corpus: Path) -> None:
    """``split_history`` detects keys while splitting; it must give what ``detect_keyed`` followed by
    ``split_entries`` gives, including per-key invocation order, on keyed and unkeyed histories."""
    histories = [(load_history(corpus / p), name) for p, name in (
        ("porcupine/kv/c10-ok.txt", "kv"), ("porcupine/kv/c01-bad.txt", "kv"),
        ("porcupine/etcd/etcd_000.log", "cas-register"))]
    late = [Op(0, 0, "invoke", 0, "write", ["x", 1]), Op(1, 1, "ok", 0, "write", ["x", 1]),
            Op(2, 2, "invoke", "nemesis", "start", None), Op(3, 3, "invoke", 1, "write", 5),
            Op(4, 4, "info", "nemesis", "start", None), Op(5, 5, "fail", 1, "write", 5)]
    histories += [(late, "register"), (late[:3], "register"), (late[2:3], "register")]
    for ops, name in histories:
        m = get_model(name)
        keyed = detect_keyed(ops, m)
        got_keyed, per_key = split_history(ops, m)
        assert got_keyed is keyed
        assert per_key == split_entries(ops, m, keyed=keyed)
        assert list(per_key) == list(dict.fromkeys(k for k, es in sorted(
            ((k, e) for k, es in per_key.items() for e in es), key=lambda ke: ke[1].inv_pos)))
        for entries in per_key.values():
            assert [e.inv_pos for e in entries] == sorted(e.inv_pos for e in entries)
    assert split_history(late, get_model("register"))[0] is False


def test_history_errors_come_in_history_order() -> None:
    """Pairing errors first (in event order), then entry errors of the earliest invoked op."""
    bad_f = [Op(0, 0, "invoke", 0, "frob", 1), Op(1, 1, "invoke", 1, "zap", 1), Op(2, 2, "ok", 1, "zap", 1),
             Op(3, 3, "ok", 0, "frob", 1)]
    with pytest.raises(HistoryError, match="op 0 .*'frob'"):
        check(bad_f, "register")
    twice = bad_f + [Op(4, 4, "invoke", 2, "read", None), Op(5, 5, "invoke", 2, "read", None)]
    with pytest.raises(HistoryError, match="op 5: process 2 invoked twice"):
        check(twice, "register")
    keyed_out = [Op(0, 0, "invoke", 0, "read", ["x", None]), Op(1, 1, "invoke", 1, "read", ["x", None]),
                 Op(2, 2, "ok", 1, "read", 3), Op(3, 3, "ok", 0, "read", 4)]
    with pytest.raises(HistoryError, match="op 3 .*keyed completion needs"):
        check(keyed_out, "register")


def test_unknown_operation_and_bad_model_are_clear_errors() -> None:
    ops = [Op(0, 0, "invoke", 0, "frobnicate", 1), Op(1, 1, "ok", 0, "frobnicate", 1)]
    with pytest.raises(HistoryError, match="has no operation 'frobnicate'"):
        check(ops, "register")
    with pytest.raises(ValueError, match="choose one of"):
        check(ops, "no-such-model")


def pathological(n_vals: int) -> list[Op]:
    """Crashed cas ops over every pair of values (a dense graph of optional transitions), and a read of
    a value only reachable from one nobody writes: every path through the graph must be tried."""
    ops: list[Op] = []
    for p, (a, b) in enumerate(itertools.permutations(range(n_vals), 2)):
        ops.append(Op(len(ops), len(ops), "invoke", p, "cas", [a, b]))
    ops.append(Op(len(ops), len(ops), "invoke", 1000, "write", 0))
    ops.append(Op(len(ops), len(ops), "ok", 1000, "write", 0))
    ops.append(Op(len(ops), len(ops), "invoke", 2000, "cas", [99, 100]))
    ops.append(Op(len(ops), len(ops), "invoke", 3000, "read", None))
    ops.append(Op(len(ops), len(ops), "ok", 3000, "read", 100))
    return ops


def test_pathological_history_gives_unknown_within_the_time_limit() -> None:
    ops = pathological(10)
    started = time.monotonic()
    res = check(ops, "cas-register", time_limit=1.0)
    elapsed = time.monotonic() - started
    assert res.valid == "unknown"
    assert elapsed < 1.5
    assert "time limit" in res.explanation
    assert res.details["unknown"][0]["deepest_prefix"] is not None


def test_pathological_history_memory_is_bounded_by_the_configuration_budget() -> None:
    ops = pathological(8)
    tracemalloc.start()
    try:
        res = check(ops, "cas-register", max_configs=800, time_limit=30)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.valid == "unknown"
    assert "budget" in res.explanation
    assert peak < 30_000_000
    assert res.details["stats"]["None"]["configs"] <= 800 + 200


def test_reductions_shrink_the_search_on_crash_heavy_histories() -> None:
    """The reductions must pay where crashed ops abound: same verdict, a fraction of the configurations."""
    ops = pathological(5)
    fast = check(ops, "cas-register", reductions=Reductions(precheck=False))
    plain = check(ops, "cas-register", reductions=Reductions.none(), time_limit=30)
    assert fast.valid is False and plain.valid is False
    assert fast.details["stats"]["None"]["configs"] * 50 < plain.details["stats"]["None"]["configs"]


def test_reductions_never_cost_more_on_the_etcd_corpus(corpus: Path) -> None:
    for name in ("etcd_000", "etcd_002", "etcd_007"):
        ops = load_history(corpus / f"porcupine/etcd/{name}.log")
        fast = check(ops, "cas-register")
        plain = check(ops, "cas-register", reductions=Reductions.none(), time_limit=30)
        assert fast.valid is plain.valid
        assert fast.details["stats"]["None"]["configs"] <= plain.details["stats"]["None"]["configs"]


@pytest.mark.parametrize("red", [Reductions(), Reductions.none()], ids=["reduced", "plain"])
def test_failed_cas_observation_keeps_an_unobserved_crashed_write(red: Reductions) -> None:
    """Only the crashed write of 7 (a value nobody reads) can explain why cas 0->1 found something other
    than 0: dropping unobserved crashed writes is unsound when failed-cas observations exist."""
    crashed = [Op(0, 0, "invoke", 0, "write", 7), Op(1, 1, "info", 0, "write", 7)]
    failed = [Op(2, 2, "invoke", 1, "cas", [0, 1]), Op(3, 3, "fail", 1, "cas", [0, 1], error=22)]
    assert check(crashed + failed, "cas-register", initial=0, reductions=red).valid is True
    assert check(failed, "cas-register", initial=0, reductions=red).valid is False
