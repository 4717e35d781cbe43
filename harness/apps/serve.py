"""``splitbrain serve``: the run store over HTTP, on 127.0.0.1 by default, and nothing outside it.

Reports open fine from ``file://``; serving them is for a browser on another machine (through an SSH
tunnel) or for tools that want URLs. The store holds histories and node logs, so the server must not
become a way to read the rest of the disk: a request whose path — decoded once, twice or three times,
so ``%2e%2e%2f`` and ``%252e%252e`` are caught too — has a ``..`` segment, a backslash or a NUL is
refused outright, and any path that resolves (through symlinks) outside the store is refused as well.
The ``latest`` link lives inside the store and points inside it, so it keeps working.

Bounds: a connection idle for ``IDLE_TIMEOUT`` seconds is closed (a thread per connection must not be
held forever by clients that connect and say nothing), at most ``MAX_CONNECTIONS`` are served at once
(more are closed at once), and a client that disconnects before its answer is complete costs one log
line, never a traceback.
"""

from __future__ import annotations

import http.server
import sys
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
IDLE_TIMEOUT = 15.0
MAX_CONNECTIONS = 64
_DECODE_ROUNDS = 3


def unsafe_path(raw: str) -> bool:
    """True when a request path tries to leave the served directory (in any of several encodings)."""
    path = urlsplit(raw).path
    for _ in range(_DECODE_ROUNDS + 1):
        if "\\" in path or "\x00" in path or any(seg == ".." for seg in path.split("/")):
            return True
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    return False


def inside(root: Path, candidate: str | Path) -> bool:
    """Whether ``candidate`` resolves (following symlinks) to ``root`` or below it."""
    try:
        return Path(candidate).resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


class StoreHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of the store only; listings allowed inside it, everything else 403."""

    quiet = False
    timeout = IDLE_TIMEOUT  # socket timeout: an idle or stalled connection ends, and so does its thread
    # histories, node logs and specs are shown in the browser as text, not offered as downloads
    # (nosniff below keeps a history that contains markup from ever being rendered as HTML)
    extensions_map: ClassVar[dict[str, str]] = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".jsonl": "text/plain; charset=utf-8", ".log": "text/plain; charset=utf-8",
                      ".edn": "text/plain; charset=utf-8", ".json": "application/json; charset=utf-8"}

    def send_head(self) -> Any:
        """Refuse escaping paths before the file system is touched, then serve as usual."""
        root = Path(self.directory)
        if unsafe_path(self.path) or not inside(root, self.translate_path(self.path)):
            self.send_error(403, "outside the store")
            return None
        return super().send_head()

    def end_headers(self) -> None:
        """No caching (reports are rewritten) and no sniffing of history files as HTML."""
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Access log on stderr unless quiet."""
        if not self.quiet:
            super().log_message(format, *args)


class StoreServer(http.server.ThreadingHTTPServer):
    """A threading server whose connections are bounded in number and time, and whose errors are one line."""

    daemon_threads = True
    block_on_close = False
    quiet = False
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(self.max_connections)
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve in a thread if a slot is free; otherwise close the connection at once."""
        if not self._slots.acquire(blocking=False):
            self._note(f"{client_address[0]}: too many connections ({self.max_connections}); closed")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """The per-connection thread; frees its slot when done."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (or stalled) is one log line; anything else keeps the traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            self._note(f"{client_address[0]}:{client_address[1]}: client went away ({type(exc).__name__})")
            return
        super().handle_error(request, client_address)

    def _note(self, text: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"splitbrain serve: {text}\n")


@dataclass(frozen=True, slots=True)
class Served:
    """A running server: its URL and how to stop it."""

    server: StoreServer
    thread: threading.Thread | None

    @property
    def url(self) -> str:
        """``http://host:port/``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def stop(self) -> None:
        """Shut the server down and release the port."""
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


def make_server(store: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                *, quiet: bool = False, idle_timeout: float = IDLE_TIMEOUT,
                max_connections: int = MAX_CONNECTIONS) -> StoreServer:
    """An HTTP server for ``store`` (not yet serving); port 0 picks a free port.

    Raises ``OSError`` when the address cannot be bound (port in use, a host that does not resolve).
    """
    if not store.is_dir():
        raise FileNotFoundError(f"no store at {store}")
    handler = type("Handler", (StoreHandler,), {"quiet": quiet, "timeout": idle_timeout})
    server_cls = type("Server", (StoreServer,), {"quiet": quiet, "max_connections": max_connections})
    return server_cls((host, port), partial(handler, directory=str(store.resolve())))


def serve_in_thread(store: Path, host: str = DEFAULT_HOST, port: int = 0, *, quiet: bool = True,
                    **bounds: Any) -> Served:
    """Serve ``store`` from a background thread (for tests and embedding); call ``stop()`` when done."""
    server = make_server(store, host, port, quiet=quiet, **bounds)
    thread = threading.Thread(target=server.serve_forever, name="splitbrain-serve", daemon=True)
    thread.start()
    return Served(server, thread)


def refresh_index(store: Path) -> Path | None:
    """Regenerate ``store/index.html`` with every column (None when the store cannot be written)."""
    from harness.run.store import write_index

    try:
        return write_index(store)
    except OSError:
        return None
