"""Simulator benchmark: whole-test speed and raw network/loop throughput (numbers are printed).

Targets: a 5-node cluster, 10 clients, 60 virtual seconds with partitions and crashes in under 2 s of
wall time; >= 50k simulated messages per second.

    .venv/bin/python bench/sim.py [--system replication] [--seeds 3] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from harness.backends.sim import LinkParams, SimNetwork, new_loop
from harness.run.simrun import run_spec
from harness.run.spec import RunSpec


def bench_test(system: str, seed: int, rate: float, nemesis: tuple[str, ...]) -> dict[str, Any]:
    """One 5-node, 10-client, 60 s (virtual) run of the register workload, without checking."""
    spec = RunSpec(system=system, backend="sim", nodes=5, concurrency=10, time_limit=60.0, rate=rate,
                   nemesis=nemesis, nemesis_interval=5.0, seed=seed, quiesce=3.0)
    run = run_spec(spec)
    if run.outcome.error:
        raise SystemExit(f"run crashed:\n{run.outcome.error}")
    net = run.stats["net"]
    return {
        "wall": run.wall_seconds,
        "virtual": run.stats["virtual_time"],
        "ops": len(run.outcome.ops),
        "messages": net["sent"],
        "msg_per_s": net["sent"] / run.wall_seconds,
        "faults": run.outcome.faults_applied,
    }


async def _pingpong(messages: int, in_flight: int) -> int:
    loop = asyncio.get_running_loop()
    net = SimNetwork(loop, 1, peer_link=LinkParams(base=0.001, jitter=0.001))
    left = messages
    done = loop.create_future()
    count = 0

    def bounce(src: str, msg: Any) -> None:
        nonlocal left, count
        count += 1
        if left > 0:
            left -= 1
            net.send("b" if src == "a" else "a", src, msg)
        elif count == messages + in_flight and not done.done():
            done.set_result(None)

    net.attach("a", bounce, node=True)
    net.attach("b", bounce, node=True)
    for i in range(in_flight):
        net.send("a", "b", {"type": "ping", "i": i, "body": "x" * 32})
    await done
    return net.stats.delivered


def bench_network(messages: int = 200_000, in_flight: int = 50) -> dict[str, float]:
    """Raw loop + network throughput: messages bounced between two endpoints, ``in_flight`` at a time."""
    t0 = time.perf_counter()
    with asyncio.Runner(loop_factory=new_loop) as r:
        delivered = r.run(_pingpong(messages, in_flight))
    wall = time.perf_counter() - t0
    return {"delivered": delivered, "wall": wall, "msg_per_s": delivered / wall}


def main() -> None:
    """Print the benchmark numbers."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--system", default="replication")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rate", type=float, default=100.0, help="client ops per second (all clients)")
    ap.add_argument("--messages", type=int, default=200_000)
    args = ap.parse_args()
    print(f"== {args.system}: 5 nodes, 10 clients, 60 virtual s, partition+kill, rate {args.rate}/s")
    walls = []
    for seed in range(1, args.seeds + 1):
        r = bench_test(args.system, seed, args.rate, ("partition", "kill"))
        walls.append(r["wall"])
        print(f"seed {seed}: wall {r['wall']:.3f} s for {r['virtual']:.1f} virtual s "
              f"({r['virtual'] / r['wall']:.0f}x), {r['ops']} history ops, {r['faults']} faults, "
              f"{r['messages']} messages = {r['msg_per_s']:,.0f} msg/s")
    print(f"median wall {statistics.median(walls):.3f} s (target < 2 s)")
    n = bench_network(args.messages)
    print(f"== raw network+loop: {n['delivered']:,} messages in {n['wall']:.3f} s = "
          f"{n['msg_per_s']:,.0f} msg/s "
          "(target >= 50k)")


if __name__ == "__main__":
    main()
