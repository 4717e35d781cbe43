"""Whole-cluster tests of Paxos in the deterministic driver: safety under faults, progress, planted bugs."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from checkers.history import OK, Op, dumps
from systems_under_test.paxos import DESCRIPTOR

try:  # tests/systems may or may not be a package
    from .cluster_driver import Cluster, check_register
except ImportError:
    from cluster_driver import Cluster, check_register

KEYS = ["a", "b", "c"]
Faults = Callable[[Cluster, random.Random, float], None]


def chaos(c: Cluster, rng: random.Random, until: float) -> None:
    """Random partitions (two-sided and one-way grudges), crashes of one or all nodes, clock jumps."""
    t = 0.5
    while t < until:
        kind = rng.choice(["isolate", "grudge", "crash", "crash_all", "heal", "clock"])
        if kind == "isolate":
            side = rng.sample(c.ids, rng.randint(1, len(c.ids) - 1))
            c.at(t, lambda s=side: c.isolate(s))
        elif kind == "grudge":
            g = {i: [j for j in c.ids if j != i and rng.random() < 0.4] for i in c.ids}
            c.at(t, lambda g=g: c.partition(g))
        elif kind == "crash":
            n, d = rng.choice(c.ids), rng.uniform(0.1, 1.5)
            c.at(t, lambda n=n: c.crash(n))
            c.at(t + d, lambda n=n: c.restart(n))
        elif kind == "crash_all":
            d = rng.uniform(0.05, 0.5)
            for n in c.ids:
                c.at(t, lambda n=n: c.crash(n))
                c.at(t + d, lambda n=n: c.restart(n))
        elif kind == "heal":
            c.at(t, c.heal)
        else:
            n, off = rng.choice(c.ids), rng.uniform(-5.0, 5.0)
            c.at(t, lambda n=n, o=off: c.set_clock(n, o))
        t += rng.uniform(0.2, 1.0)


def crash_everyone(c: Cluster, rng: random.Random, until: float) -> None:
    """Crash every node at once (twice), restarting them shortly after: tests what acceptors remember."""
    for t in (until * 0.4, until * 0.7):
        d = rng.uniform(0.05, 0.3)
        for n in c.ids:
            c.at(t, lambda n=n: c.crash(n))
            c.at(t + d, lambda n=n: c.restart(n))


def isolate_a_follower(c: Cluster, rng: random.Random, until: float) -> None:
    """Cut one non-leader node off from the others for a while."""
    def cut() -> None:
        leader = c.leader()
        c.isolate([rng.choice([i for i in c.ids if i != leader])])
    c.at(until * 0.25, cut)
    c.at(until * 0.75, c.heal)


def isolate_the_leader(c: Cluster, rng: random.Random, until: float) -> None:
    """Put the current leader into a minority (alone, or with one other node in a 5-node cluster)."""
    def cut() -> None:
        leader = c.leader() or c.ids[0]
        others = [i for i in c.ids if i != leader]
        c.isolate([leader, *rng.sample(others, (len(c.ids) - 1) // 2 - 1)])
    c.at(until * 0.25, cut)
    c.at(until * 0.75, c.heal)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished run: the cluster (history, cores, stats) and the post-heal probe processes."""

    c: Cluster
    probes: tuple[int, ...]

    @property
    def history(self) -> list[Op]:
        """The run's history."""
        return self.c.history


def run(variant: str, seed: int, faults: Faults, *, n: int = 3, until: float = 4.0, loss: float = 0.05,
        dup: float = 0.05) -> Outcome:
    """One test run: clients + faults until ``until``, then heal, restart everyone, quiesce, final reads."""
    c = Cluster(DESCRIPTOR.variant(variant).make_core, n=n, seed=seed, loss=loss, dup=dup)
    c.add_clients(4, KEYS, until=until)
    faults(c, random.Random(seed * 7919 + 1), until)
    c.run_until(until)
    c.heal()
    for i in c.ids:
        c.restart(i)
    # Progress probe: right after healing, one write through every node must succeed within 3 s.
    probes = tuple(c.request(i, {"type": "write", "key": "probe", "value": -k}, value=["probe", -k],
                             timeout=3.0)
                   for k, i in enumerate(c.ids, 1))
    c.run_until(until + 3.1)
    c.final_reads(KEYS)
    return Outcome(c, probes)


def probes_ok(out: Outcome) -> bool:
    """Every post-heal probe write was acknowledged (bounded recovery time)."""
    done = [out.c.completion(p) for p in out.probes]
    return all(op is not None and op.type == OK for op in done)


def final_reads_ok(c: Cluster) -> bool:
    """Every key's final read was answered."""
    tail = [op for op in c.history[-4 * len(KEYS):] if op.type == OK and op.f == "read"]
    return {op.value[0] for op in tail} >= set(KEYS)


def chosen_logs_agree(c: Cluster) -> bool:
    """No two nodes hold different commands as chosen for the same slot."""
    seen: dict[int, Any] = {}
    for i in c.ids:
        for slot, cmd in c.core(i).learner.chosen.items():  # type: ignore[attr-defined]
            if seen.setdefault(slot, cmd) != cmd:
                return False
    return True


@pytest.mark.parametrize("n", [3, 5])
def test_correct_paxos_is_linearizable_under_random_faults(n: int) -> None:
    crashes = drops = infos = 0
    for seed in range(15):
        out = run("paxos", seed, chaos, n=n)
        c = out.c
        assert check_register(c.history) is True, f"seed {seed}"
        assert chosen_logs_agree(c), f"seed {seed}"
        assert final_reads_ok(c) and probes_ok(out), f"seed {seed}: no progress after healing"
        crashes += c.stats.crashes
        drops += c.stats.dropped
        infos += sum(op.type == "info" for op in c.history)
    assert crashes > 0 and drops > 0 and infos > 0, "the faults must actually bite"


def test_correct_paxos_survives_the_faults_that_expose_each_bug() -> None:
    for faults in (crash_everyone, isolate_a_follower, isolate_the_leader):
        for seed in range(4):
            for n in (3, 5):
                out = run("paxos", seed, faults, n=n)
                assert check_register(out.history) is True, (faults.__name__, seed, n)
                assert final_reads_ok(out.c) and probes_ok(out), (faults.__name__, seed, n)


@pytest.mark.parametrize(
    ("variant", "faults"),
    [("paxos:no-persist", crash_everyone), ("paxos:stale-read", isolate_a_follower),
     ("paxos:minority-accept", isolate_the_leader)],
)
def test_planted_bug_is_detected(variant: str, faults: Faults) -> None:
    detected = [
        (seed, n) for seed in range(6) for n in (3, 5)
        if check_register(run(variant, seed, faults, n=n).history) is False
    ]
    assert detected, f"{variant} was never caught"


def test_a_minority_makes_no_progress_and_a_healed_majority_does() -> None:
    c = Cluster(DESCRIPTOR.variant("paxos").make_core, n=5, seed=3)
    c.run_until(1.0)
    leader = c.leader()
    assert leader is not None
    minority = [leader, next(i for i in c.ids if i != leader)]
    majority = [i for i in c.ids if i not in minority]
    c.isolate(minority)
    procs = {i: c.request(i, {"type": "write", "key": "k", "value": k}, value=["k", k], timeout=1.5)
             for k, i in enumerate(c.ids)}
    c.run_until(3.0)
    for i, p in procs.items():
        done = c.completion(p)
        assert done is not None
        assert (done.type == OK) is (i in majority), (i, done)
    c.heal()
    c.crash(majority[0])  # a majority (3 of 5) stays up
    c.run_until(3.1)
    procs = {i: c.request(i, {"type": "read", "key": "k"}, value=["k", None], timeout=3.0)
             for i in c.ids if i != majority[0]}
    c.run_until(6.5)
    for i, p in procs.items():
        done = c.completion(p)
        assert done is not None and done.type == OK, (i, done)
    assert check_register(c.history) is True


def test_same_seed_same_history() -> None:
    a = run("paxos", 11, chaos)
    b = run("paxos", 11, chaos)
    assert [dumps(op) for op in a.history] == [dumps(op) for op in b.history]
    assert len(a.history) > 20


def test_checker_catches_a_lost_write() -> None:
    """The driver's checker is not vacuous: a read missing an acknowledged write is rejected."""
    c = Cluster(DESCRIPTOR.variant("paxos").make_core, n=3, seed=0)
    c.run_until(1.0)
    c.request("n1", {"type": "write", "key": "k", "value": 1}, value=["k", 1])
    c.run_until(2.0)
    c.request("n2", {"type": "read", "key": "k"}, value=["k", None])
    c.run_until(3.0)
    good = list(c.history)
    assert check_register(good) is True and good[-1].value == ["k", 1]
    bad = good[:-1] + [good[-1].__class__(good[-1].index, good[-1].time, OK, good[-1].process, "read",
                                          ["k", None])]
    assert check_register(bad) is False


@pytest.mark.parametrize("fault", ["crash", "partition"])
def test_a_lagging_node_catches_up(fault: str) -> None:
    c = Cluster(DESCRIPTOR.variant("paxos").make_core, n=3, seed=5)
    c.run_until(1.0)
    lagger = next(i for i in c.ids if i != c.leader())
    if fault == "crash":
        c.crash(lagger)
    else:
        c.isolate([lagger])
    c.add_clients(3, KEYS, until=3.0, nodes=[i for i in c.ids if i != lagger])
    c.run_until(3.5)
    leader = c.core(c.leader() or "")
    assert leader.learner.applied > 50  # type: ignore[attr-defined]
    c.restart(lagger)
    c.heal()
    c.run_until(4.5)
    behind = c.core(lagger)
    assert behind.learner.applied == leader.learner.applied  # type: ignore[attr-defined]
    assert behind.learner.state == leader.learner.state  # type: ignore[attr-defined]


def detection_rates(seeds: int = 20) -> list[tuple[str, str, int, int]]:
    """(variant, faults, nodes, runs judged non-linearizable) over ``seeds`` seeds, for the report."""
    plan: list[tuple[str, Faults]] = [
        ("paxos", chaos), ("paxos:no-persist", crash_everyone), ("paxos:stale-read", isolate_a_follower),
        ("paxos:minority-accept", isolate_the_leader), ("paxos:no-persist", chaos),
        ("paxos:stale-read", chaos),
        ("paxos:minority-accept", chaos),
    ]
    return [
        (variant, faults.__name__, n, sum(check_register(run(variant, s, faults, n=n).history) is False
                                          for s in range(seeds)))
        for variant, faults in plan for n in (3, 5)
    ]


if __name__ == "__main__":  # python tests/systems/test_paxos_cluster.py  -> detection rates over 20 seeds
    for variant, faults, n, bad in detection_rates():
        print(f"{variant:24s} {faults:20s} n={n}  invalid in {bad}/20 seeds")
