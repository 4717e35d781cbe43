"""Synthetic runs for the report tests: seeded register histories, valid by construction or with a planted
stale read, checked by the real linearizability checker and written as a store run dir."""

from __future__ import annotations

import heapq
import json
import random
from pathlib import Path
from typing import Any

from checkers.history import Op, write_jsonl
from checkers.linearizability import check
from reports.run_report import write_run_report

EVIL = "<script>alert(1)</script>"


def register_history(n_ops: int, *, seed: int = 1, concurrency: int = 5, keys: int = 3,
                     stale_at: int | None = None,
                     evil: bool = False, faults: bool = True) -> list[Op]:
    """``n_ops`` client ops on ``keys`` registers, linearizable: each op takes effect at its invocation.

    ``stale_at``: the first read at or after that op number returns the key's previous value instead
    — a value overwritten by a write that completed before the read began, which the checker must
    catch. ``evil``: one key is named ``EVIL``, and the nemesis value too.
    """
    rng = random.Random(seed)
    names = [f"k{i}" for i in range(keys)]
    if evil:
        names[-1] = EVIL
    state: dict[str, Any] = dict.fromkeys(names)
    replaced: dict[str, list[tuple[Any, int]]] = {k: [] for k in names}  # (old value, overwrite completed)
    events: list[tuple[int, int, dict[str, Any]]] = []  # (time, seq, fields)
    seq = 0
    ready = [(rng.randrange(1_000_000), p) for p in range(concurrency)]
    heapq.heapify(ready)
    process_of = list(range(concurrency))
    planted = False
    for n in range(n_ops):
        t, lane = heapq.heappop(ready)
        proc, key = process_of[lane], rng.choice(names)
        f = rng.choice(("read", "read", "write", "cas"))
        if f == "read":
            inv, out, typ = [key, None], [key, state[key]], "ok"
            if stale_at is not None and n >= stale_at and not planted:
                gone = [v for v, done_at in replaced[key] if done_at < t and v is not None
                        and v != state[key]]
                if gone:
                    out, planted = [key, gone[-1]], True
        else:
            new = rng.randrange(1_000_000)
            if f == "write":
                inv = out = [key, new]
            else:
                old = state[key] if rng.random() < 0.5 else rng.randrange(1_000_000)
                inv = out = [key, [old, new]]
            typ = "ok" if f == "write" or state[key] == old else "fail"
        crashed = f == "write" and rng.random() < 0.01
        latency = 1_000_000_000 if crashed else rng.randrange(200_000, 20_000_000)
        if f != "read" and typ == "ok":
            replaced[key].append((state[key], t + latency))
            state[key] = new
        events.append((t, seq,
                       {"type": "invoke", "process": proc, "f": f, "value": inv, "node": f"n{lane % 3 + 1}"}))
        done = {"type": "info" if crashed else typ, "process": proc, "f": f, "value": out,
                "node": f"n{lane % 3 + 1}"}
        if typ == "fail":
            done["error"] = [22, "precondition failed"]
        if crashed:
            done["error"] = ["indefinite", "timeout"]
            process_of[lane] += concurrency
        events.append((t + latency, seq + 1, done))
        seq += 2
        heapq.heappush(ready, (t + latency + rng.randrange(100_000, 2_000_000), lane))
    end = max(t for t, _, _ in events)
    if faults:
        step = max(end // 6, 1)
        for i, at in enumerate(range(step, end - step // 2, step)):
            grudge = {"n1": ["n2", "n3"]} if not evil else {"n1": [EVIL]}
            f, value = ("start-partition", grudge) if i % 2 == 0 else ("stop-partition", None)
            events.append((at, seq, {"type": "info", "process": "nemesis", "f": f, "value": value}))
            seq += 1
    events.sort(key=lambda e: (e[0], e[1]))
    return [Op.from_dict({"index": i, "time": t, **d}) for i, (t, _, d) in enumerate(events)]


def write_run(run_dir: Path, ops: list[Op], *, system: str = "replication:async", test_name: str = "",
              concurrency: int = 5, check_time_limit: float = 20.0, assets: str = "auto") -> Path:
    """Check ``ops`` and write a complete run dir like a real run does; returns the report's path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    spec = {"system": system, "workload": "register", "backend": "sim", "nemesis": ["partition"], "seed": 7,
            "concurrency": concurrency, "test_name": test_name}
    result = check(ops, time_limit=check_time_limit)
    replay = f"splitbrain run --system {system} --seed 7"
    doc = {"valid": result.valid, "ops": sum(1 for o in ops if o.is_client and o.type == "invoke"),
           "result": result.to_dict(), "replay": replay, "duration": ops[-1].time / 1e9 if ops else 0}
    (run_dir / "spec.json").write_text(json.dumps({"spec": spec, "started": 1795820000.0}), encoding="utf-8")
    write_jsonl(run_dir / "history.jsonl", ops)
    (run_dir / "results.json").write_text(json.dumps(doc, default=str), encoding="utf-8")
    return write_run_report(run_dir, spec, doc, ops, replay_command=replay, assets=assets)
