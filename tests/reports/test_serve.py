"""``splitbrain serve``: serves the store, refuses every way out of it."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.apps.serve import Served, serve_in_thread, unsafe_path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    store = tmp_path / "store"
    run = store / "t" / "20260101T000000"
    run.mkdir(parents=True)
    (run / "report.html").write_text("<p>report</p>")
    (store / "index.html").write_text("<p>index</p>")
    (store / "latest").symlink_to("t/20260101T000000")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (store / "escape").symlink_to(tmp_path / "secret.txt")
    s = serve_in_thread(store)
    try:
        yield s, store
    finally:
        s.stop()


def _get(s: Served, raw_path: str) -> tuple[int, bytes]:
    host, port = s.server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        conn.putrequest("GET", raw_path, skip_host=False, skip_accept_encoding=True)  # path sent verbatim
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_serves_store_files_and_the_latest_link(served: tuple[Served, Path]) -> None:
    s, _ = served
    assert s.url.startswith("http://127.0.0.1:")
    assert _get(s, "/") == (200, b"<p>index</p>")
    assert _get(s, "/t/20260101T000000/report.html") == (200, b"<p>report</p>")
    assert _get(s, "/latest/report.html") == (200, b"<p>report</p>")
    assert _get(s, "/nope.html")[0] == 404


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/t/../../secret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/t/%2e%2e/%2e%2e/secret.txt", "/%252e%252e%252fsecret.txt", "/..%5csecret.txt", "/%5c..%5csecret.txt",
    "/escape", "/t/..%2f..%2fsecret.txt", "/%00../secret.txt",
])
def test_refuses_paths_outside_the_store(served: tuple[Served, Path], path: str) -> None:
    s, _ = served
    status, body = _get(s, path)
    assert status == 403, (path, status)
    assert b"TOP SECRET" not in body


def test_unsafe_path_detection() -> None:
    assert unsafe_path("/a/../b") and unsafe_path("/%2e%2e/x") and unsafe_path("/%25252e%25252e/x")
    assert not unsafe_path("/t/20260101T000000/report.html") and not unsafe_path("/a..b/c..d?x=..")


def test_cli_refuses_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.apps.cli import run_cli

    assert run_cli(["serve", "--store", str(tmp_path / "nope"), "--port", "0"]) == 254
    assert "no store at" in capsys.readouterr().err


def test_histories_and_logs_are_shown_as_text_not_downloaded(served: tuple[Served, Path]) -> None:
    s, store = served
    run = store / "t" / "20260101T000000"
    (run / "history.jsonl").write_text('{"index":0,"f":"<b>read</b>"}\n')
    (run / "nodes").mkdir()
    (run / "nodes" / "n1.log").write_text("node log\n")
    host, port = s.server.server_address[:2]
    for path in ("/t/20260101T000000/history.jsonl", "/t/20260101T000000/nodes/n1.log"):
        conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
            assert resp.getheader("Content-Type") == "text/plain; charset=utf-8", path
            assert resp.getheader("Content-Disposition") is None
            assert resp.getheader("X-Content-Type-Options") == "nosniff"
        finally:
            conn.close()
