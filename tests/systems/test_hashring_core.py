"""Sans-IO unit tests of the hashring store: versions, quorums, read repair, stale-configuration refusal."""

from __future__ import annotations

import random
from typing import Any

from systems_under_test.core import Persist, Reply, Send
from systems_under_test.hashring import DESCRIPTOR, HashRingCore, LostHandoffCore, SloppyCore
from systems_under_test.hashring.config import RingConfig, Rings, quorum
from systems_under_test.hashring.storage import Store

NODES = ["n1", "n2", "n3"]


def make(cls: type[HashRingCore] = HashRingCore, node: str = "n1", **config: Any) -> HashRingCore:
    core = cls(node, [n for n in NODES if n != node], random.Random(5), config)
    core.on_start(0.0, [])
    return core


def sends(effects: list[Any], kind: str) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and e.msg["type"] == kind]


def test_descriptor() -> None:
    assert [v.name for v in DESCRIPTOR.variants] == ["hashring", "hashring:sloppy", "hashring:lost-handoff"]
    assert DESCRIPTOR.workloads == ("register",)


def test_store_keeps_the_highest_version_whatever_the_arrival_order() -> None:
    s = Store()
    assert s.put("k", (2, "b"), 20) is not None
    assert s.put("k", (1, "z"), 10) is None and s.put("k", (2, "b"), 20) is None
    rec = s.put("k", (2, "c"), 21)
    assert rec == {"t": "kv", "key": "k", "version": [2, "c"], "value": 21}
    fresh = Store()
    fresh.recover([rec, {"t": "kv", "key": "k", "version": [1, "a"], "value": 1}])
    assert fresh.get("k") == ((2, "c"), 21) and fresh.get("x") == ((0, ""), None)


def test_transition_quorums_need_both_replica_sets() -> None:
    rings = Rings(16)
    cfg = RingConfig(1, ("n1", "n2", "n3"), ("n2", "n3", "n4"))
    key = next(f"k{i}" for i in range(500) if "n1" in rings.replica_sets(cfg, f"k{i}", 1)[0]
               and "n4" in rings.replica_sets(cfg, f"k{i}", 1)[1])
    old, new = rings.replica_sets(cfg, key, 1)
    assert (old, new) == (("n1",), ("n4",))
    assert not quorum([old, new], ["n1"], 1) and quorum([old, new], ["n1", "n4"], 1)
    assert rings.replica_sets(cfg, key, 1, both=False) == [old]
    assert RingConfig.from_json(cfg.to_json()) == cfg and cfg.everyone() == ("n1", "n2", "n3", "n4")


def test_write_is_two_phases_and_versions_count_up() -> None:
    core = make()
    effects = core.on_request(0.0, "c", {"type": "write", "key": "k", "value": 5, "req_id": "1"})
    gets = sends(effects, "get")
    assert sorted(g.dst for g in gets if g.dst != "n1") == ["n2", "n3"]  # the local get was served in-process
    op = gets[0].msg["op"]
    effects = core.on_message(0.01, "n2",
                              {"type": "got", "op": op, "epoch": 0, "version": [7, "x"], "value": 1})
    puts = sends(effects, "put")
    assert puts and all(p.msg["version"][0] == 8 and p.msg["value"] == 5 for p in puts)
    assert any(isinstance(e, Persist) for e in effects), "the local replica stored it durably"
    done = core.on_message(0.02, "n3", {"type": "put_ok", "op": op, "epoch": 0})
    assert done[-1] == Reply("1", {"type": "write_ok"})


def test_read_repairs_before_answering_unless_a_write_quorum_agrees() -> None:
    core = make()
    effects = core.on_request(0.0, "c", {"type": "read", "key": "k", "req_id": "1"})
    op = sends(effects, "get")[0].msg["op"]
    effects = core.on_message(0.01, "n2",
                              {"type": "got", "op": op, "epoch": 0, "version": [3, "y"], "value": 9})
    assert not any(isinstance(e, Reply) for e in effects), "no answer before the write-back"
    assert {p.msg["value"] for p in sends(effects, "put")} == {9}
    assert core.store.get("k") == ((3, "y"), 9), "the coordinator's own replica was repaired"
    done = core.on_message(0.02, "n3", {"type": "put_ok", "op": op, "epoch": 0})
    assert not done or done[-1].body == {"type": "read_ok", "value": 9}
    # both answers agree: no write-back needed
    effects = core.on_request(1.0, "c", {"type": "read", "key": "k", "req_id": "2"})
    op = sends(effects, "get")[0].msg["op"]
    effects = core.on_message(1.01, "n3",
                              {"type": "got", "op": op, "epoch": 0, "version": [3, "y"], "value": 9})
    assert effects[-1] == Reply("2", {"type": "read_ok", "value": 9}) and not sends(effects, "put")


def test_sloppy_answers_from_one_replica() -> None:
    core = make(SloppyCore)
    effects = core.on_request(0.0, "c", {"type": "read", "key": "k", "req_id": "1"})
    assert Reply("1", {"type": "read_ok", "value": None}) in effects, "answered by the local replica alone"


def test_replicas_refuse_requests_under_an_older_configuration() -> None:
    core = make(node="n2")
    newer = RingConfig(2, ("n1", "n2"))
    effects = core.on_message(0.0, "n1", {"type": "config", "config": newer.to_json()})
    assert effects == [Persist({"t": "config", **newer.to_json()})] and core.cfg == newer
    old = RingConfig(0, tuple(NODES))
    refused = core.on_message(0.1, "n3", {"type": "put", "op": "x", "key": "k", "version": [1, "a"],
                                          "value": 1, "epoch": 0, "config": old.to_json()})
    assert refused == [Send("n3", {"type": "stale", "op": "x", "config": newer.to_json()})]
    assert core.store.get("k")[1] is None
    restarted = HashRingCore("n2", ["n1", "n3"], random.Random(1), {})
    restarted.on_start(0.0, [{"t": "config", **newer.to_json()}])
    assert restarted.cfg == newer


def test_unsupported_ops_fail_definitely() -> None:
    core = make()
    body = core.on_request(0.0, "c", {"type": "cas", "key": "k", "from": 1, "to": 2, "req_id": "1"})[0].body
    assert body["code"] == 10 and body["definite"] is True


def test_store_install_overwrites_and_drop_forgets_and_both_replay_in_order() -> None:
    s = Store()
    kept = s.put("k", (3, "a"), 30)
    assert s.put("k", (1, "z"), 10) is None, "the write path never goes back"
    installed = s.install("k", (1, "z"), 10)
    assert s.get("k") == ((1, "z"), 10), "a bulk load overwrites a newer version (the lost-handoff bug)"
    dropped = s.drop("k")
    assert dropped == {"t": "drop", "key": "k"} and s.get("k") == ((0, ""), None) and s.drop("k") is None
    fresh = Store()
    fresh.recover([kept, installed])
    assert fresh.get("k") == ((1, "z"), 10)
    fresh.recover([kept, installed, dropped])
    assert "k" not in fresh.items


def test_only_the_lost_handoff_variant_snapshots_ingests_and_drops() -> None:
    flags = ("snapshot_handoff", "ingest_handoff", "drop_after_handoff")
    assert not any(getattr(HashRingCore, f) for f in flags) and HashRingCore.both_sets_in_transition
    assert all(getattr(LostHandoffCore, f) for f in flags) and not LostHandoffCore.both_sets_in_transition
    # the correct replica keeps the higher version even for a handoff copy
    core = make(node="n2")
    cfg = core.cfg.to_json()
    for cls, expect in ((HashRingCore, 2), (LostHandoffCore, 1)):
        core = make(cls, node="n2")
        core.on_message(0.0, "n1", {"type": "put", "op": "w1", "key": "k", "version": [2, "a"], "value": 2,
                                    "epoch": 0, "config": cfg})
        core.on_message(0.1, "n3", {"type": "put", "op": "h:n3:1:n2:k", "key": "k", "version": [1, "b"],
                                    "value": 1, "epoch": 0, "config": cfg})
        assert core.store.get("k")[1] == expect, cls.__name__
