"""Benchmark of the routing external Maelstrom-protocol programs get: msgs/s and added latency per hop.

Five nodes on the local backend, each a shim hosting ``bench/maelstrom_ring_node.py`` (Python). Tokens
travel a ring n1 -> n2 -> ... -> n5 -> n1; every hop is one message routed program -> shim -> TCP ->
shim -> program, exactly the path of every message in a test.

* **throughput**: many tokens on the ring at once (a self-clocking load: no queue grows); routed
  messages per second = tokens forwarded by all nodes / seconds.
* **added latency per hop**: one token alone on the ring; a lap is 5 hops, so a hop takes lap / 5.
  The baseline is what the program costs without any network: the bench writes a message to the
  program's stdin and reads its answer from stdout (same two pipe transits and the same JSON work as a
  hop). Added latency = median hop - median baseline round trip.

    python bench/maelstrom_routing.py [--seconds 5] [--tokens 1000]

Numbers depend on the load of the machine (shared by other jobs when it was measured: say so).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.backends.base import ClusterSpec
from harness.backends.maelstrom.local import MaelstromLocalBackend

NODE = REPO / "bench" / "maelstrom_ring_node.py"
NODES = ("n1", "n2", "n3", "n4", "n5")


async def _stats(backend: MaelstromLocalBackend) -> list[dict]:
    out = []
    for i, n in enumerate(NODES):
        conn = await backend.connect(n)
        out.append(await conn.call({"type": "stats", "req_id": 1000 + i}, 10.0))
        await conn.close()
    return out


async def ring(seconds: float, tokens: int, run_dir: Path) -> tuple[float, list[float]]:
    """(routed msgs/s with ``tokens`` tokens, per-hop seconds of a lone token's laps)."""
    results = []
    for load in (tokens, 1):
        backend = MaelstromLocalBackend(
            ClusterSpec("maelstrom", NODES, run_dir / f"load{load}", 1, {"bin": str(NODE)})
        )
        await backend.setup()
        try:
            conns = [await backend.connect(n) for n in NODES]
            per_node = max(1, load // len(NODES)) if load > 1 else 0
            before = sum(s["forwarded"] for s in await _stats(backend))
            t0 = time.perf_counter()
            for i, c in enumerate(conns):
                count = per_node if load > 1 else (1 if i == 0 else 0)
                if count:
                    await c.call({"type": "start", "tokens": count, "first": i * per_node, "req_id": 1}, 10.0)
            await asyncio.sleep(seconds)
            stats = await _stats(backend)
            elapsed = time.perf_counter() - t0
            forwarded = sum(s["forwarded"] for s in stats) - before
            laps = [lap for s in stats for lap in s["laps"]]
            results.append((forwarded / elapsed, laps))
            for c in conns:
                await c.close()
        finally:
            await backend.teardown()
    return results[0][0], [lap / len(NODES) for lap in results[1][1]]


async def baseline(count: int) -> list[float]:
    """Round trips bench -> program -> bench over pipes, no shim, no network."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(NODE), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    rtts = []
    init = {
        "src": "c0",
        "dest": "n1",
        "body": {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": list(NODES)},
    }
    proc.stdin.write((json.dumps(init) + "\n").encode())
    await proc.stdout.readline()
    for i in range(count):
        line = json.dumps({"src": "c1", "dest": "n1", "body": {"type": "ping", "msg_id": i + 2}}) + "\n"
        t0 = time.perf_counter()
        proc.stdin.write(line.encode())
        await proc.stdin.drain()
        json.loads(await proc.stdout.readline())
        rtts.append(time.perf_counter() - t0)
    proc.kill()
    await proc.wait()
    return rtts


def main() -> None:
    """Run both measurements and print them."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--tokens", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rate, hops = asyncio.run(ring(args.seconds, args.tokens, Path(tmp)))
    rtts = asyncio.run(baseline(2000))
    hop, base = statistics.median(hops), statistics.median(rtts)
    print(f"routed messages per second, 5 nodes, {args.tokens} tokens: {rate:,.0f}")
    print(f"median hop (one token alone, {len(hops)} laps): {hop * 1e3:.3f} ms")
    print(f"median program round trip without network: {base * 1e3:.3f} ms")
    print(f"added latency per hop (median): {(hop - base) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
