"""Maelstrom's services as sans-IO state machines: ``lin-kv``, ``seq-kv``, ``lww-kv``, ``lin-tso``.

A node reaches a service by sending it a message (``dest`` = the service's name) and gets a reply
with ``in_reply_to``, exactly as Maelstrom's docs describe (read / write / cas with
``create_if_not_exists`` on the key-value services; ``ts`` on ``lin-tso``). One host process serves
all four names; the harness routes to it like to any node, and partitions reach it (unlike Maelstrom,
where services are always reachable): a node that a partition leaves hearing fewer than a majority of the
cluster is cut off from the services both ways, the majority keeps them (the backends extend each grudge
with ``harness.backends.maelstrom.grudge_with_services``). A real deployment's coordination service
sits with the majority; a minority node that still reaches the store hides exactly the bugs partitions
should expose.

Consistency: ``lin-kv`` serves every request from one current state in arrival order (linearizable).
``seq-kv`` keeps every version of each key and answers a read with a version drawn from those not older
than the newest one the *same* client has already seen (sequential consistency: each client's view
moves forward, but may lag behind other clients — the stale reads Maelstrom documents). ``lww-kv``
answers a read with any of the last few versions, regardless of what the client saw before (it is only
eventually consistent). Writes and cas always act on the newest version. ``lin-tso`` hands out strictly
increasing integers. Randomness comes only from the injected rng.
"""

from __future__ import annotations

import random
from typing import Any

SERVICE_NAMES = ("lin-kv", "seq-kv", "lww-kv", "lin-tso")
# The node that hosts them all: its peer links say hello with this name, so a node's shim sees every
# service reply arrive from ``services`` (the message's own ``src`` is the service's name) and a
# partition that cuts a node off from the services names ``services`` in the grudge.
SERVICES_HOST = "services"
LWW_WINDOW = 3


def _err(code: int, text: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "text": text}


class KVService:
    """One key-value service; ``mode`` is ``lin``, ``seq`` or ``lww``."""

    def __init__(self, mode: str, rng: random.Random) -> None:
        self.mode = mode
        self.rng = rng
        self.versions: dict[Any, list[Any]] = {}
        self.seen: dict[tuple[str, Any], int] = {}  # (client, key) -> newest version index seen

    def _key(self, body: dict[str, Any]) -> Any:
        key = body.get("key")
        return tuple(key) if isinstance(key, list) else key

    def _read_index(self, src: str, key: Any) -> int:
        latest = len(self.versions[key]) - 1
        if self.mode == "lin":
            return latest
        if self.mode == "seq":
            floor = self.seen.get((src, key), 0)
        else:
            floor = max(0, latest - LWW_WINDOW + 1)
        return self.rng.randint(min(floor, latest), latest)

    def handle(self, src: str, body: dict[str, Any]) -> dict[str, Any]:
        """The reply body (without ``in_reply_to``) to one request ``body`` from node ``src``."""
        kind = body.get("type")
        key = self._key(body)
        if kind == "read":
            if key not in self.versions:
                return _err(20, "key does not exist")
            i = self._read_index(src, key)
            self.seen[(src, key)] = max(i, self.seen.get((src, key), 0))
            return {"type": "read_ok", "value": self.versions[key][i]}
        if kind == "write":
            self._append(src, key, body.get("value"))
            return {"type": "write_ok"}
        if kind == "cas":
            if key not in self.versions:
                if not body.get("create_if_not_exists"):
                    return _err(20, "key does not exist")
                self._append(src, key, body.get("to"))
                return {"type": "cas_ok"}
            current = self.versions[key][-1]
            if current != body.get("from"):
                return _err(22, f"current value {current!r} is not {body.get('from')!r}")
            self._append(src, key, body.get("to"))
            return {"type": "cas_ok"}
        return _err(10, f"{self.mode}-kv does not support {kind!r}")

    def _append(self, src: str, key: Any, value: Any) -> None:
        versions = self.versions.setdefault(key, [])
        versions.append(value)
        self.seen[(src, key)] = len(versions) - 1


class TSOService:
    """``lin-tso``: strictly increasing timestamps."""

    def __init__(self) -> None:
        self.next = 0

    def handle(self, src: str, body: dict[str, Any]) -> dict[str, Any]:
        """``ts`` -> ``ts_ok`` with the next timestamp."""
        if body.get("type") != "ts":
            return _err(10, f"lin-tso does not support {body.get('type')!r}")
        self.next += 1
        return {"type": "ts_ok", "ts": self.next}


class Services:
    """Every service, by name; :meth:`handle` answers one message or says it is not for a service."""

    def __init__(self, rng: random.Random) -> None:
        self.by_name: dict[str, KVService | TSOService] = {
            "lin-kv": KVService("lin", random.Random(rng.random())),
            "seq-kv": KVService("seq", random.Random(rng.random())),
            "lww-kv": KVService("lww", random.Random(rng.random())),
            "lin-tso": TSOService(),
        }
        self.msg_ids = 0

    def handle(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        """The reply message to ``msg`` (a full ``{src, dest, body}``), or None if it needs none."""
        service = self.by_name.get(str(msg.get("dest")))
        body = msg.get("body")
        if service is None or not isinstance(body, dict) or "msg_id" not in body:
            return None
        src = str(msg.get("src"))
        reply = service.handle(src, body)
        self.msg_ids += 1
        reply = {**reply, "msg_id": self.msg_ids, "in_reply_to": body["msg_id"]}
        return {"src": msg.get("dest"), "dest": src, "body": reply}
