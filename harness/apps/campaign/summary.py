"""What a campaign showed: per implementation, per (planted bug, fault), and the campaign's exit code.

Expectations are judged per *group* — one variant under one fault choice on one backend, across its
seeds — because a planted bug is a probabilistic target: the fault that exposes it does so in most
seeds, not necessarily all. A planted bug's group is *caught* when it was found in at least
``min_detection`` of its seeds (1.0 by default: every seed); a correct variant's group must be valid in
every seed, without exception. Exit codes follow Jepsen's test-all: 255 if any cell crashed, else 1 if
a correct variant failed or a planted bug was missed, else 2 if anything is unknown or was not run,
else 0.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checkers.result import EXIT_CRASHED
from harness.apps.campaign.model import Campaign, Cell, CellRecord, Expect, Status

EXIT_OK, EXIT_UNEXPECTED, EXIT_UNKNOWN = 0, 1, 2  # a campaign's own: did every cell end as expected


@dataclass(frozen=True, slots=True)
class Group:
    """One variant x fault x backend across its seeds."""

    variant: str
    fault: str
    backend: str
    planted_bug: bool
    expect: Expect
    seeds: int  # cells in the group
    done: int  # cells with a final record
    invalid: int
    valid: int
    unknown: int
    crashed: int
    verdict: str  # "caught" / "missed" / "safe" / "broken" / "incomplete" / "observed"

    @property
    def as_expected(self) -> bool:
        """Whether the group showed what it should (caught bug / safe correct variant)."""
        return self.verdict in ("caught", "safe", "observed")


def _count(records: Iterable[CellRecord], status: Status) -> int:
    return sum(1 for r in records if r.status is status)


def group_key(cell: Cell) -> tuple[str, str, str, Expect]:
    """Cells judged together: one variant under one fault choice on one backend, with one expectation."""
    return (cell.variant, cell.fault, cell.spec.backend, cell.expect)


def groups(campaign: Campaign, records: Mapping[str, CellRecord]) -> list[Group]:
    """Every (variant, fault, backend, expectation) group with its counts and verdict, in campaign order."""
    by_key: dict[tuple[str, str, str, Expect], list[Cell]] = {}
    for cell in campaign.cells:
        by_key.setdefault(group_key(cell), []).append(cell)
    out = []
    need = campaign.budget.min_detection
    for (variant, fault, backend, _), cells in by_key.items():
        recs = [records[c.id] for c in cells if c.id in records and records[c.id].status.final]
        expect = cells[0].expect
        inv, val = _count(recs, Status.INVALID), _count(recs, Status.VALID)
        unk, cr = _count(recs, Status.UNKNOWN), _count(recs, Status.CRASHED)
        n = len(cells)
        if expect is Expect.OBSERVE:
            verdict = "observed" if len(recs) == n and not (unk or cr) else "incomplete"
        elif expect is Expect.INVALID:
            if inv >= need * n - 1e-9:
                verdict = "caught"
            elif inv + (n - len(recs)) + unk + cr >= need * n - 1e-9:
                verdict = "incomplete"  # could still reach the threshold
            else:
                verdict = "missed"
        else:
            verdict = "broken" if inv else ("safe" if val == n else "incomplete")
        out.append(
            Group(
                variant,
                fault,
                backend,
                cells[0].planted_bug,
                expect,
                n,
                len(recs),
                inv,
                val,
                unk,
                cr,
                verdict,
            )
        )
    return out


def exit_code(campaign: Campaign, records: Mapping[str, CellRecord]) -> int:
    """Jepsen test-all's code for the campaign as a whole (see the module docstring)."""
    finals = [records[c.id] for c in campaign.cells if c.id in records and records[c.id].status.final]
    if any(r.status is Status.CRASHED for r in finals):
        return EXIT_CRASHED
    gs = groups(campaign, records)
    if any(g.verdict in ("missed", "broken") for g in gs):
        return EXIT_UNEXPECTED
    if any(g.verdict == "incomplete" for g in gs):
        return EXIT_UNKNOWN
    return EXIT_OK


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _metric(recs: Sequence[CellRecord], name: str) -> list[float]:
    return [float(r.metrics[name]) for r in recs if isinstance(r.metrics.get(name), (int, float))]


def implementations(campaign: Campaign, records: Mapping[str, CellRecord]) -> list[dict[str, Any]]:
    """One row per variant (and backend): detection, time to first violation, throughput, latency, cost."""
    by_key: dict[tuple[str, str], list[Cell]] = {}
    judged = {(c.variant, c.spec.backend) for c in campaign.cells if c.expect is not Expect.OBSERVE}
    for cell in campaign.cells:
        key = (cell.variant, cell.spec.backend)
        if (
            cell.expect is not Expect.OBSERVE or key not in judged
        ):  # charting cells only where nothing is judged
            by_key.setdefault(key, []).append(cell)
    rows = []
    for (variant, backend), cells in by_key.items():
        recs = [records[c.id] for c in cells if c.id in records and records[c.id].status.final]
        n_inv = _count(recs, Status.INVALID)
        ttfv = _metric([r for r in recs if r.status is Status.INVALID], "first_violation_s")
        rows.append(
            {
                "variant": variant,
                "backend": backend,
                "planted_bug": cells[0].planted_bug,
                "cells": len(cells),
                "done": len(recs),
                "valid": _count(recs, Status.VALID),
                "invalid": n_inv,
                "unknown": _count(recs, Status.UNKNOWN),
                "crashed": _count(recs, Status.CRASHED),
                "detection_rate": round(n_inv / len(recs), 4) if recs else None,
                "first_violation_s_median": _median(ttfv),
                "first_violation_s_min": round(min(ttfv), 3) if ttfv else None,
                "throughput": _median(_metric(recs, "throughput")),
                "latency_p50_ms": _median(_metric(recs, "latency_p50_ms")),
                "latency_p99_ms": _median(_metric(recs, "latency_p99_ms")),
                "availability_faults": _median(_metric(recs, "availability_faults")),
                "availability_quiet": _median(_metric(recs, "availability_quiet")),
                "wall_seconds": round(sum(r.wall_seconds for r in recs), 2),
            }
        )
    return rows


def zoo(campaign: Campaign, records: Mapping[str, CellRecord]) -> list[dict[str, Any]]:
    """The bug-zoo table: every planted bug x fault -> caught in k of n seeds (also correct controls)."""
    return [
        {
            "variant": g.variant,
            "fault": g.fault,
            "backend": g.backend,
            "planted_bug": g.planted_bug,
            "caught": g.invalid,
            "valid": g.valid,
            "seeds": g.seeds,
            "done": g.done,
            "verdict": g.verdict,
            "rate": round(g.invalid / g.done, 4) if g.done else None,
        }
        for g in groups(campaign, records)
    ]


def totals(campaign: Campaign, records: Mapping[str, CellRecord]) -> dict[str, int]:
    """Cell counts by status, plus cells not run yet (``pending``)."""
    out = {s.value: 0 for s in Status}
    out["pending"] = 0
    for cell in campaign.cells:
        rec = records.get(cell.id)
        out[rec.status.value if rec is not None else "pending"] += 1
    out["cells"] = len(campaign.cells)
    return out


def unexpected_cells(campaign: Campaign, records: Mapping[str, CellRecord]) -> list[str]:
    """Ids of cells whose own result differs from what their variant should show (for the live display)."""
    out = []
    for cell in campaign.cells:
        rec = records.get(cell.id)
        if rec is None or not rec.status.final:
            continue
        if (
            rec.status is Status.CRASHED
            or (cell.expect is Expect.VALID and rec.status is Status.INVALID)
            or (cell.expect is Expect.INVALID and rec.status is Status.VALID)
        ):
            out.append(cell.id)
    return out


def report_doc(campaign: Campaign, records: Mapping[str, CellRecord]) -> dict[str, Any]:
    """Everything the comparison report shows, as JSON (``summary.json``; the report renders only this)."""
    cells_by_group: dict[tuple[str, str, str, Expect], list[dict[str, Any]]] = {}
    for cell in campaign.cells:
        rec = records.get(cell.id)
        status = rec.status.value if rec is not None else "pending"
        link = f"{rec.run_dir}/report.html" if rec is not None and rec.run_dir else None
        cells_by_group.setdefault(group_key(cell), []).append(
            {
                "id": cell.id,
                "seed": cell.spec.seed,
                "status": status,
                "link": link,
                "wall_seconds": rec.wall_seconds if rec is not None else None,
                "first_violation_s": rec.metrics.get("first_violation_s") if rec is not None else None,
                "error": (rec.error or "").strip().splitlines()[-1][:300]
                if rec is not None and rec.error
                else None,
            }
        )
    group_rows = []
    for g in groups(campaign, records):
        group_rows.append(
            {
                "variant": g.variant,
                "fault": g.fault,
                "backend": g.backend,
                "planted_bug": g.planted_bug,
                "expect": g.expect.value,
                "verdict": g.verdict,
                "caught": g.invalid,
                "seeds": g.seeds,
                "done": g.done,
                "cells": cells_by_group[(g.variant, g.fault, g.backend, g.expect)],
            }
        )
    return {
        "name": campaign.name,
        "description": campaign.description,
        "source": campaign.source,
        "min_detection": campaign.budget.min_detection,
        "exit_code": exit_code(campaign, records),
        "totals": totals(campaign, records),
        "groups": group_rows,
        "implementations": implementations(campaign, records),
        "zoo": zoo(campaign, records),
        "cross": cross_table(campaign, records),
    }


def cross_table(campaign: Campaign, records: Mapping[str, CellRecord]) -> dict[str, Any]:
    """Planted bug x fault -> "k/n" seeds caught (backends pooled): which faults expose which bugs."""
    faults: list[str] = []
    rows: dict[str, dict[str, list[int]]] = {}
    for cell in campaign.cells:
        if not cell.planted_bug:
            continue
        if cell.fault not in faults:
            faults.append(cell.fault)
        tally = rows.setdefault(cell.variant, {}).setdefault(cell.fault, [0, 0])
        rec = records.get(cell.id)
        if rec is not None and rec.status.final:
            tally[0] += rec.status is Status.INVALID
            tally[1] += 1
    return {
        "faults": faults,
        "rows": [
            {"variant": v, "cells": {f: (f"{k}/{n}" if n else "–") for f, (k, n) in per.items()}}
            for v, per in rows.items()
        ],
    }
