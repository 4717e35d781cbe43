"""``splitbrain serve`` under careless clients: idle connections, early disconnects, a busy port,
a host that does not resolve, and many runs sharing one store's index."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from harness.apps.cli import run_cli
from harness.apps.serve import serve_in_thread
from harness.run.store import write_index


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    store.mkdir()
    (store / "big.txt").write_bytes(b"x" * (8 * 1024 * 1024))
    (store / "index.html").write_text("<p>index</p>")
    return store


def test_idle_connections_are_closed_and_do_not_starve_real_requests(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    served = serve_in_thread(_store(tmp_path), quiet=False, idle_timeout=0.5, max_connections=8)
    host, port = served.server.server_address[:2]
    idle = [socket.create_connection((host, port)) for _ in range(8)]
    try:
        time.sleep(1.5)  # every idle connection timed out, and its thread ended
        for s in idle:
            s.settimeout(2)
            assert s.recv(1) == b"", "the server closed the idle connection"
        alive = [t for t in threading.enumerate() if t.name.startswith("Thread") and t.is_alive()]
        assert len(alive) < 8
        with urllib.request.urlopen(served.url + "index.html", timeout=5) as r:
            assert r.read() == b"<p>index</p>"
    finally:
        for s in idle:
            s.close()
        served.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert "timed out" in err


def test_more_connections_than_the_bound_are_closed_at_once(tmp_path: Path) -> None:
    served = serve_in_thread(_store(tmp_path), idle_timeout=5, max_connections=2)
    host, port = served.server.server_address[:2]
    held = [socket.create_connection((host, port)) for _ in range(2)]
    try:
        time.sleep(0.2)
        extra = socket.create_connection((host, port))
        extra.settimeout(2)
        assert extra.recv(1) == b""
        extra.close()
    finally:
        for s in held:
            s.close()
        served.stop()


def test_a_client_that_disconnects_early_costs_one_line_not_a_traceback(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    served = serve_in_thread(_store(tmp_path), quiet=False)
    host, port = served.server.server_address[:2]
    try:
        for _ in range(3):
            s = socket.create_connection((host, port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.sendall(b"GET /big.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(1024)
            s.close()  # RST with most of 8 MiB unsent
        time.sleep(1.0)
    finally:
        served.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert 1 <= err.count("client went away") <= 3


def test_serve_on_a_busy_port_or_an_unknown_host_is_a_user_error(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert run_cli(["serve", "--store", str(store), "--port", str(port)]) == 254
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"cannot listen on 127.0.0.1:{port}" in err
    assert run_cli(["serve", "--store", str(store), "--host", "no-such-host.invalid", "--port", "0"]) == 254
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no-such-host.invalid" in err


def test_concurrent_index_writers_never_leave_a_broken_index(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for i in range(20):
        run = store / "t" / f"2026010{i % 10}T00000{i // 10}"
        run.mkdir(parents=True)
        (run / "spec.json").write_text('{"spec": {"system": "replication"}}')
        (run / "results.json").write_text('{"valid": true, "ops": 1}')
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(5):
                write_index(store)
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    text = (store / "index.html").read_text()
    assert text.rstrip().endswith("</html>")
    assert all(f"2026010{i % 10}T00000{i // 10}" in text for i in range(20)), "every run is listed"
    assert not list(store.glob(".index.html*.tmp"))
