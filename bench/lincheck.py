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
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from checkers.history import Op
from checkers.importers import load_history
from checkers.linearizability import check
from checkers.linearizability.budget import rss_bytes
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


def timed(fn: Any, repeat: int, single_above: float = 1.0) -> tuple[float, Any, float]:
    """Median wall time (s) of ``repeat`` calls, the last result and the median CPU time (s) (one call if
    it takes > single_above s)."""
    times = []
    cpus = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        c = time.process_time()
        result = fn()
        cpus.append(time.process_time() - c)
        times.append(time.perf_counter() - t)
        if times[0] > single_above:
            break
    return statistics.median(times), result, statistics.median(cpus)


def bench_corpus(corpus: Path, repeat: int) -> tuple[dict[str, float], int, list[str]]:
    """Per-file lines and group totals; returns the totals (ms), the wrong verdicts, markdown rows."""
    with (corpus / "MANIFEST.tsv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["check"].startswith("linearizable:")]
    print(f"{'file':58s} {'ops':>5s} {'verdict':>8s} {'expect':>8s} {'ms':>9s} {'configs':>8s}")
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    ops_in: dict[str, int] = {}
    wrong_in: dict[str, int] = {}
    cpu_in: dict[str, float] = {}
    wrong = 0
    for r in rows:
        ops = load_history(corpus / r["path"])
        name, initial = model_of(r["check"])
        secs, res, cpu = timed(lambda o=ops, n=name, i=initial: check(o, n, initial=i, time_limit=60), repeat)
        ms = secs * 1000
        configs = sum(s.get("configs", 0) for s in res.details["stats"].values())
        ok = (res.valid is True and r["expected"] == "valid") or (res.valid is False and r["expected"] == "invalid")
        wrong += not ok
        n_ops = sum(1 for op in ops if op.type == "invoke")
        print(f"{r['path']:58s} {n_ops:5d} {res.valid!s:>8s} {r['expected']:>8s} {ms:9.2f} {configs:8d}"
              + ("" if ok else "  WRONG"))
        group = r["path"].split("/")[0] + "/" + r["path"].split("/")[1]
        totals[group] = totals.get(group, 0.0) + ms
        cpu_in[group] = cpu_in.get(group, 0.0) + cpu * 1000
        counts[group] = counts.get(group, 0) + 1
        ops_in[group] = ops_in.get(group, 0) + n_ops
        wrong_in[group] = wrong_in.get(group, 0) + (not ok)
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
    right = {g: n - wrong_in.get(g, 0) for g, n in counts.items()}
    rows = [f"| corpus {g} ({counts[g]} files, labelled) | {ops_in[g]} | {right[g]}/{counts[g]} right | "
            f"{totals[g]:.1f} | {cpu_in[g]:.1f} | | {_ref(g)} |" for g in counts]
    for g in counts:
        print(f"  {g:40s} CPU {cpu_in[g]:9.2f} ms")
    return totals, wrong, rows


def _ref(group: str) -> str:
    if group == "porcupine/etcd":
        return f"{PORCUPINE_MS['etcd total']:.0f} (etcd total)"
    return ""


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


def kv_history(clients: int, seed: int, *, ops_per_client: int = 40, keys: int = 10, hard: bool = False,
               bad: bool = False) -> list[Op]:
    """A Porcupine-kv-shaped history (get/put/append on string keys "0".."9", values "x <client> <n> y"),
    made by our own simulation: every op takes effect at a random instant of its interval, so the
    history is linearizable unless ``bad``.

    ``hard``: key "0" gets ``HOT_SHARE`` of the traffic (twice its fair share), so many of its appends
    overlap (the shape that makes one key of a many-client history hard to decide). ``bad``: one
    early get on key "7" returns the value from before the last append that completed before the get
    was invoked (a stale read: an easy violation on an easy key), and a late get on the hard key
    returns its last two tokens swapped (whether that can be refuted quickly is the hard key's
    business; the file is invalid either way).
    """
    rng = random.Random(seed)
    ops: list[dict[str, Any]] = []
    names = [str(k) for k in range(keys)]
    for c in range(clients):
        clock = rng.uniform(0, 2)
        for n in range(ops_per_client):
            key = "0" if hard and rng.random() < HOT_SHARE else rng.choice(names)
            f = rng.choices(["get", "append", "put"], [0.47, 0.47, PUT_SHARE])[0]
            start = clock + rng.expovariate(2.0)
            end = start + rng.expovariate(1.0) + 0.01
            value = None if f == "get" else f"x {c} {n} y"
            ops.append({"c": c, "key": key, "f": f, "in": value, "start": start, "end": end,
                        "at": rng.uniform(start, end)})
            clock = end
    state: dict[str, str] = {}
    for op in sorted(ops, key=lambda o: o["at"]):
        cur = state.get(op["key"], "")
        if op["f"] == "get":
            op["out"] = cur
        else:
            state[op["key"]] = op["in"] if op["f"] == "put" else cur + op["in"]
            op["out"] = op["in"]
    if bad:
        _plant_stale_read(ops, "7")
        late = [o for o in ops if o["key"] == "0" and o["f"] == "get" and o["out"].count("y") >= 2]
        if late:
            o = late[-1]
            tokens = [t + "y" for t in o["out"].split("y")[:-1]]
            tokens[-1], tokens[-2] = tokens[-2], tokens[-1]
            o["out"] = "".join(tokens)
    events: list[tuple[float, int, str, int, str, dict[str, Any]]] = []
    for i, o in enumerate(ops):
        events.append((o["start"], 2 * i, "invoke", o["c"], o["f"], {"key": o["key"], "value": o["in"]}))
        events.append((o["end"], 2 * i + 1, "ok", o["c"], o["f"], {"key": o["key"], "value": o["out"]}))
    events.sort(key=lambda e: (e[0], e[1]))
    return [Op(j, int(t * 1e6), typ, p, f, [v["key"], v["value"]]) for j, (t, _, typ, p, f, v) in enumerate(events)]


def _plant_stale_read(ops: list[dict[str, Any]], key: str) -> None:
    """Make the first get on ``key`` that follows (in real time) a completed append return the value
    from before that append."""
    mine = sorted((o for o in ops if o["key"] == key), key=lambda o: o["start"])
    for g in mine:
        if g["f"] != "get":
            continue
        done = [a for a in mine if a["f"] == "append" and a["end"] < g["start"] and a["in"] in g["out"]]
        if done:
            last = max(done, key=lambda a: a["end"])
            g["out"] = g["out"].replace(last["in"], "", 1)
            return


def measured(fn: Any) -> tuple[float, float, float, Any]:
    """Run ``fn`` once in a forked child: (wall seconds, CPU seconds, peak resident memory growth in MB,
    result). CPU time is what to compare on a loaded machine (wall time then includes waiting).

    The growth is the child's peak resident set (``ru_maxrss``, which starts at its size when forked)
    minus its size just before the call: the memory the check itself took, history loading excluded.
    """
    import pickle

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, report, leave without running the parent's clean-up
        try:
            os.close(r)
            before = rss_bytes()
            t = time.perf_counter()
            c = time.process_time()
            res = fn()
            cpu = time.process_time() - c
            secs = time.perf_counter() - t
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            with os.fdopen(w, "wb") as fh:
                pickle.dump((secs, cpu, max(peak - before, 0) / 1e6, res), fh)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)  # type: ignore[no-any-return]


def verdict(res: Any) -> str:
    """valid / INVALID / unknown (with the undecided keys when there are any)."""
    if res.valid is True:
        return "valid"
    if res.valid is False:
        return "INVALID"
    keys = res.details.get("unknown_keys") or []
    return "unknown" + (f" (key {', '.join(map(str, keys[:3]))})" if res.details.get("keyed") else "")


#: generated Porcupine-kv shapes: (name, clients, hard key, bad) and Porcupine's own time where known (ms)
#: the share of all ops that go to the hard key "0" (a tenth would be its fair share of ten keys)
HOT_SHARE = 0.2
PUT_SHARE = 0.06
KV_SHAPES = [("c01-ok", 1, False, False), ("c01-bad", 1, False, True), ("c10-ok", 10, False, False),
             ("c10-bad", 10, False, True), ("c50-ok", 50, False, False), ("c50-bad", 50, False, True),
             ("c50-ok, hot key", 50, True, False), ("c50-bad, hot key", 50, True, True)]
PORCUPINE_KV_MS = {"c50-ok": "130-160 (Porcupine's own c50 file)", "c50-bad": "20-50 (Porcupine's own c50 file)"}


def bench_kv(time_limit: float, jobs: int) -> list[str]:
    """Generated kv histories of Porcupine's shapes: markdown rows."""
    rows = []
    for name, clients, hard, bad in KV_SHAPES:
        hist = kv_history(clients, seed=clients * 2 + bad, hard=hard, bad=bad)
        secs, cpu, peak, res = measured(lambda h=hist: check(h, "kv", time_limit=time_limit, jobs=jobs))
        n_ops = len(hist) // 2
        ref = PORCUPINE_KV_MS.get(name, "")
        rows.append(f"| kv {name} (generated) | {n_ops} | {verdict(res)} | {secs * 1000:.1f} | {cpu * 1000:.1f} "
                    f"| {peak:.1f} | {ref} |")
        print(rows[-1], flush=True)
    return rows


TABLE_HEAD = ["| history | ops | verdict | wall ms | CPU ms | peak MB | Porcupine ms / note |",
              "|---|---:|---|---:|---:|---:|---|"]
SWEEP_CLIENTS = (5, 10, 20, 50)
SWEEP_OPS = (1000, 5000, 10000, 50000)
SWEEP_CRASH = (0.0, 0.1)


def bench_synthetic(time_limit: float, ops: tuple[int, ...] = SWEEP_OPS,
                    clients: tuple[int, ...] = SWEEP_CLIENTS) -> list[str]:
    """The scaling sweep (clients x ops x crash rate) of generated linearizable registers: markdown rows."""
    rows = []
    for conc in clients:
        for n_ops in ops:
            for crash in SWEEP_CRASH:
                hist = synthetic(n_ops, conc, crash, seed=n_ops * 100 + conc + int(crash * 10))
                secs, cpu, peak, res = measured(lambda h=hist: check(h, "cas-register", time_limit=time_limit))
                configs = sum(s.get("configs", 0) for s in res.details["stats"].values())
                rows.append(f"| register {conc} clients, {n_ops} ops, {crash:.0%} crashed | {n_ops} | "
                            f"{verdict(res)} | {secs * 1000:.0f} | {cpu * 1000:.0f} | {peak:.1f} | {configs} configs |")
                print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a corpus verdict is wrong."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="the labelled corpus directory (default: ../shared/corpus)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--no-synthetic", action="store_true", help="only the corpus (no generated histories)")
    ap.add_argument("--no-corpus", action="store_true", help="only the generated histories")
    ap.add_argument("--sweep-ops", default=",".join(map(str, SWEEP_OPS)), help="ops of the synthetic sweep ('' to skip it)")
    ap.add_argument("--sweep-clients", default=",".join(map(str, SWEEP_CLIENTS)),
                    help="client counts of the synthetic sweep")
    ap.add_argument("--no-kv", action="store_true", help="leave out the generated kv histories")
    ap.add_argument("--time-limit", type=float, default=60.0, help="per generated history (s)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes for the kv histories")
    ap.add_argument("--markdown", help="also write the table of results to this file")
    args = ap.parse_args(argv)
    rows: list[str] = []
    wrong = 0
    if not args.no_corpus:
        corpus = find_corpus(args.corpus)
        if corpus is None:
            print("labelled corpus not found (use --corpus DIR or $SPLITBRAIN_CORPUS)", file=sys.stderr)
        else:
            _totals, wrong, corpus_rows = bench_corpus(corpus, args.repeat)
            rows += corpus_rows
    if not args.no_synthetic:
        print("\n" + TABLE_HEAD[0])
        if not args.no_kv:
            rows += bench_kv(args.time_limit, args.jobs)
        rows += bench_synthetic(args.time_limit, tuple(int(x) for x in args.sweep_ops.split(",") if x),
                                tuple(int(x) for x in args.sweep_clients.split(",") if x))
    if args.markdown:
        Path(args.markdown).write_text("\n".join(TABLE_HEAD + rows) + "\n", encoding="utf-8")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
