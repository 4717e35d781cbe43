"""Campaign files: a TOML matrix expanded into cells (stdlib ``tomllib``).

Layout of a campaign file::

    [campaign]                  # name, description and budgets
    name = "zoo"
    parallel = 2                # cells at once (default: the machine's cores)
    parallel_real = 1           # of which on local/docker backends
    time_budget = 900           # wall seconds; cells not started by then stay pending (resume later)
    cell_timeout = 300          # wall seconds per cell
    min_detection = 0.9         # a planted bug counts as caught if found in this share of its seeds
    cluster = "local:2"         # run the cells on Dask: "tcp://HOST:PORT" or "local:N" (--cluster wins)

    [defaults]                  # RunSpec fields for every cell (time_limit, quiesce, rate, ...)
    time_limit = 20

    [schedules.kill-all]        # an explicit fault schedule, used as fault "@kill-all"
    entries = [{at = 4, f = "kill", value = "all"}, {at = 5, f = "start", value = "all"}]
    repeat = 2                  # optional: the entries again, shifted by `period` seconds each time
    period = 6

    [[matrix]]                  # each block is a cartesian product
    systems = ["paxos:*"]       # variants; "sys:*" = every variant of sys
    faults = ["partition", "partition,kill", "none", "@kill-all"]
    backends = ["sim"]
    seeds = 10                  # n = seeds 0..n-1, or an explicit list
    spec = {nodes = 5}          # RunSpec overrides for this block
    expect = "auto"             # auto (planted bug -> invalid, correct -> valid), "valid", "invalid",
                                # or "observe" (chart only: no verdict, never fails the campaign)

Schedule values may name nodes symbolically, so one schedule fits any cluster size: ``"all"``,
``"majority"`` (the first ⌊n/2⌋+1 nodes), ``"minority"`` (the last ⌈n/2⌉-1, at least one); a partition
value may be ``{isolate = "n1"}``, ``{components = [["n1"], ["n2", "n3"]]}`` or ``"halves"``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from harness.apps.campaign.model import Budget, Campaign, CampaignError, Cell, Expect
from harness.run.spec import RunSpec, SpecError
from nemesis import grudges
from nemesis.faults import FaultKind, ScheduleError
from systems_under_test.registry import UnknownName, systems

SPEC_FIELDS = frozenset(f.name for f in fields(RunSpec))
_CAMPAIGN_KEYS = {
    "name",
    "description",
    "parallel",
    "parallel_real",
    "time_budget",
    "cell_timeout",
    "min_detection",
    "cluster",
}
_MATRIX_KEYS = {"systems", "faults", "workloads", "backends", "seeds", "spec", "expect"}
_DEFAULT_BUDGET = Budget()
_NODE_KINDS = {
    FaultKind.KILL,
    FaultKind.START,
    FaultKind.PAUSE,
    FaultKind.RESUME,
    FaultKind.RESET_CLOCK,
    FaultKind.STOP_PACKET,
}


def load_campaign(path: Path) -> Campaign:
    """Read and expand the campaign file at ``path``; raises ``CampaignError`` naming the file."""
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CampaignError(f"{path}: no such campaign file") from None
    except tomllib.TOMLDecodeError as e:
        raise CampaignError(f"{path}: not valid TOML ({e})") from None
    try:
        return build_campaign(doc, source=str(path), default_name=Path(path).stem)
    except (CampaignError, SpecError, UnknownName, ScheduleError) as e:
        raise CampaignError(f"{path}: {e}") from None


def build_campaign(doc: Mapping[str, Any], *, source: str = "", default_name: str = "campaign") -> Campaign:
    """Expand a parsed campaign document into cells (see the module docstring for the layout)."""
    _only(doc, {"campaign", "defaults", "schedules", "matrix"}, "top level")
    head = dict(doc.get("campaign", {}))
    _only(head, _CAMPAIGN_KEYS, "[campaign]")
    defaults = dict(doc.get("defaults", {}))
    _only(defaults, SPEC_FIELDS, "[defaults]")
    schedules = dict(doc.get("schedules", {}))
    blocks = doc.get("matrix", [])
    if not isinstance(blocks, list) or not blocks:
        raise CampaignError("no [[matrix]] block: a campaign needs at least one")
    cells: list[Cell] = []
    seen: set[str] = set()
    for i, block in enumerate(blocks, 1):
        for cell in expand_block(block, defaults, schedules, where=f"[[matrix]] #{i}"):
            if cell.id not in seen:  # the same cell named by two blocks runs once
                seen.add(cell.id)
                cells.append(cell)
    budget = Budget(
        parallel=int(head.get("parallel", os.cpu_count() or 1)),
        parallel_real=int(head.get("parallel_real", 1)),
        time=None if head.get("time_budget") is None else float(head["time_budget"]),
        cell_timeout=float(head.get("cell_timeout", _DEFAULT_BUDGET.cell_timeout)),
        min_detection=float(head.get("min_detection", _DEFAULT_BUDGET.min_detection)),
    )
    if budget.parallel < 1 or budget.parallel_real < 1 or budget.cell_timeout <= 0:
        raise CampaignError("parallel and parallel_real must be >= 1, cell_timeout > 0")
    if not 0.0 < budget.min_detection <= 1.0:
        raise CampaignError("min_detection must be in (0, 1]")
    cluster = head.get("cluster")
    if cluster is not None:
        from harness.apps.campaign.dask_exec import parse_cluster

        if not isinstance(cluster, str):
            raise CampaignError("[campaign] cluster must be a string: tcp://HOST:PORT or local:N")
        parse_cluster(cluster)
    return Campaign(
        str(head.get("name", default_name)),
        str(head.get("description", "")),
        tuple(cells),
        budget,
        source,
        cluster,
    )


def _only(d: Mapping[str, Any], allowed: set[str] | frozenset[str], where: str) -> None:
    if not isinstance(d, Mapping):
        raise CampaignError(f"{where}: expected a table")
    unknown = sorted(set(d) - set(allowed))
    if unknown:
        raise CampaignError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(allowed))}"
        )


def _strings(block: Mapping[str, Any], key: str, default: list[str], where: str) -> list[str]:
    value = block.get(key, default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise CampaignError(f"{where}: {key} must be a non-empty list of strings")
    return value


def expand_variants(names: Sequence[str]) -> list[str]:
    """Variant names with ``"sys:*"`` expanded to every variant of ``sys`` (correct one first)."""
    known = systems()
    out: list[str] = []
    for name in names:
        base, _, var = name.partition(":")
        if base not in known:
            raise UnknownName(f"unknown system {base!r}", list(known))
        if var == "*":
            chosen = [v.name for v in known[base].variants]
        else:
            chosen = [known[base].variant(name).name]
        out.extend(v for v in chosen if v not in out)
    return out


def seeds_of(value: Any, where: str) -> list[int]:
    """``n`` -> seeds 0..n-1; a list -> itself."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return list(range(value))
    if (
        isinstance(value, list)
        and value
        and all(isinstance(s, int) and not isinstance(s, bool) for s in value)
    ):
        return list(value)
    raise CampaignError(f"{where}: seeds must be a positive count or a list of integers")


def expand_block(
    block: Mapping[str, Any], defaults: Mapping[str, Any], schedules: Mapping[str, Any], *, where: str
) -> list[Cell]:
    """The cells of one ``[[matrix]]`` block."""
    _only(block, _MATRIX_KEYS, where)
    overrides = dict(block.get("spec", {}))
    _only(overrides, SPEC_FIELDS, f"{where} spec")
    variants = expand_variants(_strings(block, "systems", [], where))
    faults = _strings(block, "faults", ["none"], where)
    workloads = _strings(block, "workloads", [""], where)
    backends = _strings(block, "backends", ["sim"], where)
    seeds = seeds_of(block.get("seeds", 1), where)
    expect_word = str(block.get("expect", "auto"))
    if expect_word not in ("auto", "valid", "invalid", "observe"):
        raise CampaignError(f"{where}: expect must be auto, valid, invalid or observe")
    known = systems()
    cells = []
    for variant in variants:
        desc = known[variant.split(":", 1)[0]]
        planted = desc.variant(variant).planted_bug
        expect = (
            Expect(expect_word) if expect_word != "auto" else (Expect.INVALID if planted else Expect.VALID)
        )
        for fault in faults:
            for workload in workloads:
                for backend in backends:
                    for seed in seeds:
                        fields_: dict[str, Any] = {
                            "nodes": desc.default_nodes,
                            **defaults,
                            **overrides,
                            "system": variant,
                            "workload": workload,
                            "backend": backend,
                            "seed": seed,
                        }
                        label, fault_fields = fault_fields_of(fault, schedules, int(fields_["nodes"]), where)
                        fields_.update(fault_fields)
                        spec = RunSpec.from_dict(_tuplify(fields_))
                        cid = cell_id(spec, label)
                        cells.append(Cell(cid, spec.with_(test_name=cid), label, expect, planted))
    return cells


def _tuplify(d: dict[str, Any]) -> dict[str, Any]:
    out = dict(d)
    if isinstance(out.get("nemesis"), str):
        out["nemesis"] = [p for p in out["nemesis"].split(",") if p]
    return out


def fault_fields_of(
    fault: str, schedules: Mapping[str, Any], nodes: int, where: str
) -> tuple[str, dict[str, Any]]:
    """The label and RunSpec fields of a fault choice: packages (``"partition,kill"``) or ``"@schedule"``."""
    if fault.startswith("@"):
        name = fault[1:]
        if name not in schedules:
            raise CampaignError(
                f"{where}: unknown schedule {fault!r}; defined: {', '.join(sorted(schedules)) or 'none'}"
            )
        return name, {
            "nemesis": (),
            "schedule": tuple(expand_schedule(schedules[name], nodes, f"[schedules.{name}]")),
        }
    packages = tuple(p.strip() for p in fault.split(",") if p.strip() and p.strip() != "none")
    return ("+".join(packages) or "none"), {"nemesis": packages, "schedule": None}


def expand_schedule(table: Mapping[str, Any], nodes: int, where: str) -> list[dict[str, Any]]:
    """A schedule table's entries, repeated and with symbolic node names resolved for ``nodes`` nodes."""
    _only(table, {"entries", "repeat", "period"}, where)
    entries = table.get("entries")
    if not isinstance(entries, list) or not entries:
        raise CampaignError(f"{where}: entries must be a non-empty list of {{at, f, value}}")
    repeat = int(table.get("repeat", 1))
    period = float(table.get("period", 0.0))
    if repeat < 1 or (repeat > 1 and period <= 0):
        raise CampaignError(f"{where}: repeat must be >= 1 and period > 0 when repeating")
    ids = [f"n{i}" for i in range(1, nodes + 1)]
    out = []
    for r in range(repeat):
        for e in entries:
            if not isinstance(e, Mapping) or "at" not in e or "f" not in e:
                raise CampaignError(f"{where}: each entry needs at and f")
            try:
                kind = FaultKind(e["f"])
            except ValueError:
                raise CampaignError(
                    f"{where}: unknown fault {e['f']!r}; valid: " + ", ".join(k.value for k in FaultKind)
                ) from None
            out.append(
                {
                    "at": round(float(e["at"]) + r * period, 6),
                    "f": kind.value,
                    "value": resolve_value(kind, e.get("value"), ids, where),
                }
            )
    return sorted(out, key=lambda d: d["at"])


def resolve_value(kind: FaultKind, value: Any, ids: list[str], where: str) -> Any:
    """Replace symbolic node sets (``all``/``majority``/``minority``, ``isolate``, ``halves``) by nodes."""
    n = len(ids)
    named = {"all": ids, "majority": ids[: n // 2 + 1], "minority": ids[n - max(1, (n - 1) // 2) :]}
    if kind in _NODE_KINDS and isinstance(value, str):
        if value not in named:
            raise CampaignError(f"{where}: node set {value!r} must be all, majority, minority or a list")
        return list(named[value])
    if kind is FaultKind.START_PARTITION:
        if value == "halves":
            return grudges.complete_grudge([ids[: n // 2], ids[n // 2 :]])
        if isinstance(value, Mapping) and "isolate" in value:
            return grudges.isolate(ids, str(value["isolate"]))
        if isinstance(value, Mapping) and "components" in value:
            return grudges.complete_grudge(value["components"])
    if kind is FaultKind.START_PACKET and isinstance(value, Mapping) and isinstance(value.get("nodes"), str):
        return {**value, "nodes": list(named[value["nodes"]])}
    return value


def cell_id(spec: RunSpec, fault: str) -> str:
    """A readable, stable id: coordinates plus a hash of the complete spec."""
    digest = hashlib.sha256(
        json.dumps(spec.with_(test_name="").to_dict(), sort_keys=True, default=str).encode()
    ).hexdigest()[:6]
    parts = [spec.system.replace(":", "-"), fault, spec.workload or "default", spec.backend, f"s{spec.seed}"]
    raw = ".".join(parts)
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in raw) + "." + digest
