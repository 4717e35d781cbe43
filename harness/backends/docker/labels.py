"""Labels that mark everything splitbrain creates in Docker, and who owns it.

Every container, network and volume of a run carries ``splitbrain.run=<run id>`` plus the identity of
the harness process that made it (pid *and* that process's start time: a bare pid is reused by the
kernel, so "pid 4242 is alive" does not mean our harness is). A run that starts sweeps objects whose
owner is gone — leftovers of a harness that was SIGKILLed or crashed before its teardown ran — and
``splitbrain cleanup`` removes everything labelled, owner or not.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RUN = "splitbrain.run"  # run id; present on every container, network and volume of a run
OWNER_PID = "splitbrain.owner-pid"
OWNER_START = "splitbrain.owner-start"  # /proc/<pid>/stat start time (clock ticks since boot)
OWNER_HOST = "splitbrain.owner-host"  # only sweep objects made on this host (engines can be shared)
NODE = "splitbrain.node"  # node id on containers and volumes
IMAGE = "splitbrain.image"  # on node images: the recipe hash
IMAGE_PACKAGES = "splitbrain.packages"


def process_start_time(pid: int) -> str | None:
    """The start time of ``pid`` from /proc (field 22 of stat), or None when it does not run (gone/zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: split after its closing paren
    rest = stat[stat.rindex(")") + 2 :].split()
    if not rest or rest[0] in ("Z", "X"):  # a zombie has exited; only its exit status is left to reap
        return None
    return rest[19] if len(rest) > 19 else None


@dataclass(frozen=True, slots=True)
class Owner:
    """The harness process that created an object."""

    pid: int
    start: str
    host: str

    def labels(self) -> dict[str, str]:
        """This owner as Docker labels."""
        return {OWNER_PID: str(self.pid), OWNER_START: self.start, OWNER_HOST: self.host}


def current_owner() -> Owner:
    """The identity of this process."""
    pid = os.getpid()
    return Owner(pid, process_start_time(pid) or "", socket.gethostname())


def owner_alive(labels: Mapping[str, str]) -> bool:
    """True unless the labels name an owner on this host that has certainly exited.

    Objects from another host, or without owner labels, count as alive: we cannot know, and removing a
    live run's cluster from under it would be worse than leaving garbage for ``splitbrain cleanup``.
    """
    if labels.get(OWNER_HOST) != socket.gethostname():
        return True
    try:
        pid = int(labels.get(OWNER_PID, ""))
    except ValueError:
        return True
    start = process_start_time(pid)
    return start is not None and start == labels.get(OWNER_START, start)


def run_labels(run_id: str, owner: Owner, node: str | None = None) -> dict[str, str]:
    """The labels for one object of run ``run_id`` (optionally belonging to ``node``)."""
    out = {RUN: run_id, **owner.labels()}
    if node is not None:
        out[NODE] = node
    return out
