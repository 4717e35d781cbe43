"""Workloads come in two halves: a stateless spec (options, requests, completions, final reads, checkers)
and a per-run op generator. Judging a history needs only the spec; the op sequence of a seed is pinned."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random

import pytest

from checkers.history import Op
from harness.run import session
from harness.run.spec import RunSpec
from harness.workloads import OptionError, WorkloadSpec, make_workload, workload_classes, workload_spec
from harness.workloads.register import RegisterOptions

# sha256 of the first 300 ops each workload's generator draws from random.Random(11) with default
# options (the same digests as before workloads were split into spec and generator). They pin the op
# sequence: a refactor that changes it would change every stored seed's history.
SEQUENCE_DIGESTS = {
    "register": "95d16eedbc618703d86687eb8aba08ecbb4426a32ac97f0a84335bc139e41d70",
    "set": "2ba6f4f650059b7f7cddb18e11e4c75a90f4aceef6c9af574c19640d42170bb9",
    "bank": "4bcadc26da5303632813609e8287e5386d99db0fa20a155a004569dfa4c75138",
    "list-append": "a7a619f2c74267b8c1825b3803f5413c35af18158a3f50d5e9980da752be565d",
    "lock": "a1e88882f06d51afc1e3c43a26a12725abe83a5f359ac35ce9397904b0e5b300",
}


def _digest(name: str) -> str:
    w = make_workload(name, random.Random(11))
    ops = []
    for i in range(300):
        inv = w.next_op()
        ops.append([inv.f, inv.value])
        if name == "lock" and inv.f == "acquire":  # the lock generator plays holders of granted locks
            w.complete(inv, {"type": "acquire_ok", "token": i + 1})
    return hashlib.sha256(json.dumps(ops, sort_keys=True).encode()).hexdigest()


@pytest.mark.parametrize("name", sorted(SEQUENCE_DIGESTS))
def test_op_sequences_of_a_seed_are_pinned(name: str) -> None:
    assert _digest(name) == SEQUENCE_DIGESTS[name]


def test_options_are_frozen_dataclasses_with_defaults() -> None:
    for name in SEQUENCE_DIGESTS:
        spec = workload_classes()[name]()
        assert dataclasses.is_dataclass(spec.options)
        with pytest.raises(dataclasses.FrozenInstanceError):
            spec.options.__setattr__(dataclasses.fields(spec.options)[0].name, None)
    opts = workload_spec("register", {"keys": 5, "mix": {"read": 1, "cas": 0}}).options
    assert opts == RegisterOptions(keys=5, mix=(("read", 1.0),))
    with pytest.raises(OptionError, match="valid: keys, mix, ops_per_key, values"):
        workload_spec("register", {"kees": 1})


def test_a_spec_holds_no_run_state() -> None:
    spec = workload_spec("register", {"keys": 2, "ops_per_key": 3})
    a, b = spec.generator(random.Random(1)), spec.generator(random.Random(1))
    first = [a.next_op() for _ in range(20)]
    assert [b.next_op() for _ in range(20)] == first, "two generators of one spec do not share state"
    assert spec.final_ops(a) == spec.final_ops(b)
    assert {inv.value[0] for inv in spec.final_ops(a)} == {inv.value[0] for inv in first}


def test_judge_needs_no_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: WorkloadSpec, rng: random.Random) -> None:
        raise AssertionError("judging built an op generator")

    for cls in workload_classes().values():
        monkeypatch.setattr(cls, "generator", refuse)
    ops = [Op(0, 0, "invoke", 0, "write", ["k", 1]), Op(1, 5, "ok", 0, "write", ["k", 1]),
           Op(2, 10, "invoke", 1, "read", ["k", None]), Op(3, 15, "ok", 1, "read", ["k", 0])]
    result, code = session.judge(RunSpec(system="replication", workload="register"), ops)
    assert (result.valid, code) == (False, 1) and result.key == "k"
    good, code = session.judge(RunSpec(system="replication", workload="register"), ops[:2])
    assert (good.valid, code) == (True, 0)
