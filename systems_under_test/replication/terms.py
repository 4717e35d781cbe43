"""Log entries and durable records of the failover variant: entries carry the term of their primary.

With failover, two primaries of different terms may have appended different entries at the same
index; the term tells them apart (a replica replaces an entry whose term differs from the current
primary's), and a durable ``entry`` record at an index the log already has *replaces* the tail from
there on. ``term`` records persist the current term and the vote cast in it: a node must never vote
twice in one term, also across a crash, or two primaries could be elected in the same term.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BOOT = "boot"
ENTRY = "entry"
TERM = "term"
NOOP = "noop"


@dataclass(frozen=True, slots=True)
class TermEntry:
    """One log position: index, the term of the primary that appended it, the command and its origin."""

    index: int
    term: int
    cmd: dict[str, Any]
    origin: str
    op_id: str

    def to_json(self) -> dict[str, Any]:
        """JSON form used in messages and durable records."""
        return {"t": ENTRY, "i": self.index, "term": self.term, "cmd": self.cmd, "origin": self.origin,
                "id": self.op_id}

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> TermEntry:
        """Parse :meth:`to_json`'s form; raises ``KeyError``/``ValueError``/``TypeError`` on bad input."""
        return TermEntry(
            int(obj["i"]), int(obj["term"]), dict(obj["cmd"]), str(obj["origin"]), str(obj["id"])
        )


@dataclass(frozen=True, slots=True)
class RecoveredTerms:
    """What a restarted node knows: boots, its term and vote, and its log."""

    boots: int
    term: int
    vote: str | None
    entries: tuple[TermEntry, ...]


def recover_terms(records: Sequence[Mapping[str, Any]]) -> RecoveredTerms:
    """Replay durable records: the last term record wins; an entry at an existing index cuts the tail."""
    boots, term, vote = 0, 0, None
    entries: list[TermEntry] = []
    for rec in records:
        tag = rec.get("t")
        if tag == BOOT:
            boots += 1
        elif tag == TERM:
            term, vote = int(rec["term"]), rec.get("vote")
        elif tag == ENTRY:
            entry = TermEntry.from_json(rec)
            if entry.index > len(entries) + 1:
                raise ValueError(f"durable log has a gap before entry {entry.index}")
            del entries[entry.index - 1 :]
            entries.append(entry)
    return RecoveredTerms(boots, term, vote, tuple(entries))


def term_record(term: int, vote: str | None) -> dict[str, Any]:
    """The record persisting the current term and this node's vote in it."""
    return {"t": TERM, "term": term, "vote": vote}
