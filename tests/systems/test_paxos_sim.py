"""Paxos through the real runner on the simulator backend (the same path `splitbrain run --backend sim` takes)."""

from __future__ import annotations

from checkers.history import OK, Op
from checkers.linearizability import check
from harness.run.simrun import run_spec
from harness.run.spec import RunSpec
from nemesis.schedule import from_json

try:  # tests/systems may or may not be a package
    from .cluster_driver import check_register
except ImportError:
    from cluster_driver import check_register


def _run(system: str, seed: int, *, nodes: int, nemesis: tuple[str, ...] = (), schedule: list[dict] | None = None
         ) -> list[Op]:
    spec = RunSpec(system=system, backend="sim", seed=seed, time_limit=8.0, rate=60.0, concurrency=5, nodes=nodes,
                   nemesis=nemesis, nemesis_interval=1.0, quiesce=2.0)
    run = run_spec(spec, schedule=from_json(schedule) if schedule is not None else None)
    assert run.outcome.error is None, run.outcome.error
    return list(run.outcome.ops)


def _verdict(ops: list[Op]) -> bool | str:
    mine = check_register([op for op in ops if op.is_client])
    theirs = check(ops, "cas-register").valid
    assert theirs == mine, f"checkers disagree: driver {mine}, checkers.linearizability {theirs}"
    return mine


def test_correct_paxos_is_linearizable_in_the_simulator() -> None:
    ops = _run("paxos", 4, nodes=5, nemesis=("partition", "kill", "pause", "clock", "packet"))
    assert sum(op.type == OK for op in ops if op.is_client) > 150  # progress despite faults that may take down a majority
    assert any(not op.is_client for op in ops), "the nemesis acted"
    assert _verdict(ops) is True


def test_kill_everyone_separates_correct_from_no_persist_in_the_simulator() -> None:
    nodes = ["n1", "n2", "n3"]
    schedule = [{"at": 3.0, "f": "kill", "value": nodes}, {"at": 3.3, "f": "start", "value": nodes}]
    verdicts = {v: [_verdict(_run(v, seed, nodes=3, schedule=schedule)) for seed in range(3)]
                for v in ("paxos", "paxos:no-persist")}
    assert verdicts["paxos"] == [True, True, True]
    assert False in verdicts["paxos:no-persist"]
