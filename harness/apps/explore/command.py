"""``splitbrain explore`` on the command line: options in, one line per run, the shrunk finding out."""

from __future__ import annotations

import json
from pathlib import Path

import click

from harness.apps.explore.search import Verdict, describe_schedule, explore, reason_of
from harness.apps.explore.strategy import (
    DEFAULT_BUDGET,
    DEFAULT_GENERIC_RUNS,
    DEFAULT_SHRINK_TIME,
    DEFAULT_TIME_LIMIT,
    FAULT_KINDS,
    ExploreOptions,
)
from harness.apps.invoked import as_invoked
from harness.backends.sim.backend import SIM_CONFIG_KEY

# ---------------------------------------------------------------------------------------------------
# The command line: ``splitbrain explore``


def _variant_name(system: str, variant: str | None) -> str:
    if not variant:
        return system
    if ":" in variant:
        return variant
    base = system.split(":", 1)[0]
    return base if variant == base else f"{base}:{variant}"


def _fault_kinds(text: str) -> tuple[str, ...]:
    from systems_under_test.registry import UnknownName

    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    if kinds == ("all",):
        return FAULT_KINDS
    bad = [k for k in kinds if k not in FAULT_KINDS]
    if bad or not kinds:
        raise UnknownName(f"unknown fault kind(s) {', '.join(bad) or '(none given)'}", [*FAULT_KINDS, "all"])
    return kinds


@click.command("explore")
@click.option("--system", required=True, help="system (or system:variant) to explore")
@click.option("--variant", default=None, help="variant of --system, e.g. 'async' or 'replication:async'")
@click.option("--budget", type=click.IntRange(min=1), default=DEFAULT_BUDGET, show_default=True,
              help="simulated runs to try before giving up (shrinking comes on top)")
@click.option("--time", "time_budget", type=click.FloatRange(min=0), default=None,
              help="wall-clock seconds to search (default: only --budget bounds it)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the search itself")
@click.option("--nodes", type=click.IntRange(min=1), default=None,
              help="cluster size (default: the system's)")
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=DEFAULT_TIME_LIMIT, show_default=True,
              help="virtual seconds of each run's main phase")
@click.option("--faults", default="all", show_default=True,
              help=f"fault kinds to draw from: {','.join(FAULT_KINDS)} (each run uses a random subset)")
@click.option("--shrink-time", type=click.FloatRange(min=0), default=DEFAULT_SHRINK_TIME, show_default=True,
              help="wall-clock seconds allowed for shrinking a failure")
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), default=Path("store"),
              show_default=True)
@click.option("--quiet", is_flag=True, help="no line per run")
@click.option("--generic-runs", type=click.IntRange(min=0), default=DEFAULT_GENERIC_RUNS, show_default=True,
              help="runs of the generic schedule (what run --nemesis gives these kinds) before the search")
@click.option("--coverage", is_flag=True,
              help="coverage guidance: keep and mutate runs that reached new sequences of protocol events")
def explore_command(system: str, variant: str | None, budget: int, time_budget: float | None, seed: int,
                    nodes: int | None, time_limit: float, faults: str, shrink_time: float, store: Path,
                    quiet: bool, coverage: bool, generic_runs: int) -> int:
    """Search fault schedules in the simulator; shrink a violation and store a replayable run of it."""
    from harness.run.session import run_test
    from systems_under_test.registry import resolve

    name = _variant_name(system, variant)
    resolve(name)
    from nemesis.membership import refusal

    kinds = tuple(k for k in _fault_kinds(faults) if k != "member" or refusal(name) is None)
    opts = ExploreOptions(name, budget=budget, time_budget=time_budget, shrink_time=shrink_time, seed=seed,
                          nodes=nodes, time_limit=time_limit, kinds=kinds, coverage=coverage,
                          generic_runs=generic_runs)
    click.echo(f"splitbrain explore: {name}, budget {budget} runs"
               f"{f' or {time_budget:g}s' if time_budget is not None else ''}, "
               f"faults {','.join(opts.kinds)}, "
               f"{time_limit:g} virtual s per run", err=True)
    report = explore(opts, progress=None if quiet else (lambda line: click.echo("  " + line, err=True)))
    v = report.verdicts
    click.echo(f"{report.runs} runs in {report.wall_seconds:.1f}s (+{report.shrink_runs} while shrinking): "
               f"{v['true']} valid, {v['false']} invalid, {v['unknown']} unknown, {v['crashed']} crashed")
    f = report.finding
    if f is None:
        click.echo(f"no violation found ({report.coverage} event sequences reached)")
        if v["unknown"]:
            click.echo("some runs could not be judged: their lines above say why", err=True)
        return 2 if v["unknown"] else 0
    click.echo(f"VIOLATION ({f.reason}): {reason_of(Verdict(f.result, f.error, f.history_sha256, ()))}")
    click.echo(f"first violation after {f.runs_to_first} runs, {f.seconds_to_first:.1f}s; "
               f"{report.coverage} event sequences reached")
    lines = describe_schedule(f.spec)
    click.echo(f"shrunk schedule: {len(lines)} fault ops (from {f.faults_before_shrinking})")
    for line in lines or ["(no faults needed)"]:
        click.echo(f"  {line}")
    click.echo(f"seed {f.spec.seed}, {f.spec.nodes} nodes, {f.spec.concurrency} clients, "
               f"rate {f.spec.rate:g}/s, "
               f"network {json.dumps(f.spec.config.get(SIM_CONFIG_KEY, {}))}")
    click.echo(f"replays identically: {'yes' if f.replayed else 'NO'}")
    test_name = f.spec.test_name or f"explore-{name.replace(':', '-')}"
    res = run_test(f.spec.with_(test_name=test_name), store=store)
    click.echo(f"stored run: {res.result.summary()}")
    click.echo(f"report: {res.report_path}")
    click.echo(f"replay: {as_invoked(res.replay_command)}")
    return 1

