"""The run store: one directory per run, a ``latest`` link, and an index page (DESIGN §6).

Layout::

    store/<test-name>/<YYYYmmddTHHMMSS>/   spec.json history.jsonl results.json report.html nodes/<id>.log
    store/latest -> <test-name>/<stamp>
    store/index.html

Run directories are named by wall-clock start time (UTC) so they sort chronologically; two runs in the
same second get a ``-2``, ``-3`` suffix rather than sharing a directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STAMP_FORMAT = "%Y%m%dT%H%M%S"


def new_run_dir(store: Path, test_name: str, when: datetime | None = None) -> Path:
    """Create and return a fresh ``store/<test-name>/<stamp>`` directory."""
    when = when or datetime.now(UTC)
    base = store / _safe(test_name)
    base.mkdir(parents=True, exist_ok=True)
    stamp = when.strftime(STAMP_FORMAT)
    for n in range(1, 1000):
        candidate = base / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise RuntimeError(f"too many runs named {stamp} in {base}")


def _safe(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip(".")
    return cleaned or "test"


def update_latest(store: Path, run_dir: Path) -> None:
    """Point ``store/latest`` at ``run_dir`` (relative link, replaced atomically)."""
    link = store / "latest"
    tmp = store / f".latest.{os.getpid()}.{threading.get_ident()}"  # one per writer: runs may share a store
    target = os.path.relpath(run_dir, store)
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    tmp.symlink_to(target)
    os.replace(tmp, link)


def write_json(path: Path, doc: Any) -> None:
    """Write ``doc`` as indented JSON (via a temp file, so readers never see half a file)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One row of the store index."""

    test: str
    stamp: str
    path: str  # relative to the store
    valid: Any  # True / False / "unknown" / None (no results: crashed or still running)
    system: str
    ops: int | None


def list_runs(store: Path) -> list[RunSummary]:
    """Every run directory in the store (those with a spec.json), newest first."""
    rows: list[RunSummary] = []
    if not store.is_dir():
        return rows
    for spec_path in store.glob("*/*/spec.json"):
        run_dir = spec_path.parent
        if run_dir.parent.name == "campaigns" or run_dir.parent.name.startswith("_"):
            continue  # campaign dirs and shared assets are not single runs
        try:
            spec = json.loads(spec_path.read_text(encoding="utf-8")).get("spec", {})
        except (OSError, ValueError):
            spec = {}
        valid, ops = None, None
        results = run_dir / "results.json"
        if results.is_file():
            try:
                doc = json.loads(results.read_text(encoding="utf-8"))
                valid, ops = doc.get("valid"), doc.get("ops")
            except (OSError, ValueError):
                pass
        rows.append(RunSummary(run_dir.parent.name, run_dir.name, str(run_dir.relative_to(store)), valid,
                               str(spec.get("system", "?")), ops))
    rows.sort(key=lambda r: (r.stamp, r.test), reverse=True)
    return rows


@contextlib.contextmanager
def index_lock(store: Path) -> Iterator[None]:
    """Hold ``store/.index.lock`` (an exclusive ``flock``): runs sharing a store write the index in turn.

    Each writer lists the run dirs it sees when it holds the lock, so the last writer's index includes
    every run finished before it; the page itself is replaced atomically (temp file + rename).
    """
    store.mkdir(parents=True, exist_ok=True)
    fd = os.open(store / ".index.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_index(store: Path) -> Path:
    """Regenerate ``store/index.html`` listing every run with its verdict (the reports package's page)."""
    with index_lock(store):
        return _write_index(store)


def _write_index(store: Path) -> Path:
    from reports import index_page

    writer = getattr(index_page, "write_store_index", None)
    if writer is not None:
        path: Path = writer(store)
        return path
    path = store / "index.html"
    tmp = store / f".index.html.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_text(index_page.render_index([_row(r) for r in list_runs(store)]), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _row(r: RunSummary) -> dict[str, Any]:
    return {f: getattr(r, f) for f in RunSummary.__slots__}


def git_commit(repo: Path) -> dict[str, Any]:
    """The repository's HEAD commit and whether the tree has local changes (None when not a git checkout)."""
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": head, "dirty": dirty}
