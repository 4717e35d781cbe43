"""``splitbrain campaign run FILE`` / ``splitbrain campaign report DIR``.

Exit codes (Jepsen's test-all): 0 every variant showed what it should, 1 a correct variant failed or a
planted bug was missed, 2 something is unknown or was not run (budget, cell limit, Ctrl-C), 255 a cell
crashed, 254 a bad campaign file or option.
"""

from __future__ import annotations

from pathlib import Path

import click

from harness.apps.campaign.model import CampaignError


@click.group()
def campaign() -> None:
    """Run a matrix of tests in parallel and compare implementations."""


@campaign.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--store", type=click.Path(file_okay=False, path_type=Path), default=Path("store"), show_default=True
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="campaign directory (default: store/campaigns/<name>/<stamp>)",
)
@click.option(
    "--resume",
    is_flag=True,
    help="continue the newest (or --dir) run of this campaign: finished cells are kept",
)
@click.option("--retry-crashed", is_flag=True, help="with --resume: run crashed cells again as well")
@click.option(
    "--max-cells", type=click.IntRange(min=0), default=None, help="start at most this many cells, then stop"
)
@click.option(
    "--parallel", type=click.IntRange(min=1), default=None, help="override the campaign's parallelism"
)
@click.option(
    "--cluster",
    default=None,
    metavar="ADDRESS",
    help="run the cells on Dask: tcp://HOST:PORT (a dask scheduler) or local:N (N local workers)",
)
@click.option("--quiet", is_flag=True, help="no progress display")
def run_command(
    file: Path,
    store: Path,
    directory: Path | None,
    resume: bool,
    retry_crashed: bool,
    max_cells: int | None,
    parallel: int | None,
    cluster: str | None,
    quiet: bool,
) -> int:
    """Run the campaign FILE (TOML) and write its comparison report."""
    from dataclasses import replace

    from harness.apps.campaign import api
    from harness.apps.campaign.display import LiveDisplay, print_summary
    from harness.apps.campaign.executor import kept_records
    from harness.apps.campaign.loader import load_campaign

    try:
        camp = load_campaign(file)
        if cluster is not None:
            from harness.apps.campaign.dask_exec import parse_cluster

            parse_cluster(cluster)
        if parallel is not None:
            camp = replace(camp, budget=replace(camp.budget, parallel=parallel))
        kept = {}
        if resume:
            target = directory or api.latest_directory(store, camp.name)
            if target is not None:
                kept = kept_records(camp, target, retry_crashed=retry_crashed)
        where = cluster or camp.cluster
        click.echo(
            f"splitbrain: campaign {camp.name}: {len(camp.cells)} cells"
            + (f", {len(kept)} already done" if kept else "")
            + (f", on Dask cluster {where}" if where else ""),
            err=True,
        )
        display = None if quiet else LiveDisplay(camp, kept)
        try:
            res = api.run(
                camp,
                store=store,
                directory=directory,
                resume=resume,
                max_cells=max_cells,
                observer=display,
                retry_crashed=retry_crashed,
                cluster=cluster,
            )
        finally:
            if display is not None:
                display.close()
    except CampaignError as e:
        raise click.ClickException(str(e)) from None
    print_summary(camp, res.records)
    for line in res.failures():
        click.echo(f"  {line}")
    for note in res.outcome.notes if res.outcome is not None else []:
        click.echo(f"note: {note}", err=True)
    if res.outcome is not None and res.outcome.pending:
        click.echo(
            f"{len(res.outcome.pending)} cell(s) not run; continue with: splitbrain campaign run {file} "
            f"--resume --dir {res.directory}"
        )
    click.echo(f"report: {res.report}")
    return res.exit_code


@campaign.command("report")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report_command(directory: Path) -> int:
    """Rebuild the comparison report of the campaign in DIRECTORY and print its summary."""
    from harness.apps.campaign import api
    from harness.apps.campaign.display import print_summary
    from harness.apps.campaign.executor import load_directory

    try:
        res = api.report(directory)
        camp, records = load_directory(directory)
    except CampaignError as e:
        raise click.ClickException(str(e)) from None
    print_summary(camp, records)
    click.echo(f"report: {res.report}")
    return res.exit_code
