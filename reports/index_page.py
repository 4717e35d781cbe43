"""The store index: ``store/index.html``, a table of every run with its verdict and a link to its report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.run_report import _env, verdict_word


def render_index(runs: Sequence[Mapping[str, Any]]) -> str:
    """HTML listing ``runs`` (dicts with test, stamp, path, valid, system, ops), newest first."""
    rows = [{**r, "verdict": verdict_word(r.get("valid")) if r.get("valid") is not None else "no result"}
            for r in runs]
    return _env().get_template("index.html").render(runs=rows)
