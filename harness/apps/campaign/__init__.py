"""Test campaigns: a matrix of runs (variants x faults x workloads x backends x seeds) run in parallel,
resumable, judged against what each variant should show, and compared side by side in one report."""

from harness.apps.campaign.api import CampaignResult, latest_directory, report, run
from harness.apps.campaign.executor import Outcome, load_directory, run_campaign
from harness.apps.campaign.loader import build_campaign, load_campaign
from harness.apps.campaign.model import Budget, Campaign, CampaignError, Cell, CellRecord, Expect, Status

__all__ = [
    "Budget",
    "Campaign",
    "CampaignError",
    "CampaignResult",
    "Cell",
    "CellRecord",
    "Expect",
    "Outcome",
    "Status",
    "build_campaign",
    "latest_directory",
    "load_campaign",
    "load_directory",
    "report",
    "run",
    "run_campaign",
]
