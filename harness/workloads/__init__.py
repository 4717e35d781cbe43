"""Workloads by name: the ``splitbrain.workloads`` entry points (ours in pyproject.toml, plugins in theirs).

Adding one means adding its module (a :class:`Workload` subclass with a ``name``) and one entry point.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from harness.workloads.base import Completion, Invocation, OptionError, Workload
from systems_under_test import plugins
from systems_under_test.registry import UnknownName

__all__ = ["Completion", "Invocation", "OptionError", "Workload", "make_workload", "workload_class",
           "workload_classes", "workload_names"]


def _problem(name: str) -> Any:
    def check(obj: Any) -> str | None:
        if not (isinstance(obj, type) and issubclass(obj, Workload)):
            return f"expected a harness.workloads.Workload subclass, got {obj!r}"
        if obj.name != name:
            return f"its name is {obj.name!r}, not {name!r} like its entry point"
        return None
    return check


def workload_names() -> list[str]:
    """Every registered workload name (nothing is imported)."""
    return plugins.names(plugins.WORKLOADS)


def workload_classes() -> dict[str, type[Workload]]:
    """Every registered workload class by name; a broken plugin raises ``PluginError``."""
    return {ep.name: plugins.load(ep, plugins.WORKLOADS, _problem(ep.name)) for ep in plugins.entries(plugins.WORKLOADS)}


def workload_class(name: str) -> type[Workload]:
    """The workload class called ``name`` (only its plugin is imported); ``UnknownName`` with the choices."""
    cls: type[Workload] | None = plugins.load_named(plugins.WORKLOADS, name, _problem(name))
    if cls is None:
        raise UnknownName(f"unknown workload {name!r}", workload_names())
    return cls


def make_workload(name: str, rng: random.Random, options: Mapping[str, Any] | None = None) -> Workload:
    """Build the workload ``name`` for one run, drawing its choices from ``rng``."""
    return workload_class(name)(rng, options)
