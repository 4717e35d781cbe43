"""The register workload: deterministic generation, mix and key rotation, request/reply mapping."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from harness.workloads import Invocation, OptionError, make_workload
from systems_under_test.registry import UnknownName


def _ops(seed: int, n: int = 300, **opts: object) -> list[Invocation]:
    w = make_workload("register", random.Random(seed), opts)
    return [w.next_op() for _ in range(n)]


def test_same_seed_same_ops_different_seed_different_ops() -> None:
    assert _ops(1) == _ops(1)
    assert _ops(1) != _ops(2)


def test_values_have_the_history_shapes() -> None:
    for inv in _ops(3):
        key = inv.value[0]
        assert isinstance(key, str) and key.startswith("k")
        if inv.f == "read":
            assert inv.value == [key, None]
        elif inv.f == "write":
            assert isinstance(inv.value[1], int)
        else:
            assert inv.f == "cas" and len(inv.value[1]) == 2


def test_mix_is_respected() -> None:
    only_reads = _ops(4, mix={"read": 1})
    assert {inv.f for inv in only_reads} == {"read"}
    counts = Counter(inv.f for inv in _ops(5, 3000, mix={"read": 3, "write": 1, "cas": 0}))
    assert set(counts) == {"read", "write"}
    assert 2.4 < counts["read"] / counts["write"] < 3.7


def test_keys_rotate_after_ops_per_key() -> None:
    ops = _ops(6, 400, keys=2, ops_per_key=10)
    per_key = Counter(inv.value[0] for inv in ops)
    assert max(per_key.values()) <= 10
    assert len(per_key) >= 400 // 10
    # at most `keys` keys are live at once: any window of ops touches few keys
    first_seen = {}
    last_seen = {}
    for i, inv in enumerate(ops):
        first_seen.setdefault(inv.value[0], i)
        last_seen[inv.value[0]] = i
    for i in range(len(ops)):
        assert sum(1 for k in first_seen if first_seen[k] <= i <= last_seen[k]) <= 2


def test_final_ops_read_every_used_key() -> None:
    w = make_workload("register", random.Random(7), {"keys": 2, "ops_per_key": 5})
    used = {w.next_op().value[0] for _ in range(23)}
    finals = w.final_ops()
    assert {inv.value[0] for inv in finals} == used
    assert all(inv.f == "read" and inv.value[1] is None for inv in finals)


def test_requests_and_completions() -> None:
    w = make_workload("register", random.Random(8))
    assert w.request(Invocation("read", ["k1", None])) == {"type": "read", "key": "k1"}
    assert w.request(Invocation("write", ["k1", 3])) == {"type": "write", "key": "k1", "value": 3}
    assert w.request(Invocation("cas", ["k1", [1, 2]])) == {"type": "cas", "key": "k1", "from": 1, "to": 2}
    read = Invocation("read", ["k1", None])
    assert w.complete(read, {"type": "read_ok", "value": 4}).value == ["k1", 4]
    assert w.complete(read, {"type": "read_ok", "value": None}).type == "ok"
    cas = Invocation("cas", ["k1", [1, 2]])
    failed = w.complete(cas, {"type": "error", "code": 22, "text": "no", "definite": True})
    assert failed.type == "fail" and failed.error[0] == 22 and failed.value == ["k1", [1, 2]]
    maybe = w.complete(cas, {"type": "error", "code": 11, "text": "unavailable", "definite": False})
    assert maybe.type == "info"
    assert w.complete(cas, {"type": "error", "code": 0, "text": "?"}).type == "info"
    assert w.complete(cas, {"type": "write_ok"}).type == "info"


def test_bad_names_and_options() -> None:
    with pytest.raises(UnknownName, match="register"):
        make_workload("regster", random.Random(0))
    with pytest.raises(OptionError, match="valid"):
        make_workload("register", random.Random(0), {"kees": 3})
    with pytest.raises(OptionError):
        make_workload("register", random.Random(0), {"mix": {"delete": 1}})
