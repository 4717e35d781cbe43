"""The failover variant (majority-elected primaries, majority commit) and its split-brain planted bug."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from replication_net import Net, first_index, of_type

from systems_under_test.core import TEMPORARILY_UNAVAILABLE, Persist, Reply, Send
from systems_under_test.replication.failover import ELECTION, FailoverCore, apply_entry
from systems_under_test.replication.terms import recover_terms

CONFIG = {"heartbeat": 0.05, "election_timeout": 0.3}


def _net(variant: str = "replication:failover") -> Net:
    return Net(variant, config=dict(CONFIG))


def _elect(net: Net, node: str) -> None:
    """Fire ``node``'s election timer and deliver until quiet."""
    net.timers[node].pop(ELECTION, None)
    net.run(node, net.cores[node].on_timer(net.now, ELECTION))
    net.deliver_all()


def _core(net: Net, node: str) -> FailoverCore:
    core = net.cores[node]
    assert isinstance(core, FailoverCore)
    return core


def test_no_primary_known_is_a_definite_error() -> None:
    net = _net()
    rid, _ = net.request("n2", {"type": "write", "key": "a", "value": 1})
    body = net.replies[("n2", rid)]
    assert body["code"] == TEMPORARILY_UNAVAILABLE and body["definite"] is True


def test_election_persists_the_vote_before_asking_and_a_majority_elects() -> None:
    net = _net()
    effects = net.run("n1", _core(net, "n1").on_timer(0.0, ELECTION))
    assert first_index(effects, Persist) < first_index(effects, Send)
    assert {s.msg["type"] for s in of_type(effects, Send)} == {"request_vote"}
    net.deliver_all()
    assert _core(net, "n1").status()["role"] == "primary" and _core(net, "n1").term == 1
    assert _core(net, "n1").commit == 1, "the primary's noop did not commit"
    assert all(_core(net, n).leader == "n1" for n in ("n2", "n3"))


def test_writes_commit_with_a_majority_and_reads_go_through_the_log() -> None:
    net = _net()
    _elect(net, "n1")
    net.blocked |= {("n1", "n3"), ("n3", "n1")}
    w, effects = net.request("n2", {"type": "write", "key": "a", "value": 4})
    assert [s.msg["type"] for s in of_type(effects, Send)] == ["forward"]
    net.deliver_all()
    assert net.replies[("n2", w)] == {"type": "write_ok"}
    r, effects = net.request("n1", {"type": "read", "key": "a"})
    assert not of_type(effects, Reply), "reads wait for a commit in the current term"
    net.deliver_all()
    assert net.replies[("n1", r)] == {"type": "read_ok", "value": 4}


def test_a_superseded_primary_cannot_acknowledge_and_its_tail_is_replaced() -> None:
    net = _net()
    _elect(net, "n1")
    w1, _ = net.request("n1", {"type": "write", "key": "a", "value": 1})
    net.deliver_all()
    assert net.replies[("n1", w1)] == {"type": "write_ok"}
    net.blocked = {(a, b) for a in net.nodes for b in net.nodes if "n1" in (a, b) and a != b}
    _elect(net, "n2")
    assert _core(net, "n2").status()["role"] == "primary" and _core(net, "n2").term == 2
    stale, _ = net.request("n1", {"type": "write", "key": "a", "value": 666})
    fresh, _ = net.request("n2", {"type": "write", "key": "a", "value": 2})
    net.settle(5)
    assert ("n1", stale) not in net.replies, "the old primary acknowledged after being superseded"
    assert net.replies[("n2", fresh)] == {"type": "write_ok"}
    net.blocked.clear()
    net.settle(10)
    assert _core(net, "n1").role.value == "follower" and _core(net, "n1").term >= 2
    logs = {n: [(e.term, e.cmd) for e in _core(net, n).log] for n in net.nodes}
    assert logs["n1"] == logs["n2"] == logs["n3"]
    assert {"type": "write", "key": "a", "value": 666} not in [c for _, c in logs["n1"]]
    r, _ = net.request("n3", {"type": "read", "key": "a"})
    net.settle(3)
    assert net.replies[("n3", r)] == {"type": "read_ok", "value": 2}


def test_votes_go_only_to_up_to_date_candidates_and_once_per_term_across_restarts() -> None:
    net = _net()
    _elect(net, "n1")
    net.request("n1", {"type": "write", "key": "a", "value": 1})
    net.deliver_all()
    n2 = _core(net, "n2")
    stale = {"type": "request_vote", "term": 5, "last_index": 0, "last_term": 0}
    assert of_type(net.run("n2", n2.on_message(net.now, "n3", stale)), Send)[0].msg["granted"] is False
    ok = {"type": "request_vote", "term": 5, "last_index": len(n2.log), "last_term": n2.log[-1].term}
    effects = net.run("n2", n2.on_message(net.now, "n3", ok))
    assert first_index(effects, Persist) < first_index(effects, Send)
    assert of_type(effects, Send)[0].msg["granted"] is True
    net.crash("n2")
    net.start("n2")
    again = _core(net, "n2").on_message(net.now, "n1", {**ok, "type": "request_vote"})
    assert of_type(again, Send)[0].msg["granted"] is False, "voted twice in term 5 after a restart"
    assert recover_terms(net.durable["n2"]).vote == "n3"


def test_restarted_node_keeps_its_log_and_rejoins() -> None:
    net = _net()
    _elect(net, "n1")
    w, _ = net.request("n3", {"type": "write", "key": "k", "value": 3})
    net.deliver_all()
    assert net.replies[("n3", w)] == {"type": "write_ok"}
    for node in net.nodes:
        net.crash(node)
    for node in net.nodes:
        net.start(node)
        assert len(_core(net, node).log) >= 2
    net.settle(15)
    r, _ = net.request("n2", {"type": "read", "key": "k"})
    net.settle(3)
    assert net.replies[("n2", r)] == {"type": "read_ok", "value": 3}


def test_split_brain_variant_promotes_itself_without_votes() -> None:
    net = _net("replication:split-brain")
    effects = net.run("n3", net.cores["n3"].on_timer(0.0, ELECTION))
    assert not [s for s in of_type(effects, Send) if s.msg["type"] == "request_vote"]
    assert net.cores["n3"].status()["role"] == "primary"


# ---------------------------------------------------------------------------- seeded random schedules


@dataclass
class Op:
    node: str
    rid: str
    cmd: dict[str, Any]
    op_id: str
    step: int


def _schedule(variant: str, seed: int,
              steps: int = 500) -> tuple[Net, list[Op], dict[tuple[str, str], int], list[str]]:
    """Random requests, deliveries (loss/dup/reorder), time, crashes and partitions; then heal."""
    rng = random.Random(seed)
    net = _net(variant)
    ops: list[Op] = []
    reply_step: dict[tuple[str, str], int] = {}
    committed: dict[int, tuple[int, str]] = {}
    unsafe: list[str] = []
    seen = 0
    for step in range(steps):
        live = sorted(net.cores)
        roll = rng.random()
        if roll < 0.2 and live:
            node = rng.choice(live)
            f = rng.choice(["read", "write", "cas"])
            cmd: dict[str, Any] = {"type": f, "key": rng.choice("ab")}
            if f == "write":
                cmd["value"] = rng.randrange(5)
            elif f == "cas":
                cmd["from"], cmd["to"] = rng.randrange(5), rng.randrange(5)
            boot = _core(net, node).boot
            rid, _ = net.request(node, cmd)
            ops.append(Op(node, rid, cmd, f"{node}.{boot}.{rid}", step))
        elif roll < 0.7 and net.inflight:
            i = rng.randrange(len(net.inflight))
            r = rng.random()
            if r < 0.05:
                net.inflight.pop(i)
            else:
                net.deliver_one(i, dup=r < 0.1)
        elif roll < 0.85:
            net.tick(0.1)
        elif roll < 0.87 and len(live) > 1:
            net.crash(rng.choice(live))
        elif roll < 0.93:
            for down in sorted(set(net.nodes) - set(net.cores)):
                net.start(down)
        elif roll < 0.96:
            net.blocked = {(a, b) for a in net.nodes for b in net.nodes if a != b and rng.random() < 0.3}
        else:
            net.blocked = set()
        for node, rid, _ in net.reply_log[seen:]:
            reply_step[(node, rid)] = step
        seen = len(net.reply_log)
        for node in net.cores:  # state machine safety: one entry per committed index, ever
            core = _core(net, node)
            for e in core.log[: core.commit]:
                first = committed.setdefault(e.index, (e.term, e.op_id))
                if first != (e.term, e.op_id):
                    unsafe.append(f"step {step}: {node} committed {e} where {first} was committed")
    for down in sorted(set(net.nodes) - set(net.cores)):
        net.start(down)
    net.blocked.clear()
    net.settle(30)
    for node, rid, _ in net.reply_log[seen:]:
        reply_step[(node, rid)] = steps
    return net, ops, reply_step, unsafe


def _unexplained(net: Net, ops: list[Op], reply_step: dict[tuple[str, str], int]) -> list[str]:
    """Answers not explained by the final committed log in an order that respects real time."""
    primaries = [_core(net, n) for n in net.nodes if _core(net, n).role.value == "primary"]
    assert primaries, "no primary after healing"
    final = max(primaries, key=lambda c: c.term)
    index = {e.op_id: e.index for e in final.log[: final.commit]}
    results: dict[int, dict[str, Any]] = {}
    state: dict[str, Any] = {}
    for e in final.log[: final.commit]:
        results[e.index] = apply_entry(state, e.cmd)
    bad: list[str] = []
    answered = [op for op in ops if (op.node, op.rid) in net.replies]
    for op in answered:
        body = net.replies[(op.node, op.rid)]
        if body.get("code") == TEMPORARILY_UNAVAILABLE:
            if op.op_id in index:
                bad.append(f"{op} failed definitely but is in the log")
            continue
        if op.op_id not in index:
            bad.append(f"{op} answered {body} but is not in the committed log")
        elif body != results[index[op.op_id]]:
            bad.append(f"{op} answered {body}, serial result {results[index[op.op_id]]}")
    for b in answered:
        for a in answered:
            known = a.op_id in index and b.op_id in index
            if known and reply_step[(a.node, a.rid)] < b.step and index[a.op_id] > index[b.op_id]:
                bad.append(f"{a} finished before {b} began but is ordered after it")
    return bad


@pytest.mark.parametrize("seed", range(20))
def test_failover_is_explained_by_its_committed_log(seed: int) -> None:
    net, ops, reply_step, unsafe = _schedule("replication:failover", seed)
    assert unsafe == []
    assert _unexplained(net, ops, reply_step) == []
    w, _ = net.request("n2", {"type": "write", "key": "z", "value": seed})
    net.settle(5)
    r, _ = net.request("n3", {"type": "read", "key": "z"})
    net.settle(5)
    assert net.replies[("n2", w)] == {"type": "write_ok"}
    assert net.replies[("n3", r)] == {"type": "read_ok", "value": seed}


def test_split_brain_loses_acknowledged_writes_on_some_seed() -> None:
    found = []
    for seed in range(20):
        net, ops, reply_step, unsafe = _schedule("replication:split-brain", seed)
        if unsafe or _unexplained(net, ops, reply_step):
            found.append(seed)
    assert found, "split brain never observed"
