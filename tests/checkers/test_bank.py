"""Bank checker: conserved totals, missing and negative balances, plot series."""

from __future__ import annotations

from typing import Any

from checkers.bank import check
from checkers.history import Op


def history(*reads: dict[Any, int], transfers: int = 1) -> list[Op]:
    ops: list[Op] = []
    for _ in range(transfers):
        ops.append(Op(len(ops), len(ops) * 10, "invoke", 1, "transfer", {"from": 0, "to": 1, "amount": 5}))
        ops.append(Op(len(ops), len(ops) * 10, "ok", 1, "transfer", {"from": 0, "to": 1, "amount": 5}))
    for r in reads:
        ops.append(Op(len(ops), len(ops) * 10, "invoke", 0, "read", None))
        ops.append(Op(len(ops), len(ops) * 10, "ok", 0, "read", r))
    return ops


def test_conserved_total_is_valid_with_series() -> None:
    r = check(history({0: 10, 1: 0}, {0: 5, 1: 5}, {"0": 0, "1": 10}))
    assert r.valid is True
    assert r.details["total"] == 10
    assert [p[1] for p in r.details["series"]["total"]] == [10, 10, 10]
    assert r.details["series"]["errors"] == []


def test_wrong_total_reports_count_first_and_worst() -> None:
    r = check(history({0: 10, 1: 0}, {0: 4, 1: 5}, {0: 10, 1: 0}, {0: 1, 1: 2}), total=10)
    assert r.valid is False
    wt = r.details["errors"]["wrong-total"]
    assert wt["count"] == 2
    assert wt["first"]["total"] == 9
    assert wt["worst"]["total"] == 3 and wt["worst"]["delta"] == -7
    assert len(r.details["series"]["errors"]) == 2


def test_inferred_total_is_the_most_common_one() -> None:
    r = check(history({0: 10, 1: 0}, {0: 10, 1: 0}, {0: 12, 1: 0}))
    assert r.details["total"] == 10
    assert r.details["errors"]["wrong-total"]["count"] == 1


def test_negative_and_missing_balances() -> None:
    r = check(history({0: 10, 1: 0}, {0: 15, 1: -5}, {0: 10}))
    assert r.valid is False
    assert r.details["errors"]["negative-balance"]["worst"]["lowest"] == -5
    assert r.details["errors"]["missing-balance"]["first"]["accounts"] == ["1"]
    assert check(history({0: 10, 1: 0}, {0: 15, 1: -5}), negative_balances=True).valid is True


def test_unexpected_account_only_with_explicit_accounts() -> None:
    h = history({0: 10, 1: 0, 7: 0})
    assert check(h).valid is True
    r = check(h, accounts=[0, 1])
    assert r.valid is False and r.details["errors"]["unexpected-account"]["first"]["accounts"] == ["7"]


def test_no_reads_is_unknown() -> None:
    assert check(history()).valid == "unknown"
