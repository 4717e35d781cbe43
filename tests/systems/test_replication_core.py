"""The replication core driven directly: effects are asserted, interleavings are chosen by the test."""

from __future__ import annotations

from replication_net import Net, first_index, of_type, timers

from systems_under_test.core import PRECONDITION_FAILED, Persist, Reply, Send
from systems_under_test.replication import AsyncReplicationCore, ReplicationCore, Role
from systems_under_test.replication.log import natural_sorted, primary_of


def test_primary_is_lowest_node_in_natural_order() -> None:
    assert primary_of(["n3", "n10", "n2"]) == "n2"
    assert natural_sorted(["n10", "n9", "n1"]) == ["n1", "n9", "n10"]
    net = Net()
    assert [net.cores[n].status()["role"] for n in net.nodes] == ["primary", "replica", "replica"]


def test_primary_persists_before_replicating_and_acks_only_after_every_replica() -> None:
    net = Net()
    net.inflight.clear()  # start-up probes
    rid, effects = net.request("n1", {"type": "write", "key": "a", "value": 1})
    persist_at, send_at = first_index(effects, Persist), first_index(effects, Send)
    assert persist_at < send_at < len(effects)
    assert {s.dst for s in of_type(effects, Send)} == {"n2", "n3"}
    assert not of_type(effects, Reply)
    # n2 persists before it acknowledges
    n2_effects = net.deliver_one(0)
    assert first_index(n2_effects, Persist) < first_index(n2_effects, Send)
    ack_from_n2 = net.inflight.pop()  # (n2, n1, ack)
    n3_effects = net.deliver_one(0)
    assert of_type(n3_effects, Persist)
    ack_from_n3 = net.inflight.pop()
    net.inflight.append(ack_from_n2)
    assert not of_type(net.deliver_one(), Reply), "acked with one replica still missing the entry"
    net.inflight.append(ack_from_n3)
    assert [r.body for r in of_type(net.deliver_one(), Reply)] == [{"type": "write_ok"}]
    assert net.replies[("n1", rid)] == {"type": "write_ok"}


def test_replica_forwards_and_answers_its_own_client() -> None:
    net = Net()
    net.deliver_all()
    rid, effects = net.request("n2", {"type": "write", "key": "k", "value": 5})
    assert [(s.dst, s.msg["type"]) for s in of_type(effects, Send)] == [("n1", "forward")]
    net.deliver_all()
    assert net.replies[("n2", rid)] == {"type": "write_ok"}
    rid2, effects = net.request("n3", {"type": "read", "key": "k"})
    assert not of_type(effects, Reply), "a replica of the correct variant must not read locally"
    net.deliver_all()
    assert net.replies[("n3", rid2)] == {"type": "read_ok", "value": 5}


def test_reads_see_only_committed_writes() -> None:
    net = Net()
    net.deliver_all()
    net.request("n1", {"type": "write", "key": "a", "value": 1})
    r1, _ = net.request("n1", {"type": "read", "key": "a"})
    assert net.replies[("n1", r1)] == {"type": "read_ok", "value": None}
    net.deliver_all()
    r2, _ = net.request("n1", {"type": "read", "key": "a"})
    assert net.replies[("n1", r2)] == {"type": "read_ok", "value": 1}


def test_cas_is_judged_in_log_order_including_uncommitted_entries() -> None:
    net = Net()
    net.deliver_all()
    missing, _ = net.request("n1", {"type": "cas", "key": "a", "from": 0, "to": 1})
    net.deliver_all()
    w, _ = net.request("n2", {"type": "write", "key": "a", "value": 1})
    assert [m[2]["type"] for m in net.inflight] == ["forward"]
    net.deliver_one(0)  # only the forward: the write is appended but not committed
    assert len(net.cores["n1"].log) == 2 and net.cores["n1"].commit == 1
    ok, _ = net.request("n1", {"type": "cas", "key": "a", "from": 1, "to": 2})
    bad, _ = net.request("n1", {"type": "cas", "key": "a", "from": 1, "to": 3})
    assert not any(k[1] in (ok, bad) for k in net.replies), "answered before commit"
    net.deliver_all()
    assert net.replies[("n1", missing)]["code"] == 20
    assert net.replies[("n2", w)] == {"type": "write_ok"}
    assert net.replies[("n1", ok)] == {"type": "cas_ok"}
    failed = net.replies[("n1", bad)]
    assert failed["code"] == PRECONDITION_FAILED and failed["definite"] is True
    r, _ = net.request("n3", {"type": "read", "key": "a"})
    net.deliver_all()
    assert net.replies[("n3", r)]["value"] == 2
    # the failed cas went through the log too: its answer is an observation ordered with the writes
    assert [e.cmd["type"] for e in net.cores["n1"].log] == ["cas", "write", "cas", "cas"]


def test_duplicated_forward_is_appended_once() -> None:
    net = Net()
    net.deliver_all()
    net.request("n2", {"type": "write", "key": "a", "value": 1})
    net.deliver_one(0, dup=True)
    net.deliver_one(0)
    net.deliver_all()
    assert len(net.cores["n1"].log) == 1
    assert len(net.cores["n2"].log) == 1


def test_lagging_replica_catches_up_from_its_last_acked_index() -> None:
    net = Net()
    net.deliver_all()
    net.blocked.add(("n1", "n3"))
    rids = [net.request("n1", {"type": "add", "key": "s", "element": i})[0] for i in range(5)]
    net.deliver_all()
    assert not any(("n1", r) in net.replies for r in rids), "committed without n3"
    assert net.cores["n3"].status()["log"] == 0
    net.blocked.clear()
    net.tick()
    sends = [m for m in net.inflight if m[1] == "n3"]
    assert sends and sends[0][2]["prev"] == 0 and len(sends[0][2]["entries"]) == 5
    net.deliver_all()
    assert all(net.replies[("n1", r)] == {"type": "add_ok"} for r in rids)
    assert net.cores["n3"].state == {"s": [0, 1, 2, 3, 4]}


def test_restarted_replica_keeps_its_log_and_fills_the_gap() -> None:
    net = Net()
    net.deliver_all()
    net.request("n1", {"type": "write", "key": "a", "value": 1})
    net.deliver_all()
    net.crash("n3")
    w2, _ = net.request("n1", {"type": "write", "key": "a", "value": 2})
    net.deliver_all()
    assert ("n1", w2) not in net.replies
    effects = net.start("n3")
    assert net.cores["n3"].status()["log"] == 1, "durable entries were not recovered"
    assert net.cores["n3"].state == {"a": 1}
    assert of_type(effects, Persist)[0].record == {"t": "boot"}
    net.settle(3)
    assert net.replies[("n1", w2)] == {"type": "write_ok"}
    assert net.cores["n3"].state == {"a": 2}


def test_restarted_primary_re_replicates_its_tail_and_blocks_reads_until_committed() -> None:
    net = Net()
    net.deliver_all()
    net.request("n1", {"type": "write", "key": "a", "value": 1})
    net.deliver_all()
    net.request("n1", {"type": "write", "key": "a", "value": 2})
    net.inflight.clear()  # the replicas never saw entry 2
    net.crash("n1")
    start = net.start("n1")
    assert "tick" in timers(start)
    core = net.cores["n1"]
    assert core.status()["log"] == 2 and core.status()["commit"] == 0
    early, _ = net.request("n1", {"type": "read", "key": "a"})
    assert ("n1", early) not in net.replies, "a restarted primary read before knowing what was committed"
    net.settle(3)
    assert net.replies[("n1", early)] == {"type": "read_ok", "value": 2}
    assert all(net.cores[n].state == {"a": 2} for n in net.nodes)


def test_single_node_cluster_commits_alone() -> None:
    net = Net(size=1)
    rid, _ = net.request("n1", {"type": "write", "key": "a", "value": 3})
    assert net.replies[("n1", rid)] == {"type": "write_ok"}


def test_unknown_and_malformed_requests_get_definite_errors() -> None:
    net = Net()
    rid, _ = net.request("n2", {"type": "frobnicate"})
    assert net.replies[("n2", rid)]["code"] == 10 and net.replies[("n2", rid)]["definite"]
    rid, _ = net.request("n2", {"type": "write", "value": 1})
    assert net.replies[("n2", rid)]["code"] == 12


def test_async_variant_acks_before_replicating_and_reads_locally() -> None:
    net = Net(variant="replication:async")
    assert isinstance(net.cores["n1"], AsyncReplicationCore)
    net.deliver_all()
    net.blocked.add(("n1", "n3"))
    rid, effects = net.request("n1", {"type": "write", "key": "a", "value": 9})
    assert first_index(effects, Persist) < first_index(effects, Reply) < first_index(effects, Send)
    assert net.replies[("n1", rid)] == {"type": "write_ok"}
    net.deliver_all()
    stale, effects = net.request("n3", {"type": "read", "key": "a"})
    assert not of_type(effects, Send), "async replicas answer reads themselves"
    assert net.replies[("n3", stale)] == {"type": "read_ok", "value": None}  # the planted stale read


def test_correct_core_is_not_the_async_one() -> None:
    net = Net()
    assert type(net.cores["n1"]) is ReplicationCore
    assert net.cores["n2"].role is Role.REPLICA
