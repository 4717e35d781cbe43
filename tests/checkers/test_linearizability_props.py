"""Property tests: the checker agrees with a brute-force reference on random small concurrent histories,
with every reduction on, off, and toggled one at a time; valid verdicts come with a witness we replay."""

from __future__ import annotations

import itertools
from dataclasses import fields
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.history import Op
from checkers.linearizability import Reductions, check, check_entries
from checkers.linearizability import search as search_module
from checkers.linearizability.entries import split_entries
from checkers.linearizability.reduce import (
    drop_unknown_nil_reads,
    impossible_read,
    reduce_entries,
    reduce_register,
)
from checkers.models import FAILED, INVALID, UNKNOWN, get_model

VALUES = (0, 1, 2)

# ---------------------------------------------------------------------------------------------------
# Reference semantics, written independently of checkers.models


def ref_cas_register(state: Any, f: str, inp: Any, out: Any) -> tuple[bool, Any]:
    """(allowed, new state) of a cas-register op; out is 'crash', 'fail-22' or the ok value."""
    if f == "read":
        return (out == "crash" or out == state), state
    if f == "write":
        return True, inp
    old, new = inp
    if out == "fail-22":
        return state != old, state
    if state == old:
        return True, new
    return out == "crash", state


def brute_force(ops: list[dict[str, Any]], initial: Any) -> bool:
    """Every subset of crashed ops in every real-time-consistent order, built prefix by prefix.

    An op may be appended to a prefix when every op that returned before it was invoked is already in
    the prefix; a prefix that the register rejects is not extended (no order extending it can work).
    Success when every completed op is placed; crashed ops are optional. No caching, no reductions.

    Knossos' convention (our generator never writes nil): with a non-nil initial value, a read that
    returned nil is a read whose value is unknown, so it constrains nothing.
    """
    if initial is not None:
        ops = [o for o in ops if not (o["f"] == "read" and o["out"] is None)]
    n = len(ops)
    need = sum(o["out"] != "crash" for o in ops)

    def extend(placed: int, state: Any, done: int) -> bool:
        if done == need:
            return True
        for i in range(n):
            if placed >> i & 1:
                continue
            o = ops[i]
            if any(not placed >> j & 1 and ops[j]["ret"] < o["inv"] for j in range(n)):
                continue
            ok, nstate = ref_cas_register(state, o["f"], o["inp"], o["out"])
            if ok and extend(placed | 1 << i, nstate, done + (o["out"] != "crash")):
                return True
        return False

    return extend(0, initial, 0)


# ---------------------------------------------------------------------------------------------------
# Random histories


@st.composite
def histories(
    draw: st.DrawFn, max_ops: int = 8, crashy: bool = False
) -> tuple[list[Op], list[dict[str, Any]]]:
    """A random cas-register history: (Jepsen-shaped ops, reference op records that count); ``crashy``:
    most ops crash (many crashed sets to tell apart)."""
    n_ops = draw(st.integers(1, max_ops))
    n_procs = draw(st.integers(1, 4))
    written: list[Any] = [None, 0]
    events: list[Op] = []
    ref: list[dict[str, Any]] = []
    running: dict[int, dict[str, Any]] = {}
    next_proc = n_procs
    procs = list(range(n_procs))
    started = 0
    while started < n_ops or running:
        if started == n_ops and draw(st.integers(0, 3)) == 0:
            break  # leave the rest running: they never complete (crashed)
        slot = draw(st.integers(0, len(procs) - 1))
        proc = procs[slot]
        if proc not in running:
            if started == n_ops:
                # nothing left to start: complete (or crash) something that runs
                proc = next(iter(running))
                slot = procs.index(proc)
            else:
                f = draw(st.sampled_from(["read", "write", "cas"]))
                inp: Any = None
                if f == "write":
                    inp = draw(st.sampled_from(VALUES))
                elif f == "cas":
                    inp = (draw(st.sampled_from(VALUES)), draw(st.sampled_from(VALUES)))
                value = list(inp) if isinstance(inp, tuple) else inp
                if f != "read":
                    written.append(inp if f == "write" else inp[1])
                op = {"f": f, "inp": inp, "inv": len(events), "process": proc, "value": value}
                events.append(Op(len(events), len(events) * 1000, "invoke", proc, f, value))
                running[proc] = op
                started += 1
                continue
        op = running.pop(proc)
        kinds = (["ok", "ok", "info", "info", "info"] if crashy
                 else ["ok", "ok", "ok", "info", "info", "fail", "fail22"])
        kind = draw(st.sampled_from(kinds))
        if op["f"] != "cas" and kind == "fail22":
            kind = "ok"
        pos = len(events)
        if kind == "info":
            events.append(Op(pos, pos * 1000, "info", proc, op["f"], op["value"], error="timeout"))
            ref.append(dict(op, out="crash", ret=10**9))
            procs[slot] = next_proc  # a crashed client's process is retired
            next_proc += 1
        elif kind in ("fail", "fail22"):
            events.append(Op(pos, pos * 1000, "fail", proc, op["f"], op["value"],
                             error=22 if kind == "fail22" else "unavailable"))
            if kind == "fail22":
                ref.append(dict(op, out="fail-22", ret=pos))
        else:
            out: Any = None
            value = op["value"]
            if op["f"] == "read":
                out = draw(st.sampled_from(written) if draw(st.integers(0, 4)) else st.sampled_from(VALUES))
                value = out
            ref.append(dict(op, out=out, ret=pos))
            events.append(Op(pos, pos * 1000, "ok", proc, op["f"], value))
    for op in running.values():  # never completed: crashed
        ref.append(dict(op, out="crash", ret=10**9))
    return events, ref


def _configs() -> list[Reductions]:
    names = [f.name for f in fields(Reductions)]
    out = [Reductions(), Reductions.none()]
    for n in names:
        out.append(Reductions(**{m: m != n for m in names}))  # all but one
        out.append(Reductions(**{m: m == n for m in names}))  # only one
    return out


CONFIGS = _configs()
ONLY_DOMINANCE = Reductions(**{f.name: f.name == "dominance" for f in fields(Reductions)})


def replay_witness(model_name: str, initial: Any, witness: list[Any], entries: list[Any]) -> None:
    """A valid verdict's witness must be a real linearization of the original entries."""
    model = get_model(model_name, initial)
    placed = {id(e) for e in witness}
    for e in entries:
        unknown_nil_read = initial is not None and e.f == "read" and e.out is None
        if not e.crashed and not unknown_nil_read:
            assert id(e) in placed, "a completed op is missing from the witness"
    for i, a in enumerate(witness):
        for b in witness[i + 1 :]:
            assert not (b.ret_pos < a.inv_pos), "witness breaks real-time order"
    state = model.init()
    for e in witness:
        state = model.step(state, e.f, e.inp, e.out)
        assert state is not INVALID, f"witness step {e.f} {e.inp} -> {e.out} is impossible"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.sampled_from([None, 0]))
def test_agrees_with_brute_force_under_every_reduction_switch(case: Any, initial: Any) -> None:
    events, ref = case
    expected = brute_force(ref, initial)
    model = get_model("cas-register", initial)
    per_key = split_entries(events, model, keyed=False, failed_cas="auto")
    entries = per_key.get(None, [])
    for red in CONFIGS:
        outcome, _, _ = check_entries(model, entries, reductions=red)
        assert outcome.valid is expected, (red, events)
        if expected:
            replay_witness("cas-register", initial, outcome.witness, entries)
        else:
            assert outcome.stuck is not None and not outcome.stuck.crashed
    verdict = check(events, "cas-register", initial=initial).valid
    assert verdict is expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(max_ops=9, crashy=True), st.sampled_from([None, 0]), st.sampled_from([1, 2]))
def test_full_dominance_lists_fall_back_to_exact_repeats(case: Any, initial: Any, cap: int) -> None:
    """With room for only one or two crashed sets per (completed set, state), the sets past the cap are
    told apart by the exact set: the verdict stays the brute force's."""
    events, ref = case
    expected = brute_force(ref, initial)
    model = get_model("cas-register", initial)
    entries = split_entries(events, model, keyed=False).get(None, [])
    with mock.patch.object(search_module, "DOMINANCE_LIST", cap):
        outcome, _, _ = check_entries(model, entries, reductions=ONLY_DOMINANCE)
    assert outcome.valid is expected


def test_sets_past_a_full_dominance_list_are_still_told_apart() -> None:
    """Three crashed writes of one value, then reads: placing any one of them leaves the same state,
    so with room for one set per (completed set, state) the other two go past the list (to the exact
    set). The verdicts stay right."""
    ops = [Op(0, 0, "invoke", 0, "write", 1), Op(1, 1, "invoke", 1, "write", 1),
           Op(2, 2, "invoke", 2, "write", 1), Op(3, 3, "invoke", 3, "write", 2),
           Op(4, 4, "ok", 3, "write", 2),
           Op(5, 5, "invoke", 4, "read", None), Op(6, 6, "ok", 4, "read", 1),
           Op(7, 7, "invoke", 4, "read", None), Op(8, 8, "ok", 4, "read", 2)]
    model = get_model("cas-register")
    entries = split_entries(ops, model, keyed=False)[None]
    full, _, _ = check_entries(model, entries, reductions=ONLY_DOMINANCE)
    with mock.patch.object(search_module, "DOMINANCE_LIST", 1):
        capped, _, _ = check_entries(model, entries, reductions=ONLY_DOMINANCE)
    assert full.valid is capped.valid is False  # read 2 after read 1: no crashed write can come between
    valid = [*ops[:7], Op(7, 7, "invoke", 4, "read", None), Op(8, 8, "ok", 4, "read", 1)]
    with mock.patch.object(search_module, "DOMINANCE_LIST", 1):
        outcome, _, _ = check_entries(model, split_entries(valid, model, keyed=False)[None],
                                      reductions=ONLY_DOMINANCE)
    assert outcome.valid is True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(max_ops=12), st.sampled_from([None, 0]), st.sampled_from(["auto", "observe", "drop"]),
       st.sampled_from(["register", "cas-register"]))
def test_register_reductions_in_two_walks_are_the_reductions_one_by_one(
    case: Any, initial: Any, failed_cas: str, model_name: str
) -> None:
    """``reduce_register`` gives what ``impossible_read`` and ``reduce_entries`` give (same refutation,
    model, entries and counts), and leaves entries out of invocation order to them."""
    events, _ = case
    model = get_model(model_name, initial)
    if model_name == "register":
        events = [op for op in events if op.f != "cas"]
    entries = split_entries(events, model, keyed=False, failed_cas=failed_cas).get(None, [])
    entries, _ = drop_unknown_nil_reads(model, entries)
    fused = reduce_register(model, entries)
    assert fused is not None
    assert fused == (impossible_read(model, entries), *reduce_entries(model, entries, Reductions()))
    if len(entries) > 1 and entries[0].inv_pos != entries[-1].inv_pos:
        assert reduce_register(model, entries[::-1]) is None


@settings(max_examples=60, deadline=None)
@given(histories(max_ops=5))
def test_keyed_history_is_the_conjunction_of_its_keys(case: Any) -> None:
    """P-compositionality: two independent copies under different keys."""
    events, ref = case
    expected = brute_force(ref, None)
    keyed: list[Op] = []
    for key in ("a", "b"):
        for op in events:
            v = op.value if not (op.f == "read" and op.type == "invoke") else None
            keyed.append(Op(len(keyed), op.time, op.type, f"{key}{op.process}", op.f, [key, v],
                            error=op.error))
    res = check(keyed, "cas-register")
    assert res.details["keyed"] is True
    assert res.valid is expected
    if not expected:
        assert res.details["counterexample"]["key"] == "a"
        both = check(keyed, "cas-register", all_keys=True)
        assert both.details["invalid_keys"] == ["a", "b"]


# ---------------------------------------------------------------------------------------------------
# Other models against the same brute force, driven through their own step functions


def brute_force_model(model_name: str, ops: list[dict[str, Any]]) -> bool:
    """Generic reference using the model's step (real-time order and crash subsets written here)."""
    model = get_model(model_name)
    done = [o for o in ops if o["out"] is not UNKNOWN]
    crashed = [o for o in ops if o["out"] is UNKNOWN]
    for r in range(len(crashed) + 1):
        for subset in itertools.combinations(crashed, r):
            for perm in itertools.permutations(done + list(subset)):
                if any(b["ret"] < a["inv"] for i, a in enumerate(perm) for b in perm[i + 1 :]):
                    continue
                state = model.init()
                for o in perm:
                    state = model.step(state, o["f"], o["inp"], o["out"])
                    if state is INVALID:
                        break
                else:
                    return True
    return False


@st.composite
def queue_histories(draw: st.DrawFn) -> tuple[list[Op], list[dict[str, Any]]]:
    """Random FIFO queue histories (enqueue distinct-ish values, dequeue with random outputs)."""
    n = draw(st.integers(1, 5))
    starts = sorted(draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)))
    events: list[tuple[int, int, str, int, str, Any]] = []
    ref: list[dict[str, Any]] = []
    for i, s in enumerate(starts):
        f = draw(st.sampled_from(["enqueue", "dequeue"]))
        length = draw(st.integers(1, 6))
        crashed = draw(st.integers(0, 4)) == 0
        inp = draw(st.sampled_from([1, 2])) if f == "enqueue" else None
        out: Any = UNKNOWN if crashed else (draw(st.sampled_from([None, 1, 2])) if f == "dequeue" else None)
        ref.append(
            {"f": f, "inp": inp, "out": out, "inv": 2 * s, "ret": 10**9 if crashed else 2 * (s + length) + 1}
        )
        events.append((2 * s, i, "invoke", i, f, inp))
        if not crashed:
            events.append((2 * (s + length) + 1, i, "ok", i, f, out if f == "dequeue" else inp))
    events.sort(key=lambda e: (e[0], e[1]))
    ops = [Op(j, t, typ, p, f, v) for j, (t, _, typ, p, f, v) in enumerate(events)]
    for o in ref:  # positions in the sorted event list define real time
        o["inv"] = next(j for j, (t, _, typ, *_r) in enumerate(events) if t == o["inv"] and typ == "invoke")
        if o["ret"] != 10**9:
            o["ret"] = next(j for j, (t, *_r) in enumerate(events) if t == o["ret"])
    return ops, ref


@settings(max_examples=150, deadline=None)
@given(queue_histories())
def test_queue_model_agrees_with_brute_force(case: Any) -> None:
    ops, ref = case
    assert check(ops, "queue").valid is brute_force_model("queue", ref)
    none = check(ops, "queue", reductions=Reductions.none()).valid
    assert none is brute_force_model("queue", ref)


def test_failed_cas_modes_differ_where_they_should() -> None:
    """A failed cas (code 22) observed the register did not hold old; dropping it loses that."""
    ops = [
        Op(0, 0, "invoke", 0, "write", 1),
        Op(1, 1, "ok", 0, "write", 1),
        Op(2, 2, "invoke", 1, "cas", [1, 2]),
        Op(3, 3, "fail", 1, "cas", [1, 2], error=22),
    ]
    assert check(ops, "cas-register").valid is False
    assert check(ops, "cas-register", failed_cas="drop").valid is True
    assert check(ops, "cas-register", failed_cas="observe").valid is False
    plain_fail = [*ops[:3], Op(3, 3, "fail", 1, "cas", [1, 2], error="unavailable")]
    assert check(plain_fail, "cas-register").valid is True
    assert FAILED is not UNKNOWN
