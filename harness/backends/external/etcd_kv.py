"""Our key-value requests as etcd JSON-gateway calls, and etcd's answers as our replies.

etcd 3.4 serves its gRPC API as JSON over HTTP under ``/v3/`` (``/v3beta/`` still answers but is the
deprecated alias; both were checked against Debian's 3.4.23). Keys and values are base64 bytes; a
register value is stored as its JSON text so ``null``/ints round-trip exactly.

* read  -> ``/v3/kv/range`` (``serializable: true`` in the ``etcd:serializable`` variant: answered from
  the member's local state without a ReadIndex round through the leader)
* write -> ``/v3/kv/put``
* cas   -> ``/v3/kv/txn`` comparing the VALUE; a failed comparison (or a missing key, whose value
  compares unequal) is the definite error 22, as in ``systems_under_test.kv``.

Error semantics: a read that failed changed nothing, so any error is a definite ``fail``; a write or a
cas that etcd answered with an error (e.g. ``request timed out`` while the cluster has no leader) may
still be committed later, so it is indefinite (history ``info``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from harness.api import PRECONDITION_FAILED

TEMPORARILY_UNAVAILABLE = 11
NOT_SUPPORTED = 10
ETCD_ERROR = 1000  # system-specific: etcd answered with an error


def b64(data: str) -> str:
    """Base64 of the UTF-8 bytes of ``data`` (the gateway's encoding of ``bytes`` fields)."""
    return base64.b64encode(data.encode()).decode()


def encode_value(value: Any) -> str:
    """A register value as the gateway's base64 of its JSON text."""
    return b64(json.dumps(value))


def decode_value(field: str) -> Any:
    """The register value stored in a gateway ``value`` field (JSON text, base64)."""
    return json.loads(base64.b64decode(field).decode())


def gateway_call(req: Mapping[str, Any], *, serializable: bool) -> tuple[str, dict[str, Any]]:
    """The gateway path and JSON body that perform ``req``; ``ValueError`` for an unsupported op."""
    kind, key = req.get("type"), b64(str(req.get("key")))
    if kind == "read":
        body: dict[str, Any] = {"key": key}
        if serializable:
            body["serializable"] = True
        return "/v3/kv/range", body
    if kind == "write":
        return "/v3/kv/put", {"key": key, "value": encode_value(req.get("value"))}
    if kind == "cas":
        compare = {"key": key, "target": "VALUE", "result": "EQUAL", "value": encode_value(req.get("from"))}
        put = {"requestPut": {"key": key, "value": encode_value(req.get("to"))}}
        return "/v3/kv/txn", {"compare": [compare], "success": [put]}
    raise ValueError(f"etcd adapter does not support {kind!r} requests (supported: read, write, cas)")


def translate_reply(req: Mapping[str, Any], status: int, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Our reply (without ``req_id``) for the gateway's answer ``(status, doc)`` to ``req``."""
    kind = str(req.get("type"))
    if status != 200 or "error" in doc:
        text = str(doc.get("error") or doc.get("message") or f"HTTP {status}")
        code = TEMPORARILY_UNAVAILABLE if "leader" in text or "unavailable" in text.lower() else ETCD_ERROR
        return {"type": "error", "code": code, "text": f"etcd: {text}", "definite": kind == "read"}
    if kind == "read":
        kvs = doc.get("kvs") or []
        return {"type": "read_ok", "value": decode_value(kvs[0].get("value", "")) if kvs else None}
    if kind == "write":
        return {"type": "write_ok"}
    if kind == "cas":
        if doc.get("succeeded"):
            return {"type": "cas_ok"}
        return {"type": "error", "code": PRECONDITION_FAILED, "definite": True,
                "text": f"key {req.get('key')} does not hold {req.get('from')!r}"}
    raise ValueError(f"not an etcd-adapter request: {kind!r}")


def unsupported(req: Mapping[str, Any], why: str) -> dict[str, Any]:
    """A definite ``not-supported`` error reply."""
    return {"type": "error", "code": NOT_SUPPORTED, "text": why, "definite": True}
