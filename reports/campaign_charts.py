"""Charts for the campaign comparison report: read at a glance how implementations compare.

Three small inline SVG charts (no script, no external asset, so the report stays one self-contained
file) drawn from the ``implementations`` rows of ``summary.json``:

* availability under faults (share of ops ok while a fault was active) against median latency — up
  and to the left is better;
* median time to first violation, for implementations that were caught (shorter = the faults find the
  bug sooner);
* throughput (ok ops per second).

Implementations are the report's rows (variant x backend); every label is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

PALETTE = ("#1565c0", "#2e7d32", "#c62828", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457")
W, H, PAD_L, PAD_B, PAD_T, PAD_R = 500, 260, 56, 40, 16, 16


def _label(row: Mapping[str, Any]) -> str:
    return f"{row.get('variant', '?')} ({row.get('backend', '?')})"


def _short(text: str, width: int = 34) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _frame(title: str, x_label: str, y_label: str, body: str) -> str:
    return (
        f'<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">'
        f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}" stroke="#888"/>'
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}" stroke="#888"/>'
        f'<text x="{(W + PAD_L) / 2}" y="{H - 6}" text-anchor="middle" font-size="11">'
        f"{escape(x_label)}</text>"
        f'<text x="12" y="{(H - PAD_B) / 2}" font-size="11" transform="rotate(-90 12 {(H - PAD_B) / 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>{body}</svg>'
        f"<figcaption>{escape(title)}</figcaption></figure>"
    )


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    step = (hi - lo) / n if hi > lo else 1.0
    return [lo + i * step for i in range(n + 1)]


def scatter_availability_latency(rows: Sequence[Mapping[str, Any]], colors: Mapping[str, str]) -> str:
    """Availability under faults (y, 0..100%) against median latency (x, ms)."""
    pts: list[tuple[Mapping[str, Any], float, float]] = []
    for r in rows:
        px, py = _num(r.get("latency_p50_ms")), _num(r.get("availability_faults"))
        if px is not None and py is not None:
            pts.append((r, px, py))
    if not pts:
        return ""
    x_hi = max(x for _, x, _ in pts) * 1.15 or 1.0

    def sx(x: float) -> float:
        return PAD_L + (W - PAD_L - PAD_R) * x / x_hi

    def sy(y: float) -> float:
        return H - PAD_B - (H - PAD_B - PAD_T) * y

    body = "".join(
        f'<text x="{PAD_L - 4}" y="{sy(t) + 4:.1f}" font-size="10" text-anchor="end">{100 * t:.0f}%</text>'
        for t in _ticks(0, 1)
    )
    body += "".join(
        f'<text x="{sx(t):.1f}" y="{H - PAD_B + 14}" font-size="10" text-anchor="middle">{t:.3g}</text>'
        for t in _ticks(0, x_hi)
    )
    for r, x, y in pts:
        body += (
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="6" fill="{colors[_label(r)]}" fill-opacity="0.8">'
            f"<title>{escape(_label(r))}: {100 * y:.0f}% available, p50 {x:.3g} ms</title></circle>"
        )
    legend = "".join(
        f'<span><i style="display:inline-block;width:.8em;height:.8em;border-radius:50%;'
        f'background:{colors[_label(r)]}"></i> {escape(_label(r))}</span><br>'
        for r, _, _ in pts
    )
    chart = _frame(
        "availability under faults vs. median latency (up and left is better)",
        "median latency (ms)",
        "ok share while faulted",
        body,
    )
    return chart.replace("</figcaption>", f'<br><small class="legend">{legend}</small></figcaption>')


def bars(
    rows: Sequence[Mapping[str, Any]], key: str, title: str, unit: str, colors: Mapping[str, str]
) -> str:
    """Horizontal bars of ``row[key]`` per implementation (rows without a value are left out)."""
    vals: list[tuple[Mapping[str, Any], float]] = []
    for r in rows:
        v = _num(r.get(key))
        if v is not None:
            vals.append((r, v))
    if not vals:
        return ""
    hi = max(v for _, v in vals) or 1.0
    bar_h = max(10.0, min(24.0, (H - PAD_T - PAD_B) / len(vals) - 6))
    left = 210
    body = ""
    for i, (r, v) in enumerate(vals):
        y = PAD_T + i * (bar_h + 6)
        width = (W - left - PAD_R - 50) * v / hi
        body += (
            f'<text x="{left - 6}" y="{y + bar_h * 0.7:.1f}" font-size="10" text-anchor="end">'
            f"{escape(_short(_label(r)))}</text>"
            f'<rect x="{left}" y="{y:.1f}" width="{width:.1f}" height="{bar_h:.1f}" '
            f'fill="{colors[_label(r)]}">'
            f"<title>{escape(_label(r))}: {v:.4g} {escape(unit)}</title></rect>"
            f'<text x="{left + width + 4:.1f}" y="{y + bar_h * 0.7:.1f}" font-size="10">'
            f"{v:.3g} {escape(unit)}</text>"
        )
    height = int(PAD_T + len(vals) * (bar_h + 6) + 10)
    return (
        f'<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" '
        f'viewBox="0 0 {W} {height}" role="img" aria-label="{escape(title)}">{body}</svg>'
        f"<figcaption>{escape(title)}</figcaption></figure>"
    )


def campaign_charts(doc: Mapping[str, Any]) -> str:
    """The charts' HTML (empty when the campaign has no measured implementation)."""
    rows = [r for r in doc.get("implementations", []) if isinstance(r, Mapping)]
    if not rows:
        return ""
    colors = {_label(r): PALETTE[i % len(PALETTE)] for i, r in enumerate(rows)}
    parts = [
        scatter_availability_latency(rows, colors),
        bars(
            rows,
            "first_violation_s_median",
            "median time to first violation (caught implementations)",
            "s",
            colors,
        ),
        bars(rows, "throughput", "throughput (ok ops per second)", "ops/s", colors),
    ]
    body = "".join(p for p in parts if p)
    return f'<h2 id="charts">Charts</h2><div class="charts">{body}</div>' if body else ""
