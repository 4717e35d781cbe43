"""The long-fork checker, histories without processes, and the counter's vacuous case (histories built
here)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from checkers import counter, long_fork, registry
from checkers.elle import check_list_append
from checkers.history import HistoryError, Op, pairs
from checkers.importers import load_history


def _txn(i: int, typ: str, value: Any, process: int | None = None, f: str = "txn") -> Op:
    return Op(index=i, time=i, type=typ, process=process, f=f, value=value)


def _history(txns: list[tuple[list[Any], list[Any]]], *, process: bool = False) -> list[Op]:
    """Sequential invoke/ok pairs for ``(invoked value, completed value)`` transactions."""
    ops: list[Op] = []
    for n, (inv, ok) in enumerate(txns):
        p = n if process else None
        ops += [_txn(len(ops), "invoke", inv, p), _txn(len(ops) + 1, "ok", ok, p)]
    return ops


def _w(k: int) -> tuple[list[Any], list[Any]]:
    return [["w", k, 1]], [["w", k, 1]]


def _r(seen: dict[int, Any]) -> tuple[list[Any], list[Any]]:
    return [["r", k, None] for k in seen], [["r", k, v] for k, v in seen.items()]


def test_two_reads_in_opposite_orders_are_a_long_fork() -> None:
    h = _history([_w(1), _w(2), _r({1: 1, 2: None}), _r({2: 1, 1: None})])
    r = long_fork.check(h)
    assert r.valid is False
    assert r.details["fork-count"] == 1
    fork = r.details["forks"][0]
    assert {fork["reads"][0]["index"], fork["reads"][1]["index"]} == {5, 7}
    assert sorted([fork["only-first"], fork["only-second"]]) == [[1], [2]]
    assert "long fork" in r.explanation and "op 5" in r.explanation


def test_reads_that_grow_along_one_order_are_valid() -> None:
    h = _history([_w(1), _r({1: None, 2: None}), _r({1: 1, 2: None}), _w(2), _r({1: 1, 2: 1}),
                  _r({2: 1, 1: 1})])
    r = long_fork.check(h)
    assert r.valid is True
    assert (r.details["reads"], r.details["early-reads"], r.details["late-reads"]) == (4, 1, 2)


def test_only_uninformative_reads_say_they_tested_nothing() -> None:
    r = long_fork.check(_history([_w(1), _r({1: None, 2: None}), _w(2), _r({1: 1, 2: 1})]))
    assert r.valid is True and "vacuously" in r.explanation


def test_reads_of_different_key_groups_are_not_compared() -> None:
    h = _history([_w(1), _w(3), _r({1: 1, 2: None}), _r({3: 1, 4: None}), _r({2: None, 1: 1})])
    assert long_fork.check(h).valid is True


def test_a_key_written_twice_or_read_with_two_values_is_unknown() -> None:
    twice = _history([_w(1), _w(1), _r({1: 1, 2: None})])
    r = long_fork.check(twice)
    assert r.valid == "unknown" and "written twice" in r.explanation
    clash = _history([_w(1), _r({1: 1, 2: None}), _r({1: 7, 2: None})])
    assert long_fork.check(clash).valid == "unknown"


def test_group_size_is_enforced_when_given() -> None:
    h = _history([_w(1), _r({1: 1, 2: None, 3: None})])
    assert long_fork.check(h).valid is True
    assert long_fork.check(h, group_size=2).valid == "unknown"


def test_failed_and_crashed_reads_are_ignored() -> None:
    h = _history([_w(1), _w(2), _r({1: 1, 2: None})])
    h += [_txn(6, "invoke", [["r", 2, None], ["r", 1, None]]), _txn(7, "info", [["r", 2, 1], ["r", 1, None]])]
    assert long_fork.check(h).valid is True


def _chain_oracle(reads: list[frozenset[int]]) -> bool:
    """Plain pairwise comparison (Jepsen's definition): every two reads are ordered by inclusion."""
    return all(a <= b or b <= a for i, a in enumerate(reads) for b in reads[i + 1:])


@pytest.mark.parametrize("seed", range(40))
def test_random_histories_agree_with_the_pairwise_definition(seed: int) -> None:
    rng = random.Random(seed)
    keys = [1, 2, 3]
    h = _history([_w(k) for k in keys])
    seen_sets = []
    for _ in range(rng.randrange(2, 7)):
        seen = frozenset(k for k in keys if rng.random() < 0.5)
        seen_sets.append(seen)
        order = rng.sample(keys, len(keys))
        h += _history([_r({k: (1 if k in seen else None) for k in order})])
    h = [Op(i, i, op.type, op.process, op.f, op.value) for i, op in enumerate(h)]
    r = long_fork.check(h)
    assert r.valid is _chain_oracle(seen_sets)
    expected = sum(1 for i, a in enumerate(seen_sets) for b in seen_sets[i + 1:] if not (a <= b or b <= a))
    assert r.details["fork-count"] == expected


def test_long_fork_is_a_named_checker() -> None:
    assert registry.resolve("long-fork") == "long-fork"
    h = _history([_w(1), _w(2), _r({1: 1, 2: None}), _r({2: 1, 1: None})])
    assert registry.run("long-fork", h).valid is False


# --- histories without :process ---------------------------------------------------------------------


def test_edn_and_elle_json_without_process_are_read(tmp_path: Path) -> None:
    edn = tmp_path / "h.edn"
    edn.write_text(
        "[{:type :invoke, :f :read, :value [[:r 1 nil]]}\n {:type :ok, :f :read, :value [[:r 1 nil]]}]\n"
    )
    ops = load_history(edn)
    assert [op.process for op in ops] == [None, None]
    js = tmp_path / "h.json"
    js.write_text(
        '[{"type": "invoke", "value": [["append", 1, 2]]}, {"type": "ok", "value": [["append", 1, 2]]}]'
    )
    assert [op.process for op in load_history(js)] == [None, None]


def test_a_file_mixing_ops_with_and_without_process_is_refused(tmp_path: Path) -> None:
    edn = tmp_path / "mixed.edn"
    edn.write_text("{:process 1, :type :invoke, :f :read}\n{:type :ok, :f :read}\n")
    with pytest.raises(HistoryError, match=r"mixed.edn:2: .*process"):
        load_history(edn)


def test_sequential_ops_without_process_pair_and_overlapping_ones_are_refused() -> None:
    seq = _history([_w(1), _w(2)])
    paired = [(p.invoke.index, p.complete.index if p.complete else None) for p in pairs(seq)]
    assert paired == [(0, 1), (2, 3)]
    overlapping = [_txn(0, "invoke", [["w", 1, 1]]), _txn(1, "invoke", [["w", 2, 1]]),
                   _txn(2, "ok", [["w", 1, 1]]), _txn(3, "ok", [["w", 2, 1]])]
    with pytest.raises(HistoryError, match="without a process overlap"):
        pairs(overlapping)
    with pytest.raises(HistoryError, match="without a process overlap"):
        check_list_append(overlapping)


# --- counter: adds and no reads ---------------------------------------------------------------------


def test_counter_with_adds_and_no_reads_is_vacuously_valid_and_says_so() -> None:
    ops = []
    for i in range(5):
        ops += [Op(2 * i, 2 * i, "invoke", 0, "add", 1), Op(2 * i + 1, 2 * i + 1, "ok", 0, "add", 1)]
    r = counter.check(ops)
    assert r.valid is True
    assert "vacuously valid" in r.explanation and "5 adds" in r.explanation
    read = [Op(10, 10, "invoke", 1, "read", None), Op(11, 11, "ok", 1, "read", 9)]
    assert counter.check(ops + read).valid is False, "a read past every possible add is still caught"

