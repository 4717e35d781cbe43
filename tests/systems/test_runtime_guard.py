"""The node runtime's guards: the run token on control and peer ports, backpressure on a client that
never reads, and the promised error reply for a line nested too deeply to decode.

Nodes are started by the local backend itself (so the token travels the real way, in the environment).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.backends.base import ClusterSpec
from harness.backends.local import LocalBackend
from systems_under_test.runtime.peers import hello_line

_RUNNER: list[asyncio.Runner] = []


def run(coro: Any) -> Any:
    """Run a coroutine on the fixture's one event loop (the node processes belong to it)."""
    return _RUNNER[-1].run(coro)


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalBackend]:
    monkeypatch.setenv("SPLITBRAIN_RUNTIME_DIR", str(tmp_path / "rt"))
    b = LocalBackend(ClusterSpec("replication", ("n1", "n2", "n3"), tmp_path / "run", 7, {}))
    with asyncio.Runner() as runner:
        _RUNNER.append(runner)
        try:
            runner.run(b.setup())
            yield b
        finally:
            runner.run(b.teardown())
            _RUNNER.pop()


def _lines(port: int, payload: bytes, replies: int, timeout: float = 5.0) -> list[Any]:
    """Send ``payload`` on a fresh connection; read ``replies`` lines (fewer if the node closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        buf = b""
        while buf.count(b"\n") < replies:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return [json.loads(x) for x in buf.splitlines() if x.strip()]


def _log(backend: LocalBackend, node: str) -> str:
    return (backend.spec.run_dir / "data" / f"{node}.1.log").read_text()


def test_control_requests_need_the_run_token(backend: LocalBackend) -> None:
    n1 = backend.nodes["n1"]
    for req in (
        {"type": "partition", "drop_from": ["n2"]},
        {"type": "clock", "offset": 99, "token": "guess"},
    ):
        reply = _lines(n1.control_port, json.dumps(req).encode() + b"\n", 1)
        assert reply[0]["type"] == "error" and reply[0]["code"] == 1001, reply
    assert _log(backend, "n1").count("rejected control request") == 2
    status = run(backend.node_status("n1"))  # the harness, which has the token, still gets through
    assert status["faults"]["drop_from"] == [] and status["faults"]["clock_offset"] == 0


def test_a_peer_hello_without_the_token_is_rejected_and_logged(backend: LocalBackend) -> None:
    n1 = backend.nodes["n1"]
    before = run(backend.node_status("n1"))["counters"]["msgs_in"]
    forged = hello_line("n2") + json.dumps({"type": "append_entries", "term": 999}).encode() + b"\n"
    assert _lines(n1.port, forged, 1) == []  # closed without delivering anything
    wrong = hello_line("n2", "0" * 32) + b'{"type": "x"}\n'
    assert _lines(n1.port, wrong, 1) == []
    log = _log(backend, "n1")
    assert "rejected peer hello claiming 'n2'" in log and "no token" in log and "wrong token" in log
    # the node keeps serving: its real peers still talk to it
    time.sleep(0.3)
    assert run(backend.node_status("n1"))["counters"]["msgs_in"] >= before


def test_a_line_nested_too_deeply_gets_the_error_reply(backend: LocalBackend) -> None:
    n1 = backend.nodes["n1"]
    deep = b"[" * 100_000 + b"]" * 100_000 + b"\n"
    reply = _lines(n1.port, deep + b'{"type": "read", "req_id": 2, "key": "k"}\n', 2)
    assert reply[0]["type"] == "error" and reply[0]["code"] == 12 and reply[0]["definite"] is True
    assert len(reply) == 2, "the connection stays usable after the malformed line"
    control = _lines(n1.control_port, deep, 1)
    assert control[0]["type"] == "error"


def test_a_client_that_never_reads_is_not_read_from(backend: LocalBackend) -> None:
    """Without backpressure the node would buffer every reply it cannot send: memory without bound."""
    n1 = backend.nodes["n1"]
    line = b'{"req_id": 1}\n'  # malformed (no type): answered at once with a ~120-byte error
    s = socket.create_connection(("127.0.0.1", n1.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(0.5)
    sent = 0
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            try:
                sent += s.send(line * 4096)
            except TimeoutError:
                break  # the node stopped reading: our send buffer is full
        else:
            pytest.fail("the node kept reading from a client that never reads")
        taken = run(backend.node_status("n1"))["counters"]["malformed"]
        time.sleep(0.5)
        again = run(backend.node_status("n1"))["counters"]["malformed"]
        assert taken == again, "no more requests are taken while replies pile up"
        assert taken * 100 < 64 * 1024 * 1024, "unsent replies stay bounded (well under 64 MiB)"
        assert taken < sent // len(line)
    finally:
        s.close()
