"""Two-phase commit driven through the pure cluster driver: crashes, partitions and the planted bugs.

Each scenario is deterministic (virtual time, one seed) and asserts on what clients and an auditor see:
the bank total must be conserved in every ``ok`` balance read, and an ``ok``/``fail`` answer must match
what the shards actually did.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from systems_under_test.twopc import NoDecisionLogCore, TwoPCCore, UnilateralCommitCore
from systems_under_test.twopc.core import DEFAULT_ACCOUNTS
from systems_under_test.twopc.shards import owner

try:
    from .cluster_driver import Cluster
except ImportError:  # pragma: no cover - run from the tests/systems directory
    from cluster_driver import Cluster

NODES = ["n1", "n2", "n3"]
TOTAL = sum(DEFAULT_ACCOUNTS.values())


def account_on(node: str) -> str:
    """A default bank account stored on ``node``."""
    return next(a for a in sorted(DEFAULT_ACCOUNTS) if owner(a, NODES) == node)


class TxCluster(Cluster):
    """The shared driver plus reply capture and a message filter (drop by type/direction)."""

    def __init__(self, make_core: Any, **kw: Any) -> None:
        super().__init__(make_core, **kw)
        self.replies: dict[str, dict[str, Any]] = {}
        self.drop: Callable[[str, str, dict[str, Any]], bool] | None = None
        self._ids = 0

    def _ev_answer(self, rid: str, body: dict[str, Any]) -> None:
        self.replies[rid] = body
        super()._ev_answer(rid, body)

    def _ev_msg(self, src: str, dst: str, raw: str) -> None:
        if self.drop is not None and self.drop(src, dst, json.loads(raw)):
            self.stats.dropped += 1
            return
        super()._ev_msg(src, dst, raw)

    def submit(self, node: str, req: dict[str, Any]) -> str:
        """Send a client request to ``node``; its reply (if any) lands in ``replies[rid]``."""
        self._ids += 1
        rid = f"t{self._ids}"
        self._push(self.now + self._lat(), "request", (node, {**req, "req_id": rid}))
        return rid

    def ask(self, node: str, req: dict[str, Any], wait: float = 3.0) -> dict[str, Any] | None:
        """Submit and run the clock ``wait`` seconds; the reply or None."""
        rid = self.submit(node, req)
        self.run_until(self.now + wait)
        return self.replies.get(rid)

    def total(self) -> int:
        """The bank total as stored on the shards (an auditor's view, not a client's)."""
        return sum(v for i in self.ids for k, v in self.core(i).participant.data.items()
                   if k in DEFAULT_ACCOUNTS)


def test_transfers_and_reads_conserve_the_total_in_the_correct_variant() -> None:
    for seed in range(3):
        c = TxCluster(TwoPCCore, n=3, seed=seed, loss=0.05, dup=0.05)
        rng = random.Random(seed)
        accounts = sorted(DEFAULT_ACCOUNTS)
        rids: list[tuple[str, str]] = []
        for step in range(150):
            node = rng.choice(NODES)
            if rng.random() < 0.3:
                rids.append(("read", c.submit(node, {"type": "balances"})))
            else:
                a, b = rng.sample(accounts, 2)
                rids.append(("transfer", c.submit(node, {"type": "transfer", "from": a, "to": b,
                                                         "amount": rng.randint(1, 15)})))
            if step == 60:
                c.crash("n1")
            if step == 75:
                c.restart("n1")
            if step == 100:
                c.isolate(["n3"])
            if step == 120:
                c.heal()
            c.run_until(c.now + rng.uniform(0.0, 0.12))
        c.run_until(c.now + 10)
        reads = [c.replies[r] for kind, r in rids if kind == "read"
                 and c.replies.get(r, {}).get("type") == "balances_ok"]
        oks = [r for kind, r in rids if kind == "transfer"
               and c.replies.get(r, {}).get("type") == "transfer_ok"]
        assert len(reads) >= 5 and len(oks) >= 10, (len(reads), len(oks))
        for body in reads:
            assert sum(body["value"].values()) == TOTAL, body
            assert min(body["value"].values()) >= 0, body
        assert c.total() == TOTAL
        assert all(c.core(i).status()["in_doubt"] == [] for i in NODES), "everything resolved after healing"
        final = c.ask("n2", {"type": "balances"})
        assert final is not None and sum(final["value"].values()) == TOTAL


def test_list_append_txns_across_shards_commit_atomically() -> None:
    c = TxCluster(TwoPCCore, n=3, seed=4)
    keys = [next(f"x{i}" for i in range(100) if owner(f"x{i}", NODES) == n) for n in NODES]
    for v in range(1, 6):
        body = c.ask(NODES[v % 3], {"type": "txn", "txn": [["append", k, v] for k in keys]})
        assert body == {"type": "txn_ok", "txn": [["append", k, v] for k in keys]}
    body = c.ask("n3", {"type": "txn", "txn": [["r", k, None] for k in keys]})
    assert body is not None and body["txn"] == [["r", k, [1, 2, 3, 4, 5]] for k in keys]


def _crash_coordinator_before_decision(cls: type[TwoPCCore]) -> tuple[TxCluster, str, dict[str, Any]]:
    """Transfer between the coordinator's shard and n2; the votes never reach n1, which then crashes."""
    c = TxCluster(cls, n=3, seed=11)
    src, dst = account_on("n1"), account_on("n2")
    c.partition({"n1": ["n2", "n3"]})  # n1 hears no vote
    rid = c.submit("n1", {"type": "transfer", "from": src, "to": dst, "amount": 7})
    c.run_until(0.3)
    assert c.core("n1").status()["in_doubt"] and c.core("n2").status()["in_doubt"], "both shards PREPARED"
    c.crash("n1")
    c.heal()
    c.run_until(20.0)  # far beyond every doubt timeout
    return c, rid, {"src": src, "dst": dst}


def test_coordinator_crash_between_prepare_and_decision_blocks_then_resolves() -> None:
    c, rid, acct = _crash_coordinator_before_decision(TwoPCCore)
    n2 = c.core("n2")
    assert len(n2.status()["in_doubt"]) == 1, "a correct participant never decides alone"
    assert n2.participant.locked_keys() == [acct["dst"]] and n2.participant.data[acct["dst"]] == 20
    assert rid not in c.replies, "the client gets no answer while the outcome is unknown"
    c.restart("n1")
    c.run_until(25.0)
    assert n2.status()["in_doubt"] == [] and c.core("n1").status()["in_doubt"] == []
    assert n2.participant.locked_keys() == [] and c.total() == TOTAL, "presumed abort on both shards"
    assert c.core("n2").participant.outcomes and set(n2.participant.outcomes.values()) == {"abort"}


def test_unilateral_commit_decides_alone_and_breaks_atomicity() -> None:
    c, _, acct = _crash_coordinator_before_decision(UnilateralCommitCore)
    n2 = c.core("n2")
    assert n2.status()["in_doubt"] == [] and n2.participant.data[acct["dst"]] == 27, "n2 committed alone"
    c.restart("n1")
    c.run_until(25.0)
    assert c.core("n1").participant.data[acct["src"]] == 20, "the coordinator's shard presumed abort"
    read = c.ask("n2", {"type": "balances"})
    assert read is not None and read["type"] == "balances_ok"
    assert sum(read["value"].values()) == TOTAL + 7, "money was created: half a transfer committed"


@pytest.mark.parametrize("cls, conserved", [(TwoPCCore, True), (NoDecisionLogCore, False)])
def test_coordinator_crash_after_commit_with_a_decision_lost_in_flight(
    cls: type[TwoPCCore], conserved: bool
) -> None:
    c = TxCluster(cls, n=3, seed=12)
    src, dst = account_on("n2"), account_on("n3")
    c.drop = lambda s, d, m: d == "n3" and m["type"] == "decision"  # n3 never hears the decision
    rid = c.submit("n1", {"type": "transfer", "from": src, "to": dst, "amount": 5})
    c.run_until(0.5)
    assert c.replies[rid] == {"type": "transfer_ok"}, "ok once the decision was taken"
    assert c.core("n2").participant.data[src] == 15 and c.core("n3").status()["in_doubt"]
    c.crash("n1")
    c.restart("n1")
    c.drop = None
    c.run_until(10.0)
    assert c.core("n3").status()["in_doubt"] == []
    read = c.ask("n1", {"type": "balances"})
    assert read is not None and read["type"] == "balances_ok"
    if conserved:
        assert read["value"][dst] == 25 and sum(read["value"].values()) == TOTAL
    else:
        assert read["value"][dst] == 20, "the restarted coordinator presumed abort for an acknowledged commit"
        assert sum(read["value"].values()) == TOTAL - 5


def test_a_participant_that_crashes_while_prepared_recovers_in_doubt_and_learns_the_commit() -> None:
    c = TxCluster(TwoPCCore, n=3, seed=13)
    src, dst = account_on("n2"), account_on("n3")
    c.drop = lambda s, d, m: d == "n3" and m["type"] == "decision"
    rid = c.submit("n2", {"type": "transfer", "from": src, "to": dst, "amount": 4})
    c.run_until(0.3)
    assert c.replies[rid] == {"type": "transfer_ok"} and c.core("n3").status()["in_doubt"]
    c.crash("n3")
    c.drop = None
    c.restart("n3")
    n3 = c.core("n3")
    assert n3.status()["in_doubt"] and n3.participant.locked_keys() == [dst], "PREPARED survived the crash"
    c.run_until(2.0)
    assert n3.status()["in_doubt"] == [] and n3.participant.data[dst] == 24 and c.total() == TOTAL
    c.crash("n3")
    c.restart("n3")
    assert c.core("n3").participant.data[dst] == 24, "the commit record is durable too"
