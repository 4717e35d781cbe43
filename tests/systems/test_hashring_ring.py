"""The pure ring: deterministic placement, balance improving with vnodes, minimal movement on join/leave."""

from __future__ import annotations

import pytest

from systems_under_test.hashring.ring import Ring, distribution, moved, spread

KEYS = [f"key{i}" for i in range(20_000)]
NODES = [f"n{i}" for i in range(1, 11)]


def test_preference_lists_are_distinct_deterministic_and_clockwise() -> None:
    ring = Ring.build(NODES, 32)
    assert Ring.build(reversed(NODES), 32) == ring
    for k in KEYS[:200]:
        pref = ring.preference(k, 3)
        assert len(pref) == 3 == len(set(pref)) and pref[0] == ring.primary(k)
        assert ring.preference(k, 5)[:3] == pref, "a longer list extends the shorter one"
    assert Ring.build(["a", "b"], 4).preference("x", 3) in (("a", "b"), ("b", "a"))
    assert Ring.build([], 4).preference("x", 3) == ()
    with pytest.raises(ValueError):
        Ring.build(NODES, 0)


def test_balance_improves_with_virtual_nodes() -> None:
    spreads = {v: spread(distribution(Ring.build(NODES, v), KEYS)) for v in (1, 16, 256)}
    print(
        "coefficient of variation of keys per node by vnodes:", {v: round(s, 3) for v, s in spreads.items()}
    )
    assert spreads[1] > spreads[16] > spreads[256]
    assert spreads[256] < 0.12, spreads
    assert spreads[1] > 0.3, spreads


def test_join_and_leave_move_about_one_nth_of_the_keys() -> None:
    ring = Ring.build(NODES, 128)
    joined = ring.with_member("n11")
    left = ring.without_member("n3")
    k = len(KEYS)
    join_moves, leave_moves = moved(ring, joined, KEYS), moved(ring, left, KEYS)
    print(
        f"primary moves: join {join_moves}/{k} (K/N = {k // 11}), leave {leave_moves}/{k} (K/N = {k // 10})"
    )
    assert 0.6 * k / 11 < join_moves < 1.4 * k / 11
    assert 0.6 * k / 10 < leave_moves < 1.4 * k / 10
    # every moved key moved to the joiner / away from the leaver: nothing else is reshuffled
    assert all(joined.primary(x) in (ring.primary(x), "n11") for x in KEYS[:2000])
    assert all(left.primary(x) == ring.primary(x) for x in KEYS[:2000] if ring.primary(x) != "n3")
    # compare with mod-N placement, which moves almost everything
    modn = sum(hash_mod(x, 10) != hash_mod(x, 11) for x in KEYS)
    assert modn > 0.8 * k


def test_replica_sets_change_for_about_n_over_nodes_of_the_keys() -> None:
    ring = Ring.build(NODES, 128)
    changed = moved(ring, ring.with_member("n11"), KEYS, n=3)
    print(f"replica-set (N=3) changes on join: {changed}/{len(KEYS)}")
    assert 0.6 * 3 * len(KEYS) / 11 < changed < 1.4 * 3 * len(KEYS) / 11


def hash_mod(key: str, n: int) -> int:
    from systems_under_test.hashring.ring import position

    return position(f"key:{key}") % n
