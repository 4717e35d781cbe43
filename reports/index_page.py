"""The store index: ``store/index.html``, a filterable table of every run with its verdict and report link.

``render_index`` draws rows it is given (at least test, stamp, path, valid, system, ops); ``index_rows``
reads the fuller rows straight from a store's run dirs (start time, backend, nemesis, workload, seed,
duration) and ``write_store_index`` writes the page from them. The filter is a few lines of script over
the table's text, so the page still works from ``file://`` and without a server.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checkers.result import verdict_word
from reports.assets import static_js
from reports.campaign_report import campaign_links
from reports.run_report import _env

COLUMNS = ("started", "test", "system", "workload", "backend", "nemesis", "ops", "duration", "verdict")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _started(doc: Mapping[str, Any], stamp: str) -> str:
    t = doc.get("started")
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")
    try:
        return datetime.strptime(stamp[:15], "%Y%m%dT%H%M%S").strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp


def _duration(spec: Mapping[str, Any], results: Mapping[str, Any]) -> str:
    """Wall time of the run; for a simulated run the virtual time it covered first (its wall time is a
    fraction of a second and would read as "0.0 s")."""
    wall, virtual = results.get("duration"), results.get("history_duration")
    if not isinstance(wall, (int, float)) or isinstance(wall, bool):
        return ""
    if spec.get("backend") == "sim" and isinstance(virtual, (int, float)) and not isinstance(virtual, bool):
        return f"{virtual:.1f} s virtual, {wall:.2f} s wall"
    return f"{wall:.1f} s"


def index_rows(store: Path) -> list[dict[str, Any]]:
    """One row per run dir in ``store`` (a dir with a spec.json two levels down), newest first."""
    rows: list[dict[str, Any]] = []
    for spec_path in store.glob("*/*/spec.json") if store.is_dir() else []:
        run_dir = spec_path.parent
        if run_dir.parent.name == "campaigns" or run_dir.parent.name.startswith("_"):
            continue  # campaign dirs and shared assets are listed (or not) on their own
        doc = _read_json(spec_path)
        spec: dict[str, Any] = doc["spec"] if isinstance(doc.get("spec"), dict) else {}
        results = _read_json(run_dir / "results.json") if (run_dir / "results.json").is_file() else None
        nemesis = spec.get("nemesis")
        rows.append({
            "test": run_dir.parent.name,
            "stamp": run_dir.name,
            "path": run_dir.relative_to(store).as_posix(),
            "started": _started(doc, run_dir.name),
            "system": str(spec.get("system", "?")),
            "workload": str(spec.get("workload") or ""),
            "backend": str(spec.get("backend") or ""),
            "nemesis": ",".join(map(str, nemesis)) if isinstance(nemesis, list) else str(nemesis or ""),
            "seed": spec.get("seed"),
            "valid": results.get("valid") if results else None,
            "ops": results.get("ops") if results else None,
            "duration": _duration(spec, results or {}),
            "has_report": (run_dir / "report.html").is_file(),
        })
    rows.sort(key=lambda r: (r["started"], r["stamp"], r["test"]), reverse=True)
    return rows


def render_index(runs: Sequence[Mapping[str, Any]], campaigns: Sequence[Mapping[str, Any]] = ()) -> str:
    """HTML listing ``runs`` (dicts with test, stamp, path, valid, system, ops; optionally the rest of
    ``COLUMNS``) in the order given, then ``campaigns`` (``reports.campaign_report.campaign_links``)."""
    rows = [{**r, "verdict": verdict_word(r.get("valid")) if r.get("valid") is not None else "no result"}
            for r in runs]
    verdicts = sorted({r["verdict"] for r in rows})
    return _env().get_template("index.html").render(runs=rows, verdicts=verdicts, campaigns=list(campaigns),
                                                    report_js=static_js("report.js"))


def write_store_index(store: Path) -> Path:
    """Regenerate ``store/index.html`` from the run dirs (written via a temp file: readers never see half)."""
    path = store / "index.html"
    tmp = store / f".index.html.{os.getpid()}.{threading.get_ident()}.tmp"  # one per writer: no shared temp
    tmp.write_text(render_index(index_rows(store), campaign_links(store)), encoding="utf-8")
    tmp.replace(path)
    return path
