"""Checker names for ``splitbrain check --checker NAME``: one table from name to check function.

Every entry is a pure function ``check(history, **opts) -> Result``. Modules are imported on first use so
that listing the names costs nothing and one broken checker cannot take the others down.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from checkers.history import Op
from checkers.result import Result

CheckFn = Callable[..., Result]


@dataclass(frozen=True, slots=True)
class Entry:
    """Where a checker lives and what it is for."""

    module: str
    function: str
    description: str


CHECKERS: dict[str, Entry] = {
    "linearizable": Entry("checkers.linearizability", "check",
                          "linearizability of single-object ops (cas-register by default; "
                          "Knossos/Porcupine)"),
    "elle-list-append": Entry("checkers.elle", "check_list_append",
                              "Elle: list-append transactions, dependency cycles, consistency models"),
    "elle-rw-register": Entry("checkers.elle", "check_rw_register",
                              "Elle: read-write register transactions, dependency cycles, consistency "
                              "models"),
    "bank": Entry("checkers.bank", "check", "bank transfers: conserved total, no negative/missing balances"),
    "set-full": Entry("checkers.sets", "check", "set adds and reads: stable / stale / lost elements"),
    "counter": Entry("checkers.counter", "check", "counter adds and reads: reads within possible bounds"),
    "unique-ids": Entry("checkers.unique_ids", "check", "generated ids are never handed out twice"),
    "lock": Entry("checkers.locks", "check", "lock service: fencing-token order and mutual exclusion"),
    "2pc": Entry("checkers.twopc", "check", "two-phase commit: each txn visible on all participants or none"),
    "stats": Entry("checkers.stats", "check", "operation counts by f and outcome"),
}
ALIASES: dict[str, str] = {
    "linearizability": "linearizable",
    "list-append": "elle-list-append",
    "rw-register": "elle-rw-register",
    "elle": "elle-list-append",
    "set": "set-full",
    "unique-id": "unique-ids",
    "locks": "lock",
    "twopc": "2pc",
}


def names() -> list[str]:
    """The canonical checker names, sorted."""
    return sorted(CHECKERS)


def resolve(name: str) -> str:
    """The canonical name for ``name`` (an alias or a name); ValueError listing the valid choices."""
    canon = ALIASES.get(name, name)
    if canon not in CHECKERS:
        raise ValueError(f"unknown checker {name!r}; choose one of: {', '.join(names())}")
    return canon


def get(name: str) -> CheckFn:
    """The check function registered under ``name`` (or an alias of it)."""
    entry = CHECKERS[resolve(name)]
    fn: CheckFn = getattr(importlib.import_module(entry.module), entry.function)
    return fn


def run(name: str, history: Sequence[Op], **opts: Any) -> Result:
    """Run the checker ``name`` on ``history`` with its options."""
    return get(name)(history, **opts)
