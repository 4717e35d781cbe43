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
@click.option("--orphans", is_flag=True, help="only what runs whose harness process has exited left behind")
def cleanup(orphans: bool) -> int:
    """Remove every container, network and volume labelled by splitbrain (node images are kept)."""
    from harness.backends.docker import commands

    return commands.cleanup(orphans_only=orphans)
