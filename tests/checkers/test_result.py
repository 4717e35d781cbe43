"""The typed result contract: one verdict word and exit code, a reason for every verdict, typed facts
filled by every checker, and a lossless round trip through results.json."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from checkers import bank, counter, elle, locks, sets, twopc, unique_ids
from checkers.history import Op
from checkers.linearizability import check as linearizable
from checkers.result import (
    EXIT_CRASHED,
    UNKNOWN,
    Counterexample,
    Evidence,
    Result,
    compose,
    exit_code,
    op_indices,
    verdict_word,
)

REPO = Path(__file__).resolve().parents[2]


def _seq(*ops: tuple[Any, str, Any, Any]) -> list[Op]:
    """A sequential history: each (process, f, invoke value, ok value) invoked and completed in turn."""
    out: list[Op] = []
    for p, f, inv, ok in ops:
        out.append(Op(len(out), len(out) * 10, "invoke", p, f, inv))
        out.append(Op(len(out), len(out) * 10, "ok", p, f, ok))
    return out


def test_verdict_words_and_exit_codes() -> None:
    assert [verdict_word(v) for v in (True, False, UNKNOWN)] == ["VALID", "INVALID", "UNKNOWN"]
    assert [exit_code(v) for v in (True, False, UNKNOWN)] == [0, 1, 2]
    assert EXIT_CRASHED == 255
    r = Result("x", False, {}, "first line\nsecond")
    assert (r.verdict, r.exit_code, r.reason) == ("INVALID", 1, "first line")
    assert r.summary() == "INVALID: first line"
    assert Result("x", True).reason == "no violation found", "a verdict without words still gets a reason"


def test_the_word_and_the_crash_code_are_written_once() -> None:
    """No other module spells the verdict word or defines the crashed exit code."""
    found = []
    for pkg in ("harness", "reports", "checkers", "nemesis"):
        for path in (REPO / pkg).rglob("*.py"):
            if path == REPO / "checkers" / "result.py" or "models" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            exported = {id(n) for a in ast.walk(tree) if isinstance(a, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in a.targets)
                        for n in ast.walk(a.value)}
            for node in ast.walk(tree):
                if id(node) in exported:  # names in __all__, not words
                    continue
                if isinstance(node, ast.Constant) and node.value in ("VALID", "INVALID", "UNKNOWN"):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.value}")
                if isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "EXIT_CRASHED" for t in node.targets):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} EXIT_CRASHED")
    assert found == []


def _invalid_results() -> dict[str, Result]:
    """One invalid history per checker, judged by the real checker."""
    stale = _seq((0, "write", ["k", 1], ["k", 1]), (1, "read", ["k", None], ["k", 0]))
    bank_ops = _seq((0, "read", None, {"a": 5, "b": 5}), (1, "read", None, {"a": 5, "b": 7}))
    set_ops = _seq((0, "add", 1, 1), (0, "read", None, [1]), (1, "read", None, []))
    counter_ops = _seq((0, "add", 1, 1), (1, "read", None, 5))
    ids = _seq((0, "generate", None, "x"), (1, "generate", None, "x"))
    g0 = _seq((0, "txn", [["append", "x", 1], ["append", "y", 1]], [["append", "x", 1], ["append", "y", 1]]),
              (1, "txn", [["append", "x", 2], ["append", "y", 2]], [["append", "x", 2], ["append", "y", 2]]),
              (2, "txn", [["r", "x", None], ["r", "y", None]], [["r", "x", [1, 2]], ["r", "y", [2, 1]]]))
    partial = [Op(0, 0, "invoke", 0, "txn", [["append", "x", 1], ["append", "y", 1]]),
               Op(1, 1, "ok", 0, "txn", [["append", "x", 1], ["append", "y", 1]]),
               Op(2, 2, "invoke", 1, "final-read", None),
               Op(3, 3, "ok", 1, "final-read", {"values": {"x": [1], "y": []}})]
    lock_ops = _seq((0, "acquire", {"owner": "a"}, {"owner": "a", "token": 1}),
                    (1, "acquire", {"owner": "b"}, {"owner": "b", "token": 1}))
    return {
        "linearizable": linearizable(stale, "cas-register"),
        "bank": bank.check(bank_ops, total=10),
        "set-full": sets.check(set_ops),
        "counter": counter.check(counter_ops),
        "unique-ids": unique_ids.check(ids),
        "elle": elle.check_list_append(g0),
        "2pc": twopc.check(partial),
        "lock": locks.check(lock_ops),
    }


@pytest.mark.parametrize("name", list(_invalid_results()))
def test_every_checker_fills_the_typed_fields(name: str) -> None:
    r = _invalid_results()[name]
    assert r.valid is False, r.explanation
    assert r.reason and "\n" not in r.reason, "a one-line reason"
    assert r.blamed, "an invalid verdict blames history ops"
    assert r.counterexample is not None or r.evidence, "and says why: a counterexample or evidence"
    for e in r.evidence:
        assert e.count >= len(e.cases) >= 1 and e.title


def test_linearizability_names_key_counterexample_and_the_stuck_op() -> None:
    r = _invalid_results()["linearizable"]
    assert r.key == "k" and r.counterexample is not None
    assert set(r.blamed) == {2, 3}, "the stale read's invocation and completion"
    assert "cannot be linearized" in r.reason and "process 1" in r.reason


@pytest.mark.parametrize("name", list(_invalid_results()))
def test_results_json_round_trip(name: str) -> None:
    r = _invalid_results()[name]
    doc = json.loads(json.dumps(r.to_dict()))
    assert Result.from_dict(doc) == r
    both = compose({"a": r, "b": Result("b", True, {}, "fine")})
    back = Result.from_dict(json.loads(json.dumps(both.to_dict())))
    assert back == both and back.parts["a"] == r


def test_compose_reason_counterexample_and_leaves() -> None:
    lin = _invalid_results()["linearizable"]
    tp = _invalid_results()["2pc"]
    c = compose({"lin": lin, "2pc": tp, "ok": Result("stats", True, {}, "all fine")})
    assert c.valid is False and c.verdict == "INVALID"
    assert c.reason == f"lin: {lin.reason}; 2pc: {tp.reason}", "the parts that decided the verdict, with why"
    assert c.counterexample == lin.counterexample and c.key == "k"
    assert set(c.blamed) == set(lin.blamed) | set(tp.blamed)
    assert [n for n, _ in c.leaves()] == ["lin", "2pc", "ok"]
    nested = compose({"outer": c})
    assert [n for n, _ in nested.leaves()] == ["outer/lin", "outer/2pc", "outer/ok"]
    assert compose({"u": Result("u", UNKNOWN, {}, "budget ran out")}).reason == "u: budget ran out"


def test_a_result_written_before_the_typed_fields_still_reads() -> None:
    legacy = {"checker": "bank", "valid": False, "explanation": "3 of 9 reads are wrong\nmore",
              "details": {"x": 1}}
    r = Result.from_dict(legacy)
    assert (r.valid, r.reason, r.details, r.evidence, r.counterexample) == (
        False, "3 of 9 reads are wrong", {"x": 1}, (), None)
    assert Result.from_dict({"valid": "maybe"}).valid == UNKNOWN


def test_op_indices_of_cases() -> None:
    cases = [{"op": {"index": 4}}, {"ops": [{"index": 1}, {"index": 4}]}, {"cycle": [{"index": 9}]}, "text"]
    assert op_indices(cases) == (4, 1, 9)


def test_counterexample_and_evidence_dicts() -> None:
    ce = _invalid_results()["linearizable"].counterexample
    assert ce is not None and Counterexample.from_dict(ce.to_dict()) == ce
    e = Evidence("lost", "Lost elements", 3, (1, 2))
    assert Evidence.from_dict(e.to_dict()) == e
