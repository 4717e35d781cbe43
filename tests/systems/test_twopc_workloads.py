"""The bank and list-append workloads on their own: op shapes, requests, completions, options."""

from __future__ import annotations

import random

import pytest

from harness.workloads import make_workload
from harness.workloads.bank import BankWorkload
from harness.workloads.base import OptionError


def test_bank_ops_requests_and_completions() -> None:
    wl = make_workload("bank", random.Random(1))
    ops = [wl.next_op() for _ in range(200)]
    transfers = [op for op in ops if op.f == "transfer"]
    assert 100 < len(transfers) < 180 and {op.f for op in ops} == {"read", "transfer"}
    t = transfers[0]
    assert t.value["from"] != t.value["to"] and 1 <= t.value["amount"] <= 5
    assert wl.request(t) == {"type": "transfer", **t.value}
    read = next(op for op in ops if op.f == "read")
    assert wl.request(read) == {"type": "balances", "keys": [f"acct{i}" for i in range(5)]}
    ok = wl.complete(read, {"type": "balances_ok", "value": {"acct0": 100}})
    assert (ok.type, ok.value) == ("ok", {"acct0": 100})
    assert wl.complete(t, {"type": "transfer_ok"}).type == "ok"
    assert wl.complete(t, {"type": "error", "code": 30, "definite": True}).type == "fail"
    assert wl.complete(t, {"type": "error", "code": 0, "definite": False}).type == "info"
    assert [op.f for op in wl.final_ops()] == ["read"] * 3
    with pytest.raises(OptionError):
        BankWorkload({"acounts": ["a"]})


def test_list_append_values_are_unique_and_keys_retire() -> None:
    wl = make_workload("list-append", random.Random(2), {"keys": 2, "appends_per_key": 3})
    txns = [wl.next_op() for _ in range(40)]
    appended = [(m[1], m[2]) for t in txns for m in t.value if m[0] == "append"]
    assert len({v for _, v in appended}) == len(appended), "every appended value is unique"
    per_key: dict[str, int] = {}
    for k, _ in appended:
        per_key[k] = per_key.get(k, 0) + 1
    assert len(per_key) > 4 and max(per_key.values()) <= 3
    t = next(t for t in txns if any(m[0] == "r" for m in t.value))
    assert wl.request(t) == {"type": "txn", "txn": t.value}
    filled = [[f, k, [1] if f == "r" else v] for f, k, v in t.value]
    assert wl.complete(t, {"type": "txn_ok", "txn": filled}).value == filled
    finals = wl.final_ops()
    assert {op.f for op in finals} == {"final-read"} and len(finals) == 2 * len(per_key)
    fr = finals[0]
    key = fr.value["participant"]
    assert wl.request(fr) == {"type": "txn", "txn": [["r", key, None]]}
    done = wl.complete(fr, {"type": "txn_ok", "txn": [["r", key, None]]})
    assert done.value == {"participant": key, "values": {key: []}}
