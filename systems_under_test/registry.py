"""System descriptors and the registry of every system under test (DESIGN §3).

A system registers one ``SystemDescriptor`` under the entry-point group ``splitbrain.systems`` (ours in
pyproject.toml, a plugin in its own): its name, its variants (correct first, planted bugs marked with a
one-line description of the bug), the core factory of each variant and the workloads it supports. A
third-party system (etcd, redis) has no core: its descriptor says instead, per backend, which backend
class starts, stops, faults and reaches its nodes (``SystemDescriptor.backends``). Adding a system means
adding its module and one entry point; the runner never changes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from systems_under_test import plugins
from systems_under_test.core import Core
from systems_under_test.plugins import PluginError

CoreFactory = Callable[[str, Sequence[str], random.Random, Mapping[str, Any]], Core]

__all__ = ["CoreFactory", "PluginError", "SystemDescriptor", "UnknownName", "Variant", "resolve", "systems"]


@dataclass(frozen=True, slots=True)
class Variant:
    """One implementation of a system: the correct one or a planted bug."""

    name: str  # full name, e.g. "replication" or "replication:async"
    description: str
    planted_bug: bool
    factory: CoreFactory | None  # None: a third-party system's variant (no core in this project)
    config: Mapping[str, Any] = field(default_factory=dict)
    # correct as its makers define it, but it does not promise linearizability (a documented weaker read,
    # asynchronous replication): a failure of the linearizability check is expected, not a bug
    weaker_by_design: bool = False

    @property
    def core_ref(self) -> str:
        """``module:qualname`` of the core factory, which a node process imports to host this variant."""
        if self.factory is None:
            raise ValueError(f"{self.name} has no core: it is a third-party system")
        return f"{self.factory.__module__}:{self.factory.__qualname__}"

    def make_core(
        self, node_id: str, peer_ids: Sequence[str], rng: random.Random,
        config: Mapping[str, Any] | None = None
    ) -> Core:
        """Build this variant's core for ``node_id`` with the variant's config overlaid by ``config``."""
        if self.factory is None:
            raise ValueError(f"{self.name} has no core: it is a third-party system that runs only on the "
                             "backends its descriptor names")
        merged = {**self.config, **(config or {})}
        return self.factory(node_id, peer_ids, rng, merged)


@dataclass(frozen=True, slots=True)
class SystemDescriptor:
    """What the harness needs to know about a system under test."""

    name: str
    description: str
    variants: tuple[Variant, ...]  # correct variant first
    workloads: tuple[str, ...]  # first is the default
    default_nodes: int = 3
    min_nodes: int = 1
    # A third-party system (etcd, redis) has no core: backend name -> the backend class that installs,
    # starts, stops, faults and reaches its nodes there (a class, or "module:attr" to import it lazily).
    # Empty: a sans-IO system that our hosts run on every backend (local, docker, sim).
    backends: Mapping[str, Any] = field(default_factory=dict)
    # Backend name -> why this system cannot run there (the run plan refuses it with this reason).
    refused_backends: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_third_party(self) -> bool:
        """True for a system with its own node lifecycle instead of a sans-IO core."""
        return bool(self.backends)

    def variant(self, name: str) -> Variant:
        """The variant called ``name`` (``"sys"`` or ``"sys:bug"``); raises ``UnknownName``."""
        for v in self.variants:
            if v.name == name:
                return v
        raise UnknownName(f"unknown variant {name!r} of system {self.name!r}",
                          [v.name for v in self.variants])


class UnknownName(LookupError):
    """A system, variant or workload name that does not exist; carries the valid choices."""

    def __init__(self, message: str, choices: Sequence[str]) -> None:
        super().__init__(f"{message}; valid choices: {', '.join(choices)}")
        self.choices = tuple(choices)


def _problem(name: str) -> Callable[[Any], str | None]:
    def check(obj: Any) -> str | None:
        if not isinstance(obj, SystemDescriptor):
            return f"expected a systems_under_test.registry.SystemDescriptor, got {type(obj).__name__}"
        if obj.name != name:
            return f"the descriptor is named {obj.name!r}, not {name!r} like its entry point"
        if not obj.variants or obj.variants[0].name != name:
            return f"the first variant must be the correct one, named {name!r}"
        if bad := [v.name for v in obj.variants if v.name.split(":", 1)[0] != name]:
            return f"variant names must start with {name!r}: {', '.join(bad)}"
        if not obj.workloads:
            return "it names no workload"
        if not obj.backends and (bad := [v.name for v in obj.variants if v.factory is None]):
            return f"variants without a core factory ({', '.join(bad)}) and no third-party backends"
        return None
    return check


def systems() -> dict[str, SystemDescriptor]:
    """Every registered system, by name, in listing order; a broken plugin raises ``PluginError``.

    Systems with a sans-IO core come first, third-party ones after; within each, ours before plugins'.
    """
    loaded = {ep.name: plugins.load(ep, plugins.SYSTEMS, _problem(ep.name))
              for ep in plugins.entries(plugins.SYSTEMS)}
    return dict(sorted(loaded.items(), key=lambda item: item[1].is_third_party))


def resolve(name: str) -> tuple[SystemDescriptor, Variant]:
    """Resolve ``"sys"`` or ``"sys:variant"`` to its descriptor and variant, or raise ``UnknownName``.

    Only the named system's plugin is imported.
    """
    base = name.split(":", 1)[0]
    desc = plugins.load_named(plugins.SYSTEMS, base, _problem(base))
    if desc is None:
        known = plugins.names(plugins.SYSTEMS)
        if not known:  # entry points come from installed metadata: a bare checkout has none
            raise UnknownName(f"unknown system {base!r}: no system is registered (entry points come from the "
                              "installed package: run pip install -e . in the checkout)", known)
        raise UnknownName(f"unknown system {base!r}", known)
    return desc, desc.variant(name)
