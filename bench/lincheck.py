"""Benchmark of the linearizability checker.

Checks every linearizability file of the labelled corpus (``MANIFEST.tsv`` rows whose check starts with
``linearizable:``) in-process, median of 3 runs (loading excluded, as Porcupine's benchmark excludes
parsing; counterexample construction included), and prints per-file and total times next to the
reference numbers measured for Porcupine v1.3.0 on a 2-core machine. Then a synthetic scaling series
(ops x concurrency x crash rate) of histories of a simulated linearizable register, with time and peak
memory (tracemalloc, measured on a separate run because tracing slows Python down).

    python bench/lincheck.py [--corpus DIR] [--no-synthetic] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from checkers.history import Op
from checkers.importers import load_history
from checkers.linearizability import check
from checkers.models import parse_initial

#: Porcupine v1.3.0, in-process, median of 3, 2-core machine (ms)
PORCUPINE_MS = {"etcd total": 309.0, "etcd_002": 169.0, "etcd_007": 119.0, "c10-ok": 0.97, "c10-bad": 0.68}


def find_corpus(explicit: str | None) -> Path | None:
    """--corpus, $SPLITBRAIN_CORPUS, or ../shared/corpus next to the repository (as tests/conftest.py)."""
    cands = [Path(explicit)] if explicit else []
    if os.environ.get("SPLITBRAIN_CORPUS"):
        cands.append(Path(os.environ["SPLITBRAIN_CORPUS"]))
    cands += [REPO.parent / "shared" / "corpus", REPO.parent.parent / "shared" / "corpus"]
    return next((c for c in cands if (c / "MANIFEST.tsv").is_file()), None)


def model_of(spec: str) -> tuple[str, Any]:
    """'linearizable:cas-register(initial=nil)' -> ('cas-register', None)."""
    m = re.match(r"linearizable:([\w-]+)(?:\((.*)\))?$", spec)
    if not m:
        raise ValueError(f"cannot read check spec {spec!r}")
    init = re.search(r"initial=([^;,)]+)", m.group(2) or "")
    return m.group(1), parse_initial(init.group(1)) if init else None


def timed(fn: Any, repeat: int, single_above: float = 1.0) -> tuple[float, Any]:
    """Median wall time (s) of ``repeat`` calls and the last result (one call if it takes > single_above s)."""
    times = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        if times[0] > single_above:
            break
    return statistics.median(times), result


def bench_corpus(corpus: Path, repeat: int) -> dict[str, float]:
    """Per-file lines and group totals; returns the totals (ms)."""
    with (corpus / "MANIFEST.tsv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["check"].startswith("linearizable:")]
    print(f"{'file':58s} {'ops':>5s} {'verdict':>8s} {'expect':>8s} {'ms':>9s} {'configs':>8s}")
    totals: dict[str, float] = {}
    wrong = 0
    for r in rows:
        ops = load_history(corpus / r["path"])
        name, initial = model_of(r["check"])
        secs, res = timed(lambda o=ops, n=name, i=initial: check(o, n, initial=i, time_limit=60), repeat)
        ms = secs * 1000
        configs = sum(s.get("configs", 0) for s in res.details["stats"].values())
        ok = (res.valid is True and r["expected"] == "valid") or (res.valid is False and r["expected"] == "invalid")
        wrong += not ok
        n_ops = sum(1 for op in ops if op.type == "invoke")
        print(f"{r['path']:58s} {n_ops:5d} {res.valid!s:>8s} {r['expected']:>8s} {ms:9.2f} {configs:8d}"
              + ("" if ok else "  WRONG"))
        group = r["path"].split("/")[0] + "/" + r["path"].split("/")[1]
        totals[group] = totals.get(group, 0.0) + ms
        stem = Path(r["path"]).stem
        if stem in PORCUPINE_MS:
            totals[stem] = ms
    totals["etcd total"] = totals.get("porcupine/etcd", 0.0)
    print()
    for g, ms in totals.items():
        ref = PORCUPINE_MS.get(g)
        cmp = f"   (Porcupine {ref:.2f} ms: x{ms / ref:.2f})" if ref else ""
        print(f"  {g:40s} {ms:9.2f} ms{cmp}")
    print(f"  verdicts wrong: {wrong}")
    return totals


def synthetic(n_ops: int, concurrency: int, crash_rate: float, seed: int) -> list[Op]:
    """A history of a linearizable register: each op takes effect at a random instant of its interval
    (a crashed op at a random later instant, or never); values from a small domain, as in Jepsen."""
    rng = random.Random(seed)
    events: list[tuple[float, int, str, int, str, Any]] = []  # (time, tiebreak, type, proc, f, value)
    effects: list[tuple[float, int]] = []  # (linearization time, op id)
    ops: list[dict[str, Any]] = []
    clock = [0.0] * concurrency
    procs = list(range(concurrency))
    next_proc = concurrency
    for i in range(n_ops):
        slot = rng.randrange(concurrency)
        start = clock[slot] + rng.expovariate(1.0)
        dur = rng.expovariate(1.0 / concurrency) + 0.01
        f = rng.choices(["read", "write", "cas"], [0.5, 0.3, 0.2])[0]
        val: Any = None if f == "read" else rng.randrange(5) if f == "write" else [rng.randrange(5), rng.randrange(5)]
        crashed = rng.random() < crash_rate
        proc = procs[slot]
        op = {"id": i, "proc": proc, "f": f, "in": val, "start": start, "end": start + dur, "crashed": crashed}
        ops.append(op)
        if not crashed:
            effects.append((rng.uniform(start, start + dur), i))
        elif rng.random() < 0.5:
            effects.append((start + rng.expovariate(0.1), i))
        clock[slot] = start + dur
        if crashed:
            procs[slot] = next_proc
            next_proc += 1
    state: Any = None
    result: dict[int, Any] = {}
    for _, i in sorted(effects):
        op = ops[i]
        if op["f"] == "read":
            result[i] = state
        elif op["f"] == "write":
            state = op["in"]
        else:
            result[i] = state == op["in"][0]
            if result[i]:
                state = op["in"][1]
    for op in ops:
        i = op["id"]
        value = [op["in"][0], op["in"][1]] if op["f"] == "cas" else op["in"]
        events.append((op["start"], 2 * i, "invoke", op["proc"], op["f"], value))
        if op["crashed"]:
            events.append((op["end"], 2 * i + 1, "info", op["proc"], op["f"], value))
            continue
        if op["f"] == "read":
            events.append((op["end"], 2 * i + 1, "ok", op["proc"], "read", result.get(i)))
        elif op["f"] == "cas" and not result.get(i):
            events.append((op["end"], 2 * i + 1, "fail", op["proc"], "cas", value))
        else:
            events.append((op["end"], 2 * i + 1, "ok", op["proc"], op["f"], value))
    events.sort(key=lambda e: (e[0], e[1]))
    return [
        Op(j, int(t * 1e6), typ, p, f, v, error=22 if typ == "fail" else None)
        for j, (t, _, typ, p, f, v) in enumerate(events)
    ]


def bench_synthetic(repeat: int, time_limit: float) -> None:
    """The scaling series: ops x concurrency x crash rate."""
    print(f"\n{'ops':>6s} {'conc':>5s} {'crash':>6s} {'verdict':>8s} {'ms':>10s} {'configs':>9s} {'peak MB':>8s}")
    for n_ops in (100, 1000, 5000):
        for conc in (5, 20):
            for crash in (0.0, 0.1, 0.3):
                hist = synthetic(n_ops, conc, crash, seed=n_ops * 100 + conc + int(crash * 10))
                secs, res = timed(lambda h=hist: check(h, "cas-register", time_limit=time_limit), repeat)
                tracemalloc.start()
                check(hist, "cas-register", time_limit=time_limit)
                peak = tracemalloc.get_traced_memory()[1] / 1e6
                tracemalloc.stop()
                configs = sum(s.get("configs", 0) for s in res.details["stats"].values())
                print(f"{n_ops:6d} {conc:5d} {crash:6.1f} {res.valid!s:>8s} {secs * 1000:10.2f} "
                      f"{configs:9d} {peak:8.2f}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a corpus verdict is wrong."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="the labelled corpus directory (default: ../shared/corpus)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--no-synthetic", action="store_true", help="skip the synthetic scaling series")
    ap.add_argument("--time-limit", type=float, default=3.0, help="per synthetic check (s)")
    args = ap.parse_args(argv)
    corpus = find_corpus(args.corpus)
    if corpus is None:
        print("labelled corpus not found (use --corpus DIR or $SPLITBRAIN_CORPUS)", file=sys.stderr)
    else:
        bench_corpus(corpus, args.repeat)
    if not args.no_synthetic:
        bench_synthetic(args.repeat, args.time_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
