"""Plugins through Python entry points: the one way systems and workloads are registered.

A distribution (ours included: see ``[project.entry-points]`` in pyproject.toml) registers an object
under a group, e.g. ``chain = "chain_plugin.system:SYSTEM"`` under
``[project.entry-points."splitbrain.systems"]``. The entry point's name is the name users type.
Loading is lazy and per name: resolving ``paxos`` imports only the paxos entry, so one broken plugin
cannot stop runs of the others; listing every entry (e.g. ``splitbrain systems``) loads them all and
names the broken one in a single :class:`PluginError`.

Standard library only (``importlib.metadata``): the node runtime may import this module.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any, TypeVar

T = TypeVar("T")

SYSTEMS = "splitbrain.systems"
WORKLOADS = "splitbrain.workloads"
CHECKERS = "splitbrain.checkers"

# Our own entries are listed first (setuptools writes them sorted by name), then plugins by name.
OWN_DISTRIBUTION = "splitbrain"


class PluginError(Exception):
    """A registered plugin that cannot be loaded or is not what its group expects."""


def _dist_name(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) or "?"


_CACHE: dict[str, list[metadata.EntryPoint]] = {}


def refresh() -> None:
    """Forget what was discovered (after installing a plugin into the running interpreter)."""
    _CACHE.clear()


def entries(group: str) -> list[metadata.EntryPoint]:
    """Every entry point of ``group``: ours first, then plugins sorted by name.

    The same name registered twice (by two distributions) is an error naming both, since which one
    would win depends on ``sys.path`` order. Discovery (a scan of the installed distributions) is done
    once per process and group; the explorer plans hundreds of runs.
    """
    if group not in _CACHE:
        _CACHE[group] = _discover(group)
    return list(_CACHE[group])


def _discover(group: str) -> list[metadata.EntryPoint]:
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=group):
        other = found.get(ep.name)
        if other is not None and other.value != ep.value:
            raise PluginError(f"{group} plugin {ep.name!r} is registered twice: by {_dist_name(other)} "
                              f"({other.value}) and by {_dist_name(ep)} ({ep.value}); uninstall one")
        found.setdefault(ep.name, ep)
    own = [ep for ep in found.values() if _dist_name(ep) == OWN_DISTRIBUTION]
    others = sorted((ep for ep in found.values() if _dist_name(ep) != OWN_DISTRIBUTION), key=lambda e: e.name)
    return own + others


def names(group: str) -> list[str]:
    """The registered names of ``group`` (nothing is imported)."""
    return [ep.name for ep in entries(group)]


def load(ep: metadata.EntryPoint, group: str, check: Callable[[Any], str | None]) -> Any:
    """Import one entry point; ``check(obj)`` returns what is wrong with it, or None.

    Any failure becomes one :class:`PluginError` naming the plugin, its distribution and the cause,
    instead of a traceback from inside someone else's package.
    """
    where = f"{group} plugin {ep.name!r} ({ep.value}, from {_dist_name(ep)})"
    try:
        obj = ep.load()
    except Exception as e:  # noqa: BLE001 - any import-time failure of a plugin is reported as its fault
        raise PluginError(f"{where} failed to load: {type(e).__name__}: {e}") from None
    problem = check(obj)
    if problem is not None:
        raise PluginError(f"{where} is broken: {problem}")
    return obj


def load_named(group: str, name: str, check: Callable[[Any], str | None]) -> Any | None:
    """The object registered as ``name`` in ``group`` (only that one is imported), or None."""
    for ep in entries(group):
        if ep.name == name:
            return load(ep, group, check)
    return None


def load_all(group: str, check: Callable[[Any], str | None]) -> dict[str, Any]:
    """Every object of ``group`` by name, in listing order; the first broken one raises."""
    return {ep.name: load(ep, group, check) for ep in entries(group)}
