"""Entry point: ``python -m systems_under_test.runtime --system S --node n1 ...`` (see ``--help``).

Lifecycle: parse options, start the core on its recovered durable records, listen on the client/peer
and control ports, print ``READY <listen> <control>`` on stdout, then serve until SIGTERM/SIGINT or
until the ``--parent-pid`` process is gone (so nodes never outlive a harness that was SIGKILLed).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import sys
from pathlib import Path

from systems_under_test.registry import UnknownName
from systems_under_test.runtime.control import serve_control
from systems_under_test.runtime.durable import CorruptRecord
from systems_under_test.runtime.host import LINE_LIMIT, NodeHost
from systems_under_test.runtime.options import Options, parse_options

PARENT_POLL = 0.2


def parent_gone(pid: int, original_ppid: int) -> bool:
    """True if process ``pid`` no longer runs (gone, a zombie, or we were re-parented away from it)."""
    if pid == original_ppid and os.getppid() != original_ppid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] == "Z"
    return False


async def _watch_parent(pid: int, stop: asyncio.Event, host: NodeHost) -> None:
    """Set ``stop`` soon after process ``pid`` is gone."""
    original_ppid = os.getppid()
    while not stop.is_set():
        if parent_gone(pid, original_ppid):
            host.note(f"parent process {pid} is gone; exiting")
            stop.set()
            return
        await asyncio.sleep(PARENT_POLL)


def _address(server: asyncio.Server) -> str:
    """``host:port`` a server actually listens on (resolves port 0)."""
    host, port = server.sockets[0].getsockname()[:2]
    return f"{host}:{port}"


async def run(opts: Options) -> int:
    """Run the node until asked to stop; returns the process exit status."""
    host = NodeHost(opts)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host.start()
    try:
        clients = await asyncio.start_server(host.on_connection, *opts.listen, limit=LINE_LIMIT)
        control = await asyncio.start_server(
            functools.partial(serve_control, host), *opts.control, limit=LINE_LIMIT
        )
    except OSError as e:
        host.note(f"ERROR cannot listen: {e}")
        print(f"error: node {opts.node} cannot listen: {e}", file=sys.stderr)
        await host.stop()
        return 1
    watcher = None
    if opts.parent_pid is not None:
        watcher = loop.create_task(_watch_parent(opts.parent_pid, stop, host))
    ready = f"READY {_address(clients)} {_address(control)}"
    host.note(ready)
    print(ready, flush=True)
    await stop.wait()
    host.note("shutting down")
    clients.close()
    control.close()
    if watcher is not None:
        watcher.cancel()
    await host.stop()
    return 0


def main() -> None:
    """Console entry point."""
    opts = parse_options()
    try:
        code = asyncio.run(run(opts))
    except UnknownName as e:
        print(f"error: {e}", file=sys.stderr)
        code = 2
    except CorruptRecord as e:
        print(f"error: corrupt durable record: {e}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
