"""The shim takes orders only from its run: control and peer connections must carry the run's token."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from maelstrom_helpers import PYNODE

from harness.run.plan import build_plan
from harness.run.spec import RunSpec
from systems_under_test.runtime.peers import HELLO_KEY


async def _exchange(port: int, line: dict) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((json.dumps(line) + "\n").encode())
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), 5.0)  # until the shim closes the connection
    finally:
        writer.close()


def test_control_and_peer_connections_without_the_token_are_refused(tmp_path: Path) -> None:
    spec = RunSpec(
        system="maelstrom", workload="echo", nodes=2, config={"bin": str(PYNODE), "bin_args": ["echo"]}
    )
    backend = build_plan(spec).make_backend(tmp_path)

    async def scenario() -> tuple[bytes, bytes, dict]:
        await backend.setup()
        try:
            n1 = backend.nodes["n1"]
            control = await _exchange(n1.control_port, {"type": "status"})
            wrong = await _exchange(n1.control_port, {"type": "heal", "token": "not-the-token"})
            await _exchange(
                n1.port, {HELLO_KEY: "n2"}
            )  # a peer hello without the token: closed, nothing delivered
            ok = await backend._control(n1, {"type": "status"})  # the harness's own request carries it
            return control, wrong, ok
        finally:
            await backend.teardown()

    control, wrong, ok = asyncio.run(scenario())
    for reply in (control, wrong):
        body = json.loads(reply.decode().splitlines()[0])
        assert body["type"] == "error" and body["code"] == 1001 and "token" in body["text"]
    assert ok.get("type") != "error"
    log = (tmp_path / "data" / "n1.1.log").read_text()
    assert log.count("rejected control request") == 2
    assert "rejected peer connection claiming to be n2" in log
