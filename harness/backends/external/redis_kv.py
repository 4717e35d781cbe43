"""Our key-value requests as Redis commands (through redis-py), and Redis's answers as our replies.

* read  -> one read-only Lua script (``flags=no-writes``, so replicas run it too) that returns the
  key's type with its value: a string register (``GET``) or a set (``SMEMBERS``), so one request
  shape serves both the register and the set workload;
* write -> ``SET``; cas -> a Lua script comparing and setting atomically (Redis runs a script as one
  command, so no WATCH/MULTI retry loop is needed); add -> ``SADD``;
* with ``wait > 0`` every write is followed, in the same round trip, by ``WAIT wait timeout``: the
  primary holds the acknowledgement until that many replicas have the write. If fewer confirm within
  the timeout the write *did* happen on the primary but is not known to be replicated: that is neither
  ``ok`` nor ``fail`` but indefinite.

Register values are stored as their JSON text so that ints and ``null`` compare and round-trip exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.api import PRECONDITION_FAILED

TEMPORARILY_UNAVAILABLE = 11
NOT_SUPPORTED = 10
NOT_REPLICATED = 1001  # system-specific: WAIT timed out with too few replicas

READ_SCRIPT = """#!lua flags=no-writes
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'set' then return {'set', redis.call('SMEMBERS', KEYS[1])} end
if t == 'string' then return {'string', redis.call('GET', KEYS[1])} end
return {'none'}
"""

CAS_SCRIPT = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end
return 0
"""


@dataclass(frozen=True, slots=True)
class Commands:
    """The Redis commands (argv lists) that perform one request, and whether it writes."""

    argvs: tuple[tuple[Any, ...], ...]
    writes: bool


def commands_for(req: Mapping[str, Any], *, wait: int, wait_timeout_ms: int) -> Commands:
    """The commands for ``req``; ``ValueError`` for an op this adapter does not know."""
    kind, key = req.get("type"), str(req.get("key"))
    if kind == "read":
        return Commands((("EVAL", READ_SCRIPT, 1, key),), writes=False)
    if kind == "write":
        cmd: tuple[Any, ...] = ("SET", key, json.dumps(req.get("value")))
    elif kind == "cas":
        cmd = ("EVAL", CAS_SCRIPT, 1, key, json.dumps(req.get("from")), json.dumps(req.get("to")))
    elif kind == "add":
        cmd = ("SADD", key, json.dumps(req.get("element")))
    else:
        raise ValueError(
            f"redis adapter does not support {kind!r} requests (supported: read, write, cas, add)"
        )
    if wait > 0:
        return Commands((cmd, ("WAIT", wait, wait_timeout_ms)), writes=True)
    return Commands((cmd,), writes=True)


def _text(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def decode_read(result: Any) -> Any:
    """The value a read script returned: an int register, a sorted list of set elements, or None."""
    kind = _text(result[0]) if result else "none"
    if kind == "string":
        return json.loads(_text(result[1]))
    if kind == "set":
        return sorted(json.loads(_text(e)) for e in result[1])
    return None


def translate_results(req: Mapping[str, Any], results: list[Any], *, wait: int) -> dict[str, Any]:
    """Our reply (without ``req_id``) for the results of ``commands_for(req)``."""
    kind = str(req.get("type"))
    if kind == "read":
        return {"type": "read_ok", "value": decode_read(results[0])}
    if kind == "cas" and int(results[0]) != 1:
        return {"type": "error", "code": PRECONDITION_FAILED, "definite": True,
                "text": f"key {req.get('key')} does not hold {req.get('from')!r}"}
    if wait > 0:
        acked = int(results[-1])
        if acked < wait:
            return {"type": "error", "code": NOT_REPLICATED, "definite": False,
                    "text": f"WAIT: only {acked} of {wait} replicas confirmed the write in time"}
    return {"type": f"{kind}_ok"}


def unsupported(why: str) -> dict[str, Any]:
    """A definite ``not-supported`` error reply."""
    return {"type": "error", "code": NOT_SUPPORTED, "text": why, "definite": True}
