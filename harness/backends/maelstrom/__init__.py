"""External Maelstrom-protocol programs: which backends run them, and what is refused before a run.

``systems_under_test.maelstrom``'s descriptor names this module; ``harness.backends.external`` routes a
``maelstrom`` run here. The program (``config["bin"]``, ``config["bin_args"]``) is validated before
anything starts: a path that does not exist or is not executable is the user's to fix (exit 254).

What each backend can do to an external program, and why:

* ``local``: every fault our own nodes get, except the clock — partitions and packet faults are
  applied by the shim that carries the program's messages (the same cooperative runtime code as our
  nodes), kill is SIGKILL of the shim's process group (the program with it; restart runs it again and
  sends ``init`` again), pause is SIGSTOP/SIGCONT of that group. Clock faults are refused: our clock
  offsets are cooperative (a node reads ``now`` from our runtime) and the program reads the OS clock.
* ``sim``: refused — the simulator is deterministic because it owns every step of every node; a real
  process runs on the OS scheduler and its own clock.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from nemesis.executor import CapabilityError

CLOCK_REASON = ("an external program reads the operating system's clock; our clock faults are cooperative "
                "(applied by our node runtime to the time it hands a core), so they cannot reach it")
SIM_REASON = ("the sim backend cannot run an external program: the simulator is deterministic because it "
              "executes every step of every node itself on virtual time, and a real process runs on the "
              "OS scheduler and the OS clock; use --backend local or --backend docker")
SUPPORTED: dict[str, frozenset[str]] = {
    "local": frozenset({"net", "kill", "pause", "packet"}),
    "docker": frozenset({"net", "kill", "pause", "packet"}),
}


def program(config: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The absolute path of the program and its arguments; raises ``SpecError`` (exit 254) when unusable."""
    from harness.run.spec import SpecError

    binary = config.get("bin")
    if not binary or not isinstance(binary, str):
        raise SpecError("system 'maelstrom' needs the program to test: --bin PATH (an executable that speaks "
                        "Maelstrom's protocol on stdin/stdout)")
    path = Path(binary).expanduser().resolve()
    if not path.exists():
        raise SpecError(f"--bin {binary}: no such file")
    if not path.is_file():
        raise SpecError(f"--bin {binary}: not a file")
    if not os.access(path, os.X_OK):
        raise SpecError(f"--bin {binary}: not executable (chmod +x {binary})")
    args = config.get("bin_args", [])
    if not isinstance(args, list | tuple) or not all(isinstance(a, str) for a in args):
        raise SpecError("bin_args must be a list of strings")
    return str(path), tuple(args)


def refuse_unsupported(system: str, backend: str, needed: Collection[str]) -> None:
    """Raise ``CapabilityError`` with the reason for each fault or backend an external program cannot get."""
    if backend == "sim":
        raise CapabilityError(SIM_REASON)
    lacking = sorted(set(needed) - SUPPORTED.get(backend, frozenset()))
    if lacking:
        reasons = "; ".join(f"{cap}: {CLOCK_REASON if cap == 'clock' else 'not supported'}" for cap in lacking)
        raise CapabilityError(f"cannot run {system} on the {backend} backend with these faults — {reasons}. "
                              f"Supported there: {', '.join(sorted(SUPPORTED.get(backend, ())))}")


TOPOLOGIES = ("grid", "line", "tree", "total")


def topology(kind: str, nodes: Sequence[str]) -> dict[str, list[str]]:
    """Each node's neighbours for the broadcast workload's ``topology`` message (Maelstrom's default: grid)."""
    n = len(nodes)
    if kind == "total":
        return {a: [b for b in nodes if b != a] for a in nodes}
    if kind == "line":
        return {a: [nodes[j] for j in (i - 1, i + 1) if 0 <= j < n] for i, a in enumerate(nodes)}
    if kind == "tree":
        out: dict[str, list[str]] = {a: [] for a in nodes}
        for i in range(1, n):
            parent = nodes[(i - 1) // 2]
            out[parent].append(nodes[i])
            out[nodes[i]].append(parent)
        return out
    if kind != "grid":
        raise ValueError(f"unknown topology {kind!r}; valid: {', '.join(TOPOLOGIES)}")
    width = max(1, math.isqrt(n - 1) + 1) if n > 1 else 1
    grid: dict[str, list[str]] = {}
    for i, a in enumerate(nodes):
        r, c = divmod(i, width)
        near = [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)]
        grid[a] = [nodes[rr * width + cc] for rr, cc in near
                   if 0 <= cc < width and 0 <= rr * width + cc < n and rr >= 0]
    return grid


def setup_messages(run_spec: Any, nodes: Sequence[str]) -> list[dict[str, Any]]:
    """Bodies the harness sends every node right after ``init`` (broadcast: its ``topology``)."""
    if run_spec is None or getattr(run_spec, "workload", "") != "broadcast":
        return []
    kind = str(dict(run_spec.workload_options).get("topology", "grid"))
    return [{"type": "topology", "topology": topology(kind, list(nodes))}]


WANTS_RUN_SPEC = True


def _local(cluster: Any, run_spec: Any = None) -> Any:
    from harness.backends.maelstrom.local import MaelstromLocalBackend

    return MaelstromLocalBackend(cluster, setup_messages(run_spec, cluster.nodes))


def _docker(cluster: Any, run_spec: Any = None) -> Any:
    from harness.backends.maelstrom.docker import make_maelstrom_docker_backend

    return make_maelstrom_docker_backend(cluster, setup_messages(run_spec, cluster.nodes))


def _sim(cluster: Any, run_spec: Any = None) -> Any:
    raise CapabilityError(SIM_REASON)


BACKENDS: dict[str, Any] = {"local": _local, "docker": _docker, "sim": _sim}
