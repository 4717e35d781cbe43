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
        # seeds whose partition schedule exposes replication:async in these 3 s runs
        {"systems": ["replication", "replication:async"], "faults": ["partition"], "seeds": [5, 6]},
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
    # the same store layout as a local run: run dirs, latest, index.html and the shared report assets
    assert {p.name for p in (dask.directory / "runs").iterdir()} == {
        p.name for p in (local.directory / "runs").iterdir()
    }
    shared = dask.directory / "runs" / "_assets"
    assert {p.relative_to(dask.directory).as_posix() for p in shared.rglob("*")} == {
        p.relative_to(local.directory).as_posix() for p in (local.directory / "runs" / "_assets").rglob("*")
    }
    html = dask.report.read_text()
    assert all(f'href="{r.run_dir}/report.html"' in html for r in dask.records.values())
    links = campaign_links(tmp_path / "dask")
    assert links and (tmp_path / "dask" / links[0]["path"]).is_file()
    assert details and details[-1].startswith("queued 0 | ") and "done" in details[-1]
    assert sum(int(w.split(" done ")[1].split()[0]) for w in details[-1].split(" | ")[1:]) == len(camp.cells)
    again = api.run(camp, store=tmp_path / "dask", cluster="local:2", resume=True)
    assert (
        again.outcome is not None and again.outcome.ran == [] and len(again.outcome.kept) == len(camp.cells)
    )
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


def test_a_cluster_running_other_code_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dask_exec, "detect_resources", lambda: {"cores": 1})
    real = dask_exec.client_identity()
    monkeypatch.setattr(dask_exec, "client_identity", lambda: {**real, "version": "0.0.0-other"})
    toml = tmp_path / "c.toml"
    toml.write_text('[[matrix]]\nsystems = ["replication"]\n')
    store = tmp_path / "store"
    assert (
        run_cli(["campaign", "run", str(toml), "--store", str(store), "--cluster", "local:1", "--quiet"])
        == 254
    )
    err = capsys.readouterr().err
    assert "refusing the cluster: this client runs splitbrain 0.0.0-other" in err
    assert f"runs {real['version']}" in err and "Install the same version on every worker" in err
    assert not (store / "campaigns").exists()


def test_cluster_addresses_are_checked() -> None:
    assert dask_exec.parse_cluster("local:3") == dask_exec.ClusterAddress("local", workers=3)
    assert dask_exec.parse_cluster("tcp://127.0.0.1:8786").address == "tcp://127.0.0.1:8786"
    for bad in ("local:0", "local:x", "127.0.0.1:8786", "tcp://127.0.0.1", "tcp://127.0.0.1:99999",
                "ssh://h:1"):
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


def test_cells_left_without_a_worker_are_given_up_after_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    camp = build_campaign({"matrix": [{"systems": ["replication"], "backends": ["sim", "docker"]}]})
    sim, docker = camp.cells
    since: dict[str, float] = {}
    only_cores = {"a": {"resources": {"cores": 1}}}
    assert dask_exec._stranded([sim, docker], only_cores, since) == {}  # within the grace: keep waiting
    assert list(since) == [docker.id]
    monkeypatch.setattr(dask_exec, "STRANDED_GRACE", 0.0)
    assert dask_exec._stranded([sim, docker], only_cores, since) == {"cores=1, docker=1": [docker.id]}
    assert dask_exec._stranded([sim], {}, {}) == {"a worker": [sim.id]}  # no worker at all: nothing can run
    assert dask_exec._stranded([docker], {"b": {"resources": {"cores": 2, "docker": 1}}}, since) == {}


def test_progress_tally_counts_each_cell_once() -> None:
    t = dask_exec.Tally(3)
    assert t.start("c1", "tcp://127.0.0.1:1") and t.start("c2", "tcp://127.0.0.1:2")
    assert not t.start("c1", "tcp://127.0.0.1:2")  # its first worker died: retried elsewhere
    t.finish("c1", "tcp://127.0.0.1:2", failed=False)
    t.finish("c3", None, failed=True)  # never started: its workers kept dying
    assert t.line() == "queued 0 | ? running 0 done 0 failed 1 | 127.0.0.1:2 running 1 done 1 failed 0"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: object, timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s ({proc})")


def _toml(doc: dict[str, object]) -> str:
    """The campaign document as a campaign file (the subset of TOML these tests need)."""
    lines = []
    for table in ("campaign", "defaults"):
        lines.append(f"[{table}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in doc[table].items()]  # type: ignore[attr-defined]
    for block in doc["matrix"]:  # type: ignore[attr-defined]
        lines.append("[[matrix]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in block.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_real_scheduler_and_workers_survive_a_killed_worker(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    dask_cli = str(Path(sys.executable).parent / "dask")
    port, w1_port, w2_port = _free_port(), _free_port(), _free_port()
    address = f"tcp://127.0.0.1:{port}"
    sim_block = {"systems": ["replication", "replication:async"], "faults": ["partition"], "seeds": 3}
    doc = {
        "campaign": {"name": "two-workers"},
        "defaults": {"time_limit": 3, "quiesce": 0.5, "nemesis_interval": 1.0, "rate": 30},
        "matrix": [
            {"systems": ["replication"], "faults": ["none", "partition"], "backends": ["local"], "seeds": 1},
            sim_block,
        ],
    }
    camp = build_campaign(doc)
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("wb") as out:
            procs[name] = subprocess.Popen([dask_cli, *args], stdout=out, stderr=subprocess.STDOUT)
        return procs[name]

    try:
        _wait_port(port, start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"))
        common = ["--nthreads", "1", "--resources", "cores=1", "--host", "127.0.0.1", "--no-dashboard"]
        # w1 is a bare worker process (killed below); w2 runs under a nanny, as `dask worker` does by default
        start("w1", "worker", address, "--name", "w1", "--no-nanny", "--worker-port", str(w1_port),
              "--local-directory", str(tmp_path / "w1"), *common)
        start("w2", "worker", address, "--name", "w2", "--worker-port", str(w2_port),
              "--local-directory", str(tmp_path / "w2"), *common)
        _wait_port(w1_port, procs["w1"])
        _wait_port(w2_port, procs["w2"])
        store = tmp_path / "store"
        toml = tmp_path / "two-workers.toml"
        toml.write_text(_toml(doc))
        client = subprocess.Popen(  # a user's client, interrupted with Ctrl-C after the first cells
            [sys.executable, "-m", "harness.apps.cli", "campaign", "run", str(toml), "--store", str(store),
             "--cluster", address, "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(store.glob("campaigns/two-workers/*/cells/*.json")):
            time.sleep(0.05)
        client.send_signal(signal.SIGINT)
        output, _ = client.communicate(timeout=120)
        assert client.returncode == 2, output
        (directory,) = (store / "campaigns" / "two-workers").iterdir()
        stopped_with = {p.stem for p in (directory / "cells").glob("*.json")}
        assert 1 <= len(stopped_with) < len(camp.cells), output

        killed: list[str] = []

        class KillW1MidCell:
            def __call__(self, kind: str, cell: object, rec: object) -> None:
                pass

            def set_detail(self, text: str, worker: str | None = None) -> None:
                if not killed and f"127.0.0.1:{w1_port} running 1" in text:
                    procs["w1"].kill()
                    procs["w1"].wait()
                    killed.append(text)

        second = api.run(camp, store=store, cluster=address, resume=True, observer=KillW1MidCell())
        assert killed, "worker w1 never ran a cell"
        assert second.directory == directory and second.outcome is not None
        assert set(second.outcome.kept) == stopped_with
        stems = sorted(p.stem for p in (directory / "cells").glob("*.json"))
        assert stems == sorted(c.id for c in camp.cells)
        for cell in camp.cells:  # exactly one run per cell, whatever ran on the killed worker
            assert len(list((directory / "runs" / cell.id).glob("*/spec.json"))) == 1, cell.id
        reference = api.run(build_campaign({**doc, "matrix": [sim_block]}), store=tmp_path / "reference")
        for cell in camp.cells:
            rec = second.records[cell.id]
            if cell.spec.backend == "sim":
                assert rec.status is reference.records[cell.id].status, cell.id
            else:
                assert rec.status is Status.VALID, (cell.id, rec.error)
        assert second.exit_code == reference.exit_code  # the sim cells decide it; the local ones are valid
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_a_ctrl_c_while_a_cell_is_stored_takes_effect_once_it_is_stored() -> None:
    import os
    import signal

    done: list[str] = []
    with pytest.raises(KeyboardInterrupt), dask_exec._sigint_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs at the next bytecode boundary
        done.append("stored")
    assert done == ["stored"]
    with pytest.raises(KeyboardInterrupt), dask_exec._sigint_deferred():  # a second Ctrl-C does not wait
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        done.append("never")
    assert done == ["stored"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
