"""Entry point: ``python -m systems_under_test.maelstrom.runtime --node n1 ... -- PROGRAM [ARGS...]``.

Lifecycle: parse options, start the program and complete the ``init`` handshake, listen on the
client/peer and control ports, print ``READY <listen> <control>`` on stdout (the backends wait for it),
then serve until SIGTERM/SIGINT, until the program exits on its own (exit status 3) or until the
``--parent-pid`` process is gone. Without a program (``--services``) it hosts Maelstrom's services.
A program that never answers ``init`` makes the shim print the reason on stderr and exit with status 4,
so the backend's start error names the node and shows the program's stderr (which shares the file).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from systems_under_test.maelstrom.runtime.shim import EXIT_NO_INIT, LINE_LIMIT, STATS_EVERY, Shim, ShimOptions
from systems_under_test.runtime.__main__ import parent_gone
from systems_under_test.runtime.options import parse_peers, take_token
from systems_under_test.runtime.peers import parse_address

PARENT_POLL = 0.2


def parse_args(argv: Sequence[str] | None = None) -> ShimOptions:
    """Parse the command line (everything after ``--`` is the program and its arguments)."""
    args = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in args:
        i = args.index("--")
        args, command = args[:i], args[i + 1 :]
    p = argparse.ArgumentParser(
        prog="python -m systems_under_test.maelstrom.runtime",
        description="Host one Maelstrom-protocol program on the splitbrain network.",
    )
    p.add_argument("--node", required=True)
    p.add_argument("--nodes", required=True, help="cluster node ids for init: n1,n2,...")
    p.add_argument("--listen", required=True)
    p.add_argument("--peers", required=True, help="every addressable name: n1=HOST:PORT,lin-kv=HOST:PORT,...")
    p.add_argument("--control", required=True)
    p.add_argument("--data-dir", required=True, help="the program's working directory (kept across kills)")
    p.add_argument("--log", default=None)
    p.add_argument("--stats", default=None, help="JSON counters file, refreshed every second")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init-timeout", type=float, default=10.0)
    p.add_argument("--parent-pid", type=int, default=None)
    p.add_argument("--services", action="store_true", help="host lin-kv, seq-kv, lww-kv and lin-tso")
    p.add_argument(
        "--after-init", action="append", default=[], help="a message body (JSON) to send after init_ok"
    )
    ns = p.parse_args(args)
    if not command and not ns.services:
        p.error("give the program after --, or --services")
    try:
        peers = parse_peers(ns.peers)
        listen, control = parse_address(ns.listen), parse_address(ns.control)
    except ValueError as e:
        p.error(str(e))
    return ShimOptions(
        node=ns.node,
        nodes=tuple(n for n in ns.nodes.split(",") if n),
        listen=listen,
        peers=peers,
        control=control,
        data_dir=Path(ns.data_dir),
        command=tuple(command) if not ns.services else (),
        log=Path(ns.log) if ns.log else None,
        stats=Path(ns.stats) if ns.stats else None,
        seed=ns.seed,
        init_timeout=ns.init_timeout,
        parent_pid=ns.parent_pid,
        after_init=tuple(json.loads(b) for b in ns.after_init),
        token=take_token(),  # from the environment, removed so the program never inherits it
    )


async def _watch_parent(pid: int, shim: Shim) -> None:
    import os

    original = os.getppid()
    while not shim.stop.is_set():
        if parent_gone(pid, original):
            shim.note(f"parent process {pid} is gone; exiting")
            shim.stop.set()
            return
        await asyncio.sleep(PARENT_POLL)


async def _stats_loop(shim: Shim) -> None:
    while True:
        shim.write_stats()
        await asyncio.sleep(STATS_EVERY)


async def run(opts: ShimOptions) -> int:
    """Serve one node until asked to stop; returns the exit status."""
    shim = Shim(opts)
    shim.write_stats()  # from the start, so a previous life's file (same volume) is never read as this one's
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, shim.stop.set)
    watcher = loop.create_task(_watch_parent(opts.parent_pid, shim)) if opts.parent_pid else None
    try:
        clients = await asyncio.start_server(shim.on_connection, *opts.listen, limit=LINE_LIMIT)
    except OSError as e:
        print(f"error: node {opts.node} cannot listen: {e}", file=sys.stderr)
        await shim.close()
        return 1
    if opts.command:
        try:
            await shim.start_program()
        except RuntimeError as e:
            text = f"node {opts.node}: the program {' '.join(opts.command)} {e}"
            shim.note(text)
            print(f"error: {text}", file=sys.stderr, flush=True)
            clients.close()
            await shim.close()
            return EXIT_NO_INIT
    else:
        shim.ready = True
    try:  # the control channel opens only once the program is initialised: backends poll it for readiness
        control = await asyncio.start_server(shim.serve_control, *opts.control)
    except OSError as e:
        print(f"error: node {opts.node} cannot listen: {e}", file=sys.stderr)
        clients.close()
        await shim.close()
        return 1
    stats = loop.create_task(_stats_loop(shim))
    print(f"READY {opts.listen[0]}:{opts.listen[1]} {opts.control[0]}:{opts.control[1]}", flush=True)
    await shim.stop.wait()
    for task in (watcher, stats):
        if task is not None:
            task.cancel()
    clients.close()
    control.close()
    await shim.close()
    return shim.exit_code


def main() -> None:
    """Console entry point."""
    opts = parse_args()
    code = 1
    with contextlib.suppress(KeyboardInterrupt):
        code = asyncio.run(run(opts))
    sys.exit(code)


if __name__ == "__main__":
    main()
