"""Fixtures for the nemesis tests: the docker node image for the docker variant of the fault drill."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def node_image() -> Any:
    """The base node image, built on first use and reused afterwards (docker-marked tests only)."""
    import docker

    from harness.backends.docker.image import ensure_image

    return ensure_image(docker.from_env(timeout=120), progress=lambda line: print(line, flush=True))
