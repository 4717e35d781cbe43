"""Maelstrom's error table: code -> (name, definite), as its protocol documentation lists it.

A *definite* error means the operation certainly did not take effect (history ``fail``); anything
else (timeout, crash, a code outside the table) is indefinite (``info``): the op may have happened.
Maelstrom says codes it does not know are to be treated as indefinite, and so do we.
"""

from __future__ import annotations

from typing import Any

ERRORS: dict[int, tuple[str, bool]] = {
    0: ("timeout", False),
    1: ("node-not-found", True),
    10: ("not-supported", True),
    11: ("temporarily-unavailable", True),
    12: ("malformed-request", True),
    13: ("crash", False),
    14: ("abort", True),
    20: ("key-does-not-exist", True),
    21: ("key-already-exists", True),
    22: ("precondition-failed", True),
    30: ("txn-conflict", True),
}


def classify(code: Any) -> tuple[str, bool]:
    """The name of error ``code`` and whether it is definite (unknown codes: indefinite)."""
    if isinstance(code, bool) or not isinstance(code, int):
        return "not-an-error-code", False
    return ERRORS.get(code, (f"unknown-{code}", False))


def annotate(body: dict[str, Any]) -> dict[str, Any]:
    """An error reply body with ``definite`` and ``name`` set from the table (the node's own are ignored)."""
    name, definite = classify(body.get("code"))
    return {**body, "name": name, "definite": definite}
