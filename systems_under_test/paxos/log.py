"""The learner half: the chosen log, applied in slot order to the shared key-value state machine.

Every replica applies the same chosen commands in the same slot order, so they reach the same state and
compute the same answers (``systems_under_test.kv.apply`` is a pure function). A client request may be
proposed more than once -- its receiving node re-forwards it after a leader change, and an old leader's
proposal of it may survive in the log next to a new leader's -- so each command carries the request's
unique ``id`` and a command whose id was already applied is skipped: the first occurrence decides both
the effect and the answer. The chosen log itself is volatile: a restarted node learns it again from the
leader (catch-up) or, as a new leader, from the acceptors' accepted values (phase 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from systems_under_test import kv

NOOP: dict[str, Any] = {"type": "noop"}
"""Fills a slot that a new leader found empty in phase 1, so later slots can be applied."""


@dataclass(frozen=True, slots=True)
class Applied:
    """One command applied to the state machine: its id (or None) and the client answer it produced."""

    slot: int
    cmd_id: str | None
    body: dict[str, Any] | None  # None for no-ops and skipped duplicates


class Learner:
    """The chosen log and the state machine fed from it."""

    def __init__(self) -> None:
        self.chosen: dict[int, dict[str, Any]] = {}
        self.applied = 0  # slots [0, applied) are chosen and applied: the commit index
        self.state: dict[str, Any] = {}
        self.results: dict[str, dict[str, Any]] = {}  # request id -> answer, for dedupe
        self._top = 0  # one past the highest slot ever learned (the log only grows; kept, not recomputed)

    @property
    def max_known(self) -> int:
        """One past the highest slot known to be chosen (>= ``applied``)."""
        return max(self._top, self.applied)

    def learn(self, slot: int, cmd: dict[str, Any]) -> bool:
        """Record that ``cmd`` was chosen in ``slot``; True if that was news."""
        if slot < self.applied or slot in self.chosen:
            return False
        self.chosen[slot] = cmd
        if slot >= self._top:
            self._top = slot + 1
        return True

    def is_chosen(self, slot: int) -> bool:
        """True if the value of ``slot`` is known to be chosen."""
        return slot < self.applied or slot in self.chosen

    def apply_ready(self) -> list[Applied]:
        """Apply every chosen slot that directly follows the applied prefix, in order."""
        out: list[Applied] = []
        while self.applied in self.chosen:
            slot = self.applied
            cmd = self.chosen[slot]
            self.applied += 1
            cmd_id = cmd.get("id")
            if cmd.get("type") == "noop" or (cmd_id is not None and cmd_id in self.results):
                out.append(Applied(slot, None, None))
                continue
            body = kv.apply(self.state, cmd)
            if cmd_id is not None:
                self.results[str(cmd_id)] = body
            out.append(Applied(slot, None if cmd_id is None else str(cmd_id), body))
        return out

    def entries(self, first: int, last: int) -> list[list[Any]]:
        """Chosen commands of slots ``[first, last)`` that are known, as rows ``[slot, cmd]``."""
        return [[s, self.chosen[s]] for s in range(max(first, 0), last) if s in self.chosen]
