"""Plugins through entry points: the example chain-replication plugin, broken plugins, plugin checkers.

The fast tests register entry points the way an installed distribution does — a ``*.dist-info``
directory with ``entry_points.txt`` on ``sys.path`` — so ``importlib.metadata`` finds them exactly as it
finds a pip-installed plugin. The slow test pip-installs the project and the example into a fresh venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.apps.cli import run_cli
from harness.run.plan import build_plan
from harness.run.spec import RunSpec
from systems_under_test import plugins

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "chain-plugin"
CHAIN_ENTRIES = {
    "splitbrain.systems": {"chain": "chain_plugin.system:SYSTEM"},
    "splitbrain.workloads": {"chain-kv": "chain_plugin.workload:ChainKVWorkload"},
}
# read-heavy, so reads upstream of the tail are frequent; a partition holds writes back from the tail
EXPOSING = ["--backend", "sim", "--seed", "1", "--time-limit", "10", "--nemesis", "partition",
            "--workload-options", '{"read_fraction": 0.8}', "--quiet"]


def install_entry_points(where: Path, dist: str, groups: dict[str, dict[str, str]]) -> None:
    """A minimal installed distribution: METADATA plus entry_points.txt in ``where/<dist>.dist-info``."""
    info = where / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n", encoding="utf-8")
    text = "".join(f"[{g}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n" for g,
                   eps in groups.items())
    (info / "entry_points.txt").write_text(text, encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on ``sys.path`` (and the nodes' PYTHONPATH) where a test installs distributions."""
    where = tmp_path / "site"
    where.mkdir()
    monkeypatch.syspath_prepend(str(where))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(EXAMPLE), os.environ.get("PYTHONPATH", "")]))
    plugins.refresh()
    yield where
    plugins.refresh()
    for name in [m for m in sys.modules if m == "chain_plugin" or m.startswith("chain_plugin.")]:
        del sys.modules[name]


@pytest.fixture
def chain(site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example plugin, registered through its entry points."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    install_entry_points(site, "splitbrain-chain", CHAIN_ENTRIES)
    return site


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run_cli(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_example_plugin_shows_up_in_systems(chain: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "systems", "--json")
    assert code == 0
    doc = json.loads(out)
    by_name = {s["name"]: s for s in doc["systems"]}
    assert [v["name"] for v in by_name["chain"]["variants"]] == ["chain", "chain:any-replica-reads"]
    assert [v["planted_bug"] for v in by_name["chain"]["variants"]] == [False, True]
    assert "chain-kv" in {w["name"] for w in doc["workloads"]}
    assert "paxos" in by_name, "our own systems are listed beside the plugin's"
    code, out, _ = _cli(capsys, "systems")
    assert code == 0 and "chain:any-replica-reads" in out and "[planted bug]" in out


def test_the_correct_chain_is_valid_and_the_planted_bug_invalid_on_the_sim(
        chain: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "store")
    code, out, err = _cli(capsys, "run", "--system", "chain", *EXPOSING, "--store", store)
    assert code == 0, out + err
    assert "verdict: VALID" in out
    code, out, err = _cli(capsys, "run", "--system", "chain:any-replica-reads", *EXPOSING, "--store", store)
    assert code == 1, out + err
    assert "verdict: INVALID" in out
    spec = json.loads(next((tmp_path / "store" / "chain-any-replica-reads").glob("*/spec.json")).read_text())
    assert spec["spec"]["workload"] == "chain-kv", "the plugin's own workload is the system's default"


def test_the_plugin_workload_option_is_validated_when_the_plan_is_built(chain: Path) -> None:
    from harness.workloads import OptionError

    plan = build_plan(RunSpec(system="chain", backend="sim", workload_options={"read_fraction": 0.25}))
    assert plan.workload_class.__name__ == "ChainKVWorkload" and plan.workload_spec().read_fraction == 0.25
    with pytest.raises(OptionError, match="read_fraction"):
        build_plan(RunSpec(system="chain", backend="sim", workload_options={"read_fraction": 2}))


def test_a_plugin_core_runs_as_local_processes_too(chain: Path, tmp_path: Path) -> None:
    from harness.run.session import run_test

    # The chain has no reconfiguration: while any node is down, writes (or reads) stall, so the kills are
    # spaced for the cluster to be whole most of the run even on a loaded machine.
    spec = RunSpec(system="chain", nodes=3, concurrency=3, time_limit=4, rate=30, nemesis=("kill",),
                   nemesis_interval=1.5, quiesce=0.5, seed=4)
    res = run_test(spec, store=tmp_path)
    assert res.outcome.error is None, res.outcome.error
    assert res.result.valid is True, res.result.explanation
    assert res.outcome.faults_applied > 0
    assert sum(1 for op in res.outcome.ops if op.type == "ok") > 10


def test_a_campaign_runs_the_plugin_and_reports_it(chain: Path, tmp_path: Path) -> None:
    from harness.apps.campaign import api
    from harness.apps.campaign.loader import build_campaign
    from harness.apps.campaign.model import Status

    camp = build_campaign({
        "campaign": {"name": "chain", "parallel": 2},
        "defaults": {"time_limit": 10, "quiesce": 0.5, "rate": 40,
                     "workload_options": {"read_fraction": 0.8}},
        "matrix": [{"systems": ["chain", "chain:any-replica-reads"], "faults": ["partition"], "seeds": [1]}],
    })
    res = api.run(camp, store=tmp_path)
    status = {cell.variant: res.records[cell.id].status for cell in camp.cells}
    assert status == {"chain": Status.VALID, "chain:any-replica-reads": Status.INVALID}
    html = res.report.read_text()
    assert "chain:any-replica-reads" in html


@pytest.mark.docker
def test_a_plugin_core_runs_in_containers_with_partitions(chain: Path, tmp_path: Path) -> None:
    """The plugin's package is mounted next to ours: its core runs in the node containers."""
    from harness.run.session import run_test

    spec = RunSpec(system="chain", backend="docker", nodes=3, concurrency=3, time_limit=4.0, rate=20,
                   nemesis=("partition",), nemesis_interval=1.0, quiesce=1.0, seed=2)
    res = run_test(spec, store=tmp_path)
    assert res.outcome.error is None, res.outcome.error
    assert res.result.valid is True, res.result.explanation
    assert res.outcome.faults_applied > 0


def test_a_broken_plugin_is_one_clear_error_naming_it(site: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    install_entry_points(site, "broken-plugin",
                         {"splitbrain.systems": {"broken": "no_such_module_xyz:SYSTEM"}})
    code, _, err = _cli(capsys, "systems")
    assert code == 254
    assert (
        "splitbrain.systems plugin 'broken'" in err and "broken-plugin" in err and "no_such_module_xyz" in err
    )
    assert "Traceback" not in err
    code, _, err = _cli(capsys, "run", "--system", "broken", "--store", str(tmp_path))
    assert code == 254 and "failed to load" in err and "Traceback" not in err
    # only the named plugin is loaded: our own systems still plan while a stranger's plugin is broken
    assert build_plan(RunSpec(system="paxos", backend="sim")).system.name == "paxos"


def test_a_plugin_of_the_wrong_type_is_refused_with_what_was_expected(
        site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install_entry_points(site, "odd-plugin", {"splitbrain.workloads": {"odd": "json:dumps"}})
    code, _, err = _cli(capsys, "systems")
    assert code == 254 and "plugin 'odd'" in err and "WorkloadSpec subclass" in err


def test_a_checker_registers_through_its_entry_point(site: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from checkers import registry

    install_entry_points(site, "check-plugin", {"splitbrain.checkers": {
        "op-counts": "checkers.stats:check", "broken-check": "no_such_module_xyz:check"}})
    assert "op-counts" in registry.names()
    history = tmp_path / "h.jsonl"
    history.write_text('{"index": 0, "time": 0, "type": "invoke", "process": 0, "f": "read", "value": null}\n'
                       '{"index": 1, "time": 1, "type": "ok", "process": 0, "f": "read", "value": 1}\n')
    code, out, err = _cli(capsys, "check", "--checker", "op-counts", str(history))
    assert code == 0, out + err
    code, _, err = _cli(capsys, "check", "--checker", "broken-check", str(history))
    assert code == 254 and "broken-check" in err and "Traceback" not in err


@pytest.mark.slow
def test_the_example_plugin_works_from_a_clean_venv(tmp_path: Path) -> None:
    """pip-install the project and the example into a new venv (no system site-packages) and run it."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(REPO),
                    str(EXAMPLE)],
                   check=True, env=env, cwd=tmp_path, timeout=900)
    cli = env_dir / "bin" / "splitbrain"
    listing = subprocess.run([str(cli), "systems"], check=False, capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert "chain:any-replica-reads" in listing.stdout and "chain-kv" in listing.stdout
    verdicts = {}
    for system in ("chain", "chain:any-replica-reads"):
        proc = subprocess.run([str(cli), "run", "--system", system, *EXPOSING, "--store",
                               str(tmp_path / "store")],
                              check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
        verdicts[system] = proc.returncode
    assert verdicts == {"chain": 0, "chain:any-replica-reads": 1}
