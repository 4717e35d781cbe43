"""The backend interface: where nodes live and how a client reaches them (DESIGN §4).

A backend starts the cluster (``setup``), opens client connections to nodes (``connect``), removes
everything it made (``teardown``, idempotent, also after a failed setup) and copies node logs into the
run dir (``collect_logs``). Fault capabilities are the protocols of :mod:`nemesis.capabilities`; a
backend implements those it can.

The runner only ever uses ``asyncio`` and this interface, so the same runner drives real processes
(``local``), containers (``docker``) and the virtual-time simulator (``sim``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from systems_under_test.registry import Variant


class SpecError(ValueError):
    """A spec that cannot be run (bad value, unknown field, unreadable spec.json, a backend that cannot
    run here). Defined at the bottom of the harness so backends can raise it without importing upward;
    ``harness.run.spec`` re-exports it."""


class SetupError(RuntimeError):
    """The cluster could not be started: a node did not come up (the message names it and shows why).

    Not a bug of the harness: the run ends ``unknown`` with this reason, since nothing was tested.
    """


class Unreachable(Exception):
    """The request certainly did not reach the node (connect refused / failed before sending): ``fail``."""


class Indefinite(Exception):
    """The request may or may not have taken effect (timeout, connection lost after sending): ``info``."""


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """What a backend needs to start a cluster of one system variant: the run plan's cluster part.

    ``variant`` is the resolved variant (its core factory, or nothing for a third-party system, and
    its config), so a backend never looks the system up by name; it may be None only for clusters
    built by hand (tests), and :meth:`resolved_variant` then looks it up.
    """

    system: str  # full variant name, e.g. "replication:async"
    nodes: tuple[str, ...]  # ("n1", "n2", "n3")
    run_dir: Path  # node data/logs go below run_dir (backend-specific layout)
    seed: int
    config: Mapping[str, Any] = field(default_factory=dict)  # system config overrides
    variant: Variant | None = None

    def resolved_variant(self) -> Variant:
        """The variant this cluster runs (looked up by name only for a hand-made spec)."""
        if self.variant is not None:
            return self.variant
        from systems_under_test.registry import resolve

        return resolve(self.system)[1]

    def node_config(self) -> dict[str, Any]:
        """The variant's config overlaid by the run's overrides: what each node is configured with."""
        return {**self.resolved_variant().config, **dict(self.config)}


class Connection(Protocol):
    """A client connection to one node; requests are JSON dicts with ``type`` and ``req_id``."""

    node: str

    async def call(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``req`` and await its reply; raises ``Unreachable`` or ``Indefinite``."""

    async def close(self) -> None:
        """Close the connection (idempotent)."""


class Backend(Protocol):
    """A place where a cluster runs."""

    name: str
    spec: ClusterSpec

    async def setup(self) -> None:
        """Start every node and wait until each answers; raise with a clear message if one does not."""

    async def teardown(self) -> None:
        """Stop and remove everything this backend made (idempotent; safe after a failed setup)."""

    async def connect(self, node: str) -> Connection:
        """Open a client connection to ``node``; raises ``Unreachable`` if it cannot be opened."""

    async def node_status(self, node: str) -> dict[str, Any]:
        """The node's ``Core.status()`` plus host facts (e.g. its clock); raises ``Unreachable``."""

    def collect_logs(self, dest: Path) -> None:
        """Copy each node's log to ``dest/<node>.log`` (best effort)."""

    def kill_all_now(self) -> None:
        """Synchronous last resort, callable without an event loop: kill every node process at once.

        Called by the session after the loop is gone (also after Ctrl-C or a crash), so nothing a
        backend started outlives the run. A backend with nothing outside this process does nothing."""
