"""Static assets of the reports: the hand-written scripts, and plotly.js written once per store.

Reports must work offline from ``file://`` with no CDN. The small scripts (the timeline renderer,
the page helpers) are inlined into every report. plotly.js is ~4.7 MB, so a report inside a store
refers to one copy in ``store/_assets/`` by a relative path (which works both from ``file://`` and
through ``splitbrain serve``); a report written anywhere else inlines it, so it still stands alone.
The copy comes from the ``plotly`` Python package's bundled file; without that package the plots
section says so and the rest of the report is unaffected.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

from reports.embed import inline_js

STATIC = Path(__file__).resolve().parent / "static"
ASSETS_DIR = "_assets"
PLOTLY_FILE = "plotly.min.js"
_STAMP = re.compile(r"^\d{8}T\d{6}(-\d+)?$")


@functools.cache
def static_js(name: str) -> str:
    """A script from ``reports/static``, ready to inline."""
    return inline_js((STATIC / name).read_text(encoding="utf-8"))


def plotly_source() -> Path | None:
    """The bundled ``plotly.min.js`` of the installed plotly package (None when plotly is missing)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / PLOTLY_FILE
    return path if path.is_file() else None


def store_of(run_dir: Path) -> Path | None:
    """The store a run dir belongs to (``store/<test>/<stamp>``), or None when it is not laid out so."""
    return run_dir.parent.parent if _STAMP.match(run_dir.name) else None


def ensure_store_assets(store: Path) -> Path | None:
    """Write ``store/_assets/plotly.min.js`` unless an identical copy is there; its path (None: no plotly)."""
    src = plotly_source()
    if src is None:
        return None
    dest = store / ASSETS_DIR / PLOTLY_FILE
    if dest.is_file() and dest.stat().st_size == src.stat().st_size:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{PLOTLY_FILE}.{os.getpid()}")
    tmp.write_bytes(src.read_bytes())
    os.replace(tmp, dest)
    return dest


def shared_copy_above(store: Path, levels: int = 6) -> Path | None:
    """A current ``_assets/plotly.min.js`` in ``store`` or a directory above it (a campaign keeps its runs
    in a store inside the main store; one copy serves both)."""
    src = plotly_source()
    if src is None:
        return None
    for d in [store, *list(store.parents)[:levels]]:
        cand = d / ASSETS_DIR / PLOTLY_FILE
        if cand.is_file() and cand.stat().st_size == src.stat().st_size:
            return cand
    return None


@dataclass(frozen=True, slots=True)
class PlotlyRef:
    """How a report loads plotly.js: a relative ``src``, an inline source, or not at all."""

    src: str = ""
    inline: str = ""

    @property
    def available(self) -> bool:
        """Whether the report can draw plots."""
        return bool(self.src or self.inline)


def plotly_for(run_dir: Path | None, mode: str = "auto") -> PlotlyRef:
    """plotly.js for a report in ``run_dir``: ``auto`` (store copy if in a store, else inline), ``store``,
    ``inline`` or ``none``."""
    if mode == "none" or plotly_source() is None:
        return PlotlyRef()
    store = store_of(run_dir) if run_dir is not None else None
    if mode in ("auto", "store") and store is not None and run_dir is not None:
        asset = shared_copy_above(store) or ensure_store_assets(store)
        if asset is not None:
            return PlotlyRef(src=Path(os.path.relpath(asset, run_dir)).as_posix())
    if mode == "store":
        return PlotlyRef()
    return PlotlyRef(inline=_plotly_inline())


@functools.cache
def _plotly_inline() -> str:
    src = plotly_source()
    return inline_js(src.read_text(encoding="utf-8")) if src is not None else ""
