"""Sans-IO unit tests of the two-phase-commit cores: feed events to one core, assert on its effects."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from systems_under_test.core import Persist, Reply, Send, SetTimer
from systems_under_test.registry import resolve
from systems_under_test.twopc import DESCRIPTOR, NoDecisionLogCore, TwoPCCore, UnilateralCommitCore
from systems_under_test.twopc.shards import evaluate, owner, split, validate

NODES = ["n1", "n2", "n3"]


def make(cls: type[TwoPCCore] = TwoPCCore, node: str = "n1", **config: Any) -> TwoPCCore:
    core = cls(node, [n for n in NODES if n != node], random.Random(7), config)
    core.on_start(0.0, [])
    return core


def key_on(node: str, prefix: str = "k") -> str:
    """The first key named ``prefix<i>`` that the hash places on ``node``."""
    return next(f"{prefix}{i}" for i in range(1000) if owner(f"{prefix}{i}", NODES) == node)


def sends(effects: list[Any], kind: str) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and e.msg["type"] == kind]


def test_descriptor_lists_correct_variant_first_and_two_bugs() -> None:
    names = [v.name for v in DESCRIPTOR.variants]
    assert names[0] == "twopc" and not DESCRIPTOR.variants[0].planted_bug
    assert {"twopc:unilateral-commit", "twopc:no-decision-log"} <= set(names)
    assert all(v.planted_bug and v.description for v in DESCRIPTOR.variants[1:])
    _, v = resolve("twopc:no-decision-log")
    assert isinstance(v.make_core("n1", NODES, random.Random(1), {}), NoDecisionLogCore)


def test_owner_is_deterministic_and_spreads_keys() -> None:
    placed = [owner(f"k{i}", NODES) for i in range(300)]
    assert placed == [owner(f"k{i}", list(reversed(NODES))) for i in range(300)]
    counts = {n: placed.count(n) for n in NODES}
    assert min(counts.values()) > 60, counts


def test_evaluate_reads_see_earlier_writes_and_add_refuses_negative() -> None:
    ev = evaluate({"a": [1], "b": 5}, [(0, ["append", "a", 2]), (1, ["r", "a", None]), (2, ["r", "c", None])])
    assert ev.reads == {1: [1, 2], 2: None} and ev.writes == {"a": [1, 2]} and ev.refusal is None
    assert evaluate({"b": 5}, [(0, ["add", "b", -6])]).refusal is not None
    assert evaluate({"b": 5}, [(0, ["add", "b", -5])]).writes == {"b": 0}
    with pytest.raises(ValueError):
        validate([["incr", "a", 1]])
    shards = split(validate([["r", key_on("n2"), None], ["w", key_on("n3"), 1]]), NODES)
    assert set(shards) == {"n2", "n3"} and shards["n3"][0][0] == 1


def test_participant_persists_prepared_before_voting_yes() -> None:
    core = make(node="n2")
    k = key_on("n2")
    effects = core.on_message(0.1, "n1", {"type": "prepare", "txid": "n1.1.1", "ops": [[0, ["w", k, 3]]]})
    kinds = [type(e).__name__ for e in effects]
    assert kinds.index("Persist") < kinds.index("Send"), kinds
    vote = sends(effects, "vote")[0]
    assert vote.dst == "n1" and vote.msg["yes"] is True
    assert any(isinstance(e, SetTimer) and e.name == "doubt:n1.1.1" for e in effects)
    assert core.status()["in_doubt"] == ["n1.1.1"] and core.participant.data.get(k) is None


def test_conflicting_prepare_votes_no_without_waiting() -> None:
    core = make(node="n2")
    k = key_on("n2")
    core.on_message(0.1, "n1", {"type": "prepare", "txid": "n1.1.1", "ops": [[0, ["w", k, 3]]]})
    effects = core.on_message(0.2, "n1", {"type": "prepare", "txid": "n1.1.2", "ops": [[0, ["r", k, None]]]})
    assert not any(isinstance(e, Persist) for e in effects)
    assert sends(effects, "vote")[0].msg == {"type": "vote", "txid": "n1.1.2", "yes": False,
                                             "reason": "conflict", "text": f"{k} locked by n1.1.1"}
    # two readers share a key
    core.on_message(0.3, "n1", {"type": "decision", "txid": "n1.1.1", "outcome": "commit"})
    assert core.participant.data[k] == 3
    for t in ("n1.1.3", "n1.1.4"):
        eff = core.on_message(0.4, "n1", {"type": "prepare", "txid": t, "ops": [[0, ["r", k, None]]]})
        assert sends(eff, "vote")[0].msg["yes"] is True and sends(eff, "vote")[0].msg["reads"] == [[0, 3]]


@pytest.mark.parametrize("cls, logged", [(TwoPCCore, True), (NoDecisionLogCore, False)])
def test_commit_decision_is_durable_before_anyone_hears_it(cls: type[TwoPCCore], logged: bool) -> None:
    core = make(cls)
    k2, k3 = key_on("n2"), key_on("n3")
    req = {"type": "txn", "req_id": "r1", "txn": [["append", k2, 1], ["r", k3, None]]}
    effects = core.on_request(0.0, "c", req)
    prepares = sends(effects, "prepare")
    assert sorted(p.dst for p in prepares) == ["n2", "n3"]
    txid = prepares[0].msg["txid"]
    assert core.on_message(0.01, "n2", {"type": "vote", "txid": txid, "yes": True, "reads": []}) == []
    effects = core.on_message(0.02, "n3", {"type": "vote", "txid": txid, "yes": True, "reads": [[1, [9]]]})
    persists = [i for i, e in enumerate(effects) if isinstance(e, Persist) and e.record["t"] == "decision"]
    outs = [i for i, e in enumerate(effects) if isinstance(e, (Send, Reply))]
    assert bool(persists) is logged
    if logged:
        assert persists[0] < min(outs)
    reply = next(e for e in effects if isinstance(e, Reply))
    assert reply.body == {"type": "txn_ok", "txn": [["append", k2, 1], ["r", k3, [9]]]}
    assert {s.dst for s in sends(effects, "decision")} == {"n2", "n3"}


def test_vote_timeout_aborts_definitely_and_a_no_vote_maps_to_its_error_code() -> None:
    core = make()
    k2, k3 = key_on("n2", "acct"), key_on("n3", "acct")
    effects = core.on_request(0.0, "c",
                              {"type": "transfer", "req_id": "r1", "from": k2, "to": k3, "amount": 1})
    txid = sends(effects, "prepare")[0].msg["txid"]
    effects = core.on_timer(1.0, f"vote:{txid}")
    reply = next(e for e in effects if isinstance(e, Reply))
    assert reply.body["code"] == 14 and reply.body["definite"] is True
    assert not any(isinstance(e, Persist) for e in effects), "aborts are presumed, never logged"
    effects = core.on_request(
        2.0, "c", {"type": "transfer", "req_id": "r2", "from": k2, "to": k3, "amount": 1}
    )
    txid = sends(effects, "prepare")[0].msg["txid"]
    effects = core.on_message(
        2.1, "n2", {"type": "vote", "txid": txid, "yes": False, "reason": "precondition"}
    )
    assert next(e for e in effects if isinstance(e, Reply)).body["code"] == 22


def test_restarted_participant_is_in_doubt_and_asks_the_coordinator() -> None:
    core = make(node="n3")
    k = key_on("n3")
    effects = core.on_message(0.1, "n1", {"type": "prepare", "txid": "n1.1.5", "ops": [[0, ["w", k, 4]]]})
    durable = [json.loads(json.dumps(e.record)) for e in effects if isinstance(e, Persist)]
    fresh = TwoPCCore("n3", ["n1", "n2"], random.Random(8), {})
    effects = fresh.on_start(5.0, durable)
    assert [s.msg for s in sends(effects, "query")] == [{"type": "query", "txid": "n1.1.5"}]
    assert fresh.status()["in_doubt"] == ["n1.1.5"] and fresh.participant.locked_keys() == [k]
    # correct participant: its doubt timer only asks again
    assert sends(fresh.on_timer(5.5, "doubt:n1.1.5"), "query")
    assert fresh.status()["in_doubt"] == ["n1.1.5"]
    # the buggy one decides alone
    rogue = UnilateralCommitCore("n3", ["n1", "n2"], random.Random(8), {})
    rogue.on_start(5.0, durable)
    rogue.on_timer(6.0, "doubt:n1.1.5")
    assert rogue.status()["in_doubt"] == [] and rogue.participant.data[k] == 4


def test_restarted_coordinator_remembers_commits_and_presumes_abort_otherwise() -> None:
    core = make()
    k2 = key_on("n2")
    effects = core.on_request(0.0, "c", {"type": "txn", "req_id": "r1", "txn": [["w", k2, 1]]})
    txid = sends(effects, "prepare")[0].msg["txid"]
    effects = core.on_message(0.1, "n2", {"type": "vote", "txid": txid, "yes": True, "reads": []})
    durable = [{"t": "boot", "n": 1}] + [e.record for e in effects if isinstance(e, Persist)]
    fresh = TwoPCCore("n1", ["n2", "n3"], random.Random(9), {})
    effects = fresh.on_start(3.0, durable)
    assert fresh.status()["boot"] == 2
    assert any(isinstance(e, SetTimer) and e.name == f"resend:{txid}" for e in effects)
    answer = sends(fresh.on_message(3.1, "n2", {"type": "query", "txid": txid}), "decision")[0]
    assert answer.msg["outcome"] == "commit"
    unknown = sends(fresh.on_message(3.1, "n2", {"type": "query", "txid": "n1.1.99"}), "decision")[0]
    assert unknown.msg["outcome"] == "abort"


def test_forwarded_requests_are_answered_through_the_origin_and_not_run_twice() -> None:
    n2 = make(node="n2")
    effects = n2.on_request(0.0, "c", {"type": "balances", "req_id": "7"})
    fwd = sends(effects, "fwd")[0]
    assert fwd.dst == "n1" and fwd.msg["rid"] == "7"
    n1 = make()
    first = n1.on_message(0.1, "n2", fwd.msg)
    assert sends(first, "prepare") or any(isinstance(e, Send) for e in first)
    assert n1.on_message(0.2, "n2", fwd.msg) == [], "a duplicated forward must not start a second txn"
    back = n2.on_message(0.3, "n1", {"type": "fwd_reply", "rid": "7", "body": {"type": "balances_ok"}})
    assert back == [Reply("7", {"type": "balances_ok"})]
    bad = n2.on_request(0.0, "c", {"type": "transfer", "req_id": "8", "from": "a", "to": "a", "amount": 1})
    assert bad[0].body["definite"] is True and bad[0].body["code"] == 1000
