"""Backends by name: ``--backend`` choices and how to build each.

Entries name their factory (and, for backends that need their own event loop such as the
virtual-time simulator, a loop factory) as ``"module:attribute"`` strings, so registering a backend is
a one-line edit here and listing the choices imports nothing heavy. A factory is called as
``factory(cluster: ClusterSpec, run_spec=RunSpec)`` and returns a ``harness.backends.base.Backend``.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from systems_under_test.registry import UnknownName


@dataclass(frozen=True, slots=True)
class BackendEntry:
    """One backend: its name, a one-line description, its factory and optional loop factory."""

    name: str
    description: str
    factory: str  # "module:attribute"
    loop_factory: str | None = None  # "module:attribute" of a () -> AbstractEventLoop

    def make(self, *args: Any, **kwargs: Any) -> Any:
        """Build the backend (a third-party system's cluster gets its adapter for this backend)."""
        cluster = args[0] if args else kwargs.get("cluster")
        system = getattr(cluster, "system", None)
        if system is not None:
            from harness.backends.external import external_module, make_backend

            if external_module(system) is not None:
                return make_backend(self.name, *args, **kwargs)
        return _load(self.factory)(*args, **kwargs)

    def new_loop_factory(self) -> Callable[[], asyncio.AbstractEventLoop] | None:
        """The loop factory to pass to ``asyncio.Runner`` (None = the default loop)."""
        return _load(self.loop_factory) if self.loop_factory else None


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


BACKENDS: dict[str, BackendEntry] = {
    "local": BackendEntry("local", "one OS process per node on 127.0.0.1 ports",
                          "harness.backends.local:make_local_backend"),
    "sim": BackendEntry("sim", "every node in this process on a virtual-time loop (deterministic)",
                        "harness.backends.sim.backend:make_sim_backend",
                        "harness.backends.sim.loop:new_loop"),
    "docker": BackendEntry("docker", "one container per node on an internal bridge network (OS-level faults)",
                           "harness.backends.docker.backend:make_docker_backend"),
}


def backend_entry(name: str) -> BackendEntry:
    """The backend called ``name``; raises ``UnknownName`` with the valid choices."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise UnknownName(f"unknown backend {name!r}", list(BACKENDS)) from None


def backend_names() -> list[str]:
    """Every registered backend name."""
    return list(BACKENDS)
