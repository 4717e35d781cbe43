"""The key-value state machine shared by the replicated stores (replication, paxos, hashring).

Client requests (DESIGN §3 client protocol; Maelstrom's lin-kv shapes):

* ``{"type": "read", "key": k}`` -> ``{"type": "read_ok", "value": v}`` (``null`` for a missing key)
* ``{"type": "write", "key": k, "value": v}`` -> ``{"type": "write_ok"}``
* ``{"type": "cas", "key": k, "from": a, "to": b}`` -> ``{"type": "cas_ok"}``, or a *definite* error
  ``22 precondition-failed`` when the key holds something else, ``20 key-does-not-exist`` when missing
* ``{"type": "add", "key": k, "element": e}`` -> ``{"type": "add_ok"}`` (the key holds a list; set
  workload: elements are appended once each)

``apply`` is a pure function so every replica that applies the same commands in the same order reaches
the same state and gives the same answers — the property replicated logs rely on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from systems_under_test.core import KEY_DOES_NOT_EXIST, PRECONDITION_FAILED, error_body

KV_OPS = ("read", "write", "cas", "add")


def is_kv_request(req: Mapping[str, Any]) -> bool:
    """True if ``req`` is one of the state machine's operations."""
    return req.get("type") in KV_OPS and "key" in req


def command(req: Mapping[str, Any]) -> dict[str, Any]:
    """Strip a client request down to the replicated command (no req_id, only the op's fields)."""
    keep = ("type", "key", "value", "from", "to", "element")
    return {k: req[k] for k in keep if k in req}


def apply(state: dict[str, Any], cmd: Mapping[str, Any]) -> dict[str, Any]:
    """Apply ``cmd`` to ``state`` in place and return the reply body (``*_ok`` or a definite error)."""
    kind = cmd["type"]
    key = str(cmd["key"])
    if kind == "read":
        return {"type": "read_ok", "value": state.get(key)}
    if kind == "write":
        state[key] = cmd.get("value")
        return {"type": "write_ok"}
    if kind == "cas":
        if key not in state:
            return error_body(KEY_DOES_NOT_EXIST, f"key {key} does not exist", definite=True)
        if state[key] != cmd.get("from"):
            return error_body(
                PRECONDITION_FAILED,
                f"expected {cmd.get('from')!r}, key {key} holds {state[key]!r}",
                definite=True,
            )
        state[key] = cmd.get("to")
        return {"type": "cas_ok"}
    if kind == "add":
        current = state.get(key)
        elements = list(current) if isinstance(current, list) else []
        if cmd.get("element") not in elements:
            elements.append(cmd.get("element"))
        state[key] = elements
        return {"type": "add_ok"}
    raise ValueError(f"not a key-value command: {kind!r}")


def read_only(cmd: Mapping[str, Any]) -> bool:
    """True for commands that never change the state."""
    return cmd.get("type") == "read"
