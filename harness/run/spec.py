"""The run spec: everything needed to run — and re-run — one test, serialisable to ``spec.json``.

A spec is a frozen value so that what was run is exactly what is stored: the CLI builds one from its
options, the runner only reads it, and ``splitbrain check RUN_DIR`` or a replay rebuilds it from the
stored JSON. The seed is part of it, so a stored spec plus the same code reproduces the run's choices
(fully in the simulator; up to OS scheduling on real processes).
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from harness.backends.base import SpecError

__all__ = ["RunSpec", "SpecError", "read_spec", "write_spec"]


MAX_NODES = 64
MAX_CONCURRENCY = 10_000
MAX_SECONDS = 7 * 24 * 3600.0  # a week: longer is a typo, and it bounds the history a run can grow
MAX_RATE = 1_000_000.0

# field name -> (accepted types, how to say it); bool is excluded from the numbers on purpose
_INT = ((int,), "an integer")
_NUM = ((int, float), "a number")
_STR = ((str,), "a string")
_FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "system": _STR, "workload": _STR, "backend": _STR, "test_name": _STR,
    "nodes": _INT, "concurrency": _INT, "seed": _INT,
    "time_limit": _NUM, "rate": _NUM, "nemesis_interval": _NUM, "quiesce": _NUM, "op_timeout": _NUM,
    "check_time_limit": _NUM,
}


def _type_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is not acceptable for field ``name`` by its type alone (None when it is)."""
    label = name.replace("_", "-")
    if name == "check_time_limit" and value is None:
        return None
    if name in _FIELD_TYPES:
        types, what = _FIELD_TYPES[name]
        if isinstance(value, bool) or not isinstance(value, types):
            return f"{label} must be {what}, got {_show(value)}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{label} must be a finite number, got {value}"
        return None
    if name == "nemesis":
        if not isinstance(value, tuple) or not all(isinstance(x, str) for x in value):
            return f"nemesis must be a list of package names, got {_show(value)}"
        return None
    if name in ("workload_options", "config"):
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            return f"{label} must be a JSON object, got {_show(value)}"
        return None
    if name == "schedule" and value is not None:
        if not isinstance(value, tuple):
            return f"schedule must be a list of {{at, f, value}} objects, got {_show(value)}"
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                return f"schedule entry {i} must be an object {{at, f, value}}, got {_show(item)}"
    return None


def _show(value: Any) -> str:
    """A short description of a bad value for an error message."""
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


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
        # Every field is checked for its type first: a spec also comes from a user's JSON file, and a
        # string where a number belongs must be one clear error, not a TypeError deep in the runner.
        # Numbers must be finite: ``inf`` seconds never end and grow the history without bound, and
        # ``nan`` compares false with everything, so a NaN interval would silently inject no fault.
        problems = [p for p in (_type_problem(f.name, getattr(self, f.name)) for f in fields(self)) if p]
        if problems:
            raise SpecError("; ".join(problems))
        if not 1 <= self.nodes <= MAX_NODES:
            problems.append(f"nodes must be between 1 and {MAX_NODES}")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            problems.append(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
        if not 0 <= self.time_limit <= MAX_SECONDS:
            problems.append(f"time-limit must be between 0 and {MAX_SECONDS:g} seconds")
        if not 0 < self.rate <= MAX_RATE:
            problems.append(f"rate must be > 0 and <= {MAX_RATE:g}")
        if not 0 < self.nemesis_interval <= MAX_SECONDS:
            problems.append(f"nemesis-interval must be > 0 and <= {MAX_SECONDS:g}")
        if not 0 <= self.quiesce <= MAX_SECONDS:
            problems.append(f"quiesce must be between 0 and {MAX_SECONDS:g}")
        if not 0 < self.op_timeout <= MAX_SECONDS:
            problems.append(f"op-timeout must be > 0 and <= {MAX_SECONDS:g}")
        if self.check_time_limit is not None and not 0 < self.check_time_limit <= MAX_SECONDS:
            problems.append(f"check-time-limit must be > 0 and <= {MAX_SECONDS:g}")
        if not -(2**63) <= self.seed < 2**63:
            problems.append("seed must fit in 64 bits")
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
        if isinstance(kw.get("nemesis"), list):
            kw["nemesis"] = tuple(kw["nemesis"])
        if isinstance(kw.get("schedule"), list):
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
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a UTF-8 text file (a spec.json is JSON)") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read ({e.strerror or e})") from None
    except json.JSONDecodeError as e:
        raise SpecError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    except RecursionError:
        raise SpecError(f"{path}: JSON nested too deeply") from None
    except ValueError as e:  # e.g. an integer literal too long to convert
        raise SpecError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
        raise SpecError(f"{path}: expected an object with a \"spec\" object")
    try:
        return RunSpec.from_dict(doc["spec"]), doc
    except SpecError as e:
        raise SpecError(f"{path}: field \"spec\": {e}") from None


MAX_OPTION_NUMBER = 1_000_000  # a count or size in options beyond this is a typo (1e300 keys never end)


def non_finite_path(value: Any, where: str, limit: float | None = None) -> str | None:
    """Where in a JSON-like ``value`` a non-finite number (JSON parsers accept ``NaN``) or one whose
    magnitude exceeds ``limit`` sits, or None."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        v, at = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return at
        if limit is not None and isinstance(v, int | float) and not isinstance(v, bool) and abs(v) > limit:
            return at
        if isinstance(v, Mapping):
            stack.extend((x, f"{at}.{k}") for k, x in v.items())
        elif isinstance(v, list | tuple):
            stack.extend((x, f"{at}[{i}]") for i, x in enumerate(v))
    return None


def validate_config(spec: RunSpec) -> None:
    """Refuse, before anything starts, a system config or workload options the run cannot use.

    Numbers must be finite (a NaN heartbeat never fires). The system's own core is then built once with
    the config — cores are sans-IO, so this has no effects — and a config it cannot take (a string where
    it needs a number) is a ``SpecError`` naming the field, instead of a node that dies at start.
    """
    for name, value in (("config", spec.config), ("workload-options", spec.workload_options)):
        bad = non_finite_path(value, name, MAX_OPTION_NUMBER)
        if bad is not None:
            raise SpecError(f"{bad} must be a finite number of at most {MAX_OPTION_NUMBER} in magnitude")
    for key, value in spec.config.items():
        durational = any(w in key for w in ("heartbeat", "timeout", "ttl", "interval", "backoff", "period"))
        if durational and isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
            # a zero period re-arms its timer at the same instant forever: the node (in the simulator,
            # the whole run) spins without time passing
            raise SpecError(f"config.{key} must be > 0 seconds, got {value}")
    if not spec.config:
        return
    import random

    from harness.backends.sim.backend import SIM_CONFIG_KEY
    from systems_under_test.core import ConfigReads
    from systems_under_test.registry import resolve

    desc, variant = resolve(spec.system)
    if desc.is_third_party:
        return
    nodes = spec.node_ids
    own = {k: v for k, v in spec.config.items() if k != SIM_CONFIG_KEY}  # the simulator's, not the cores'
    read: set[str] = set()
    factory = variant.factory
    assert factory is not None  # only third-party systems have none
    try:
        for node in nodes:  # every node: roles (a coordinator, a manager) read keys the others do not
            # the variant's settings under the run's, as ``make_core`` lays them, seen through one view
            view = ConfigReads({**variant.config, **own}, read)
            factory(node, [n for n in nodes if n != node], random.Random(0), view)
    except Exception as e:  # noqa: BLE001 - whatever the core rejects, the config is the user's to fix
        raise SpecError(f"config {json.dumps(dict(spec.config), default=str)[:120]} is not usable by "
                        f"{spec.system} ({type(e).__name__}: {e})") from None
    unread = sorted(set(own) - read)
    if unread:
        known = ", ".join(sorted(read)) or "none"
        raise SpecError(f"config key(s) {', '.join(unread)} are not read by {spec.system}; "
                        f"it reads: {known}")
