"""The control channel: newline-framed JSON requests that apply cooperative faults or report status.

Used only by the local backend (and operators): ``partition``, ``packet``, ``clock``, ``heal`` change
the node's fault state (see :mod:`systems_under_test.runtime.faults`), ``status`` reports the node's
clock, its core's status and the faults in force. One reply line per request line; a bad request
gets ``{"type": "error", ...}`` and the connection stays usable.

When the run gave the node a token, every request must carry it (``"token"``): anything else gets an
``unauthorized`` error, a line in the node log naming where it came from, and the connection is
closed — a local process cannot partition the node or move its clock behind the harness's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from systems_under_test.core import error_body
from systems_under_test.runtime.faults import BadControlRequest, apply_control
from systems_under_test.runtime.host import MALFORMED_REQUEST, UNAUTHORIZED, NodeHost, _peername


def handle_control(host: NodeHost, req: Any, known: frozenset[str] | None = None) -> dict[str, Any]:
    """Apply one control request to ``host`` and return its reply.

    ``known``: the names a partition may drop (default: the host's peers)."""
    if not isinstance(req, dict) or not isinstance(req.get("type"), str):
        return error_body(MALFORMED_REQUEST, "expected a JSON object with a type", definite=True)
    kind = req["type"]
    if kind == "status":
        return host.status()
    try:
        faults = apply_control(host.faults, req, frozenset(host.opts.peers) if known is None else known)
    except BadControlRequest as e:
        return error_body(MALFORMED_REQUEST, str(e), definite=True)
    host.set_faults(faults)
    host.note(f"control {kind}: faults now {json.dumps(faults.to_json(), sort_keys=True)}")
    return {"type": f"{kind}_ok"}


async def serve_control(host: NodeHost, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one control connection until the peer closes it."""
    host.conns.add(writer)
    try:
        while line := await reader.readline():
            if not line.strip():
                continue
            req: Any = None
            with contextlib.suppress(ValueError, RecursionError):
                req = json.loads(line)
            if not host.authorized(req.get("token") if isinstance(req, dict) else None):
                host.note(f"ERROR rejected control request from {_peername(writer)}: "
                          f"{'no' if not isinstance(req, dict) or 'token' not in req else 'wrong'} token; "
                          "closing")
                writer.write((json.dumps(error_body(UNAUTHORIZED, "unauthorized: the run token is required",
                                                    definite=True), separators=(",", ":")) + "\n").encode())
                await writer.drain()
                return
            if isinstance(req, dict):
                req.pop("token", None)
            reply = handle_control(host, req)
            if isinstance(req, dict) and "req_id" in req:
                reply = {**reply, "req_id": req["req_id"]}
            writer.write((json.dumps(reply, separators=(",", ":")) + "\n").encode())
            await writer.drain()
    except (OSError, ValueError) as e:
        host.note(f"control connection error: {e!r}")
    finally:
        host.conns.discard(writer)
        writer.close()
