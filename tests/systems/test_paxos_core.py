"""Unit tests of the Paxos core: feed one core events, assert on the effects it returns."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from systems_under_test.core import NOT_SUPPORTED, TIMEOUT, Core, Effect, Persist, Reply, Send, SetTimer
from systems_under_test.paxos import DESCRIPTOR
from systems_under_test.paxos.acceptor import Acceptor
from systems_under_test.paxos.log import Learner


def make(variant: str = "paxos", node: str = "n1", n: int = 3, durable: list[dict[str, Any]] | None = None,
         config: dict[str, Any] | None = None) -> Core:
    ids = [f"n{i}" for i in range(1, n + 1)]
    core = DESCRIPTOR.variant(variant).make_core(node, [p for p in ids if p != node], random.Random(7),
                                                 config)
    core.on_start(0.0, durable or [])
    return core


def sends(effects: list[Effect], kind: str | None = None) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and (kind is None or e.msg["type"] == kind)]


def replies(effects: list[Effect]) -> list[Reply]:
    return [e for e in effects if isinstance(e, Reply)]


def records(effects: list[Effect]) -> list[dict[str, Any]]:
    return [json.loads(json.dumps(e.record)) for e in effects if isinstance(e, Persist)]


def elect(core: Core, voters: list[str], now: float = 1.0, accepted: dict[str, list[Any]] | None = None
          ) -> list[Effect]:
    """Make ``core`` stand for leader and hand it phase-1 promises from ``voters``."""
    eff = core.on_timer(now, "election")
    p1a = sends(eff, "p1a")
    assert p1a, "a candidate sends prepares"
    ballot = p1a[0].msg["ballot"]
    for v in voters:
        msg = {"type": "p1b", "ballot": ballot, "ok": True, "accepted": (accepted or {}).get(v, []),
               "chosen": []}
        eff += core.on_message(now, v, msg)
    return eff


WRITE = {"type": "write", "key": "k", "value": 1, "id": "n9.1.1"}


def test_acceptor_never_accepts_below_its_promise() -> None:
    core = make(node="n2")
    eff = core.on_message(0.1, "n3", {"type": "p1a", "ballot": [5, "n3"], "first": 0})
    assert sends(eff, "p1b")[0].msg["ok"] is True
    eff = core.on_message(0.2, "n1", {"type": "p2a", "ballot": [3, "n1"], "slot": 0, "cmd": WRITE})
    nack = sends(eff, "p2b")[0].msg
    assert nack["ok"] is False and nack["promised"] == [5, "n3"]
    assert records(eff) == []
    eff = core.on_message(0.3, "n1", {"type": "p1a", "ballot": [4, "n1"], "first": 0})
    assert sends(eff, "p1b")[0].msg["ok"] is False
    eff = core.on_message(0.4, "n3", {"type": "p2a", "ballot": [5, "n3"], "slot": 0, "cmd": WRITE})
    assert sends(eff, "p2b")[0].msg["ok"] is True
    assert records(eff) == [{"accepted": 0, "ballot": [5, "n3"], "cmd": WRITE}]


def test_acceptor_persists_before_answering() -> None:
    core = make(node="n2")
    for msg in ({"type": "p1a", "ballot": [2, "n1"], "first": 0},
                {"type": "p2a", "ballot": [2, "n1"], "slot": 0, "cmd": WRITE}):
        eff = core.on_message(0.1, "n1", msg)
        kinds = [type(e).__name__ for e in eff]
        assert "Persist" in kinds and "Send" in kinds
        assert kinds.index("Persist") < kinds.index("Send"), kinds


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 6), st.sampled_from("abc"), st.integers(0, 3)),
                max_size=25))
def test_acceptor_promise_rule_and_replay(ops: list[tuple[bool, int, str, int]]) -> None:
    acc = Acceptor()
    log: list[dict[str, Any]] = []
    highest = (0, "")
    for is_prepare, rnd, node, slot in ops:
        b = (rnd, node)
        vote = acc.promise(b) if is_prepare else acc.accept(b, slot, {"type": "write", "value": rnd})
        assert vote.ok == (b >= highest)
        if vote.ok:
            highest = b
        log += json.loads(json.dumps(list(vote.records)))
        assert all(a.ballot <= acc.promised for a in acc.accepted.values())
    again = Acceptor()
    again.replay(log)
    assert again.promised == acc.promised
    assert again.accepted == acc.accepted


def test_leader_commits_only_with_a_majority_of_distinct_acceptors() -> None:
    core = make(n=5)
    elect(core, ["n2", "n3"])
    assert core.status()["role"] == "leader"
    eff = core.on_request(1.1, "c", {"type": "write", "key": "k", "value": 3, "req_id": "r1"})
    p2a = sends(eff, "p2a")
    assert {s.dst for s in p2a} == {"n2", "n3", "n4", "n5"}
    ok = {"type": "p2b", "ballot": p2a[0].msg["ballot"], "slot": p2a[0].msg["slot"], "ok": True}
    eff = core.on_message(1.2, "n2", ok) + core.on_message(1.2, "n2", ok)  # a duplicated answer
    eff += core.on_timer(1.3, "tick") + core.on_timer(1.4, "tick")  # retransmission: own vote again
    assert replies(eff) == [] and sends(eff, "decide") == []
    eff = core.on_message(1.5, "n3", ok)
    assert [r.body for r in replies(eff)] == [{"type": "write_ok"}]
    assert {s.dst for s in sends(eff, "decide")} == {"n2", "n3", "n4", "n5"}


def test_minority_accept_variant_commits_on_duplicate_votes() -> None:
    """The planted bug: the same sequence as above commits before a real majority voted."""
    core = make("paxos:minority-accept", n=5)
    elect(core, ["n2", "n3"])
    eff = core.on_request(1.1, "c", {"type": "write", "key": "k", "value": 3, "req_id": "r1"})
    p2a = sends(eff, "p2a")[0].msg
    ok = {"type": "p2b", "ballot": p2a["ballot"], "slot": p2a["slot"], "ok": True}
    eff = core.on_message(1.2, "n2", ok) + core.on_message(1.2, "n2", ok)
    assert [r.body for r in replies(eff)] == [{"type": "write_ok"}]


def test_new_leader_reproposes_the_highest_ballot_value_and_fills_holes() -> None:
    a = {"type": "write", "key": "k", "value": 1, "id": "n2.1.1"}
    b = {"type": "write", "key": "k", "value": 2, "id": "n3.1.1"}
    c = {"type": "cas", "key": "k", "from": 2, "to": 5, "id": "n3.1.2"}
    core = make(n=5)
    eff = elect(core, ["n2", "n3"],
                accepted={"n2": [[0, [1, "n2"], a]], "n3": [[0, [2, "n3"], b], [2, [2, "n3"], c]]})
    proposed = {s.msg["slot"]: s.msg["cmd"] for s in sends(eff, "p2a") if s.dst == "n2"}
    assert proposed == {0: b, 1: {"type": "noop"}, 2: c}
    eff = core.on_request(1.1, "c", {"type": "read", "key": "k", "req_id": "r"})
    assert [s.msg["slot"] for s in sends(eff, "p2a")] == [3] * 4


def test_follower_forwards_to_the_leader_it_knows() -> None:
    core = make(node="n2")
    core.on_message(0.1, "n1", {"type": "hb", "ballot": [1, "n1"], "applied": 0})
    assert core.status()["leader"] == "n1"
    eff = core.on_request(0.2, "c", {"type": "cas", "key": "k", "from": 1, "to": 2, "req_id": "r1"})
    fwd = sends(eff, "fwd")
    assert [s.dst for s in fwd] == ["n1"] and replies(eff) == []
    cmd = fwd[0].msg["cmds"][0]
    assert cmd["type"] == "cas" and cmd["id"].startswith("n2.")
    # The answer comes when the chosen log reaches the command: every replica computes the same one.
    eff = core.on_message(0.3, "n1", {"type": "decide", "slot": 1, "cmd": cmd})
    assert replies(eff) == []  # slot 0 is not known yet
    eff = core.on_message(0.4, "n1", {"type": "catchup", "entries": [[0, WRITE]]})
    assert [r.body for r in replies(eff)] == [{"type": "cas_ok"}]
    assert core.status()["commit_index"] == 2


def test_request_with_no_known_leader_is_held_then_fails_non_definitely() -> None:
    core = make(node="n2", config={"request_timeout": 1.0})
    eff = core.on_request(0.1, "c", {"type": "write", "key": "k", "value": 1, "req_id": "r1"})
    assert replies(eff) == [] and sends(eff) == []
    assert replies(core.on_timer(0.5, "tick")) == []
    late = replies(core.on_timer(1.2, "tick"))
    assert len(late) == 1 and late[0].body["code"] == TIMEOUT and late[0].body["definite"] is False


def test_unsupported_request_fails_definitely() -> None:
    (r,) = replies(make().on_request(0.1, "c", {"type": "txn", "req_id": "x"}))
    assert r.body["code"] == NOT_SUPPORTED and r.body["definite"] is True


def test_restart_rebuilds_promise_and_accepted_values_from_records() -> None:
    core = make(node="n2")
    durable = [{"boot": 1}]
    durable += records(core.on_message(0.1, "n1", {"type": "p1a", "ballot": [3, "n1"], "first": 0}))
    for slot, value in ((0, 10), (1, 11)):
        cmd = {"type": "write", "key": "k", "value": value, "id": f"n1.1.{slot}"}
        durable += records(core.on_message(0.2, "n1",
                                           {"type": "p2a", "ballot": [3, "n1"], "slot": slot, "cmd": cmd}))
    again = make(node="n2", durable=durable)
    assert again.status()["promised"] == [3, "n1"]
    eff = again.on_message(1.0, "n3", {"type": "p2a", "ballot": [2, "n3"], "slot": 0, "cmd": WRITE})
    assert sends(eff, "p2b")[0].msg["ok"] is False
    eff = again.on_message(1.1, "n3", {"type": "p1a", "ballot": [4, "n3"], "first": 0})
    p1b = sends(eff, "p1b")[0].msg
    accepted = [(row[0], row[1], row[2]["value"]) for row in p1b["accepted"]]
    assert accepted == [(0, [3, "n1"], 10), (1, [3, "n1"], 11)]
    # A new boot number keeps request ids unique across restarts.
    again.on_message(1.2, "n3", {"type": "hb", "ballot": [4, "n3"], "applied": 0})
    fwd = sends(again.on_request(1.3, "c", {"type": "read", "key": "k", "req_id": "r"}), "fwd")
    assert fwd[0].msg["cmds"][0]["id"] == "n2.2.1"


def test_leader_steps_down_when_an_acceptor_promised_higher() -> None:
    core = make()
    elect(core, ["n2"])
    eff = core.on_request(1.1, "c", {"type": "write", "key": "k", "value": 3, "req_id": "r1"})
    p2a = sends(eff, "p2a")[0].msg
    eff = core.on_message(1.2, "n2",
                          {"type": "p2b", "ballot": p2a["ballot"], "slot": p2a["slot"], "ok": False,
                           "promised": [9, "n3"]})
    assert core.status()["role"] == "follower"
    assert any(isinstance(e, SetTimer) and e.name == "election" for e in eff)
    nxt = sends(core.on_timer(2.0, "election"), "p1a")
    assert nxt[0].msg["ballot"][0] == 10, "a new ballot is above every ballot seen"


def test_reads_go_through_the_log_unless_the_stale_read_bug_is_planted() -> None:
    for variant, immediate in (("paxos", False), ("paxos:stale-read", True)):
        core = make(variant, node="n2")
        core.on_message(0.1, "n1", {"type": "hb", "ballot": [1, "n1"], "applied": 0})
        eff = core.on_request(0.2, "c", {"type": "read", "key": "k", "req_id": "r"})
        assert bool(replies(eff)) is immediate, variant
        assert bool(sends(eff, "fwd")) is not immediate, variant


def test_no_persist_variant_writes_no_acceptor_records() -> None:
    counts = {}
    for variant in ("paxos", "paxos:no-persist"):
        core = make(variant, node="n2")
        eff = core.on_message(0.1, "n1", {"type": "p1a", "ballot": [2, "n1"], "first": 0})
        eff += core.on_message(0.2, "n1", {"type": "p2a", "ballot": [2, "n1"], "slot": 0, "cmd": WRITE})
        counts[variant] = len(records(eff))
        assert sends(eff, "p2b")[0].msg["ok"] is True
    assert counts == {"paxos": 2, "paxos:no-persist": 0}


def test_single_node_cluster_commits_alone() -> None:
    core = make(n=1)
    core.on_timer(1.0, "election")
    assert core.status()["role"] == "leader"
    eff = core.on_request(1.1, "c", {"type": "write", "key": "k", "value": 4, "req_id": "w"})
    eff += core.on_request(1.2, "c", {"type": "read", "key": "k", "req_id": "r"})
    assert [r.body for r in replies(eff)] == [{"type": "write_ok"}, {"type": "read_ok", "value": 4}]


def test_a_command_chosen_twice_applies_once() -> None:
    learner = Learner()
    w1 = {"type": "write", "key": "k", "value": 1, "id": "a"}
    w2 = {"type": "write", "key": "k", "value": 2, "id": "b"}
    for slot, cmd in enumerate((w1, w2, w1)):
        learner.learn(slot, cmd)
    applied = learner.apply_ready()
    assert [a.cmd_id for a in applied] == ["a", "b", None]
    assert learner.state == {"k": 2} and learner.applied == 3


def test_status_and_descriptor() -> None:
    core = make()
    elect(core, ["n3"])
    status = core.status()
    assert status["role"] == "leader" and status["leader"] == "n1" and status["commit_index"] == 0
    assert isinstance(status["ballot"], list)
    names = [v.name for v in DESCRIPTOR.variants]
    assert names[0] == "paxos" and not DESCRIPTOR.variants[0].planted_bug
    assert set(names[1:]) == {"paxos:no-persist", "paxos:stale-read", "paxos:minority-accept"}
    assert all(v.planted_bug and v.description for v in DESCRIPTOR.variants[1:])
    assert DESCRIPTOR.workloads == ("register", "set") and DESCRIPTOR.default_nodes == 5


def test_leader_sends_chosen_entries_to_a_lagging_follower() -> None:
    core = make()
    elect(core, ["n2"])
    for k in range(3):
        eff = core.on_request(1.1, "c", {"type": "write", "key": "k", "value": k, "req_id": f"w{k}"})
        p2a = sends(eff, "p2a")[0].msg
        core.on_message(1.2, "n2", {"type": "p2b", "ballot": p2a["ballot"], "slot": p2a["slot"], "ok": True})
    assert core.status()["commit_index"] == 3
    eff = core.on_message(1.3, "n3", {"type": "hb_ack", "ballot": p2a["ballot"], "ok": True, "applied": 1})
    (catchup,) = sends(eff, "catchup")
    assert catchup.dst == "n3" and [row[0] for row in catchup.msg["entries"]] == [1, 2]
    assert [row[1]["value"] for row in catchup.msg["entries"]] == [1, 2]
    assert (
        sends(
            core.on_message(1.4, "n2", {"type": "hb_ack", "ballot": p2a["ballot"], "ok": True, "applied": 3})
        )
        == []
    )


def _leader_with_one_slot(n: int = 5) -> tuple[Core, dict[str, Any]]:
    core = make(n=n)
    elect(core, ["n2", "n3"])
    eff = core.on_request(1.1, "c", {"type": "write", "key": "k", "value": 3, "req_id": "r1"})
    return core, sends(eff, "p2a")[0].msg


def test_heartbeats_skip_followers_that_just_got_phase_2_and_are_caught_up() -> None:
    core, p2a = _leader_with_one_slot()
    ok = {"type": "p2b", "ballot": p2a["ballot"], "slot": p2a["slot"], "ok": True, "applied": 0}
    core.on_message(1.102, "n2", ok)
    core.on_message(1.102, "n3", ok)  # chosen: the leader's applied index is now 1
    hb = sends(core.on_timer(1.105, "tick"), "hb")
    assert {s.dst for s in hb} == {"n4", "n5"}, "n2 and n3 answered a p2a since the last tick; n4, n5 did not"
    core.on_request(1.12, "c", {"type": "write", "key": "k", "value": 4, "req_id": "r2"})
    core.on_message(1.13, "n2", {**ok, "slot": 1, "applied": 1})
    core.on_message(1.13, "n3", {**ok, "slot": 1, "applied": 0})  # n3 missed the first decision
    # n2 is caught up: no heartbeat. n3 is behind where the leader stood at the previous tick, so it
    # gets one (its answer drives catch-up).
    hb = sends(core.on_timer(1.155, "tick"), "hb")
    assert {s.dst for s in hb} == {"n3", "n4", "n5"}
    assert {s.dst for s in sends(core.on_timer(1.205, "tick"), "hb")} == {"n2", "n3", "n4", "n5"}, "idle: all"


def test_a_follower_keeps_its_election_deadline_without_rearming_the_host_timer() -> None:
    core = DESCRIPTOR.variant("paxos").make_core("n2", ["n1", "n3"], random.Random(7), None)
    start = [e for e in core.on_start(0.0, []) if isinstance(e, SetTimer) and e.name == "election"]
    assert len(start) == 1
    first = start[0].at
    rearmed = []
    for t in (0.1, 0.2, 0.25):
        eff = core.on_message(t, "n1", {"type": "hb", "ballot": [1, "n1"], "applied": 0})
        rearmed += [e for e in eff if isinstance(e, SetTimer) and e.name == "election"]
        assert sends(eff, "hb_ack")
    assert all(e.at < first for e in rearmed), "the host timer only ever moves earlier"
    due = min([first, *(e.at for e in rearmed)])
    eff = core.on_timer(due, "election")  # fires, but the leader was heard since: re-armed, no election
    assert sends(eff, "p1a") == []
    (again,) = [e for e in eff if isinstance(e, SetTimer) and e.name == "election"]
    assert 0.25 + 0.3 <= again.at < 0.25 + 0.6
    assert sends(core.on_timer(again.at, "election"), "p1a"), "silence until the deadline: stand for leader"


def test_retransmission_backs_off_and_skips_acceptors_that_voted() -> None:
    core, p2a = _leader_with_one_slot()
    core.on_message(1.11, "n2", {"type": "p2b", "ballot": p2a["ballot"], "slot": p2a["slot"], "ok": True})
    resent = {}
    for t in (1.12, 1.16, 1.2, 1.26, 1.4, 1.46, 1.6, 1.66):
        resent[t] = {s.dst for s in sends(core.on_timer(t, "tick"), "p2a")}
    assert resent[1.12] == set(), "answers to a fresh p2a are still in flight"
    assert resent[1.16] == {"n3", "n4", "n5"}, "n2's vote is already counted"
    assert [t for t, dst in resent.items() if dst] == [1.16, 1.26, 1.46, 1.66], "backoff 0.1 s, then 0.2 s"
