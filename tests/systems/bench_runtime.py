"""Throughput and latency of a real 3-node cluster (not a test): N clients, half reads, for T seconds.

Usage: .venv/bin/python tests/systems/bench_runtime.py [SYSTEM] [CLIENTS] [SECONDS]
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from runtime_procs import Cluster


async def _client(port: int, stop: float, lat: list[float], seed: int) -> None:
    """One client: sequential requests on one connection until ``stop``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(seed)
    n = 0
    while time.monotonic() < stop:
        n += 1
        req: dict[str, object] = {"type": "read", "key": f"k{rng.randrange(5)}", "req_id": n}
        if rng.random() < 0.5:
            req.update(type="write", value=n)
        t = time.monotonic()
        writer.write(json.dumps(req).encode() + b"\n")
        await writer.drain()
        await reader.readline()
        lat.append(time.monotonic() - t)
    writer.close()


async def main(system: str, clients: int, secs: float) -> None:
    """Start a cluster, load it, print ops/s and latency percentiles."""
    with tempfile.TemporaryDirectory() as d:
        c = Cluster(system, Path(d)).start()
        try:
            lat: list[float] = []
            stop = time.monotonic() + secs
            ports = [c[n].port for n in sorted(c.procs)]
            await asyncio.sleep(1.0)  # let a failover cluster elect its primary
            stop = time.monotonic() + secs
            await asyncio.gather(*(_client(ports[i % len(ports)], stop, lat, i) for i in range(clients)))
            lat.sort()
            print(f"{system}: {clients} clients, {len(lat) / secs:.0f} ops/s, "
                  f"p50 {lat[len(lat) // 2] * 1e3:.1f} ms, "
                  f"p99 {lat[int(len(lat) * 0.99)] * 1e3:.1f} ms")
        finally:
            c.stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0] if args else "replication", int(args[1]) if len(args) > 1 else 10,
                     float(args[2]) if len(args) > 2 else 3.0))
