"""Click commands ``image build|ls|rm`` and ``cleanup``, added to the ``splitbrain`` group by
harness.apps.cli.

They live here so the main CLI needs only ``cli.add_command(...)``; the work is in ``commands``.
"""

from __future__ import annotations

from collections.abc import Sequence

import click


@click.group()
def image() -> None:
    """Build, list and remove the docker backend's node image (made from Debian packages, no registry)."""


@image.command("build")
@click.option("--force", is_flag=True, help="rebuild even if an image with this package list exists")
@click.option("--third-party", is_flag=True, help="also install etcd and redis servers")
def image_build(force: bool, third_party: bool) -> int:
    """Build the node image with mmdebstrap; tagged with the hash of its package list and reused by runs."""
    from harness.backends.docker import commands

    return commands.image_build(force=force, third_party=third_party)


@image.command("ls")
def image_ls() -> int:
    """List the node images present (the one current runs use is marked)."""
    from harness.backends.docker import commands

    return commands.image_ls()


@image.command("rm")
@click.argument("refs", nargs=-1)
@click.option("--all", "all_images", is_flag=True, help="remove every splitbrain node image")
def image_rm(refs: Sequence[str], all_images: bool) -> int:
    """Remove node images by tag, recipe hash or id (only splitbrain's own images)."""
    from harness.backends.docker import commands

    return commands.image_rm(refs, all_images=all_images)


@click.command()
@click.option("--all", "everything", is_flag=True,
              help="remove everything of splitbrain's, including runs still in progress (with a warning)")
@click.option("--orphans", is_flag=True, hidden=True, help="the default; kept for old scripts")
def cleanup(everything: bool, orphans: bool) -> int:
    """Remove what runs whose harness is gone left behind: local node processes, containers, networks,
    volumes.

    Runs still in progress (another terminal, a CI job) are left alone unless --all is given.
    Node images are kept (splitbrain image rm removes them).
    """
    from harness.backends.docker import commands

    if everything and orphans:
        raise click.UsageError("--all and --orphans contradict each other")
    return commands.cleanup(orphans_only=not everything)
