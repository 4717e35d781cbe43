"""A harness stand-in for cleanup tests: start a docker cluster, say so, then wait to be killed.

Run as ``python _cluster_proc.py RUN_DIR``; prints ``UP <run id>`` once every node answers. On SIGINT
(asyncio cancels the main task) the backend's teardown runs as it would in a real run.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from harness.backends.base import ClusterSpec
from harness.backends.docker.backend import DockerBackend


async def main(run_dir: Path) -> None:
    backend = DockerBackend(
        ClusterSpec("replication", ("n1", "n2", "n3"), run_dir, 1), progress=lambda _: None
    )
    try:
        await backend.setup()
        print("UP", backend.run_id, flush=True)
        await asyncio.sleep(3600)
    finally:
        await backend.teardown()


if __name__ == "__main__":
    try:
        asyncio.run(main(Path(sys.argv[1])))
    except KeyboardInterrupt:
        sys.exit(130)
