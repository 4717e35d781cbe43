"""Measure a backend: cluster start time and fault-free client throughput (``python bench/docker.py``).

Throughput is closed-loop: ``concurrency`` clients, each with its own connection to a node (round
robin), issue register writes and reads back to back for ``seconds`` and count ``*_ok`` replies. It
compares how much the container network costs against the local backend on the same machine; the
numbers are noisy on a shared machine, so report them with the command that produced them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.backends.base import ClusterSpec, Indefinite, Unreachable


def _make(backend: str, spec: ClusterSpec) -> Any:
    """Build a backend by name through the registry (docker falls back to the class when unregistered)."""
    from harness.backends.registry import BACKENDS

    if backend in BACKENDS:
        return BACKENDS[backend].load_factory()(spec)
    if backend == "docker":
        from harness.backends.docker.backend import make_docker_backend

        return make_docker_backend(spec)
    raise SystemExit(f"unknown backend {backend!r}; choices: {', '.join([*BACKENDS, 'docker'])}")


async def _client(backend: Any, node: str, index: int, stop: float, counts: dict[str, int]) -> None:
    """One closed-loop client: alternate write and read of its own key until ``stop`` (loop time)."""
    loop = asyncio.get_running_loop()
    conn = await backend.connect(node)
    req_id = 0
    try:
        while loop.time() < stop:
            req_id += 1
            req: dict[str, Any] = ({"type": "write", "key": f"b{index}", "value": req_id} if req_id % 2
                                   else {"type": "read", "key": f"b{index}"})
            try:
                reply = await conn.call({**req, "req_id": req_id}, 2.0)
            except (Unreachable, Indefinite):
                counts["errors"] += 1
                continue
            counts["ok" if reply.get("type", "").endswith("_ok") else "errors"] += 1
    finally:
        await conn.close()


async def measure(backend_name: str, system: str, nodes: int, concurrency: int,
                  seconds: float) -> dict[str, Any]:
    """Start a cluster, time its start, run the closed loop, tear down; returns the numbers."""
    node_ids = tuple(f"n{i}" for i in range(1, nodes + 1))
    with tempfile.TemporaryDirectory(prefix="splitbrain-bench-") as tmp:
        backend = _make(backend_name, ClusterSpec(system, node_ids, Path(tmp), 1))
        loop = asyncio.get_running_loop()
        try:
            t0 = loop.time()
            await backend.setup()
            started = loop.time() - t0
            counts = {"ok": 0, "errors": 0}
            t1 = loop.time()
            stop = t1 + seconds
            await asyncio.gather(*(_client(backend, node_ids[i % nodes], i, stop, counts)
                                   for i in range(concurrency)))
            elapsed = loop.time() - t1
        finally:
            t2 = time.monotonic()
            await backend.teardown()
            teardown = time.monotonic() - t2
    return {
        "backend": backend_name, "system": system, "nodes": nodes, "concurrency": concurrency,
        "setup_s": round(started, 2), "teardown_s": round(teardown, 2),
        "ops_per_s": round(counts["ok"] / elapsed, 1), "errors": counts["errors"],
        **{k: round(v, 2) for k, v in getattr(backend, "timings", {}).items()},
    }


def main() -> None:
    """Command-line entry point: print one JSON line per measurement."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backend", action="append", default=None, help="backend name (repeatable; default docker)"
    )
    p.add_argument("--system", default="replication")
    p.add_argument(
        "--nodes", type=int, action="append", default=None, help="cluster size (repeatable; default 3)"
    )
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--seconds", type=float, default=5.0)
    args = p.parse_args()
    for backend in args.backend or ["docker"]:
        for n in args.nodes or [3]:
            print(
                json.dumps(asyncio.run(measure(backend, args.system, n, args.concurrency, args.seconds))),
                flush=True,
            )


if __name__ == "__main__":
    main()
