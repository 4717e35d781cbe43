"""Workloads by name. Adding one means adding its module and a line to ``WORKLOADS``.

``WORKLOADS`` maps a name to its stateless :class:`WorkloadSpec` class; :func:`workload_spec` builds
the spec from options (validating them), :func:`make_workload` adds a run's op generator.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from harness.workloads.bank import BankWorkload
from harness.workloads.base import Completion, Invocation, OpGenerator, OptionError, Workload, WorkloadSpec
from harness.workloads.lock import LockWorkload
from harness.workloads.register import RegisterWorkload
from harness.workloads.set import SetWorkload
from harness.workloads.txn_append import ListAppendWorkload
from systems_under_test.registry import UnknownName

WORKLOADS: Mapping[str, type[WorkloadSpec]] = {
    RegisterWorkload.name: RegisterWorkload,
    SetWorkload.name: SetWorkload,
    BankWorkload.name: BankWorkload,
    ListAppendWorkload.name: ListAppendWorkload,
    LockWorkload.name: LockWorkload,
}

__all__ = ["WORKLOADS", "Completion", "Invocation", "OpGenerator", "OptionError", "Workload", "WorkloadSpec",
           "make_workload", "workload_class", "workload_spec"]


def workload_class(name: str) -> type[WorkloadSpec]:
    """The workload spec class called ``name``; raises ``UnknownName`` with the valid choices."""
    try:
        return WORKLOADS[name]
    except KeyError:
        raise UnknownName(f"unknown workload {name!r}", list(WORKLOADS)) from None


def workload_spec(name: str, options: Mapping[str, Any] | None = None) -> WorkloadSpec:
    """The stateless spec of workload ``name`` with ``options`` (``OptionError`` if they are wrong)."""
    return workload_class(name)(options)


def make_workload(name: str, rng: random.Random, options: Mapping[str, Any] | None = None) -> Workload:
    """Workload ``name`` for one run: its spec plus a generator drawing its choices from ``rng``."""
    spec = workload_spec(name, options)
    return Workload(spec, spec.generator(rng))
