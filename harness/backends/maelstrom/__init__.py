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
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.backends.base import SpecError
from systems_under_test.maelstrom import SIM_REASON

CLOCK_REASON = ("an external program reads the operating system's clock; our clock faults are cooperative "
                "(applied by our node runtime to the time it hands a core), so they cannot reach it")

__all__ = ["CLOCK_REASON", "SIM_REASON", "after_init", "check_config", "packages", "program"]


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
