"""A replica's versioned key-value store.

Each key holds ``(version, value)``; a version is ``[counter, writer]`` where the writer string is
unique per write (node, boot nonce, sequence number) so two writes never share a version. A replica
keeps the higher version of what it has and what it is sent -- the order of arrival does not matter,
which is what makes quorum reads, read repair and handoff safe to repeat. Every accepted version is
persisted before the replica acknowledges it. ``install`` (a bulk load that overwrites whatever version
is there) and ``drop`` (forget a key this node no longer replicates) are used only by the
``hashring:lost-handoff`` variant -- overwriting regardless of version is its bug; both are persisted
too, so a restart replays them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Version = tuple[int, str]
NO_VERSION: Version = (0, "")


def version_of(raw: Any) -> Version:
    """Decode ``[counter, writer]`` (or None) into a comparable version."""
    return NO_VERSION if raw is None else (int(raw[0]), str(raw[1]))


class Store:
    """Key -> (version, value)."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[Version, Any]] = {}

    def recover(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Replay durable ``kv``, ``set`` and ``drop`` records in order (``kv`` keeps the higher version)."""
        for rec in records:
            if rec.get("t") == "kv":
                self.put(str(rec["key"]), version_of(rec["version"]), rec["value"])
            elif rec.get("t") == "set":
                self.items[str(rec["key"])] = (version_of(rec["version"]), rec["value"])
            elif rec.get("t") == "drop":
                self.items.pop(str(rec["key"]), None)

    def get(self, key: str) -> tuple[Version, Any]:
        """The stored version and value (``NO_VERSION, None`` if absent)."""
        return self.items.get(key, (NO_VERSION, None))

    def put(self, key: str, version: Version, value: Any) -> dict[str, Any] | None:
        """Keep ``(version, value)`` if newer; returns the record to persist, or None if nothing changed."""
        if version <= self.get(key)[0]:
            return None
        self.items[key] = (version, value)
        return {"t": "kv", "key": key, "version": list(version), "value": value}

    def drop(self, key: str) -> dict[str, Any] | None:
        """Forget ``key``; returns the record to persist, or None if it was not stored."""
        if self.items.pop(key, None) is None:
            return None
        return {"t": "drop", "key": key}

    def install(self, key: str, version: Version, value: Any) -> dict[str, Any]:
        """Overwrite ``key`` whatever version it holds (a bulk load); returns the record to persist."""
        self.items[key] = (version, value)
        return {"t": "set", "key": key, "version": list(version), "value": value}
