"""The campaign comparison report (``<campaign dir>/report.html``) and the campaign links for the index.

The harness summarises a campaign into ``summary.json`` (``harness.apps.campaign.summary.report_doc``); this
module only renders that document, so it depends on nothing but the JSON shape — the report can be
rebuilt from a campaign directory alone, and the store index can list campaigns without importing the
harness. Every value is escaped by Jinja's autoescaping.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUMMARY = "summary.json"
REPORT = "report.html"
OUTCOME_WORD = {0: "as expected", 1: "UNEXPECTED", 2: "incomplete", 255: "crashed cells"}


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True))
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * float(v):.0f}%"
    env.filters["num"] = lambda v, d=3: (
        "–" if v is None else (f"{v:.{d}g}" if isinstance(v, float) else str(v))
    )
    return env


def outcome_word(code: Any) -> str:
    """A campaign's exit code in words."""
    return OUTCOME_WORD.get(code, f"exit {code}")


def render_campaign_report(doc: Mapping[str, Any]) -> str:
    """The comparison report HTML for a ``summary.json`` document."""
    from markupsafe import Markup

    from reports.campaign_charts import campaign_charts

    seeds = sorted({c["seed"] for g in doc.get("groups", []) for c in g.get("cells", [])})
    charts = Markup(campaign_charts(doc))  # built from escaped labels and numbers only
    return (
        _env()
        .get_template("campaign.html")
        .render(doc=doc, seeds=seeds, outcome=outcome_word(doc.get("exit_code")), charts=charts)
    )


def write_campaign_report(directory: Path, doc: Mapping[str, Any]) -> Path:
    """Write ``summary.json`` and ``report.html`` into the campaign directory; returns the report path."""
    (directory / SUMMARY).write_text(
        json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    path = directory / REPORT
    tmp = path.with_name(REPORT + ".tmp")
    tmp.write_text(render_campaign_report(doc), encoding="utf-8")
    os.replace(tmp, path)
    return path


def campaign_links(store: Path) -> list[dict[str, Any]]:
    """Every campaign under ``store/campaigns/``, newest first, for the store index to list.

    Each entry: ``name``, ``path`` (the report, relative to the store), ``stamp``, ``outcome`` (words),
    ``exit_code`` and ``totals`` (cell counts by status). Campaigns without a summary yet are skipped.
    """
    out: list[dict[str, Any]] = []
    root = store / "campaigns"
    if not root.is_dir():
        return out
    for summary in root.glob(f"*/*/{SUMMARY}"):
        try:
            doc = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append(
            {
                "name": doc.get("name", summary.parent.parent.name),
                "stamp": summary.parent.name,
                "path": str((summary.parent / REPORT).relative_to(store)),
                "exit_code": doc.get("exit_code"),
                "outcome": outcome_word(doc.get("exit_code")),
                "totals": doc.get("totals", {}),
            }
        )
    out.sort(key=lambda d: (d["stamp"], d["name"]), reverse=True)
    return out
