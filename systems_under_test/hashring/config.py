"""Ring configurations: which nodes are members, numbered by epoch, and the transition between two.

A configuration is either *stable* (one member set) or a *transition* (``members`` -> ``joining``) while
data is handed off. During a transition every operation needs its quorum in the key's old replica set
**and** in its new one, so whichever way the change ends, each completed write sits on a quorum of the
nodes that will answer for the key. Epochs only grow; every replica message carries the sender's
configuration, a replica adopts a newer one it hears of and refuses requests made under an older one
(the coordinator then retries with the newer configuration) -- so no write can slip in under the old
configuration after a replica took its handoff snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from systems_under_test.hashring.ring import Ring


@dataclass(frozen=True, slots=True)
class RingConfig:
    """Members (and, during a transition, the next members) at one epoch."""

    epoch: int
    members: tuple[str, ...]
    joining: tuple[str, ...] | None = None  # the next member set while data is handed off

    @property
    def in_transition(self) -> bool:
        """True while handing off data to a new member set."""
        return self.joining is not None

    def everyone(self) -> tuple[str, ...]:
        """Members of the old and (if any) the new set."""
        return tuple(sorted(set(self.members) | set(self.joining or ())))

    def to_json(self) -> dict[str, Any]:
        """JSON form (carried in messages and durable records)."""
        return {"epoch": self.epoch, "members": list(self.members),
                "joining": None if self.joining is None else list(self.joining)}

    @staticmethod
    def from_json(raw: Mapping[str, Any]) -> RingConfig:
        """Decode the JSON form."""
        joining = raw.get("joining")
        return RingConfig(
            int(raw["epoch"]), tuple(raw["members"]), None if joining is None else tuple(joining)
        )


class Rings:
    """Builds rings on demand and caches them (building one hashes every virtual node)."""

    def __init__(self, vnodes: int) -> None:
        self.vnodes = vnodes
        self._cache: dict[tuple[str, ...], Ring] = {}

    def ring(self, members: Iterable[str]) -> Ring:
        """The ring over ``members``."""
        key = tuple(sorted(members))
        if key not in self._cache:
            self._cache[key] = Ring.build(key, self.vnodes)
        return self._cache[key]

    def replica_sets(self, cfg: RingConfig, key: str, n: int, *, both: bool = True) -> list[tuple[str, ...]]:
        """The key's replica set(s): the old one, plus the new one during a transition (if ``both``)."""
        sets = [self.ring(cfg.members).preference(key, n)]
        if cfg.joining is not None and both:
            sets.append(self.ring(cfg.joining).preference(key, n))
        return sets


def quorum(sets: list[tuple[str, ...]], answered: Iterable[str], q: int) -> bool:
    """True if ``answered`` holds at least ``q`` nodes (capped at the set's size) of every set."""
    got = set(answered)
    return all(len(got & set(s)) >= min(q, len(s)) for s in sets)
