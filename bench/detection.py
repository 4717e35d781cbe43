"""Detection benchmark: how often the generic nemesis finds each planted bug, and false alarms.

Prints the matrix planted bug x strategy:

* ``random all``: plain ``splitbrain run --backend sim --nemesis all`` runs of 30 virtual seconds, one per
  seed (every other setting at its default) -- what a new user gets without knowing where to look;
* ``explore``: ``splitbrain explore`` with its defaults, search seeds 0..``--explore-seeds``-1.

For each: the share of runs caught (random) or of searches that found a violation (explore), and the
time to the first violation (random: the median virtual time of the first op the checker blames;
explore: wall seconds of search until the first violating run, median and worst over the searches;
shrinking is skipped, it comes after). Then the false-alarm count: runs of every correct variant that
were not valid (invalid or unknown), over ``--correct-seeds`` seeds.

    .venv/bin/python bench/detection.py [--seeds 20] [--correct-seeds 60] [--jobs 2] [--no-explore]
        [--explore-seeds 5] [--explore-only] [--only variant,...] [--first-seed 1]

Numbers depend on the machine's load (wall times); catch rates and virtual times do not.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from systems_under_test.registry import systems


def _variants() -> tuple[list[str], list[str]]:
    bugs, correct = [], []
    for d in systems().values():
        if d.is_third_party:
            continue
        for v in d.variants:
            (bugs if v.planted_bug else correct).append(v.name)
    return bugs, correct


def random_spec(system: str, seed: int) -> Any:
    """The run ``splitbrain run --system SYSTEM --backend sim --nemesis all --time-limit 30 --seed SEED``
    makes: every other setting at its default, the cluster at the system's own default size."""
    from harness.run.spec import RunSpec
    from systems_under_test.registry import resolve

    return RunSpec(system=system, backend="sim", nodes=resolve(system)[0].default_nodes, seed=seed,
                   time_limit=30.0, nemesis=("all",))


def random_run(args: tuple[str, int]) -> dict[str, Any]:
    """One 30 s ``--nemesis all`` sim run, checked; the virtual time of the first op the checker blames."""
    from harness.apps.explore import simulate_and_check

    system, seed = args
    v = simulate_and_check(random_spec(system, seed))
    first = None
    if v.result.valid is False:
        blamed = _blamed(v.result)
        ops = [op for op in v.ops if op.index in blamed] if blamed else []
        first = min(op.time for op in ops) / 1e9 if ops else None
    return {"system": system, "seed": seed, "valid": v.result.valid, "error": v.error, "first": first}


def _blamed(result: Any) -> set[int]:
    """Op indices the checker names (best effort over the result's evidence)."""
    found: set[int] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for k, val in x.items():
                if k in ("index", "op_index") and isinstance(val, int):
                    found.add(val)
                walk(val)
        elif isinstance(x, list):
            for val in x:
                walk(val)

    walk(result.to_dict())
    return found


def explore_one(args: tuple[str, int]) -> dict[str, Any]:
    """``explore`` with its defaults on ``system`` (search seed ``seed``), until the first violation."""
    from harness.apps.explore import ExploreOptions, explore

    system, seed = args
    t0 = time.perf_counter()
    r = explore(ExploreOptions(system, seed=seed, shrink_time=0.0))
    f = r.finding
    return {"system": system, "found": f is not None, "first_s": f.seconds_to_first if f else None,
            "runs": f.runs_to_first if f else r.runs, "total_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="random runs per planted bug (seeds 1..N)")
    ap.add_argument("--first-seed", type=int, default=1,
                    help="first seed of the random runs of planted bugs (seeds FIRST..FIRST+N-1)")
    ap.add_argument("--correct-seeds", type=int, default=60, help="runs per correct variant (seeds 1..N)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-explore", action="store_true")
    ap.add_argument("--explore-only", action="store_true", help="only the explore column")
    ap.add_argument("--only", default=None, help="comma-separated variants to measure")
    ap.add_argument("--explore-seeds", type=int, default=5,
                    help="explore searches per planted bug (search seeds 0..N-1)")
    a = ap.parse_args()
    bugs, correct = _variants()
    if a.only:
        keep = set(a.only.split(","))
        bugs, correct = [b for b in bugs if b in keep], [c for c in correct if c in keep]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(a.jobs) as ex:
        if a.explore_only:
            a.seeds = a.correct_seeds = 0
        rows = list(ex.map(random_run, [(b, s) for b in bugs
                                        for s in range(a.first_seed, a.first_seed + a.seeds)]))
        alarms = list(ex.map(random_run, [(c, s) for c in correct for s in range(1, a.correct_seeds + 1)]))
        found = list(ex.map(explore_one, [(b, s) for b in bugs for s in range(a.explore_seeds)])
                     ) if not a.no_explore else []
    by_explore: dict[str, list[dict[str, Any]]] = {}
    for f in found:
        by_explore.setdefault(f["system"], []).append(f)
    print(f"| planted bug | random `all` caught ({a.seeds} seeds) "
          f"| median virtual s of the earliest blamed op | explore: found ({a.explore_seeds} searches) "
          "| explore: wall s to first, median / max (median runs) |")
    print("|---|---|---|---|---|")
    for b in bugs:
        mine = [r for r in rows if r["system"] == b]
        caught = [r for r in mine if r["valid"] is False]
        firsts = [r["first"] for r in caught if r["first"] is not None]
        med = f"{statistics.median(firsts):.1f}" if firsts else "-"
        es = by_explore.get(b, [])
        hits = [e for e in es if e["found"]]
        ecell = f"{len(hits)}/{len(es)}" if es else "-"
        secs = [e["first_s"] for e in hits]
        etime = (f"{statistics.median(secs):.1f} / {max(secs):.1f} "
                 f"({statistics.median(e['runs'] for e in hits):g})") if hits else "-"
        rate = f"{100 * len(caught) / len(mine):.0f} % ({len(caught)}/{len(mine)})" if mine else "-"
        print(f"| {b} | {rate} | {med} | {ecell} | {etime} |")
    print()
    print(f"false alarms (invalid or unknown) over {a.correct_seeds} seeds per correct variant:")
    for c in correct:
        bad = [r for r in alarms if r["system"] == c and r["valid"] is not True]
        print(f"  {c}: {len(bad)}" + (f" (seeds {', '.join(str(r['seed']) for r in bad)})" if bad else ""))
    total = sum(1 for r in alarms if r["valid"] is not True)
    print(f"total false alarms: {total} of {len(alarms)} runs; wall {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
