"""Plot figures for the run report, as plotly.js figure documents (``{"data": [...], "layout": {...}}``).

The figures are built as plain dicts rather than through plotly's Python graph objects: every run
writes a report, and validating thousands of points through graph objects costs more than the run's
check. Latency is plotted at the op's invocation time, per ``f`` and outcome, because that is when the
fault bands say what the cluster was going through; dense series are thinned by a fixed stride (no
randomness: the same history always gives the same picture) and the legend says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import Op, Pair
from checkers.result import Result
from reports.faults import Band

MAX_POINTS = 6000  # latency points over all series: SVG scatter stays quick to draw and hover
TYPE_COLORS = {"ok": "#43a047", "fail": "#e53935", "info": "#fb8c00"}
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross", "star", "hexagon"]
QUANTILES = (0.5, 0.9, 0.99)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of already-sorted values (nearest rank)."""
    if not sorted_values:
        return math.nan
    return float(sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))])


def _latencies(ps: Sequence[Pair]) -> list[tuple[Pair, float]]:
    return [(p, (p.complete.time - p.invoke.time) / 1e6) for p in ps if p.complete is not None]


def latency_table(ps: Sequence[Pair]) -> list[dict[str, Any]]:
    """Latency quantiles (ms) of completed ops per ``f`` and outcome."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for p, ms in _latencies(ps):
        groups[(p.invoke.f, p.type)].append(ms)
    rows = []
    for (f, ty), vals in sorted(groups.items()):
        vals.sort()
        rows.append({"f": f, "type": ty, "count": len(vals), "max": round(vals[-1], 2),
                     **{f"p{round(q * 100)}": round(quantile(vals, q), 2) for q in QUANTILES}})
    return rows


def _shapes(bands: Sequence[Band]) -> list[dict[str, Any]]:
    return [{"type": "rect", "xref": "x", "yref": "paper", "x0": b.start / 1e9,
             "x1": max(b.end, b.start + 1) / 1e9,
             "y0": 0, "y1": 1, "fillcolor": b.to_dict()["color"],
             "line": {"width": 0 if b.end > b.start else 1},
             "layer": "below"} for b in bands]


def _layout(title: str, ytitle: str, bands: Sequence[Band], **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title, "font": {"size": 14}}, "height": 340,
            "margin": {"l": 60, "r": 20, "t": 40, "b": 60}, "xaxis": {"title": {"text": "time (s)"}},
            "yaxis": {"title": {"text": ytitle}}, "shapes": _shapes(bands), "hovermode": "closest",
            "legend": {"orientation": "h", "y": -0.3}, **extra}


def _thin(points: list[Any], budget: int) -> tuple[list[Any], bool]:
    if len(points) <= budget:
        return points, False
    stride = math.ceil(len(points) / max(budget, 1))
    return points[::stride], True


def latency_figure(ps: Sequence[Pair], bands: Sequence[Band]) -> dict[str, Any]:
    """Latency over time: one scatter series per (f, outcome), log-scale milliseconds."""
    series: dict[tuple[str, str], list[tuple[float, float, int]]] = defaultdict(list)
    for p, ms in _latencies(ps):
        series[(p.invoke.f, p.type)].append((p.invoke.time / 1e9, max(ms, 1e-3), p.invoke.index))
    fs = sorted({f for f, _ in series})
    total = sum(len(pts) for pts in series.values())
    data = []
    for (f, ty), pts in sorted(series.items()):
        # each series keeps its share of the budget, but a rare outcome (fail, info) is never thinned away
        pts, thinned = _thin(pts, max(MAX_POINTS * len(pts) // max(total, 1), 500))
        data.append({"type": "scatter", "mode": "markers",
                     "name": f"{f} {ty}" + (" (thinned)" if thinned else ""),
                     "x": [round(a, 6) for a, _, _ in pts], "y": [round(b, 3) for _, b, _ in pts],
                     "customdata": [i for _, _, i in pts],
                     "hovertemplate": "%{x:.3f} s, %{y:.2f} ms, op "
                     "%{customdata}<extra>%{fullData.name}</extra>",
                     "marker": {"size": 4, "color": TYPE_COLORS.get(ty, "#757575"),
                                "symbol": SYMBOLS[fs.index(f) % len(SYMBOLS)], "opacity": 0.7}})
    return {"data": data, "layout": _layout("Latency (by invocation time)", "latency (ms)", bands,
                                            yaxis={"title": {"text": "latency (ms)"}, "type": "log"})}


def _bucket(duration_s: float, target: int) -> float:
    raw = max(duration_s / target, 1e-3)
    mag = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw))


def throughput_figure(ps: Sequence[Pair], bands: Sequence[Band], duration_s: float) -> dict[str, Any]:
    """Completions per second over time, stacked by outcome."""
    width = _bucket(duration_s, 120)
    n = int(duration_s / width) + 1
    counts = {ty: [0] * n for ty in TYPE_COLORS}
    for p in ps:
        if p.complete is not None:
            counts[p.type if p.type in counts else "info"][
                min(n - 1, int(p.complete.time / 1e9 / width))
            ] += 1
    xs = [round((i + 0.5) * width, 6) for i in range(n)]
    data = [{"type": "scatter", "mode": "lines", "stackgroup": "one", "name": ty, "x": xs,
             "y": [round(c / width, 3) for c in counts[ty]], "line": {"color": TYPE_COLORS[ty], "width": 1}}
            for ty in TYPE_COLORS if any(counts[ty])]
    return {"data": data, "layout": _layout(f"Throughput ({width:g} s buckets)", "completions / s", bands)}


def quantile_figure(ps: Sequence[Pair], bands: Sequence[Band], duration_s: float) -> dict[str, Any]:
    """Latency quantiles of ok ops over time (p50 / p90 / p99 / max per bucket)."""
    width = _bucket(duration_s, 40)
    buckets: dict[int, list[float]] = defaultdict(list)
    for p, ms in _latencies(ps):
        if p.type == "ok":
            buckets[int(p.invoke.time / 1e9 / width)].append(ms)
    keys = sorted(buckets)
    for k in keys:
        buckets[k].sort()
    xs = [round((k + 0.5) * width, 6) for k in keys]
    data = [{"type": "scatter", "mode": "lines+markers", "name": f"p{round(q * 100)}", "x": xs,
             "y": [round(quantile(buckets[k], q), 3) for k in keys], "marker": {"size": 4}}
             for q in QUANTILES]
    data.append({"type": "scatter", "mode": "lines", "name": "max", "x": xs,
                 "y": [round(buckets[k][-1], 3) for k in keys], "line": {"dash": "dot"}})
    return {"data": data,
            "layout": _layout(f"Latency quantiles of ok ops ({width:g} s buckets)", "latency (ms)",
                              bands, yaxis={"title": {"text": "latency (ms)"}, "type": "log"})}


def bank_series(result: Result) -> Mapping[str, Any] | None:
    """The bank checker's plot-ready ``series`` (totals read over time, bad reads) if it judged this run."""
    for _, leaf in result.leaves():
        series = leaf.details.get("series") if leaf.checker == "bank" else None
        if isinstance(series, Mapping):
            return series
    return None


def bank_figure(result: Result, bands: Sequence[Band]) -> dict[str, Any] | None:
    """Bank totals read over time with the wrong reads marked (None when the run has no bank series)."""
    series = bank_series(result)
    totals = series.get("total") if series is not None else None
    if not isinstance(totals, list) or not totals or series is None:
        return None
    good = [t for t in totals if isinstance(t, list) and len(t) == 2 and isinstance(t[1], (int, float))]
    bad = series.get("errors") or []
    data = [{"type": "scatter", "mode": "markers", "name": "total read", "x": [t / 1e9 for t, _ in good],
             "y": [v for _, v in good], "marker": {"size": 5, "color": "#1e88e5"}}]
    bad_pts = [b for b in bad if isinstance(b, list) and len(b) == 2 and isinstance(b[1], (int, float))]
    if bad_pts:
        data.append({"type": "scatter", "mode": "markers", "name": "wrong total",
                     "x": [t / 1e9 for t, _ in bad_pts],
                     "y": [v for _, v in bad_pts], "marker": {"size": 8, "color": "#e53935", "symbol": "x"}})
    return {"data": data, "layout": _layout("Bank totals over time", "total", bands)}


def figures(ps: Sequence[Pair], ops: Sequence[Op], bands: Sequence[Band],
            result: Result) -> list[dict[str, Any]]:
    """Every figure of the report: ``[{"id", "figure"}]`` in display order."""
    duration = max((op.time for op in ops), default=0) / 1e9
    out = [{"id": "plot-latency", "figure": latency_figure(ps, bands)},
           {"id": "plot-throughput", "figure": throughput_figure(ps, bands, max(duration, 1e-3))},
           {"id": "plot-quantiles", "figure": quantile_figure(ps, bands, max(duration, 1e-3))}]
    bank = bank_figure(result, bands)
    if bank is not None:
        out.append({"id": "plot-bank", "figure": bank})
    return out
