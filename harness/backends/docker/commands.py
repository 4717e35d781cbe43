"""What ``splitbrain image build|ls|rm`` and ``splitbrain cleanup`` do (the CLI only wraps these).

Each returns the process exit code and prints for a person: a live status line during the build (the
slow part, half a minute from nothing), a table for ``ls``, one line per removed object otherwise.
A missing Docker engine is one clear line and exit 255 — there is nothing the arguments could fix.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from harness.backends.docker.image import (
    THIRD_PARTY_PACKAGES,
    ImageError,
    ImageRecipe,
    build_image,
    list_images,
    remove_images,
)

EXIT_OK = 0
EXIT_BAD_INPUT = 254
EXIT_FAILED = 255


class EngineUnavailable(RuntimeError):
    """No Docker engine answers (or the docker SDK is not installed)."""


def engine() -> Any:
    """A Docker SDK client for the local engine; raises ``EngineUnavailable`` with the reason."""
    try:
        import docker  # type: ignore[import-untyped]
    except ImportError as e:
        raise EngineUnavailable("the docker Python package is not installed (pip install 'docker>=7')") from e
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as e:
        raise EngineUnavailable(f"no Docker engine answers ({e.__class__.__name__}: {e})") from e
    return client


def _console(console: Console | None) -> Console:
    return console or Console(stderr=True, highlight=False)


def image_build(*, force: bool = False, third_party: bool = False, console: Console | None = None) -> int:
    """Build (or with ``force`` rebuild) the node image, showing progress; prints its tag."""
    con = _console(console)
    recipe = ImageRecipe().with_packages(THIRD_PARTY_PACKAGES) if third_party else ImageRecipe()
    try:
        client = engine()
        t0 = time.monotonic()
        with con.status(f"building {recipe.tag}") as status:
            def progress(line: str) -> None:
                status.update(f"building {recipe.tag}: {line}")
                if not con.is_terminal:
                    con.print(line, markup=False)

            info = build_image(client, recipe, progress, force=force)
    except (EngineUnavailable, ImageError) as e:
        con.print(f"splitbrain: error: {e}", markup=False)
        return EXIT_FAILED
    con.print(f"image {info.tag} ({info.size / 1e6:.0f} MB) ready in {time.monotonic() - t0:.1f}s",
              markup=False)
    return EXIT_OK


def image_ls(console: Console | None = None) -> int:
    """Print a table of the node images present."""
    con = console or Console(highlight=False)
    try:
        images = list_images(engine())
    except EngineUnavailable as e:
        _console(None).print(f"splitbrain: error: {e}", markup=False)
        return EXIT_FAILED
    if not images:
        con.print("no splitbrain node images (splitbrain image build makes one)")
        return EXIT_OK
    current = ImageRecipe().tag
    for i in images:
        mark = "  (current)" if i.tag == current else ""
        con.print(f"{i.tag}  {i.id.replace('sha256:', '')[:12]}  {i.size / 1e6:4.0f} MB  "
                  f"{i.created[:19].replace('T', ' ')}  {','.join(i.packages)}{mark}", markup=False,
                  soft_wrap=True)
    return EXIT_OK


def image_rm(refs: Sequence[str], *, all_images: bool = False, console: Console | None = None) -> int:
    """Remove the named node images (or all with ``all_images``); 254 when a name is not ours."""
    con = _console(console)
    if not refs and not all_images:
        con.print("splitbrain: error: name images to remove (see splitbrain image ls) or pass --all")
        return EXIT_BAD_INPUT
    try:
        removed = remove_images(engine(), refs, all_images=all_images)
    except EngineUnavailable as e:
        con.print(f"splitbrain: error: {e}", markup=False)
        return EXIT_FAILED
    except ImageError as e:
        con.print(f"splitbrain: error: {e}", markup=False)
        return EXIT_BAD_INPUT
    for ref in removed:
        con.print(f"removed {ref}", markup=False)
    if not removed:
        con.print("nothing to remove")
    return EXIT_OK


def cleanup(*, orphans_only: bool = True, console: Console | None = None) -> int:
    """Remove leftovers: local node processes and Docker objects of runs whose harness has exited.

    With ``orphans_only=False`` (``cleanup --all``) everything labelled by splitbrain goes, and every
    local node runtime of this user, including those of runs going on right now. Node images are kept.
    A missing Docker engine is not an error here: the local sweep still ran, and that is said.
    """
    from harness.backends.docker.cleanup import remove_all, sweep_orphans
    from harness.backends.procguard import sweep_leftovers

    con = _console(console)
    if not orphans_only:
        con.print("splitbrain: warning: --all also removes the nodes and containers of runs still in "
                  "progress",
                  markup=False)
    swept = sweep_leftovers(everything=not orphans_only)
    con.print(f"local: killed {len(swept.killed)} node processes"
              + (f" of runs {', '.join(swept.runs)}" if swept.runs else "")
              + (f", removed {len(swept.removed_dirs)} scratch dirs" if swept.removed_dirs else "")
              + (f"; {len(swept.live_runs)} live runs left alone" if swept.live_runs else ""), markup=False)
    try:
        client = engine()
        removed = sweep_orphans(client) if orphans_only else remove_all(client)
    except EngineUnavailable as e:
        con.print(f"docker: skipped ({e})", markup=False)
        return EXIT_OK
    con.print(
        f"docker: removed {len(removed.containers)} containers, {len(removed.networks)} networks, "
        f"{len(removed.volumes)} volumes" + (f" of runs {', '.join(removed.runs)}" if removed.runs else ""),
        markup=False,
    )
    for problem in removed.failed:
        con.print(f"splitbrain: could not remove {problem}", markup=False)
    return EXIT_OK if not removed.failed else EXIT_FAILED
