"""pytest integration: run a splitbrain test or campaign from a test suite and assert on it.

Enable with ``-p harness.apps.pytest_plugin`` (or the ``pytest11`` entry point ``splitbrain``). Then::

    def test_my_store_survives_partitions(splitbrain):
        run = splitbrain.run(system="replication", backend="sim", nemesis=("partition",), seed=7)
        run.assert_valid()  # fails with the run dir, the explanation and the replay command

    def test_the_zoo(splitbrain):
        splitbrain.campaign("campaigns/zoo-ci.toml").assert_ok()

Runs are stored under the test's ``tmp_path`` (or ``--splitbrain-store DIR`` to keep them), and when a
test fails every run dir it produced is attached to its report ("splitbrain runs" section), so the
history, results and HTML report are one click away from the failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from checkers.result import Result

_RUNS_KEY = pytest.StashKey[list[str]]()


@dataclass(frozen=True, slots=True)
class SplitbrainRun:
    """One finished run: verdict, anomalies and where it is stored."""

    result: Result
    run_dir: Path
    exit_code: int
    replay_command: str
    report: Path

    @property
    def valid(self) -> Any:
        """True / False / "unknown"."""
        return self.result.valid

    @property
    def anomalies(self) -> list[Any]:
        """What the checkers found wrong (empty unless invalid): each invalid checker's counterexample (a dict
        with the stuck ``op``) and its evidence groups (``{"type", "checker", "count", "cases"}``)."""
        found: list[Any] = []
        for name, leaf in self.result.leaves():
            if leaf.valid is not False:
                continue
            if leaf.counterexample is not None:
                found.append(leaf.counterexample.to_dict())
            found += [{"type": e.kind, "checker": name, "count": e.count, "cases": list(e.cases)}
                      for e in leaf.evidence]
        return found

    def describe(self) -> str:
        """Verdict and its reason, run dir and replay command: what a failure message needs."""
        return (
            f"splitbrain verdict: {self.result.verdict} (exit {self.exit_code}): {self.result.reason}"
            + f"\n  run dir: {self.run_dir}\n  report: {self.report}\n  replay: {self.replay_command}"
        )

    def assert_valid(self) -> None:
        """Fail the test unless the run was valid."""
        assert self.valid is True, self.describe()

    def assert_invalid(self) -> None:
        """Fail the test unless the checker found the history invalid (e.g. a planted bug was caught)."""
        assert self.valid is False, self.describe()


@dataclass(slots=True)
class Splitbrain:
    """The ``splitbrain`` fixture: runs tests and campaigns into a per-test store."""

    store: Path
    runs: list[str] = field(default_factory=list)

    def run(self, spec: Any = None, **fields: Any) -> SplitbrainRun:
        """Run one test (a ``RunSpec`` and/or its fields; unset fields take RunSpec defaults)."""
        from harness.apps.campaign.backends import ensure_backends
        from harness.run.session import run_test
        from harness.run.spec import RunSpec

        ensure_backends()
        base = spec if spec is not None else RunSpec()
        if "nemesis" in fields and isinstance(fields["nemesis"], str):
            fields["nemesis"] = tuple(p for p in fields["nemesis"].split(",") if p and p != "none")
        res = run_test(base.with_(**fields), store=self.store)
        self.runs.append(str(res.run_dir))
        return SplitbrainRun(res.result, res.run_dir, res.exit_code, res.replay_command, res.report_path)

    def campaign(self, source: Any, **kwargs: Any) -> CampaignOutcome:
        """Run a campaign (a TOML path or a ``Campaign``) into this store; see
        ``harness.apps.campaign.run``."""
        from harness.apps.campaign import run

        res = run(source, store=self.store, **kwargs)
        self.runs.append(str(res.directory))
        return CampaignOutcome(res)


@dataclass(frozen=True, slots=True)
class CampaignOutcome:
    """A campaign's result with assertion helpers."""

    result: Any  # harness.apps.campaign.CampaignResult

    @property
    def exit_code(self) -> int:
        """Jepsen test-all's code: 0 as expected, 1 unexpected verdicts, 2 unknown/not run, 255 crashed."""
        return int(self.result.exit_code)

    @property
    def directory(self) -> Path:
        """The campaign directory."""
        return Path(self.result.directory)

    def assert_ok(self) -> None:
        """Fail unless every variant showed what it should (bugs caught, correct variants valid)."""
        problems = (
            "\n  ".join(self.result.failures()) or "(no failing group; cells unknown, crashed or not run)"
        )
        assert self.exit_code == 0, (
            f"campaign exit code {self.exit_code}\n  {problems}\n"
            f"  campaign dir: {self.directory}\n  report: {self.result.report}"
        )


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--splitbrain-store DIR``: keep runs there instead of in each test's tmp_path."""
    parser.addoption("--splitbrain-store", default=None, help="store splitbrain runs made by tests in DIR")


@pytest.fixture
def splitbrain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Splitbrain]:
    """Run splitbrain tests and campaigns from a test; run dirs are attached to the test's failure."""
    kept = request.config.getoption("--splitbrain-store", default=None)
    helper = Splitbrain(Path(kept) if kept else tmp_path / "splitbrain-store")
    request.node.stash[_RUNS_KEY] = helper.runs
    yield helper


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[Any]:
    """Attach the run dirs a failing test produced to its report."""
    outcome: Any = yield
    report = outcome.get_result()
    runs = item.stash.get(_RUNS_KEY, None)
    if runs and report.failed:
        report.sections.append(("splitbrain runs", "\n".join(runs)))
