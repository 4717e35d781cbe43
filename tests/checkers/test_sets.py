"""Set-full checker: stable, stale, lost, never-read and duplicated elements."""

from __future__ import annotations

from typing import Any

from checkers.history import Op
from checkers.sets import check


class H:
    """A tiny sequential history builder: every op completes before the next is invoked."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def op(self, f: str, value: Any, result: Any = None, typ: str = "ok", process: int = 0) -> H:
        self.ops.append(
            Op(len(self.ops), len(self.ops) * 10, "invoke", process, f, None if f == "read" else value)
        )
        self.ops.append(
            Op(len(self.ops), len(self.ops) * 10, typ, process, f, result if f == "read" else value)
        )
        return self


def test_stable_elements() -> None:
    h = H().op("add", 1).op("add", 2).op("read", None, [1, 2]).op("read", None, [2, 1])
    r = check(h.ops)
    assert r.valid is True
    assert r.details["counts"]["stable"] == 2


def test_lost_element() -> None:
    h = H().op("add", 1).op("add", 2).op("read", None, [1, 2]).op("read", None, [2])
    r = check(h.ops)
    assert r.valid is False
    assert r.details["lost"] == [1]


def test_acknowledged_but_never_seen_is_lost() -> None:
    r = check(H().op("add", 1).op("read", None, []).ops)
    assert r.details["lost"] == [1] and r.valid is False


def test_stale_element_with_latency_and_linearizable_option() -> None:
    h = H().op("add", 1).op("read", None, []).op("read", None, [1]).op("read", None, [1])
    r = check(h.ops)
    assert r.valid is True
    assert r.details["stale"] == [1]
    # Known at the add's completion (time 10), first read of the final run invoked at time 40.
    assert r.details["stale-latency-ns"]["max"] == 30
    assert check(h.ops, linearizable=True).valid is False


def test_never_read_and_unobserved() -> None:
    h = H().op("read", None, []).op("add", 1).op("add", 2, typ="fail").op("add", 3, typ="info")
    r = check(h.ops)
    assert r.details["never-read"] == [1]
    assert r.details["counts"]["unobserved"] == 2
    assert r.valid is True


def test_duplicates_are_invalid() -> None:
    r = check(H().op("add", 1).op("read", None, [1, 1]).ops)
    assert r.valid is False and r.details["duplicated"] == [[1, 2]]


def test_element_seen_without_acknowledgement_is_tracked() -> None:
    h = H().op("add", 5, typ="info").op("read", None, [5]).op("read", None, [])
    r = check(h.ops)
    assert r.details["lost"] == [5]


def test_no_reads_is_unknown() -> None:
    assert check(H().op("add", 1).ops).valid == "unknown"
