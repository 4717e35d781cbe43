"""Elle checker benchmark: list-append histories from a simulated serializable store, then planted anomalies.

Target: >= 50k transactions/s on a 100k-transaction history, growing linearly with size. For each size the
benchmark builds a strictly serializable history (concurrency 8, some failed and indeterminate
transactions), checks it (best of ``--repeat`` runs), then plants every anomaly class of
``checkers.elle.synth.PLANTED`` into it one at a time and checks that exactly that class is reported.

    .venv/bin/python bench/elle.py [--sizes 10000,25000,50000,100000] [--seed 1] [--repeat 3] [--no-plant]
"""

from __future__ import annotations

import argparse
import time

from checkers.elle import check
from checkers.elle.synth import PLANTED, list_append_history, plant


def main() -> None:
    """Run the benchmark and print one line per size (and per planted anomaly)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,25000,50000,100000")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--no-plant", action="store_true", help="skip the planted-anomaly runs")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("wall = elapsed seconds, cpu = this process's CPU seconds (steadier on a shared machine); "
          "best of runs")
    print(f"{'txns':>8} {'ops':>8} {'wall s':>8} {'cpu s':>8} {'txn/s(cpu)':>11} {'edges':>8}  verdict")
    rates = []
    for n in sizes:
        h = list_append_history(n, seed=args.seed, concurrency=args.concurrency, fail_p=0.02, info_p=0.02)
        best = best_cpu = float("inf")
        result = None
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            result = check(h)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        assert result is not None
        edges = sum(result.details["stats"]["edges"].values())
        rates.append(n / best_cpu)
        print(f"{n:>8} {len(h):>8} {best:>8.3f} {best_cpu:>8.3f} {n / best_cpu:>11.0f} {edges:>8}  "
              f"{result.valid}")
    if len(sizes) > 1:
        per_txn = [1e6 / r for r in rates]
        print(f"cpu us/txn by size: {', '.join(f'{x:.1f}' for x in per_txn)} "
              f"(linear growth keeps these flat; ratio last/first {per_txn[-1] / per_txn[0]:.2f})")
    if args.no_plant:
        return
    n = sizes[-1]
    h = list_append_history(n, seed=args.seed, concurrency=args.concurrency, fail_p=0.02, info_p=0.02)
    print(f"planted anomalies in a {n}-transaction history:")
    for i, (name, (_, expected)) in enumerate(sorted(PLANTED.items())):
        planted = plant(h, name, seed=args.seed + i)
        c0 = time.process_time()
        r = check(planted)
        dt = time.process_time() - c0
        found = set(r.details["anomaly-types"])
        status = "ok" if found == expected else f"MISMATCH (expected {sorted(expected)})"
        print(f"  {name:<20} {dt:>6.3f} cpu s  valid={r.valid!s:<5} found={sorted(found)} {status}")


if __name__ == "__main__":
    main()
