"""Sans-IO unit tests of the lock service: the register acceptor, grants/leases, the fence, one core."""

from __future__ import annotations

import random

import pytest

from systems_under_test.core import Persist, Reply, Send
from systems_under_test.lock import DESCRIPTOR, LockCore
from systems_under_test.lock.register import Acceptor
from systems_under_test.lock.resource import Guard, Resource
from systems_under_test.lock.table import LOCK_BUSY, is_free, transition


def acquire(owner: str, op_id: str, ttl: float = 2.0) -> dict[str, object]:
    return {"type": "acquire", "owner": owner, "id": op_id, "ttl": ttl}


def test_descriptor_variants() -> None:
    assert [v.name for v in DESCRIPTOR.variants] == ["lock", "lock:no-fencing", "lock:clock-lease"]
    assert [v.planted_bug for v in DESCRIPTOR.variants] == [False, True, True]


def test_grants_count_up_and_leases_expire_by_the_deciding_clock() -> None:
    s1, body = transition(None, acquire("a", "x1"), now=10.0)
    assert s1 is not None and body["token"] == 1 and body["expires"] == 12.0
    none, busy = transition(s1, acquire("b", "x2"), now=11.0)
    assert none is None and busy["code"] == LOCK_BUSY and busy["definite"] is True
    assert not is_free(s1, 11.99) and is_free(s1, 12.0)
    s2, body = transition(s1, acquire("b", "x3"), now=12.5)
    assert s2 is not None and (s2["owner"], body["token"]) == ("b", 2)
    again, body = transition(s2, acquire("b", "x3"), now=99.0)
    assert again == s2 and body["token"] == 2, "a retried op re-proposes its own grant unchanged"
    stale, err = transition(s2, {"type": "release", "owner": "a", "id": "x4", "token": 1}, now=13.0)
    assert stale is None and err["code"] == 22
    s3, ok = transition(s2, {"type": "release", "owner": "b", "id": "x5", "token": 2}, now=13.0)
    assert s3 is not None and s3["released"] and ok["type"] == "release_ok" and is_free(s3, 13.0)
    s4, body = transition(s3, acquire("c", "x6"), now=13.1)
    assert s4 is not None and body["token"] == 3


def test_acceptor_keeps_its_promise_and_persists_before_answering() -> None:
    acc = Acceptor()
    first = acc.prepare((1, "n1"))
    assert first.ok and first.record is not None and first.state is None
    assert not acc.prepare((1, "n1")).ok and not acc.accept((0, "n9"), {"token": 5}).ok
    assert acc.accept((1, "n1"), {"token": 1}).ok
    later = acc.prepare((2, "n2"))
    assert later.ok and later.state == {"token": 1} and later.accepted_ballot == (1, "n1")
    fresh = Acceptor()
    fresh.recover([r for r in (first.record, acc._record()) if r is not None])
    assert fresh.promised == (2, "n2") and fresh.state == {"token": 1}


@pytest.mark.parametrize("guard, stale_ok", [(Guard.FENCE, False), (Guard.NONE, True)])
def test_the_fence_rejects_stale_tokens_and_duplicates_cannot_roll_back(guard: Guard, stale_ok: bool) -> None:
    r = Resource(guard)
    assert r.write("w1", 2, "b", None, 0.0)[0] == {"type": "write_ok", "seq": 1}
    assert r.write("w2", 2, "b2", None, 0.0)[0]["type"] == "write_ok", "the holder may write again"
    body, record = r.write("w3", 1, "a", None, 0.0)
    assert (body["type"] == "write_ok") is stale_ok and (record is not None) is stale_ok
    dup, rec = r.write("w1", 2, "b", None, 0.0)
    assert dup["type"] == "write_ok" and rec is None and r.value == ("a" if stale_ok else "b2")
    fresh = Resource(guard)
    fresh.recover([{"t": "resource", "id": "w1", "value": "b", "fence": 2, "seq": 1},
                   {"t": "fence", "fence": 4}])
    assert (fresh.value, fresh.fence, fresh.seq) == ("b", 4, 1) and fresh.write("w1", 2, "z", None, 0.0)[
        1
    ] is None


def test_a_new_grant_raises_the_fence_before_its_holder_writes() -> None:
    r = Resource(Guard.FENCE)
    assert r.write("w1", 1, "a", None, 0.0)[0]["type"] == "write_ok"
    assert r.raise_fence(2) == {"t": "fence", "fence": 2} and r.raise_fence(2) is None
    assert r.write("w2", 1, "a2", None, 0.0)[0]["code"] == 22, "the old holder is fenced off at once"
    assert Resource(Guard.NONE).raise_fence(5) is None


def test_wall_clock_guard_trusts_the_deadline_only() -> None:
    r = Resource(Guard.WALL_CLOCK)
    assert r.write("w1", 5, "new", 10.0, now=3.0)[0]["type"] == "write_ok"
    assert r.write("w2", 1, "old", 4.0, now=3.5)[0]["type"] == "write_ok", "token 1 < 5 yet accepted"
    assert r.write("w3", 9, "late", 4.0, now=4.0)[0]["code"] == 1002


def test_single_node_core_grants_writes_and_fences_in_process() -> None:
    core = LockCore("n1", [], random.Random(3), {})
    core.on_start(0.0, [])
    effects = core.on_request(0.0, "c", {"type": "acquire", "owner": "a", "req_id": "1", "ttl": 1.0})
    kinds = [type(e).__name__ for e in effects]
    assert "Persist" in kinds and kinds.index("Persist") < kinds.index("Reply")
    assert not any(isinstance(e, Send) for e in effects), "a one-node cluster talks only to itself"
    reply = next(e for e in effects if isinstance(e, Reply))
    assert reply.body["token"] == 1 and reply.body["owner"] == "a"
    busy = core.on_request(0.5, "c", {"type": "acquire", "owner": "b", "req_id": "2"})
    assert next(e for e in busy if isinstance(e, Reply)).body["code"] == LOCK_BUSY
    grant = core.on_request(1.5, "c", {"type": "acquire", "owner": "b", "req_id": "3"})
    assert next(e for e in grant if isinstance(e, Reply)).body["token"] == 2
    w = core.on_request(1.6, "c", {"type": "write", "owner": "b", "token": 2, "value": 7, "req_id": "4"})
    assert any(isinstance(e, Persist) for e in w) and w[-1] == Reply("4", {"type": "write_ok", "seq": 1})
    stale = core.on_request(1.7, "c", {"type": "write", "owner": "a", "token": 1, "value": 8, "req_id": "5"})
    assert stale[-1].body["code"] == 22
    read = core.on_request(1.8, "c", {"type": "read", "req_id": "6"})
    assert read[-1].body == {"type": "read_ok", "value": 7, "fence": 2}
    assert core.on_request(0, "c", {"type": "lock", "req_id": "7"})[0].body["definite"] is True


def test_a_retry_that_finds_its_own_unchosen_grant_proposes_it_again() -> None:
    """Regression: the newest state in a majority may be our own minority-accepted attempt; claiming it
    without a second accept phase handed the same token to two owners."""
    core = LockCore("n3", ["n1", "n2"], random.Random(3), {})
    core.on_start(0.0, [])
    effects = core.on_request(0.0, "c", {"type": "acquire", "owner": "c1", "req_id": "1", "ttl": 1.0})
    prep = next(e for e in effects if isinstance(e, Send))
    op, b1 = prep.msg["op"], prep.msg["ballot"]
    old = {"token": 1, "owner": "c0", "expires": -1.0, "released": False, "op": "x"}

    def promise(ballot: list[object], ok: bool = True, state: object = old) -> dict[str, object]:
        return {"type": "promise", "op": op, "ballot": ballot, "ok": ok, "promised": ballot, "ab": [1, "n2"],
                "state": state}

    effects = core.on_message(0.01, "n1", promise(b1))
    accepts = [e for e in effects if isinstance(e, Send) and e.msg["type"] == "accept"]
    assert {e.msg["state"]["token"] for e in accepts} == {2} and core.acceptor.state["token"] == 2
    for src in ("n1", "n2"):  # both peers promised a higher ballot meanwhile
        core.on_message(0.02, src,
                        {"type": "accepted", "op": op, "ballot": b1, "ok": False, "promised": [5, "n1"],
                         "ab": [1, "n2"], "state": None})
    effects = core.on_timer(0.5, "round")
    prep = next(e for e in effects if isinstance(e, Send))
    b2 = prep.msg["ballot"]
    assert b2[0] > 5
    effects = core.on_message(0.51, "n1", promise(b2))
    assert not any(isinstance(e, Reply) for e in effects), "no success before a majority accepts it again"
    accepts = [e for e in effects if isinstance(e, Send) and e.msg["type"] == "accept"]
    assert accepts and all(e.msg["state"]["owner"] == "c1" and e.msg["state"]["token"] == 2 for e in accepts)
    effects = core.on_message(0.52, "n1",
                              {"type": "accepted", "op": op, "ballot": b2, "ok": True, "promised": b2,
                               "ab": b2, "state": None})
    reply = next(e for e in effects if isinstance(e, Reply))
    assert reply.body["token"] == 2 and core.resource is not None and core.resource.fence == 2


def test_requests_expire_in_the_queue_instead_of_granting_late() -> None:
    core = LockCore("n1", ["n2", "n3"], random.Random(4), {"max_attempts": 2})
    core.on_start(0.0, [])
    replies: dict[str, dict[str, object]] = {}
    for rid in ("a", "b"):
        for e in core.on_request(0.0, "c", {"type": "acquire", "owner": rid, "req_id": rid}):
            if isinstance(e, Reply):
                replies[e.req_id] = e.body
    assert core.status()["queued"] == 2 and not replies, "peers never answer: a waits, b queues"
    t = 0.0
    while len(replies) < 2 and t < 10:
        t += 0.5
        for e in core.on_timer(t, "round"):
            if isinstance(e, Reply):
                replies[e.req_id] = e.body
    assert replies["a"]["code"] == 11 and replies["a"]["definite"] is True, "no quorum, nothing accepted"
    assert "expired" in str(replies["b"]["text"]) and replies["b"]["definite"] is True
