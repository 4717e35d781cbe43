"""The interactive sections of the run report (timeline, counterexample, checkers, plots) as template context.

``run_report.render_run_report`` merges this into its context; the partials ``_timeline.html``,
``_counterexample.html``, ``_checkers.html`` and ``_plots.html`` draw it. Kept apart from the page
itself so each piece is testable without rendering HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from checkers.history import HistoryError, Op, pairs
from checkers.result import Result
from reports.assets import PlotlyRef, plotly_for, static_js
from reports.checker_view import checker_sections
from reports.counterexample import counterexample_view
from reports.embed import script_json
from reports.faults import COLORS, fault_bands
from reports.maelstrom_view import maelstrom_view
from reports.plots import figures, latency_table
from reports.timeline import thread_map, timeline_data


def concurrency_of(spec: Mapping[str, Any]) -> int | None:
    """The run's client concurrency (threads), which maps a process to its thread: process mod concurrency."""
    inner = spec.get("spec") if isinstance(spec.get("spec"), Mapping) else spec
    c = inner.get("concurrency") if isinstance(inner, Mapping) else None
    return c if isinstance(c, int) and not isinstance(c, bool) and c > 0 else None


def report_sections(spec: Mapping[str, Any], result: Result, ops: Sequence[Op], *,
                    highlight: Iterable[int] = (), run_dir: Path | None = None,
                    assets: str = "auto") -> dict[str, Any]:
    """Template context for the report's sections (``assets``: how plotly.js is loaded, see
    ``plotly_for``)."""
    invalid = result.valid is False
    conc = concurrency_of(spec)
    ce = (
        counterexample_view(result.counterexample, concurrency=conc)
        if invalid and result.counterexample
        else None
    )
    marked = set(highlight) if invalid else set()  # only an invalid run blames ops
    focus = None
    if ce is not None and isinstance(ce["stuck"]["index"], int):
        focus = ce["stuck"]["index"]
        marked |= {i for i in (ce["stuck"]["index"], ce["stuck"]["complete_index"]) if isinstance(i, int)}
    elif marked:
        focus = min(marked)
    try:
        ps = pairs(ops)
        timeline = timeline_data(ops, concurrency=conc, highlight=marked, focus=focus,
                                 paired=ps)
        timeline_error = ""
    except HistoryError as e:  # a malformed history still gets a report, without the op-level views
        ps, timeline, timeline_error = [], None, str(e)
    bands = fault_bands(ops)
    plotly = plotly_for(run_dir, assets) if ps else PlotlyRef()
    return {
        "ce": ce,
        "checkers": checker_sections(result) if result.checker else [],
        "threads": thread_map(ps, conc),
        "timeline_json": script_json(timeline) if timeline is not None else "",
        "timeline_error": timeline_error,
        "timeline_has_error": bool(timeline and timeline["highlight"]),
        "timeline_js": static_js("timeline.js"),
        # the static fallback for plots whose shared plotly.js is gone (a report copied out of its store)
        "report_js": static_js("miniplot.js") + "\n" + static_js("report.js"),
        "band_colors": sorted({(b.kind, COLORS.get(b.kind, COLORS["other"])) for b in bands}),
        "latency_rows": latency_table(ps),
        "plots": [{"id": p["id"], "json": script_json(p["figure"])} for p in figures(ps, ops, bands, result)]
        if ps else [],
        "plotly": plotly,
        "fault_intervals": [{**b.to_dict(), "start_s": f"{b.start / 1e9:.3f}", "end_s": f"{b.end / 1e9:.3f}",
                             "duration_s": f"{(b.end - b.start) / 1e9:.3f}"} for b in bands],
        "node_logs": sorted(p.name for p in (run_dir / "nodes").glob("*.log")) if run_dir is not None else [],
        "maelstrom": maelstrom_view(run_dir, ops),
    }
