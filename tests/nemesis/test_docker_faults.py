"""The same fault drill as on local processes, on the docker backend (iptables, docker kill/pause,
runtime)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fault_drills import NODES, drill_every_fault

from harness.backends.base import ClusterSpec

pytestmark = pytest.mark.docker


def test_each_fault_kind_in_containers(tmp_path: Path, node_image: Any) -> None:
    from harness.backends.docker.backend import DockerBackend
    from harness.backends.docker.cleanup import leftovers

    backend = DockerBackend(ClusterSpec("paxos", NODES, tmp_path, 11), progress=lambda _: None)

    async def go() -> None:
        try:
            await backend.setup()
            await drill_every_fault(backend)
        finally:
            await backend.teardown()

    asyncio.run(go())
    assert leftovers(backend.client, backend.run_id)["containers"] == []
