"""The run spec: everything needed to run — and re-run — one test, serialisable to ``spec.json``.

A spec is a frozen value so that what was run is exactly what is stored: the CLI builds one from its
options, the runner only reads it, and ``splitbrain check RUN_DIR`` or a replay rebuilds it from the
stored JSON. The seed is part of it, so a stored spec plus the same code reproduces the run's choices
(fully in the simulator; up to OS scheduling on real processes).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from harness.backends.base import SpecError

__all__ = ["RunSpec", "SpecError", "read_spec", "write_spec"]


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One test run: system variant, cluster size, workload, faults, timing and the seed."""

    system: str = "replication"
    workload: str = ""  # "" = the system's default workload
    backend: str = "local"
    nodes: int = 3
    concurrency: int = 6
    time_limit: float = 30.0  # seconds of the main phase
    rate: float = 40.0  # target invocations per second, all clients together
    nemesis: tuple[str, ...] = ("partition", "kill")
    nemesis_interval: float = 5.0  # mean length of each fault and each quiet period
    seed: int = 0
    quiesce: float = 3.0  # seconds to wait after healing, before the final reads
    test_name: str = ""  # "" = derived from the system name
    op_timeout: float = 1.0  # a client gives up on a reply after this long (history: info)
    check_time_limit: float | None = 60.0  # checker budget; past it the verdict is "unknown"
    workload_options: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)  # system config overrides
    schedule: tuple[Mapping[str, Any], ...] | None = None  # explicit nemesis schedule (replay)

    def __post_init__(self) -> None:
        problems = []
        if self.nodes < 1:
            problems.append("nodes must be >= 1")
        if self.concurrency < 1:
            problems.append("concurrency must be >= 1")
        if self.time_limit < 0:
            problems.append("time-limit must be >= 0")
        if self.rate <= 0:
            problems.append("rate must be > 0")
        if self.nemesis_interval <= 0:
            problems.append("nemesis-interval must be > 0")
        if self.quiesce < 0:
            problems.append("quiesce must be >= 0")
        if self.op_timeout <= 0:
            problems.append("op-timeout must be > 0")
        if problems:
            raise SpecError("; ".join(problems))

    @property
    def node_ids(self) -> tuple[str, ...]:
        """The cluster's node ids, ``n1..nN``."""
        return tuple(f"n{i}" for i in range(1, self.nodes + 1))

    @property
    def name(self) -> str:
        """The test name used for the store directory."""
        return self.test_name or self.system.replace(":", "-")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field."""
        d = asdict(self)
        d["nemesis"] = list(self.nemesis)
        d["workload_options"] = dict(self.workload_options)
        d["config"] = dict(self.config)
        d["schedule"] = None if self.schedule is None else [dict(s) for s in self.schedule]
        return d

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> RunSpec:
        """Rebuild a spec from :meth:`to_dict` output; raises ``SpecError`` on unknown or bad fields."""
        known = {f.name for f in fields(RunSpec)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise SpecError(f"unknown spec field(s): {', '.join(unknown)}")
        kw = dict(d)
        if "nemesis" in kw:
            kw["nemesis"] = tuple(kw["nemesis"])
        if kw.get("schedule") is not None:
            kw["schedule"] = tuple(kw["schedule"])
        try:
            return RunSpec(**kw)
        except TypeError as e:
            raise SpecError(f"bad spec: {e}") from None

    def with_(self, **changes: Any) -> RunSpec:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def replay_command(self) -> str:
        """The ``splitbrain run ...`` command line that runs this spec again."""
        args = [
            "splitbrain", "run",
            "--system", self.system,
            "--backend", self.backend,
            "--nodes", str(self.nodes),
            "--concurrency", str(self.concurrency),
            "--time-limit", _num(self.time_limit),
            "--rate", _num(self.rate),
            "--nemesis", ",".join(self.nemesis) or "none",
            "--nemesis-interval", _num(self.nemesis_interval),
            "--quiesce", _num(self.quiesce),
            "--seed", str(self.seed),
        ]
        if self.workload:
            args += ["--workload", self.workload]
        if self.test_name:
            args += ["--test-name", self.test_name]
        return " ".join(shlex.quote(a) for a in args)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def write_spec(path: Path, spec: RunSpec, **extra: Any) -> None:
    """Write ``spec.json``: the spec's fields under ``"spec"`` plus ``extra`` facts (commit, command)."""
    doc = {"spec": spec.to_dict(), **extra}
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_spec(path: Path) -> tuple[RunSpec, dict[str, Any]]:
    """Read a ``spec.json`` written by :func:`write_spec`: the spec and the whole document."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file (is this a run directory?)") from None
    except json.JSONDecodeError as e:
        raise SpecError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
        raise SpecError(f"{path}: expected an object with a \"spec\" object")
    return RunSpec.from_dict(doc["spec"]), doc
