"""Backends by name: ``--backend`` choices and how to build each.

Entries name their factory, the class it builds (whose capability protocols the run plan checks before
anything starts) and, for backends that need their own event loop such as the virtual-time simulator, a
loop factory, as ``"module:attribute"`` strings, so registering a backend is a one-line edit here and
listing the choices imports nothing heavy. A factory is called as ``factory(cluster: ClusterSpec)`` —
the run plan's cluster part, never the whole spec — and returns a ``harness.backends.base.Backend``.
A third-party system's nodes are not built here: its descriptor names its own backend classes.
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
    """One backend: its name, a one-line description, its factory, its class and optional loop factory."""

    name: str
    description: str
    factory: str  # "module:attribute" of a (cluster: ClusterSpec, **options) -> Backend
    loop_factory: str | None = None  # "module:attribute" of a () -> AbstractEventLoop
    backend_class: str | None = None  # "module:attribute" of the class; None: the factory is the class

    def load_factory(self) -> Callable[..., Any]:
        """The factory (imported now)."""
        factory: Callable[..., Any] = _load(self.factory)
        return factory

    def load_class(self) -> type:
        """The class the factory builds, for the capability checks of the run plan."""
        cls: type = _load(self.backend_class or self.factory)
        return cls

    def new_loop_factory(self) -> Callable[[], asyncio.AbstractEventLoop] | None:
        """The loop factory to pass to ``asyncio.Runner`` (None = the default loop)."""
        return _load(self.loop_factory) if self.loop_factory else None


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


BACKENDS: dict[str, BackendEntry] = {
    "local": BackendEntry("local", "one OS process per node on 127.0.0.1 ports",
                          "harness.backends.local:make_local_backend",
                          backend_class="harness.backends.local:LocalBackend"),
    "sim": BackendEntry("sim", "every node in this process on a virtual-time loop (deterministic)",
                        "harness.backends.sim.backend:make_sim_backend", "harness.backends.sim.loop:new_loop",
                        "harness.backends.sim.backend:SimBackend"),
    "docker": BackendEntry("docker", "one container per node on an internal bridge network (OS-level faults)",
                           "harness.backends.docker.backend:make_docker_backend",
                           backend_class="harness.backends.docker.backend:DockerBackend"),
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
