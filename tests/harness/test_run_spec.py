"""Run specs: JSON round trip, validation, and the replay command parsing back to the same spec."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click
import pytest

from harness.apps.cli import _spec_from_options, cli
from harness.run.seeds import child_rng, derive_seed
from harness.run.spec import RunSpec, SpecError, read_spec, write_spec


def test_round_trip_through_spec_json(tmp_path: Path) -> None:
    spec = RunSpec(system="replication:async", nodes=5, seed=99, nemesis=("partition",),
                   workload_options={"keys": 4}, schedule=({"at": 1.0, "f": "kill", "value": ["n1"]},))
    write_spec(tmp_path / "spec.json", spec, commit="abc")
    again, doc = read_spec(tmp_path / "spec.json")
    assert again == spec and doc["commit"] == "abc"
    assert json.loads((tmp_path / "spec.json").read_text())["spec"]["seed"] == 99


def test_validation() -> None:
    with pytest.raises(SpecError, match="rate"):
        RunSpec(rate=0)
    with pytest.raises(SpecError, match="unknown spec field"):
        RunSpec.from_dict({"sytem": "x"})


def test_read_spec_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "spec.json"
    bad.write_text("{\n nope")
    with pytest.raises(SpecError, match=r"spec\.json:2"):
        read_spec(bad)
    with pytest.raises(SpecError, match="no such file"):
        read_spec(tmp_path / "missing.json")


def test_replay_command_parses_back_to_the_same_spec() -> None:
    spec = RunSpec(system="replication:async", nodes=4, concurrency=3, time_limit=7.5, rate=12.0,
                   nemesis=("partition", "pause"), nemesis_interval=2.0, seed=1234, quiesce=0.5,
                   workload="register", test_name="t1")
    argv = shlex.split(spec.replay_command())[2:]
    captured = {}

    @click.pass_context
    def grab(ctx: click.Context, **opts: object) -> None:
        captured["spec"] = _spec_from_options(ctx, opts)

    cmd = cli.commands["run"]
    ctx = cmd.make_context("run", argv)
    ctx.invoke(grab, **ctx.params)
    assert captured["spec"] == spec


def test_derived_seeds_are_stable_and_independent() -> None:
    assert derive_seed(1, "nemesis") == derive_seed(1, "nemesis")
    assert derive_seed(1, "nemesis") != derive_seed(1, "workload") != derive_seed(2, "workload")
    assert child_rng(5, "x").random() == child_rng(5, "x").random()


def test_spec_option_reruns_a_stored_spec_with_explicit_overrides(tmp_path: Path) -> None:
    stored = RunSpec(system="replication:async", nodes=5, seed=77, time_limit=3.0, nemesis=("pause",),
                     workload_options={"keys": 2})
    write_spec(tmp_path / "spec.json", stored)
    captured = {}

    @click.pass_context
    def grab(ctx: click.Context, **opts: object) -> None:
        captured["spec"] = _spec_from_options(ctx, opts)

    for argv, expected in (([], stored), (["--seed", "5", "--nodes", "3"], stored.with_(seed=5, nodes=3))):
        ctx = cli.commands["run"].make_context("run", ["--spec", str(tmp_path), *argv])
        ctx.invoke(grab, **ctx.params)
        assert captured["spec"] == expected


def test_non_finite_and_wrongly_typed_fields_are_refused() -> None:
    from harness.run.spec import validate_config

    for bad in ({"time_limit": float("inf")}, {"time_limit": float("nan")},
                {"nemesis_interval": float("nan")},
                {"rate": float("inf")}, {"nodes": "3"}, {"nodes": True}, {"seed": 2**70},
                {"nemesis": ("kill", 3)}, {"schedule": ("kill",)}, {"config": []}):
        with pytest.raises(SpecError):
            RunSpec(**bad)  # type: ignore[arg-type]
    for config in ({"heartbeat": float("nan")}, {"heartbeat": 0}, {"heartbeat": "x"}, {"batch": [1]}):
        with pytest.raises(SpecError):
            validate_config(RunSpec(config=config))
    with pytest.raises(SpecError, match="at most"):
        validate_config(RunSpec(workload_options={"keys": 1e300}))
    validate_config(RunSpec(config={"heartbeat": 0.1}))


def test_config_keys_no_core_reads_are_refused_with_the_keys_it_reads() -> None:
    from harness.run.spec import validate_config

    with pytest.raises(SpecError, match=r"heartbat are not read by replication; it reads: batch, heartbeat"):
        validate_config(RunSpec(config={"heartbat": 0.1}))
    with pytest.raises(SpecError, match="request_timeout"):  # a paxos knob, not a replication one
        validate_config(RunSpec(system="replication", config={"request_timeout": 2.0}))
    validate_config(RunSpec(system="paxos", config={"request_timeout": 2.0}))
    # read by one role only (the coordinator, on one node), and the simulator's own key
    validate_config(RunSpec(system="twopc", config={"vote_timeout": 1.0}))
    validate_config(RunSpec(system="replication", config={"sim": {"peer_link": {"base": 0.001}}}))
