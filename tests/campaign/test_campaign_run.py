"""Running campaigns in the simulator: parallel cells, resume, crash isolation, timeouts, CLI and report."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.apps.campaign import api, executor
from harness.apps.campaign.loader import build_campaign
from harness.apps.campaign.model import Campaign, CampaignError, Cell, Status
from harness.apps.cli import run_cli
from reports.campaign_report import campaign_links

TINY = {
    "campaign": {"name": "tiny", "parallel": 2},
    "defaults": {"time_limit": 3, "quiesce": 0.5, "nemesis_interval": 1.0, "rate": 30},
    "matrix": [{"systems": ["replication", "replication:async"], "faults": ["partition"], "seeds": 2}],
}


def _tiny(**campaign: object) -> Campaign:
    return build_campaign({**TINY, "campaign": {**TINY["campaign"], **campaign}})


def test_campaign_runs_every_cell_into_its_own_run_dir(tmp_path: Path) -> None:
    camp = _tiny()
    events: list[tuple[str, str]] = []
    res = api.run(camp, store=tmp_path, observer=lambda kind, cell, rec: events.append((kind, cell.id)))
    assert set(res.records) == {c.id for c in camp.cells}
    assert sorted(e[1] for e in events if e[0] == "done") == sorted(c.id for c in camp.cells)
    run_dirs = {r.run_dir for r in res.records.values()}
    assert len(run_dirs) == len(camp.cells)
    for rec in res.records.values():
        assert rec.status in (Status.VALID, Status.INVALID)
        assert (res.directory / str(rec.run_dir) / "history.jsonl").is_file()
        assert rec.metrics["ops"] > 0
    controls = [r for cid, r in res.records.items() if cid.startswith("replication.")]
    assert all(r.status is Status.VALID for r in controls)  # the correct variant is never invalid
    html = res.report.read_text()
    for rec in res.records.values():
        assert f'href="{rec.run_dir}/report.html"' in html
    links = campaign_links(tmp_path)
    assert links and links[0]["path"].endswith("report.html") and (tmp_path / links[0]["path"]).is_file()


def test_resume_runs_only_the_missing_cells(tmp_path: Path) -> None:
    camp = _tiny(parallel=1)
    first = api.run(camp, store=tmp_path, max_cells=2)
    assert len(first.outcome.ran) == 2 and len(first.outcome.pending) == 2
    assert first.exit_code in (1, 2)  # not finished: never "all as expected"
    stamps = {
        cid: (first.directory / "cells" / f"{cid}.json").stat().st_mtime_ns for cid in first.outcome.ran
    }
    with pytest.raises(CampaignError, match="--resume"):
        api.run(camp, store=tmp_path, directory=first.directory)
    second = api.run(camp, store=tmp_path, resume=True)
    assert second.directory == first.directory
    assert sorted(second.outcome.kept) == sorted(first.outcome.ran)
    assert sorted(second.outcome.ran) == sorted(first.outcome.pending)
    for cid, ns in stamps.items():  # the finished cells' records were not rewritten
        assert (first.directory / "cells" / f"{cid}.json").stat().st_mtime_ns == ns
    assert len(list((first.directory / "runs").glob("*/*/spec.json"))) == len(camp.cells)
    assert set(second.records) == {c.id for c in camp.cells}


def test_a_crashing_or_hanging_cell_does_not_take_the_campaign_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    camp = _tiny()
    camp = replace(camp, budget=replace(camp.budget, cell_timeout=3.0))
    die, hang = camp.cells[0].id, camp.cells[1].id
    real = executor.child_main

    def child(cell: Cell, directory: Path, plan: Any = None) -> None:  # runs in the forked cell process
        if cell.id == die:
            os._exit(7)
        if cell.id == hang:
            time.sleep(60)
        real(cell, directory, plan)

    monkeypatch.setattr(executor, "child_main", child)
    res = api.run(camp, store=tmp_path)
    assert res.records[die].status is Status.CRASHED and "exit code 7" in str(res.records[die].error)
    assert res.records[hang].status is Status.CRASHED and "cell timeout" in str(res.records[hang].error)
    others = [res.records[c.id] for c in camp.cells[2:]]
    assert all(r.status in (Status.VALID, Status.INVALID) for r in others)
    assert res.exit_code == 255
    assert json.loads((res.directory / "summary.json").read_text())["totals"]["crashed"] == 2
    monkeypatch.undo()
    again = api.run(camp, store=tmp_path, resume=True, retry_crashed=True)
    assert sorted(again.outcome.ran) == sorted([die, hang])
    assert again.records[die].status is Status.VALID and again.exit_code in (0, 1)


def test_cli_campaign_run_and_report(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[campaign]\nname = "cli"\nparallel = 2\n[defaults]\ntime_limit = 2\nquiesce = 0.5\n'
        '[[matrix]]\nsystems = ["replication"]\nfaults = ["none"]\nseeds = 2\n'
    )
    store = tmp_path / "store"
    assert run_cli(["campaign", "run", str(toml), "--store", str(store), "--quiet"]) == 0
    (directory,) = (store / "campaigns" / "cli").iterdir()
    (directory / "report.html").unlink()
    assert run_cli(["campaign", "report", str(directory)]) == 0
    assert "campaign cli" in (directory / "report.html").read_text()
    assert run_cli(["campaign", "run", str(toml), "--store", str(store), "--resume", "--quiet"]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[[matrix]]\nsystems = ["nosuch"]\n')
    assert run_cli(["campaign", "run", str(bad), "--store", str(store)]) == 254
    assert run_cli(["campaign", "report", str(tmp_path)]) == 254


def test_ctrl_c_stops_the_campaign_and_resume_finishes_it(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    toml = tmp_path / "c.toml"
    toml.write_text(
        '[campaign]\nname = "int"\nparallel = 1\n[defaults]\ntime_limit = 3\nquiesce = 0.5\n'
        '[[matrix]]\nsystems = ["replication"]\nfaults = ["partition"]\nseeds = 4\n'
    )
    store = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.apps.cli", "campaign", "run", str(toml), "--store", str(store),
         "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(store.glob("campaigns/int/*/cells/*.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out
    (directory,) = (store / "campaigns" / "int").iterdir()
    finished = {
        p.stem
        for p in (directory / "cells").glob("*.json")
        if json.loads(p.read_text())["status"] in ("valid", "invalid")
    }
    assert 1 <= len(finished) < 4
    res = api.run(toml, store=store, resume=True)
    assert set(res.outcome.kept) == finished
    assert not set(res.outcome.ran) & finished and len(res.outcome.ran) == 4 - len(finished)
    assert res.exit_code == 0
