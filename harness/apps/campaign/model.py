"""Campaign values: the campaign (a matrix of cells plus budgets) and what one cell's run produced.

A *cell* is one test run: a system variant, a fault choice, a workload, a backend and a seed. Its id is
derived from those coordinates plus a short hash of the complete spec, so re-reading the same campaign
file yields the same ids — which is what lets ``--resume`` recognise finished cells — while editing a
cell's spec gives it a new id, so a stale result is never mistaken for the new cell's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from harness.run.spec import RunSpec


class CampaignError(ValueError):
    """A campaign file or directory that cannot be used (the message names the file and the problem)."""


class Expect(str, Enum):
    """What a cell should find: a correct variant must stay valid, a planted bug must be caught.

    ``OBSERVE`` judges nothing: such cells chart which faults expose which bugs (the zoo's cross table)
    without a verdict, since most pairings are not expected to show anything.
    """

    VALID = "valid"
    INVALID = "invalid"
    OBSERVE = "observe"


class Status(str, Enum):
    """How a cell ended. ``INTERRUPTED`` is not final: ``--resume`` runs such a cell again."""

    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"
    CRASHED = "crashed"
    INTERRUPTED = "interrupted"

    @property
    def final(self) -> bool:
        """Whether a resumed campaign keeps this result instead of running the cell again."""
        return self is not Status.INTERRUPTED


REAL_BACKENDS = frozenset({"local", "docker"})


@dataclass(frozen=True, slots=True)
class Cell:
    """One run of the matrix and what it is expected to show."""

    id: str
    spec: RunSpec
    fault: str  # label of the fault choice: "partition", "partition+kill", "none", or a schedule name
    expect: Expect
    planted_bug: bool

    @property
    def variant(self) -> str:
        """The system variant under test (``paxos:stale-read``)."""
        return self.spec.system

    @property
    def real(self) -> bool:
        """True when the cell starts real processes or containers (costly: limited parallelism)."""
        return self.spec.backend in REAL_BACKENDS

    def to_dict(self) -> dict[str, Any]:
        """JSON form, stored in ``campaign.json``."""
        return {
            "id": self.id,
            "spec": self.spec.to_dict(),
            "fault": self.fault,
            "expect": self.expect.value,
            "planted_bug": self.planted_bug,
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Cell:
        """Inverse of :meth:`to_dict`."""
        return Cell(
            str(d["id"]),
            RunSpec.from_dict(d["spec"]),
            str(d["fault"]),
            Expect(d["expect"]),
            bool(d["planted_bug"]),
        )


@dataclass(frozen=True, slots=True)
class Budget:
    """Wall-clock and parallelism limits of a campaign."""

    parallel: int = 2  # cells at once, all backends together
    parallel_real: int = 1  # of which at most this many on local/docker
    time: float | None = None  # wall seconds: no cell starts after this (the rest stay pending)
    cell_timeout: float = 600.0  # wall seconds per cell before it is killed and recorded as crashed
    min_detection: float = 1.0  # share of seeds in which a planted bug must be caught, per (bug, fault)


@dataclass(frozen=True, slots=True)
class Campaign:
    """A named list of cells with budgets; built from a TOML file by ``harness.apps.campaign.loader``."""

    name: str
    description: str
    cells: tuple[Cell, ...]
    budget: Budget = field(default_factory=Budget)
    source: str = ""  # the file it came from
    cluster: str | None = None  # [campaign] cluster: where to run (None: local processes); not stored

    def to_dict(self) -> dict[str, Any]:
        """JSON form, stored in ``campaign.json`` so a report never needs the TOML file again."""
        b = self.budget
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "budget": {
                "parallel": b.parallel,
                "parallel_real": b.parallel_real,
                "time": b.time,
                "cell_timeout": b.cell_timeout,
                "min_detection": b.min_detection,
            },
            "cells": [c.to_dict() for c in self.cells],
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Campaign:
        """Inverse of :meth:`to_dict`."""
        return Campaign(
            str(d["name"]),
            str(d.get("description", "")),
            tuple(Cell.from_dict(c) for c in d["cells"]),
            Budget(**d.get("budget", {})),
            str(d.get("source", "")),
        )


@dataclass(frozen=True, slots=True)
class CellRecord:
    """What one finished cell left behind: status, where its run is, and its measurements."""

    cell_id: str
    status: Status
    exit_code: int
    run_dir: str | None  # relative to the campaign directory
    wall_seconds: float
    metrics: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``cells/<id>.json``)."""
        return {
            "cell_id": self.cell_id,
            "status": self.status.value,
            "exit_code": self.exit_code,
            "run_dir": self.run_dir,
            "wall_seconds": self.wall_seconds,
            "metrics": dict(self.metrics),
            "error": self.error,
        }

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> CellRecord:
        """Inverse of :meth:`to_dict`."""
        return CellRecord(
            str(d["cell_id"]),
            Status(d["status"]),
            int(d["exit_code"]),
            d.get("run_dir"),
            float(d.get("wall_seconds", 0.0)),
            dict(d.get("metrics") or {}),
            d.get("error"),
        )
