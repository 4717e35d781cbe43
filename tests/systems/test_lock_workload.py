"""The lock workload on its own: it plays holders from the grants it saw, sometimes stale ones."""

from __future__ import annotations

import random

from checkers.history import OK, Op
from harness.workloads import make_workload
from harness.workloads.lock import fencing_shapes


def test_ops_follow_the_grants_and_stale_writes_use_older_unreleased_ones() -> None:
    wl = make_workload("lock", random.Random(3), {"stale": 0.5})
    first = wl.next_op()
    assert first.f == "acquire" and wl.request(first) == {"type": "acquire", "owner": "o1", "ttl": 1.0}
    for token in (1, 2, 3):
        inv = wl.next_op() if token > 1 else first
        while inv.f != "acquire":
            inv = wl.next_op()
        done = wl.complete(inv, {"type": "acquire_ok", "token": token, "expires": 10.0 + token})
        assert done.type == OK and done.value["token"] == token
    released: set[int] = set()
    newest, stale = 0, 0
    for _ in range(300):
        inv = wl.next_op()
        if inv.f == "release":
            released.add(inv.value["token"])
        if inv.f == "write":
            t = inv.value["token"]
            assert t not in released, "a holder that released never writes again"
            assert wl.request(inv)["expires"] == 10.0 + t
            live = max({1, 2, 3} - released, default=0)
            newest += t == live
            stale += t < live
    assert newest and stale, "writes carry the newest grant's token, and sometimes an older one's"
    busy = wl.next_op()
    while busy.f != "acquire":
        busy = wl.next_op()
    assert wl.complete(busy, {"type": "error", "code": 1001, "definite": True}).type == "fail"


def test_fencing_shapes_conversion() -> None:
    ops = [Op(0, 0, "invoke", 0, "acquire", {"owner": "o1", "lock": "L"}),
           Op(1, 1, "ok", 0, "acquire", {"owner": "o1", "lock": "L", "token": 4}),
           Op(2, 2, "invoke", 0, "write", {"owner": "o1", "lock": "L", "token": 4, "value": 9}),
           Op(3, 3, "ok", 0, "write", {"owner": "o1", "lock": "L", "token": 4, "value": 9, "seq": 1}),
           Op(4, 4, "invoke", 0, "read", None), Op(5, 5, "ok", 0, "read", 9)]
    assert [op.value for op in fencing_shapes(ops)] == ["o1", ["o1", 4], [4, 9], [4, 9], None, 9]
