"""Checker names for ``splitbrain check --checker NAME``: the ``splitbrain.checkers`` entry points.

Every entry is a pure function ``check(history, **opts) -> Result`` registered under its name (ours in
pyproject.toml, a plugin's in its own). Modules are imported on first use so that listing the names costs
nothing and one broken checker cannot take the others down; a broken one is reported as a
:class:`PluginError` naming it. (This module keeps its own small loader: checkers import nothing else
of splitbrain.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

from checkers.history import Op
from checkers.result import Result

CheckFn = Callable[..., Result]
GROUP = "splitbrain.checkers"


class PluginError(ValueError):
    """A registered checker that cannot be loaded or is not callable."""


def _entries() -> dict[str, metadata.EntryPoint]:
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


ALIASES: dict[str, str] = {
    "linearizability": "linearizable",
    "list-append": "elle-list-append",
    "rw-register": "elle-rw-register",
    "elle": "elle-list-append",
    "set": "set-full",
    "unique-id": "unique-ids",
    "locks": "lock",
    "twopc": "2pc",
    "long-forks": "long-fork",
}


def names() -> list[str]:
    """The canonical checker names, sorted."""
    return sorted(_entries())


def resolve(name: str) -> str:
    """The canonical name for ``name`` (an alias or a name); ValueError listing the valid choices."""
    canon = ALIASES.get(name, name)
    if canon not in _entries():
        raise ValueError(f"unknown checker {name!r}; choose one of: {', '.join(names())}")
    return canon


def get(name: str) -> CheckFn:
    """The check function registered under ``name`` (or an alias of it); ``PluginError`` if broken."""
    ep = _entries()[resolve(name)]
    where = f"{GROUP} plugin {ep.name!r} ({ep.value}, from {getattr(ep.dist, 'name', '?')})"
    try:
        fn: Any = ep.load()
    except Exception as e:  # noqa: BLE001 - any import-time failure of a plugin is reported as its fault
        raise PluginError(f"{where} failed to load: {type(e).__name__}: {e}") from None
    if not callable(fn):
        raise PluginError(f"{where} is broken: expected a check(history, **opts) function, got {fn!r}")
    checker: CheckFn = fn
    return checker


def describe(name: str) -> str:
    """The first line of the checker's docstring (what it judges)."""
    doc = (get(name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def run(name: str, history: Sequence[Op], **opts: Any) -> Result:
    """Run the checker ``name`` on ``history`` with its options."""
    return get(name)(history, **opts)
