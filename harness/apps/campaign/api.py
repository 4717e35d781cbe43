"""The campaign entry points the CLI, the pytest plugin and users' scripts call."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.apps.campaign import summary
from harness.apps.campaign.executor import Observer, Outcome, load_directory, run_campaign
from harness.apps.campaign.loader import load_campaign
from harness.apps.campaign.model import Campaign, CampaignError, CellRecord
from harness.run.store import STAMP_FORMAT


@dataclass(frozen=True, slots=True)
class CampaignResult:
    """A campaign's directory, exit code (Jepsen test-all), report and summary document."""

    directory: Path
    exit_code: int
    report: Path
    doc: dict[str, Any]
    outcome: Outcome | None = None

    @property
    def ok(self) -> bool:
        """True when every group showed what it should and nothing crashed or is missing."""
        return self.exit_code == summary.EXIT_OK

    @property
    def records(self) -> dict[str, CellRecord]:
        """Every cell record, by cell id (empty for a result rebuilt from a directory)."""
        return dict(self.outcome.records) if self.outcome is not None else {}

    def failures(self) -> list[str]:
        """One line per group that did not show what it should (missed bug, broken control, ...)."""
        return [
            f"{g['variant']} under {g['fault']} on {g['backend']}: {g['verdict']} "
            f"(invalid in {g['caught']} of {g['seeds']} seeds)"
            for g in self.doc["groups"]
            if g["verdict"] not in ("caught", "safe", "observed")
        ]


def campaigns_root(store: Path, name: str) -> Path:
    """``store/campaigns/<name>``: where the runs of one campaign file go, one directory per start."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip(".") or "campaign"
    return store / "campaigns" / safe


def latest_directory(store: Path, name: str) -> Path | None:
    """The newest campaign directory of ``name`` in ``store`` (what ``--resume`` continues)."""
    root = campaigns_root(store, name)
    dirs = sorted(p for p in root.glob("*") if (p / "campaign.json").is_file()) if root.is_dir() else []
    return dirs[-1] if dirs else None


def new_directory(store: Path, name: str) -> Path:
    """A fresh ``store/campaigns/<name>/<stamp>`` path (not created)."""
    root = campaigns_root(store, name)
    stamp = datetime.now(UTC).strftime(STAMP_FORMAT)
    candidate, n = root / stamp, 1
    while candidate.exists():
        n += 1
        candidate = root / f"{stamp}-{n}"
    return candidate


def write_report(
    campaign: Campaign, records: dict[str, CellRecord], directory: Path, *, incomplete: bool = False
) -> tuple[Path, dict[str, Any]]:
    """Summarise and render the comparison report into ``directory`` (``incomplete``: cells left to run)."""
    from reports.campaign_report import write_campaign_report

    doc = summary.report_doc(campaign, records)
    if incomplete and doc["exit_code"] == summary.EXIT_OK:
        doc["exit_code"] = summary.EXIT_UNKNOWN
    return write_campaign_report(directory, doc), doc


def run(
    source: Path | Campaign,
    *,
    store: Path = Path("store"),
    directory: Path | None = None,
    resume: bool = False,
    max_cells: int | None = None,
    observer: Observer | None = None,
    retry_crashed: bool = False,
    cluster: str | None = None,
) -> CampaignResult:
    """Run a campaign file (or a built ``Campaign``) and write its report; see ``executor`` for the layout.

    ``resume`` continues ``directory`` (default: the newest directory of this campaign in the store),
    keeping finished cells (``retry_crashed``: all but crashed ones). ``max_cells`` stops after starting
    that many cells (the rest stay pending). ``cluster`` (or the file's ``[campaign] cluster``) runs the
    cells on Dask (``tcp://HOST:PORT`` or ``local:N``; see ``dask_exec``) instead of local processes.
    """
    campaign = source if isinstance(source, Campaign) else load_campaign(Path(source))
    if directory is None:
        directory = latest_directory(store, campaign.name) if resume else None
        if directory is None:
            if resume:
                raise CampaignError(
                    f"nothing to resume: no earlier run of campaign {campaign.name!r} in {store}"
                )
            directory = new_directory(store, campaign.name)
    elif resume and not (directory / "campaign.json").is_file():
        raise CampaignError(f"nothing to resume in {directory}")
    cluster = cluster or campaign.cluster
    if cluster:
        from harness.apps.campaign.dask_exec import run_campaign_on_cluster

        outcome = run_campaign_on_cluster(
            campaign,
            directory,
            cluster=cluster,
            resume=resume,
            max_cells=max_cells,
            observer=observer,
            retry_crashed=retry_crashed,
        )
    else:
        outcome = run_campaign(
            campaign,
            directory,
            resume=resume,
            max_cells=max_cells,
            observer=observer,
            retry_crashed=retry_crashed,
        )
    report, doc = write_report(
        campaign, outcome.records, directory, incomplete=bool(outcome.pending or outcome.interrupted)
    )
    _refresh_index(store, directory)
    return CampaignResult(directory, int(doc["exit_code"]), report, doc, outcome)


def report(directory: Path) -> CampaignResult:
    """Rebuild the comparison report of an existing campaign directory."""
    campaign, records = load_directory(directory)
    unfinished = any(c.id not in records or not records[c.id].status.final for c in campaign.cells)
    path, doc = write_report(campaign, records, directory, incomplete=unfinished)
    return CampaignResult(directory, int(doc["exit_code"]), path, doc)


def _refresh_index(store: Path, directory: Path) -> None:
    """Regenerate the store index if the campaign lives in that store (best effort)."""
    try:
        directory.resolve().relative_to(store.resolve())
    except ValueError:
        return
    from harness.run.store import write_index

    with contextlib.suppress(Exception):  # the index is a convenience; the campaign's own report is written
        write_index(store)
