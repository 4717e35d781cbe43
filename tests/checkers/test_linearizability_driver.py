"""The multi-key driver and the budgets: one hard key never starves the others, an unknown verdict names
its undecided keys and says why, and the new in-search reductions agree with the plain search."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.history import Op
from checkers.linearizability import Reductions, check, check_entries, search_options
from checkers.linearizability.entries import split_entries
from checkers.models import UNKNOWN, get_model
from tests.checkers.test_linearizability import pathological
from tests.checkers.test_linearizability_props import brute_force, brute_force_model, histories


def hard_key(n_vals: int = 10) -> list[Op]:
    """A key no search decides quickly (the pathological history of test_linearizability, keyed):
    crashed cas ops over every pair of values, and a read of a value nothing could have written."""
    return [Op(o.index, o.time, o.type, f"h{o.process}", o.f,
               ["hard", o.value if o.f != "read" or o.type != "invoke" else None])
               for o in pathological(n_vals)]


def small_key(key: str, stale: bool, start: int) -> list[Op]:
    """write 1, then (after it returned) a read: of 1, or of the initial nil (a stale read) when ``stale``."""
    p = f"{key}-p"
    return [Op(0, start, "invoke", p, "write", [key, 1]), Op(0, start + 1, "ok", p, "write", [key, 1]),
            Op(0, start + 2, "invoke", p, "read", [key, None]),
            Op(0, start + 3, "ok", p, "read", [key, None if stale else 1])]


def _renumber(ops: list[Op]) -> list[Op]:
    ops = sorted(ops, key=lambda o: o.time)
    return [Op(i, o.time, o.type, o.process, o.f, o.value) for i, o in enumerate(ops)]


def test_an_easy_violation_is_found_while_a_hard_key_is_still_open() -> None:
    history = _renumber(hard_key() + small_key("easy", True, 10_000))
    started = time.monotonic()
    res = check(history, "cas-register", time_limit=20)
    assert res.valid is False
    assert res.details["invalid_keys"] == ["easy"]
    assert time.monotonic() - started < 5
    # the hard key was given turns but did not hold the answer back
    assert res.details["stats"].get("hard", {}).get("configs", 0) < 1_000_000


def test_unknown_names_every_undecided_key_and_the_reason() -> None:
    history = _renumber(hard_key() + small_key("fine", False, 10_000))
    res = check(history, "cas-register", time_limit=0.5)
    assert res.valid == "unknown"
    assert res.details["unknown_keys"] == ["hard"]
    assert "time limit" in res.details["unknown"][0]["reason"]
    assert "hard" in res.explanation
    assert res.details["stats"]["fine"]["configs"] > 0  # the easy key was decided all the same


def test_a_memory_cap_gives_unknown_with_the_reason() -> None:
    res = check(_renumber(hard_key()), "cas-register", memory_limit=1, time_limit=30)
    assert res.valid == "unknown"
    assert "memory limit" in res.explanation


def test_worker_processes_give_the_same_verdicts(monkeypatch: Any) -> None:
    import checkers.linearizability as lin

    monkeypatch.setattr(lin, "WARMUP_SECONDS", 0.0)  # fork at once, even for these small histories
    bad = _renumber(hard_key() + small_key("easy", True, 10_000))
    res = check(bad, "cas-register", time_limit=20, jobs=2)
    assert res.valid is False and res.details["invalid_keys"] == ["easy"]
    fine = _renumber(small_key("a", False, 0) + small_key("b", False, 2) + small_key("c", True, 4))
    res = check(fine, "cas-register", jobs=2, all_keys=True)
    assert res.valid is False and res.details["invalid_keys"] == ["c"] and res.details["keys_checked"] == 3


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.sampled_from([None, 0]))
def test_forgetting_cache_buckets_changes_no_verdict(case: Any, initial: Any) -> None:
    """Checking the budget (and forgetting unreachable buckets) after every step agrees with brute force."""
    events, ref = case
    model = get_model("cas-register", initial)
    entries = split_entries(events, model, keyed=False).get(None, [])
    for red in (Reductions(), Reductions.none()):
        opts = search_options(red, None, None)
        fields = {n: getattr(opts, n) for n in opts.__slots__}
        eager = type(opts)(**{**fields, "check_every": 1, "forget_every": 1})
        never = type(opts)(**{**fields, "check_every": 1, "forget_every": 1 << 30})
        outcome, _, _ = check_entries(model, entries, reductions=red, options=eager)
        assert outcome.valid is brute_force(ref, initial)
        # forgetting drops only buckets never looked up again: the search does exactly the same work
        plain, _, _ = check_entries(model, entries, reductions=red, options=never)
        assert (outcome.configs, outcome.steps) == (plain.configs, plain.steps)


@st.composite
def kv_histories(draw: st.DrawFn) -> tuple[list[Op], list[dict[str, Any]]]:
    """Random small kv histories (get/put/append, some crashed), outputs drawn from plausible values."""
    n = draw(st.integers(1, 6))
    starts = sorted(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)))
    events: list[tuple[int, int, str, int, str, Any]] = []
    ref: list[dict[str, Any]] = []
    for i, s in enumerate(starts):
        f = draw(st.sampled_from(["get", "get", "append", "append", "put"]))
        length = draw(st.integers(1, 6))
        crashed = draw(st.integers(0, 5)) == 0
        inp = None if f == "get" else draw(st.sampled_from(["a", "b", "c"]))
        out: Any = UNKNOWN if crashed else (
            draw(st.sampled_from(["", "a", "b", "ab", "ba", "abc", "ca", "c"])) if f == "get" else inp)
        ref.append({"f": f, "inp": inp, "out": out, "inv": 2 * s, "ret": 10**9 if crashed
                    else 2 * (s + length) + 1})
        events.append((2 * s, i, "invoke", i, f, ["k", inp]))
        if not crashed:
            events.append((2 * (s + length) + 1, i, "ok", i, f, ["k", out]))
    events.sort(key=lambda e: (e[0], e[1]))
    ops = [Op(j, t, typ, p, f, v) for j, (t, _, typ, p, f, v) in enumerate(events)]
    for o in ref:
        o["inv"] = next(j for j, (t, _, typ, *_r) in enumerate(events) if t == o["inv"] and typ == "invoke")
        if o["ret"] != 10**9:
            o["ret"] = next(j for j, (t, *_r) in enumerate(events) if t == o["ret"])
    return ops, ref


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kv_histories())
def test_unreachable_targets_agree_with_brute_force(case: Any) -> None:
    """The kv search with its reachability pruning (on by default) and without any reduction."""
    ops, ref = case
    expected = brute_force_model("kv", ref)
    assert check(ops, "kv").valid is expected
    assert check(ops, "kv", reductions=Reductions(dead_ends=False)).valid is expected
    assert check(ops, "kv", reductions=Reductions.none()).valid is expected


def register_history(n_ops: int, clients: int, crash: float, seed: int) -> list[Op]:
    """A linearizable cas-register history (each op takes effect at a random instant of its interval,
    a crashed one later or never), big enough for the search to backtrack and forget."""
    rng = random.Random(seed)
    ops: list[dict[str, Any]] = []
    clock = [0.0] * clients
    proc = list(range(clients))
    for i in range(n_ops):
        c = rng.randrange(clients)
        start = clock[c] + rng.random()
        end = start + rng.random() * clients / 2 + 0.01
        f = rng.choice(["read", "read", "write", "cas"])
        inp: Any = (None if f == "read" else rng.randrange(4) if f == "write"
                    else [rng.randrange(4), rng.randrange(4)])
        crashed = rng.random() < crash
        at = rng.uniform(start, end) if not crashed else (end + rng.random() * 5 if rng.random() < 0.5
                                                          else None)
        ops.append({"i": i, "p": proc[c], "f": f, "in": inp, "start": start, "end": end, "crashed": crashed,
                    "at": at})
        clock[c] = end
        if crashed:
            proc[c] += 1000
    state: Any = None
    for o in sorted((o for o in ops if o["at"] is not None), key=lambda o: o["at"]):
        if o["f"] == "read":
            o["out"] = state
        elif o["f"] == "write":
            state = o["in"]
        else:
            o["ok"] = state == o["in"][0]
            state = o["in"][1] if o["ok"] else state
    events = []
    for o in ops:
        events.append((o["start"], 2 * o["i"], "invoke", o["p"], o["f"], o["in"], None))
        if o["crashed"]:
            events.append((o["end"], 2 * o["i"] + 1, "info", o["p"], o["f"], o["in"], None))
        elif o["f"] == "cas" and not o["ok"]:
            events.append((o["end"], 2 * o["i"] + 1, "fail", o["p"], "cas", o["in"], 22))
        else:
            events.append((o["end"], 2 * o["i"] + 1, "ok", o["p"], o["f"], o.get("out", o["in"]), None))
    events.sort(key=lambda e: (e[0], e[1]))
    return [Op(j, j, t, p, f, v, error=err) for j, (_, _, t, p, f, v, err) in enumerate(events)]


@pytest.mark.parametrize("every", [1, 4, 16])
@pytest.mark.parametrize("seed", range(4))
def test_forgetting_on_histories_that_backtrack(seed: int, every: int) -> None:
    history = register_history(600, 12, 0.1 * (seed % 2), seed)
    model = get_model("cas-register")
    entries = split_entries(history, model, keyed=False)[None]
    opts = search_options(Reductions(), None, None)
    fields = {n: getattr(opts, n) for n in opts.__slots__}
    eager, _, _ = check_entries(
        model, entries, options=type(opts)(**{**fields, "check_every": 1, "forget_every": every})
    )
    never, _, _ = check_entries(model, entries, options=type(opts)(**{**fields, "forget_every": 1 << 30}))
    assert eager.valid is True and never.valid is True
    assert (eager.configs, eager.steps) == (never.configs, never.steps)
    assert eager.steps > 600  # it did backtrack
