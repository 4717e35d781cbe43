"""Workloads by name. Adding one means adding its module and a line to ``WORKLOADS``."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from harness.workloads.bank import BankWorkload
from harness.workloads.base import Completion, Invocation, OptionError, Workload
from harness.workloads.lock import LockWorkload
from harness.workloads.maelstrom_kafka import KafkaWorkload
from harness.workloads.maelstrom_kv import LinKVWorkload, MaelstromTxnListAppend, MaelstromTxnRWRegister
from harness.workloads.maelstrom_misc import (
    BroadcastWorkload,
    EchoWorkload,
    GCounterWorkload,
    GSetWorkload,
    PNCounterWorkload,
    UniqueIdsWorkload,
)
from harness.workloads.register import RegisterWorkload
from harness.workloads.set import SetWorkload
from harness.workloads.txn_append import ListAppendWorkload
from systems_under_test.registry import UnknownName

WORKLOADS: Mapping[str, type[Workload]] = {
    RegisterWorkload.name: RegisterWorkload,
    SetWorkload.name: SetWorkload,
    BankWorkload.name: BankWorkload,
    ListAppendWorkload.name: ListAppendWorkload,
    LockWorkload.name: LockWorkload,
    # Maelstrom's workloads, for external programs (system "maelstrom")
    **{w.name: w for w in (LinKVWorkload, EchoWorkload, UniqueIdsWorkload, GSetWorkload, BroadcastWorkload,
                           GCounterWorkload, PNCounterWorkload, MaelstromTxnListAppend,
                           MaelstromTxnRWRegister, KafkaWorkload)},
}

__all__ = ["WORKLOADS", "Completion", "Invocation", "OptionError", "Workload", "make_workload", "workload_class"]


def workload_class(name: str) -> type[Workload]:
    """The workload class called ``name``; raises ``UnknownName`` with the valid choices."""
    try:
        return WORKLOADS[name]
    except KeyError:
        raise UnknownName(f"unknown workload {name!r}", list(WORKLOADS)) from None


def make_workload(name: str, rng: random.Random, options: Mapping[str, Any] | None = None) -> Workload:
    """Build the workload ``name`` for one run, drawing its choices from ``rng``."""
    return workload_class(name)(rng, options)
