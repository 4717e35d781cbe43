"""Fixtures for docker-backend tests: the engine client and the node image (built once if missing)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def docker_client() -> Any:
    """A Docker SDK client (the docker marker already skipped the test when no engine answers)."""
    import docker

    return docker.from_env(timeout=120)


@pytest.fixture(scope="session")
def node_image(docker_client: Any) -> Any:
    """The base node image, built on first use (about half a minute) and reused afterwards."""
    from harness.backends.docker.image import ensure_image

    return ensure_image(docker_client, progress=lambda line: print(line, flush=True))
