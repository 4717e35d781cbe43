"""Shared fixtures: the labelled corpus (read from ../shared/corpus, never copied) and Docker detection."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _corpus_dir() -> Path | None:
    env = os.environ.get("SPLITBRAIN_CORPUS")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "corpus", REPO.parent.parent / "shared" / "corpus"]
    for c in candidates:
        if (c / "MANIFEST.tsv").is_file():
            return c
    return None


CORPUS = _corpus_dir()


def corpus_manifest() -> list[dict[str, str]]:
    """Rows of MANIFEST.tsv (empty when the corpus is absent)."""
    if CORPUS is None:
        return []
    with (CORPUS / "MANIFEST.tsv").open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture
def corpus() -> Path:
    """Path to the labelled corpus; skips the test when it is not present."""
    if CORPUS is None:
        pytest.skip("labelled corpus not found (expected ../shared/corpus or $SPLITBRAIN_CORPUS)")
    return CORPUS


def docker_available() -> str | None:
    """None when a Docker engine answers, else the reason it does not."""
    try:
        import docker  # type: ignore[import-not-found]
    except ImportError:
        return "the docker Python package is not installed"
    try:
        docker.from_env().ping()
    except Exception as e:  # noqa: BLE001 - any failure means no engine for us
        return f"no Docker engine answers ({e.__class__.__name__})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip docker-marked tests with a clear reason when no engine answers."""
    if not any(item.get_closest_marker("docker") for item in items):
        return
    reason = docker_available()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"docker test skipped: {reason}")
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(skip)
