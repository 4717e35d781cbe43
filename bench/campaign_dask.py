"""Campaign throughput locally and on Dask: cells per minute and the per-cell cost of going through Dask.

A campaign of N short simulator cells (CPU-bound: the virtual-time loop runs as fast as a core allows)
is run five ways — the local executor with 1 and 2 processes, ``--cluster local:1`` and ``local:2``, and
a real ``dask scheduler`` with two ``dask worker`` processes on 127.0.0.1 — and for each it prints:

* ``span``: first cell start to last cell done (cluster start-up excluded), and cells/min over it;
* ``total``: the whole ``campaign run`` including cluster start-up, and cells/min over that;
* ``overhead/cell``: ``(workers x span - sum of the cells' own run time) / N`` — everything that is not
  the cell's run: forking, packing and shipping its run directory, scheduling, writing it into the store
  (and idle workers at the tail).

Goals: under 0.2 s per cell through Dask, and near-linear scaling from 1 to 2 workers when the cells
are CPU-bound and the machine has the cores free.

    .venv/bin/python bench/campaign_dask.py [--cells 40] [--time-limit 2] [--only local1,dask2,...]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.apps.campaign import api, dask_exec
from harness.apps.campaign.loader import build_campaign
from harness.apps.campaign.model import Campaign, Cell, CellRecord

MODES = ("local1", "local2", "dask1", "dask2", "scheduler2")


def campaign(cells: int, time_limit: float, parallel: int) -> Campaign:
    """``cells`` seeds of the replication store under partitions, on the simulator."""
    return build_campaign(
        {
            "campaign": {"name": "bench", "parallel": parallel},
            "defaults": {"time_limit": time_limit, "quiesce": 0.3, "nemesis_interval": 0.5, "rate": 40},
            "matrix": [{"systems": ["replication"], "faults": ["partition"], "seeds": cells}],
        }
    )


class Clock:
    """Observer noting the first start and the last finish."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last: float | None = None

    def __call__(self, kind: str, cell: Cell, rec: CellRecord | None) -> None:
        now = time.perf_counter()
        if kind == "start" and self.first is None:
            self.first = now
        if kind == "done":
            self.last = now


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def real_cluster(workers: int, logs: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A ``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes on 127.0.0.1."""
    dask_cli = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    with (logs / "scheduler.log").open("wb") as out:
        procs.append(subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                       "--no-dashboard"], stdout=out, stderr=subprocess.STDOUT))
    _wait_port(port)
    ports = [_free_port() for _ in range(workers)]
    for i, wport in enumerate(ports):
        with (logs / f"w{i}.log").open("wb") as out:
            procs.append(subprocess.Popen(
                [dask_cli, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--worker-port",
                 str(wport), "--no-dashboard", "--resources", "cores=1", "--local-directory",
                 str(logs / f"w{i}")],
                stdout=out, stderr=subprocess.STDOUT))
    for wport in ports:
        _wait_port(wport)
    return address, procs


def measure(mode: str, cells: int, time_limit: float, root: Path) -> dict[str, Any]:
    """Run the campaign one way; returns its timings."""
    workers = 1 if mode.endswith("1") else 2
    camp = campaign(cells, time_limit, parallel=workers)
    clock = Clock()
    procs: list[subprocess.Popen[bytes]] = []
    cluster = None
    try:
        if mode.startswith("dask"):
            cluster = f"local:{workers}"
        elif mode.startswith("scheduler"):
            logs = root / f"{mode}-logs"
            logs.mkdir()
            cluster, procs = real_cluster(workers, logs)
        began = time.perf_counter()
        res = api.run(camp, store=root / mode, cluster=cluster, observer=clock)
        total = time.perf_counter() - began
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    assert clock.first is not None and clock.last is not None
    if len(res.records) != cells or any(r.status.value not in ("valid", "invalid")
                                        for r in res.records.values()):
        raise SystemExit(
            f"{mode}: not every cell finished: {sorted({r.status.value for r in res.records.values()})}"
        )
    span = clock.last - clock.first
    busy = sum(r.wall_seconds for r in res.records.values())
    return {
        "mode": mode,
        "workers": workers,
        "span": span,
        "total": total,
        "cell_s": busy / cells,
        "per_min_span": 60 * cells / span,
        "per_min_total": 60 * cells / total,
        "overhead": (workers * span - busy) / cells,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=40)
    ap.add_argument("--time-limit", type=float, default=2.0, help="virtual seconds per cell")
    ap.add_argument("--only", default=",".join(MODES), help="comma-separated subset of " + ", ".join(MODES))
    args = ap.parse_args()
    modes = [m for m in args.only.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        raise SystemExit(f"unknown mode(s) {sorted(unknown)}; valid: {', '.join(MODES)}")
    dask_exec.detect_resources = lambda: {"cores": 1}  # sim cells need none; skip probing docker
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        for mode in modes:
            rows.append(measure(mode, args.cells, args.time_limit, Path(tmp)))
            r = rows[-1]
            print(
                f"{r['mode']:<11} workers {r['workers']}  span {r['span']:6.1f}s  {r['per_min_span']:6.1f} "
                "cells/min"
                f"  total {r['total']:6.1f}s  {r['per_min_total']:6.1f} cells/min  cell {r['cell_s']:.2f}s"
                f"  overhead/cell {r['overhead']:.3f}s",
                flush=True,
            )
    by = {r["mode"]: r for r in rows}
    for one, two in (("local1", "local2"), ("dask1", "dask2")):
        if one in by and two in by:
            print(f"scaling {one} -> {two}: x{by[two]['per_min_span'] / by[one]['per_min_span']:.2f} (span)")
    if "local1" in by and "dask1" in by:
        extra = (by["dask1"]["span"] - by["local1"]["span"]) / args.cells
        print(f"Dask vs local executor, one worker: {extra:+.3f}s per cell")


if __name__ == "__main__":
    main()
