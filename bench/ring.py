"""Consistent-hashing ring numbers: balance by virtual-node count and key movement on join/leave.

    .venv/bin/python bench/ring.py [--keys 100000] [--nodes 10]

Balance is the coefficient of variation (std-dev / mean) of the keys each node is primary for; movement
is the share of keys whose primary (or, for N=3, whose replica set) changes when one node joins or
leaves, next to the ideal ``1/N`` and to what ``hash mod N`` placement would move.
"""

from __future__ import annotations

import argparse
import time

from systems_under_test.hashring.ring import Ring, distribution, moved, position, spread


def main() -> None:
    """Print the balance and movement tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--nodes", type=int, default=10)
    args = ap.parse_args()
    keys = [f"key{i}" for i in range(args.keys)]
    nodes = [f"n{i}" for i in range(1, args.nodes + 1)]
    k, n = len(keys), len(nodes)
    print(f"{k} keys, {n} nodes")
    print("vnodes  cv(keys/node)  min..max keys/node  build+place (s)")
    for v in (1, 4, 16, 64, 256):
        t0 = time.perf_counter()
        counts = distribution(Ring.build(nodes, v), keys)
        dt = time.perf_counter() - t0
        print(
            f"{v:>6}  {spread(counts):>13.3f}  {min(counts.values()):>8}..{max(counts.values()):<8}  "
            f"{dt:>14.2f}"
        )
    ring = Ring.build(nodes, 128)
    joined, left = ring.with_member(f"n{n + 1}"), ring.without_member("n1")
    print("\nmovement with 128 vnodes (share of keys):")
    print(f"  join  primary {moved(ring, joined, keys) / k:.3f}  (ideal 1/(N+1) = {1 / (n + 1):.3f})")
    print(f"  leave primary {moved(ring, left, keys) / k:.3f}  (ideal 1/N = {1 / n:.3f})")
    print(
        f"  join  N=3 replica set {moved(ring, joined, keys, 3) / k:.3f}  (ideal 3/(N+1) = {3 / (n + 1):.3f})"
    )
    modn = sum(position(f"key:{x}") % n != position(f"key:{x}") % (n + 1) for x in keys) / k
    print(f"  hash mod N placement, join: {modn:.3f}")


if __name__ == "__main__":
    main()
