"""Models: each one's step semantics, crashed/failed outcomes, descriptions, and the registry helpers."""

from __future__ import annotations

from typing import Any

import pytest

from checkers.history import Op
from checkers.linearizability import check
from checkers.models import FAILED, INVALID, MODELS, UNKNOWN, freeze, get_model, parse_initial


def run(model_name: str, steps: list[tuple[str, Any, Any]], initial: Any = None) -> Any:
    """Apply steps in order; returns the final state or INVALID at the first impossible one."""
    m = get_model(model_name, initial)
    s = m.init()
    for f, inp, out in steps:
        s = m.step(s, f, freeze(inp), freeze(out))
        if s is INVALID:
            return INVALID
    return s


def test_registry_lists_every_model_and_rejects_unknown_names() -> None:
    assert set(MODELS) == {"register", "cas-register", "kv", "multi-register", "mutex", "fencing-lock",
                           "set", "queue"}
    assert get_model("fifo-queue").name == "queue"
    with pytest.raises(ValueError, match="choose one of: cas-register"):
        get_model("regster")
    assert get_model("register", 3) == get_model("register", 3) != get_model("register", 4)
    assert hash(get_model("cas-register", [1])) == hash(get_model("cas-register", (1,)))


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("nil", None), ("null", None), ('"x"', "x"), ("[1, 2]", [1, 2]), ("abc", "abc"), (None, None)],
)
def test_parse_initial(text: str | None, value: Any) -> None:
    assert parse_initial(text) == value


def test_register_and_cas_register() -> None:
    assert run("register", [("write", 1, None), ("read", None, 1)]) == 1
    assert run("register", [("write", 1, None), ("read", None, 2)]) is INVALID
    assert run("register", [("read", None, None)]) is None  # None is a real state, not "impossible"
    assert run("cas-register", [("cas", [0, 5], None)], initial=0) == 5
    assert run("cas-register", [("cas", [1, 5], None)], initial=0) is INVALID
    assert run("cas-register", [("cas", [1, 5], FAILED)], initial=0) == 0
    assert run("cas-register", [("cas", [0, 5], FAILED)], initial=0) is INVALID
    assert run("cas-register", [("cas", [1, 5], UNKNOWN)], initial=0) == 0
    m = get_model("cas-register")
    assert m.is_read_only("read", None) and not m.is_read_only("cas", (1, 2))
    assert m.describe_op("cas", (1, 2), FAILED) == "cas 1->2 (comparison failed)"
    assert m.describe_op("read", None, 3) == "read 3" and m.describe(None) == "nil"


def test_kv_appends_strings_and_missing_keys_read_empty() -> None:
    assert run("kv", [("get", None, "")]) == ""
    assert run("kv", [("append", "a", None), ("append", "b", None), ("get", None, "ab")]) == "ab"
    assert run("kv", [("put", "x", None), ("get", None, "xy")]) is INVALID


def test_multi_register_transactions() -> None:
    txn_w = [["w", "x", 1], ["w", "y", 2]]
    assert (
        run("multi-register", [("txn", txn_w, txn_w), ("txn", None, [["r", "x", 1], ["r", "y", 2]])])
        != INVALID
    )
    assert run("multi-register", [("txn", txn_w, txn_w), ("txn", None, [["r", "x", 2]])]) is INVALID
    assert run("multi-register", [("txn", None, [["r", "z", None]])]) == ()


def test_mutex() -> None:
    assert run("mutex", [("acquire", "a", None), ("release", "a", None), ("acquire", "b", None)]) == ("b",)
    assert run("mutex", [("acquire", "a", None), ("acquire", "b", None)]) is INVALID
    assert run("mutex", [("release", None, None)]) is INVALID
    assert run("mutex", [("acquire", "a", None), ("release", "b", None)]) is INVALID
    assert get_model("mutex").describe(("a",)) == "held by 'a'"


def test_fencing_lock_tokens_increase_and_stale_writes_are_rejected() -> None:
    ok = [("acquire", "a", 1), ("write", [1, "x"], None), ("acquire", "b", 2), ("write", [2, "y"], None),
          ("read", None, "y")]
    assert run("fencing-lock", ok) != INVALID
    assert run("fencing-lock", [("acquire", "a", 2), ("acquire", "b", 2)]) is INVALID
    stale = [("acquire", "a", 1), ("acquire", "b", 2), ("write", [2, "y"], None), ("write", [1, "x"], None)]
    assert run("fencing-lock", stale) is INVALID
    assert (
        run("fencing-lock", [("acquire", "a", {"owner": "a", "token": 3}), ("write", [4, "z"], None)])
        is INVALID
    )
    assert get_model("fencing-lock").crash_is_noop("acquire", "a")


def test_set_and_queue() -> None:
    assert run("set", [("add", 1, None), ("add", 2, None), ("read", None, [2, 1])]) == frozenset({1, 2})
    assert run("set", [("add", 1, None), ("read", None, [])]) is INVALID
    assert run("queue", [("enqueue", 1, None), ("enqueue", 2, None), ("dequeue", None, 1)]) == (2,)
    assert run("queue", [("enqueue", 1, None), ("enqueue", 2, None), ("dequeue", None, 2)]) is INVALID
    assert run("queue", [("dequeue", None, None)]) == ()
    assert run("queue", [("enqueue", 1, None), ("dequeue", None, UNKNOWN)]) == ()


def _h(*events: tuple[str, int, str, Any]) -> list[Op]:
    return [Op(i, i, typ, p, f, v) for i, (typ, p, f, v) in enumerate(events)]


def test_models_drive_the_checker() -> None:
    """Each model works end to end (the search only sees it through step / is_read_only)."""
    mutex_bad = _h(("invoke", 0, "acquire", None), ("ok", 0, "acquire", None),
                   ("invoke", 1, "acquire", None), ("ok", 1, "acquire", None))
    assert check(mutex_bad, "mutex").valid is False
    mutex_ok = _h(("invoke", 0, "acquire", None), ("invoke", 1, "acquire", None), ("ok", 1, "acquire", None),
                  ("invoke", 1, "release", None), ("ok", 1, "release", None), ("ok", 0, "acquire", None))
    assert check(mutex_ok, "mutex").valid is True
    queue = _h(("invoke", 0, "enqueue", 1), ("invoke", 1, "enqueue", 2), ("ok", 0, "enqueue", 1),
               ("ok", 1, "enqueue", 2), ("invoke", 0, "dequeue", None), ("ok", 0, "dequeue", 2))
    assert check(queue, "queue").valid is True
    concurrent = queue[:3] + [Op(3, 3, "invoke", 0, "dequeue", None), Op(4, 4, "ok", 0, "dequeue", 2),
                              Op(5, 5, "ok", 1, "enqueue", 2)]
    assert check(concurrent, "queue").valid is True  # enqueue 2 overlaps everything: it may go first
    sequential = _h(("invoke", 0, "enqueue", 1), ("ok", 0, "enqueue", 1), ("invoke", 0, "enqueue", 2),
                    ("ok", 0, "enqueue", 2), ("invoke", 1, "dequeue", None), ("ok", 1, "dequeue", 2))
    assert check(sequential, "queue").valid is False
    sets = _h(("invoke", 0, "add", 1), ("ok", 0, "add", 1), ("invoke", 1, "read", None),
              ("ok", 1, "read", []))
    assert check(sets, "set").valid is False


def test_read_only_by_name_agrees_with_is_read_only() -> None:
    """A model that names its read-only operations (``read_only_fs``, used by the search in place of a call
    per operation) must answer ``is_read_only`` the same way for every input."""
    inputs: list[Any] = [None, 1, "x", (1, 2), (("r", "x", 1),), (("w", "x", 1),)]
    named = 0
    for name, cls in MODELS.items():
        m = get_model(name)
        ro = cls.read_only_fs
        if ro is None:
            continue
        named += 1
        assert ro <= m.fs, name
        for f in sorted(m.fs):
            assert {m.is_read_only(f, freeze(i)) for i in inputs} == {f in ro}, (name, f)
    assert named >= 6
    assert get_model("multi-register").is_read_only("txn", (("r", "x", 1),)) is True
    assert get_model("multi-register").is_read_only("txn", (("w", "x", 1),)) is False
