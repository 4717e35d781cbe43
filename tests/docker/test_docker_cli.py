"""``splitbrain image build|ls|rm`` and ``splitbrain cleanup`` through the real command line."""

from __future__ import annotations

from typing import Any

import pytest

from harness.apps.cli import run_cli
from harness.backends.docker.image import ImageRecipe

pytestmark = pytest.mark.docker


def test_image_ls_marks_the_current_image(node_image: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["image", "ls"]) == 0
    out = capsys.readouterr().out
    assert ImageRecipe().tag in out and "(current)" in out


def test_image_build_reuses_a_present_image(node_image: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["image", "build"]) == 0
    err = capsys.readouterr().err
    assert f"image {node_image.tag}" in err and "ready" in err and "mmdebstrap" not in err


def test_image_rm_refuses_names_that_are_not_ours(
    node_image: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["image", "rm", "debian:bookworm"]) == 254
    assert "not a splitbrain node image" in capsys.readouterr().err
    assert run_cli(["image", "rm"]) == 254


def test_cleanup_of_orphans_reports_what_it_removed(
    docker_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # --orphans: plain "cleanup" would also remove clusters of runs going on right now on this engine
    assert run_cli(["cleanup", "--orphans"]) == 0
    assert "removed" in capsys.readouterr().err
