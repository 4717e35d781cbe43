"""Log entries and durable records of the primary/replica store.

The primary orders every mutating command by appending it to a log; replicas hold a prefix of that log.
An entry remembers which node received the client request (``origin``) and a cluster-unique id of the
request (``op_id``), so that:

* a duplicated ``forward`` message is recognised and not appended twice (applying a write twice at two
  log positions could resurrect an overwritten value, which is not linearizable), also after the primary
  restarted (the ids are rebuilt from the persisted log);
* the answer of an entry committed after a primary restart can still be routed to the node that holds
  the waiting client.

Durable records are small JSON objects with a ``"t"`` tag: ``boot`` (one per start, so op ids made
after a restart differ from those made before it) and ``entry``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BOOT = "boot"
ENTRY = "entry"


@dataclass(frozen=True, slots=True)
class Entry:
    """One log position: the command, where the request came in, and its cluster-unique id."""

    index: int  # 1-based log position
    cmd: dict[str, Any]
    origin: str
    op_id: str

    def to_json(self) -> dict[str, Any]:
        """The JSON form used both in ``append`` messages and in durable records."""
        return {"t": ENTRY, "i": self.index, "cmd": self.cmd, "origin": self.origin, "id": self.op_id}

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> Entry:
        """Parse the form written by :meth:`to_json`; raises ``KeyError``/``ValueError`` on bad input."""
        return Entry(int(obj["i"]), dict(obj["cmd"]), str(obj["origin"]), str(obj["id"]))


@dataclass(frozen=True, slots=True)
class Recovered:
    """What a node rebuilds from its durable records: how often it booted and its log."""

    boots: int
    entries: tuple[Entry, ...]


def recover(records: Sequence[Mapping[str, Any]]) -> Recovered:
    """Rebuild the boot count and the log from durable records (entries must be contiguous from 1)."""
    boots = 0
    entries: list[Entry] = []
    for rec in records:
        tag = rec.get("t")
        if tag == BOOT:
            boots += 1
        elif tag == ENTRY:
            entry = Entry.from_json(rec)
            if entry.index == len(entries) + 1:
                entries.append(entry)
            elif entry.index > len(entries) + 1:
                raise ValueError(f"durable log has a gap before entry {entry.index}")
            # an index at or below the current length is a re-persisted copy: already known.
    return Recovered(boots, tuple(entries))


def boot_record() -> dict[str, Any]:
    """The record persisted once per start."""
    return {"t": BOOT}


def _natural_key(node: str) -> tuple[Any, ...]:
    """Sort key that orders ``n2`` before ``n10``."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", node) if p)


def natural_sorted(nodes: Iterable[str]) -> list[str]:
    """Node ids in natural order (``n1, n2, ..., n10``)."""
    return sorted(nodes, key=_natural_key)


def primary_of(nodes: Iterable[str]) -> str:
    """The fixed primary: the lowest node id in natural order."""
    return natural_sorted(nodes)[0]
