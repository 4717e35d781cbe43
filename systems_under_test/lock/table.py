"""The lock's state and its transitions: grant, release, refuse (pure functions on JSON dicts).

State: ``{"token": t, "owner": o | None, "expires": e, "released": bool, "op": id}`` -- the last grant
(``token`` counts grants, so it is the fencing token of the current or last holder), its lease deadline
``expires`` in the clock of the node that granted it, and the id of the operation that produced the
state (so a proposer that retries after an unknown outcome recognises its own grant).

Leases here are advisory. A lock is free once released or once the deciding node's clock passes the
lease deadline; with clock skew a node may consider a lease over too early and grant the lock again.
That is tolerated by design: *safety* comes from the fencing token checked at the storage resource,
never from clocks -- the lease only bounds how long a vanished holder blocks everyone else.
"""

from __future__ import annotations

from typing import Any

from systems_under_test.core import JSON, PRECONDITION_FAILED, error_body

LOCK_BUSY = 1001


def is_free(state: dict[str, Any] | None, now: float) -> bool:
    """True if nobody holds the lock: never granted, released, or its lease deadline has passed."""
    return state is None or bool(state.get("released")) or now >= float(state["expires"])


def transition(state: dict[str, Any] | None, op: dict[str, Any], now: float) -> tuple[dict[str, Any] | None,
                                                                                  dict[str, JSON]]:
    """Apply a lock op to the current state: ``(state to propose, or None to refuse; client reply body)``.

    A refusal is answered at once (a definite failure changes nothing); any success -- even one that
    leaves the state as it is -- must first be accepted by a majority.
    """
    kind, owner, op_id = op["type"], op["owner"], op["id"]
    if state is not None and state.get("op") == op_id:
        # Our own earlier attempt is the newest state a majority reported -- but maybe only a minority
        # accepted it, so it is not necessarily chosen: propose it again unchanged, never just claim it.
        return dict(state), success(op, state)
    if kind == "acquire":
        if not is_free(state, now):
            assert state is not None
            return None, error_body(LOCK_BUSY, f"lock held by {state['owner']} (token {state['token']})",
                                    definite=True)
        token = (0 if state is None else int(state["token"])) + 1
        new = {"token": token, "owner": owner, "expires": now + float(op["ttl"]), "released": False,
               "op": op_id}
        return new, success(op, new)
    if kind == "release":
        if (
            state is None
            or state.get("released")
            or state["owner"] != owner
            or state["token"] != op.get("token")
        ):
            return None, error_body(PRECONDITION_FAILED, f"{owner} does not hold token {op.get('token')}",
                                    definite=True)
        new = {**state, "released": True, "op": op_id}
        return new, success(op, new)
    raise ValueError(f"not a lock op: {kind!r}")


def success(op: dict[str, Any], state: dict[str, Any]) -> dict[str, JSON]:
    """The ``*_ok`` reply for ``op`` given the state it produced."""
    if op["type"] == "acquire":
        return {"type": "acquire_ok", "owner": state["owner"], "token": state["token"],
                "lease": float(op["ttl"]), "expires": state["expires"]}
    return {"type": "release_ok", "owner": state["owner"], "token": state["token"]}
