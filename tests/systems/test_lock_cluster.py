"""The lock service driven through the pure cluster driver: tokens under contention and crashes, and the
two planted bugs turned into real violations (a paused holder; a resource whose clock lags).

Histories are recorded in the lock checker's shapes (``{"owner", "lock", "token"}`` objects, writes with the
resource's acceptance ``seq``) and judged by ``checkers.locks``; the small scenarios are also converted to
the fencing-lock model's shapes (acquire -> ``[owner, token]``, write ``[token, value]``) and checked for
linearizability.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from checkers import locks
from checkers.history import FAIL, INFO, INVOKE, OK, Op
from checkers.linearizability import check
from systems_under_test.lock import ClockLeaseCore, LockCore, NoFencingCore

try:
    from .cluster_driver import Cluster
except ImportError:  # pragma: no cover - run from the tests/systems directory
    from cluster_driver import Cluster


class LockCluster(Cluster):
    """The shared driver plus a fencing-lock history: one process per owner, replies captured."""

    def __init__(self, make_core: Any, **kw: Any) -> None:
        super().__init__(make_core, **kw)
        self.replies: dict[str, dict[str, Any]] = {}
        self.ops: list[Op] = []
        self._calls: dict[str, tuple[int, str, Any]] = {}
        self._ids = 0

    def call(self, node: str, process: int, req: dict[str, Any]) -> str:
        """Send ``req`` to ``node`` as ``process``, recording its invocation."""
        value = None if req["type"] == "read" else {"lock": "L",
                                                    **{k: req[k] for k in ("owner", "token", "value")
                                                       if k in req}}
        self._ids += 1
        rid = f"L{self._ids}"
        self._calls[rid] = (process, str(req["type"]), value)
        self._op(INVOKE, process, str(req["type"]), value, node)
        self._push(self.now + self._lat(), "request", (node, {**req, "req_id": rid}))
        return rid

    def _op(self, kind: str, process: int, f: str, value: Any, node: str) -> None:
        self.ops.append(Op(len(self.ops), int(self.now * 1e9), kind, process, f, value, node))

    def _ev_answer(self, rid: str, body: dict[str, Any]) -> None:
        self.replies[rid] = body
        if rid in self._calls:
            process, f, value = self._calls.pop(rid)
            if body["type"] == "error":
                kind = FAIL if body["definite"] else INFO
            else:
                kind = OK
                if f == "acquire":
                    value = {**value, "token": body["token"]}
                elif f == "write":
                    value = {**value, "seq": body["seq"]}
                elif f == "read":
                    value = body["value"]
            self._op(kind, process, f, value, "?")
        super()._ev_answer(rid, body)

    def close(self) -> list[Op]:
        """The history with every unanswered call completed as ``info``."""
        for process, f, value in self._calls.values():
            self._op(INFO, process, f, value, "?")
        self._calls.clear()
        return self.ops

    def run(self, dt: float) -> None:
        self.run_until(self.now + dt)


def fencing_shapes(history: list[Op]) -> list[Op]:
    """The same history in the fencing-lock model's shapes."""
    out = []
    for op in history:
        v = op.value
        if op.f == "acquire":
            v = [v["owner"], v["token"]] if op.type == OK else v["owner"]
        elif op.f == "write":
            v = [v["token"], v["value"]]
        elif op.f == "release":
            v = v["owner"]
        out.append(Op(op.index, op.time, op.type, op.process, op.f, v, op.node))
    return out


def verdict(history: list[Op]) -> Any:
    """Both checkers must agree; returns their common verdict."""
    lin = check(fencing_shapes(history), model="fencing-lock", keyed=False).valid
    safe = locks.check(history).valid
    assert lin == safe, (lin, safe)
    return safe


def tokens_follow_real_time(history: list[Op]) -> bool:
    """Distinct tokens, and an acquire that began after another ended got a larger token."""
    spans, start = [], {}
    for op in history:
        if op.f == "acquire" and op.type == INVOKE:
            start[op.process] = op.time
        elif op.f == "acquire" and op.type == OK:
            spans.append((start[op.process], op.time, op.value["token"]))
    tokens = [t for _, _, t in spans]
    return len(set(tokens)) == len(tokens) and all(
        t1 < t2 for s1, e1, t1 in spans for s2, e2, t2 in spans if e1 < s2)


def test_tokens_strictly_increase_under_contention_crashes_and_loss() -> None:
    for seed in range(3):
        c = LockCluster(LockCore, n=3, seed=seed, loss=0.1, dup=0.1)
        rng = random.Random(seed)
        for step in range(120):
            owner = f"c{rng.randrange(6)}"
            c.call(rng.choice(c.ids), step, {"type": "acquire", "owner": owner, "ttl": 0.05})
            if step % 40 == 10:
                c.crash(c.ids[step % 3])
            if step % 40 == 25:
                c.restart(c.ids[step % 3])
            c.run(rng.uniform(0.0, 0.08))
        for i in c.ids:
            c.restart(i)
        c.run(20.0)
        tokens = [op.value["token"] for op in c.close() if op.type == OK and op.f == "acquire"]
        assert len(tokens) >= 20, len(tokens)
        assert tokens_follow_real_time(c.ops), "a token was granted twice or out of real-time order"
        assert (
            locks.check(c.ops).valid is True
        )  # (long overlapping ops: too costly for the fencing-lock search)
        assert max(tokens) <= max(c.core(i).status()["lock"]["token"] for i in c.ids)


def test_the_lock_survives_a_full_cluster_restart() -> None:
    c = LockCluster(LockCore, n=3, seed=5)
    first = c.call("n1", 0, {"type": "acquire", "owner": "a", "ttl": 0.5})
    c.run(1.0)
    for i in c.ids:
        c.crash(i)
    for i in c.ids:
        c.restart(i)
    second = c.call("n2", 1, {"type": "acquire", "owner": "b", "ttl": 0.5})
    c.run(1.0)
    assert (c.replies[first]["token"], c.replies[second]["token"]) == (1, 2)


def paused_holder(cls: type[LockCore], *, resource_clock: float = 0.0) -> LockCluster:
    """``a`` acquires with a 1 s lease and stalls 3 s before writing; meanwhile ``b`` takes over."""
    c = LockCluster(cls, n=3, seed=7)
    c.set_clock("n3", resource_clock)  # n3 hosts the resource
    a = c.call("n1", 0, {"type": "acquire", "owner": "a", "ttl": 1.0})
    c.run(0.5)
    grant_a = c.replies[a]
    c.run(2.5)  # a is paused past its lease
    b = c.call("n2", 1, {"type": "acquire", "owner": "b", "ttl": 1.0})
    c.run(0.5)
    grant_b = c.replies[b]
    assert (grant_a["token"], grant_b["token"]) == (1, 2)
    c.call("n2", 1, {"type": "write", "owner": "b", "token": 2, "value": 20, "expires": grant_b["expires"]})
    c.run(0.5)
    c.call("n1", 0, {"type": "write", "owner": "a", "token": 1, "value": 10, "expires": grant_a["expires"]})
    c.run(0.5)
    c.call("n1", 2, {"type": "read"})
    c.run(0.5)
    c.close()
    return c


@pytest.mark.parametrize("cls", [LockCore, ClockLeaseCore])
def test_a_paused_holder_is_fenced_off(cls: type[LockCore]) -> None:
    c = paused_holder(cls)
    writes = [op for op in c.ops if op.f == "write" and op.type != INVOKE]
    assert [(w.value["token"], w.type) for w in writes] == [(2, OK), (1, FAIL)]
    assert c.ops[-1].value == 20 and verdict(c.ops) is True


def test_no_fencing_lets_a_paused_holder_overwrite_its_successor() -> None:
    c = paused_holder(NoFencingCore)
    writes = [op for op in c.ops if op.f == "write" and op.type != INVOKE]
    assert [w.type for w in writes] == [OK, OK], "the stale token-1 write was accepted after token 2"
    assert c.ops[-1].value == 10
    assert verdict(c.ops) is False


@pytest.mark.parametrize("cls, valid", [(LockCore, True), (ClockLeaseCore, False)])
def test_clock_lease_breaks_when_the_resource_clock_lags(cls: type[LockCore], valid: bool) -> None:
    c = paused_holder(cls, resource_clock=-10.0)
    stale = [op for op in c.ops if op.f == "write" and op.type != INVOKE and op.value["token"] == 1]
    assert stale[0].type == (FAIL if valid else OK)
    assert verdict(c.ops) is valid


@pytest.mark.parametrize("cls, fenced", [(LockCore, True), (NoFencingCore, False)])
def test_a_stale_write_is_refused_even_before_the_new_holder_writes(
    cls: type[LockCore], fenced: bool
) -> None:
    """The resource learns each new token at grant time, so accepted writes of two holders never
    interleave."""
    c = LockCluster(cls, n=3, seed=8)
    a = c.call("n1", 0, {"type": "acquire", "owner": "a", "ttl": 1.0})
    c.run(2.0)  # a's lease runs out while it is paused
    b = c.call("n2", 1, {"type": "acquire", "owner": "b", "ttl": 5.0})
    c.run(0.5)
    assert (c.replies[a]["token"], c.replies[b]["token"]) == (1, 2)
    c.call("n1", 0, {"type": "write", "owner": "a", "token": 1, "value": 10})  # a wakes up first
    c.run(0.5)
    c.call("n2", 1, {"type": "write", "owner": "b", "token": 2, "value": 20})
    c.run(0.5)
    c.call("n2", 1, {"type": "release", "owner": "b", "token": 2})
    c.run(0.5)
    outcome = {(op.f, op.value["owner"]): op.type for op in c.close() if op.type != INVOKE}
    assert outcome[("write", "a")] == (FAIL if fenced else OK) and outcome[("release", "b")] == OK
    result = locks.check(c.ops)
    assert result.valid is fenced
    if not fenced:
        assert "write-during-other-hold" in result.details["error-counts"]
