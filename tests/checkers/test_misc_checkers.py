"""Counter, unique-ids, lock, stats and 2PC checkers, and the checker registry."""

from __future__ import annotations

from typing import Any

import pytest

from checkers import counter, locks, registry, stats, twopc, unique_ids
from checkers.history import Op


class H:
    """History builder with explicit times: ``inv``/``done`` append an invocation or completion."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def inv(self, t: int, p: Any, f: str, value: Any = None) -> H:
        self.ops.append(Op(len(self.ops), t, "invoke", p, f, value))
        return self

    def done(self, t: int, p: Any, f: str, value: Any = None, typ: str = "ok", node: str | None = None) -> H:
        self.ops.append(Op(len(self.ops), t, typ, p, f, value, node))
        return self

    def both(self, t: int, p: Any, f: str, value: Any = None, result: Any = None, typ: str = "ok") -> H:
        return self.inv(t, p, f, value).done(t + 1, p, f, value if result is None else result, typ)


# --- counter -----------------------------------------------------------------------------------------

def test_counter_reads_within_bounds() -> None:
    h = H().both(0, 0, "add", 2).both(10, 0, "read", None, 2)
    # A concurrent add of 3 may or may not be counted.
    h.inv(20, 1, "add", 3).both(21, 0, "read", None, 5).both(30, 0, "read", None, 2).done(40, 1, "add", 3)
    r = counter.check(h.ops)
    assert r.valid is True
    assert [s[1:] for s in r.details["series"]] == [[2, 2, 2], [2, 5, 5], [2, 2, 5]]


def test_counter_read_out_of_bounds() -> None:
    h = H().both(0, 0, "add", 2).both(10, 0, "read", None, 1).both(20, 0, "add", 5, typ="fail")
    h.both(30, 0, "read", None, 7)
    r = counter.check(h.ops)
    assert r.valid is False
    assert r.details["error-count"] == 2
    assert r.details["worst"]["value"] == 7 and r.details["worst"]["distance"] == 5


def test_counter_negative_adds_widen_the_lower_bound() -> None:
    h = H().both(0, 0, "add", 5).inv(5, 1, "add", -3).both(10, 0, "read", None, 2)
    assert counter.check(h.ops).valid is True
    assert counter.check(H().both(0, 0, "read", None, 0).ops, initial=1).valid is False


# --- unique ids --------------------------------------------------------------------------------------

def test_unique_ids() -> None:
    h = H().both(0, 0, "generate", None, "a").both(2, 1, "generate", None, "b")
    h.both(4, 2, "generate", None, "c", typ="info")
    r = unique_ids.check(h.ops)
    assert r.valid is True and r.details["distinct"] == 2
    h.both(6, 3, "generate", None, "a")
    r = unique_ids.check(h.ops)
    assert r.valid is False
    assert r.details["duplicated"] == [{"id": "a", "op-indices": [1, 7]}]
    assert unique_ids.check([]).valid == "unknown"


# --- locks -------------------------------------------------------------------------------------------

def grant(h: H, t: int, owner: str, token: int) -> H:
    return h.inv(t, owner, "acquire", {"owner": owner}).done(t + 1, owner, "acquire",
                                                             {"owner": owner, "token": token})


def test_locks_safe_sequence() -> None:
    h = grant(H(), 0, "a", 1).both(2, "a", "write", {"owner": "a", "token": 1})
    h.both(4, "a", "release", {"owner": "a", "token": 1})
    grant(h, 6, "b", 2).both(8, "b", "write", {"owner": "b", "token": 2})
    h.both(10, "b", "release", {"owner": "b", "token": 2})
    r = locks.check(h.ops)
    assert r.valid is True and r.details["acquires"] == 2 and r.details["writes"] == 2


def test_locks_token_order_and_duplicates() -> None:
    h = grant(H(), 0, "a", 5)
    grant(h, 10, "b", 3)
    grant(h, 20, "c", 3)
    r = locks.check(h.ops)
    assert r.details["error-counts"]["duplicate-token"] == 1
    assert r.details["error-counts"]["token-order"] >= 1
    assert r.valid is False


def test_locks_overlapping_holds_and_write_during_other_hold() -> None:
    h = grant(H(), 0, "a", 1)
    grant(h, 2, "b", 2)  # b is granted while a still holds the lock
    h.both(4, "a", "write", {"owner": "a", "token": 1})
    h.both(6, "b", "release", {"owner": "b", "token": 2})
    h.both(8, "a", "release", {"owner": "a", "token": 1})
    r = locks.check(h.ops)
    assert r.details["error-counts"]["overlapping-holds"] == 1
    assert r.details["error-counts"]["write-during-other-hold"] == 1


def test_locks_stale_write_by_real_time_and_by_seq() -> None:
    h = grant(H(), 0, "a", 1)
    grant(h, 2, "b", 2)
    h.both(4, "b", "write", {"owner": "b", "token": 2}).both(6, "a", "write", {"owner": "a", "token": 1})
    assert locks.check(h.ops).details["error-counts"] == {"stale-write": 1}
    # With the resource's own acceptance order, concurrent writes are judged by it.
    h2 = grant(H(), 0, "a", 1)
    grant(h2, 2, "b", 2)
    h2.inv(4, "a", "write", {"owner": "a", "token": 1}).inv(4, "b", "write", {"owner": "b", "token": 2})
    h2.done(5, "b", "write", {"owner": "b", "token": 2, "seq": 1})
    h2.done(6, "a", "write", {"owner": "a", "token": 1, "seq": 2})
    assert locks.check(h2.ops).details["error-counts"] == {"stale-write": 1}
    h3 = grant(H(), 0, "a", 1)
    grant(h3, 2, "b", 2)
    h3.inv(4, "a", "write", {"owner": "a", "token": 1}).inv(4, "b", "write", {"owner": "b", "token": 2})
    h3.done(5, "b", "write", {"owner": "b", "token": 2, "seq": 2})
    h3.done(6, "a", "write", {"owner": "a", "token": 1, "seq": 1})
    assert locks.check(h3.ops).valid is True


# --- stats -------------------------------------------------------------------------------------------

def test_stats_counts_by_f_and_type() -> None:
    h = H().both(0, 0, "read", None, 1).both(2, 0, "write", 1, typ="fail").inv(4, 1, "write", 2)
    h.ops.append(Op(len(h.ops), 5, "info", "nemesis", "start-partition", None))
    r = stats.check(h.ops)
    assert r.details["by-f"]["read"] == {"ok": 1, "fail": 0, "info": 0, "count": 1}
    assert r.details["by-f"]["write"] == {"ok": 0, "fail": 1, "info": 1, "count": 2}
    assert r.details["nemesis"] == {"start-partition": 1}
    assert r.valid is True
    assert stats.check(h.ops, require_ok=True).valid is False


# --- 2PC ---------------------------------------------------------------------------------------------

def two_pc(final: dict[str, dict[str, Any]], outcomes: list[tuple[str, list[list[Any]]]]) -> list[Op]:
    h = H()
    for i, (typ, mops) in enumerate(outcomes):
        h.both(i * 10, i, "txn", mops, typ=typ)
    for part, values in final.items():
        h.both(1000, 99, "final-read", {"participant": part}, {"participant": part, "values": values})
    return h.ops


SHARDS = {"a": "n1", "b": "n2", "c": "n1"}


def test_two_pc_all_or_nothing_is_valid() -> None:
    ops = two_pc({"n1": {"a": [1], "c": []}, "n2": {"b": [1]}},
                 [("ok", [["append", "a", 1], ["append", "b", 1]]),
                  ("fail", [["append", "c", 2], ["append", "b", 2]]),
                  ("info", [["append", "c", 3]])])
    r = twopc.check(ops, shard_of=SHARDS)
    assert r.valid is True
    assert r.details["counts"]["all"] == 1 and r.details["counts"]["none"] == 2


def test_two_pc_partial_and_mismatched_outcomes() -> None:
    ops = two_pc({"n1": {"a": [1], "c": [2]}, "n2": {"b": []}},
                 [("info", [["append", "a", 1], ["append", "b", 1]]), ("fail", [["append", "c", 2]]),
                  ("ok", [["append", "b", 3]])])
    r = twopc.check(ops, shard_of=SHARDS)
    assert r.valid is False
    assert r.details["error-counts"] == {"partial": 1, "aborted-visible": 1, "committed-invisible": 1}
    assert r.details["errors"]["partial"][0]["visible"] == {"n1": [True], "n2": [False]}


def test_two_pc_final_read_without_participant_uses_shard_of() -> None:
    h = H().both(0, 0, "txn", [["append", "a", 1], ["append", "b", 1]])
    h.both(10, 9, "final-read", None, {"values": {"a": [1], "b": []}})
    r = twopc.check(h.ops, shard_of=SHARDS)
    assert r.details["participants"] == ["n1", "n2"]
    assert r.details["error-counts"] == {"partial": 1}


def test_two_pc_register_writes_and_missing_final_read() -> None:
    ops = two_pc({"n1": {"a": 7}}, [("ok", [["w", "a", 7]]), ("ok", [["w", "a", 7], ["w", "b", 1]])])
    r = twopc.check(ops, shard_of=lambda k: SHARDS[k])
    assert r.valid == "unknown" and r.details["counts"]["unchecked"] == 1
    assert twopc.check(two_pc({}, [("ok", [["w", "a", 1]])])).valid == "unknown"


# --- registry ----------------------------------------------------------------------------------------

def test_registry_resolves_names_and_aliases() -> None:
    assert "elle-list-append" in registry.names() and "bank" in registry.names()
    assert registry.get("list-append").__name__ == "check_list_append"
    assert registry.resolve("twopc") == "2pc"
    r = registry.run("unique-ids", H().both(0, 0, "generate", None, 1).ops)
    assert r.checker == "unique-ids" and r.valid is True
    with pytest.raises(ValueError, match="choose one of"):
        registry.get("nope")


def test_every_registered_checker_imports() -> None:
    for name in registry.names():
        assert callable(registry.get(name)), name
