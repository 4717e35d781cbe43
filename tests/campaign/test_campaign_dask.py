"""Campaigns on Dask: a local:2 cluster gives the local executor's results, stored the same way; cells that
no worker can run are refused before anything starts; cluster addresses and resources are checked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from harness.apps.campaign import api, dask_exec
from harness.apps.campaign.loader import build_campaign
from harness.apps.campaign.model import CampaignError, Status
from harness.apps.cli import run_cli
from reports.campaign_report import campaign_links

SMALL = {
    "campaign": {"name": "small"},
    "defaults": {"time_limit": 3, "quiesce": 0.5, "nemesis_interval": 1.0, "rate": 30},
    "matrix": [
        {"systems": ["replication", "replication:async"], "faults": ["partition"], "seeds": 2},
        {"systems": ["replication:async"], "faults": ["none"], "seeds": [7]},
    ],
}


def _comparable(directory: Path) -> dict[str, object]:
    """What the comparison report says, without timings or paths: verdicts and counts per group."""
    doc = json.loads((directory / "summary.json").read_text())
    groups = [
        {k: g[k] for k in ("variant", "fault", "backend", "verdict", "caught", "seeds")}
        | {"statuses": sorted((c["id"], c["status"]) for c in g["cells"])}
        for g in doc["groups"]
    ]
    return {"exit_code": doc["exit_code"], "totals": doc["totals"], "groups": groups}


def test_local2_cluster_gives_the_local_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dask_exec, "detect_resources", lambda: {"cores": 1})
    camp = build_campaign(SMALL)
    local = api.run(camp, store=tmp_path / "local")
    details: list[str] = []

    class Watch:
        def __call__(self, kind: str, cell: object, rec: object) -> None:
            pass

        def set_detail(self, text: str, worker: str | None = None) -> None:
            details.append(text)

    dask = api.run(camp, store=tmp_path / "dask", cluster="local:2", observer=Watch())
    assert _comparable(dask.directory) == _comparable(local.directory)
    assert {cid: r.status for cid, r in dask.records.items()} == {
        cid: r.status for cid, r in local.records.items()
    }
    assert Status.INVALID in {r.status for r in dask.records.values()}  # the planted bug shows
    for rec in dask.records.values():  # each cell's run came home, under the campaign directory
        run = dask.directory / str(rec.run_dir)
        assert (run / "history.jsonl").is_file() and (run / "report.html").is_file()
        assert str(run.resolve()) in (run / "spec.json").read_text() or "--spec" not in (
            run / "spec.json"
        ).read_text()
        assert (dask.directory / "cells" / f"{rec.cell_id}.log").is_file()
    assert len(list((dask.directory / "runs").glob("*/*/spec.json"))) == len(camp.cells)
    html = dask.report.read_text()
    assert all(f'href="{r.run_dir}/report.html"' in html for r in dask.records.values())
    links = campaign_links(tmp_path / "dask")
    assert links and (tmp_path / "dask" / links[0]["path"]).is_file()
    assert details and details[-1].startswith("queued 0 | ") and "done" in details[-1]
    assert sum(int(w.split(" done ")[1].split()[0]) for w in details[-1].split(" | ")[1:]) == len(camp.cells)
    again = api.run(camp, store=tmp_path / "dask", cluster="local:2", resume=True)
    assert again.outcome is not None and again.outcome.ran == [] and len(again.outcome.kept) == len(camp.cells)
    assert _comparable(again.directory) == _comparable(local.directory)


def test_cells_no_worker_can_run_fail_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dask_exec, "detect_resources", lambda: {"cores": 1})
    toml = tmp_path / "d.toml"
    toml.write_text(
        '[campaign]\nname = "needs-docker"\ncluster = "local:1"\n[defaults]\ntime_limit = 2\n'
        '[[matrix]]\nsystems = ["replication"]\nfaults = ["none"]\nbackends = ["docker"]\nseeds = 2\n'
        '[[matrix]]\nsystems = ["replication"]\nfaults = ["none"]\nbackends = ["sim"]\nseeds = 1\n'
    )
    store = tmp_path / "store"
    began = time.monotonic()
    assert run_cli(["campaign", "run", str(toml), "--store", str(store), "--quiet"]) == 254
    assert time.monotonic() - began < 120  # refused, not queued until some timeout
    err = capsys.readouterr().err
    assert "no worker of the cluster can run some cells" in err
    assert "2 cell(s) need cores=1, docker=1" in err and "Workers offer: cores=1" in err
    assert not (store / "campaigns").exists()  # nothing was started or stored


def test_cluster_addresses_are_checked() -> None:
    assert dask_exec.parse_cluster("local:3") == dask_exec.ClusterAddress("local", workers=3)
    assert dask_exec.parse_cluster("tcp://127.0.0.1:8786").address == "tcp://127.0.0.1:8786"
    for bad in ("local:0", "local:x", "127.0.0.1:8786", "tcp://127.0.0.1", "tcp://127.0.0.1:99999", "ssh://h:1"):
        with pytest.raises(CampaignError, match=r"tcp://HOST:PORT|at least one worker"):
            dask_exec.parse_cluster(bad)
    with pytest.raises(CampaignError, match="cluster"):
        build_campaign({**SMALL, "campaign": {"cluster": "somewhere"}})
    assert build_campaign({**SMALL, "campaign": {"cluster": "local:2"}}).cluster == "local:2"


def test_cli_rejects_a_bad_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[[matrix]]\nsystems = ["replication"]\n')
    assert run_cli(["campaign", "run", str(toml), "--store", str(tmp_path), "--cluster", "local:zero"]) == 254
    assert "expected tcp://HOST:PORT" in capsys.readouterr().err


def test_cells_ask_for_what_they_use() -> None:
    camp = build_campaign(
        {
            "matrix": [
                {"systems": ["replication"], "backends": ["sim", "local", "docker"]},
                {"systems": ["etcd", "redis"], "backends": ["local"], "workloads": ["register"]},
            ]
        }
    )
    need = {(c.spec.system, c.spec.backend): dask_exec.requirements(c) for c in camp.cells}
    assert need[("replication", "sim")] == {}
    assert need[("replication", "local")] == {"cores": 1}
    assert need[("replication", "docker")] == {"cores": 1, "docker": 1}
    assert need[("etcd", "local")] == {"cores": 1, "etcd": 1}
    assert need[("redis", "local")] == {"cores": 1, "redis": 1}
    workers = {"a": {"resources": {"cores": 2, "etcd": 1}}, "b": {"resources": {}}}
    missing = dask_exec.unplaceable(list(camp.cells), workers)
    assert sorted(missing) == ["cores=1, docker=1", "cores=1, redis=1"]


def test_progress_tally_counts_each_cell_once() -> None:
    t = dask_exec.Tally(3)
    assert t.start("c1", "tcp://127.0.0.1:1") and t.start("c2", "tcp://127.0.0.1:2")
    assert not t.start("c1", "tcp://127.0.0.1:2")  # its first worker died: retried elsewhere
    t.finish("c1", "tcp://127.0.0.1:2", failed=False)
    t.finish("c3", None, failed=True)  # never started: its workers kept dying
    assert t.line() == "queued 0 | ? running 0 done 0 failed 1 | 127.0.0.1:2 running 1 done 1 failed 0"
