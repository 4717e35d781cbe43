"""External Maelstrom-protocol programs: what their backends share, and what is refused before a run.

``systems_under_test.maelstrom``'s descriptor names the backend classes (``local.MaelstromLocalBackend``,
``docker.MaelstromDockerBackend``) the way a third-party system's does; the run plan builds them from
the cluster part of the plan alone. Everything they need from the run arrives in the cluster's config:
the program (``bin``, ``bin_args``: set by ``--bin``/``--bin-arg`` or a campaign's config), extra Debian
packages for the docker image (``packages``), the init timeout, and what the workload asks the harness to
send every node right after ``init`` (``after_init``: the broadcast workload's ``topology``, put there by
the workload's ``cluster_config`` when the plan is built). The program is validated when the plan is
built (:func:`program`, through the backends' ``check_config``): a path that does not exist or is not
executable is the user's to fix (exit 254), before a run directory or a process exists.

What each backend can do to an external program, and why:

* ``local``: every fault our own nodes get, except the clock — partitions and packet faults are
  applied by the shim that carries the program's messages (the same cooperative runtime code as our
  nodes), kill is SIGKILL of the shim's process group (the program with it; restart runs it again and
  sends ``init`` again), pause is SIGSTOP/SIGCONT of that group. Clock faults are refused: our clock
  offsets are cooperative (a node reads ``now`` from our runtime) and the program reads the OS clock.
* ``docker``: the same, with partitions as iptables rules (and the shims' grudge).
* ``sim``: refused by the descriptor (``refused_backends``) — the simulator is deterministic because it
  owns every step of every node; a real process runs on the OS scheduler and its own clock.

Partitions reach Maelstrom's services (unlike Maelstrom, whose services are always reachable): the
nemesis draws its grudges over the cluster nodes, and :func:`grudge_with_services` extends each one so
that a node the partition leaves hearing fewer than a majority of the cluster (itself included) is cut
off from the services host both ways, while nodes that keep a majority keep the services. A real
deployment's coordination service sits with the majority; a node on the minority side that still
reaches the store hides exactly the bugs a partition should expose (a node answering from what it
last heard, a lease it cannot renew), and always-reachable services are a known blind spot of
Maelstrom. The rule is per node, so non-transitive grudges (a bridge, a ring) follow it too.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.backends.base import SpecError
from systems_under_test.maelstrom import SIM_REASON
from systems_under_test.maelstrom.services import SERVICES_HOST

CLOCK_REASON = ("an external program reads the operating system's clock; our clock faults are cooperative "
                "(applied by our node runtime to the time it hands a core), so they cannot reach it")

__all__ = [
    "CLOCK_REASON",
    "SERVICES",
    "SIM_REASON",
    "after_init",
    "check_config",
    "grudge_with_services",
    "packages",
    "program",
]

SERVICES = SERVICES_HOST  # the name of the one node that hosts every Maelstrom service


def grudge_with_services(
    grudge: Mapping[str, Collection[str]], nodes: Collection[str], services: str = SERVICES
) -> dict[str, list[str]]:
    """``grudge`` ({node: nodes it drops messages from}) with the services host added.

    A cluster node that hears fewer than a majority of ``nodes`` (counting itself) also drops what the
    services host sends, and the services host drops what it sends: cut off both ways. Nodes that keep a
    majority keep the services. An empty grudge stays empty (no partition, nothing to cut).
    """
    cluster = set(nodes)
    out = {str(k): sorted({str(x) for x in v}) for k, v in grudge.items()}
    if not any(out.values()):
        return out
    majority = len(cluster) // 2 + 1
    cut = sorted(n for n in cluster if len((cluster - set(out.get(n, ()))) | {n}) < majority)
    for n in cut:
        out[n] = sorted({*out.get(n, ()), services})
    if cut:
        out[services] = sorted({*out.get(services, ()), *cut})
    return out


def program(config: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The absolute path of the program and its arguments; raises ``SpecError`` (exit 254) when unusable."""
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


def after_init(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The message bodies sent to every program right after its ``init_ok`` (config ``after_init``)."""
    bodies = config.get("after_init", [])
    if not isinstance(bodies, list | tuple) or not all(isinstance(b, dict) and isinstance(b.get("type"), str)
                                                       for b in bodies):
        raise SpecError('config "after_init" must be a list of message bodies, each an object with a "type"')
    return [dict(b) for b in bodies]


def packages(config: Mapping[str, Any]) -> list[str]:
    """Extra Debian packages for the docker node image (config ``packages``)."""
    names = config.get("packages", [])
    if not isinstance(names, list) or not all(isinstance(p, str) and p for p in names):
        raise SpecError('config "packages" must be a list of Debian package names')
    return list(names)


def check_config(config: Mapping[str, Any]) -> None:
    """What every maelstrom backend reads from the config, checked when the plan is built."""
    program(config)
    after_init(config)


_NOT_COUNTERS = ("exit_code", "max_rss_kb")  # numbers in a shim's stats file that are not summed


def stats_doc(command: Sequence[str], lives: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """``maelstrom.json``: per node, each incarnation's shim counters (``lives``, in order) and how many
    ended by the program exiting on its own (shim exit code 3); counters summed over the cluster."""
    nodes: dict[str, Any] = {}
    totals: dict[str, int] = {}
    for node, docs in lives.items():
        nodes[node] = {"incarnations": list(docs),
                       "exited_on_its_own": sum(1 for d in docs if d.get("exit_code") == 3)}
        for doc in docs:
            for key, value in doc.items():
                if isinstance(value, int) and not isinstance(value, bool) and key not in _NOT_COUNTERS:
                    totals[key] = totals.get(key, 0) + value
    totals["exited_on_its_own"] = sum(v["exited_on_its_own"] for v in nodes.values())
    return {"program": list(command), "nodes": nodes, "totals": totals}
