"""Workloads by name: the ``splitbrain.workloads`` entry points (ours in pyproject.toml, plugins in theirs).

Adding one means adding its module (a :class:`WorkloadSpec` subclass with a ``name``: the stateless part,
and its :class:`OpGenerator`) and one entry point. :func:`workload_spec` builds the spec from options
(validating them); :func:`make_workload` adds a run's op generator.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from harness.workloads.base import Completion, Invocation, OpGenerator, OptionError, Workload, WorkloadSpec
from systems_under_test import plugins
from systems_under_test.registry import UnknownName

__all__ = ["Completion", "Invocation", "OpGenerator", "OptionError", "Workload", "WorkloadSpec",
           "make_workload",
           "workload_class", "workload_classes", "workload_names", "workload_spec"]


def _problem(name: str) -> Any:
    def check(obj: Any) -> str | None:
        if not (isinstance(obj, type) and issubclass(obj, WorkloadSpec)):
            return f"expected a harness.workloads.WorkloadSpec subclass, got {obj!r}"
        if obj.name != name:
            return f"its name is {obj.name!r}, not {name!r} like its entry point"
        return None
    return check


def workload_names() -> list[str]:
    """Every registered workload name (nothing is imported)."""
    return plugins.names(plugins.WORKLOADS)


def workload_classes() -> dict[str, type[WorkloadSpec]]:
    """Every registered workload class by name; a broken plugin raises ``PluginError``."""
    return {ep.name: plugins.load(ep, plugins.WORKLOADS, _problem(ep.name))
            for ep in plugins.entries(plugins.WORKLOADS)}


def workload_class(name: str) -> type[WorkloadSpec]:
    """The workload class called ``name`` (only its plugin is imported); ``UnknownName`` with the choices."""
    cls: type[WorkloadSpec] | None = plugins.load_named(plugins.WORKLOADS, name, _problem(name))
    if cls is None:
        raise UnknownName(f"unknown workload {name!r}", workload_names())
    return cls


def workload_spec(name: str, options: Mapping[str, Any] | None = None) -> WorkloadSpec:
    """The stateless spec of workload ``name`` with ``options`` (``OptionError`` if they are wrong)."""
    return workload_class(name)(options)


def make_workload(name: str, rng: random.Random, options: Mapping[str, Any] | None = None) -> Workload:
    """Workload ``name`` for one run: its spec plus a generator drawing its choices from ``rng``."""
    spec = workload_spec(name, options)
    return Workload(spec, spec.generator(rng))
