"""Planted-bug variants of the two-phase-commit store: each a classic 2PC shortcut.

Both run normally while nothing fails; each is exposed only by one particular fault at one particular
moment -- exactly what a nemesis schedule and a bank or Elle checker are for.
"""

from __future__ import annotations

from systems_under_test.core import Effect, Log
from systems_under_test.twopc.core import TwoPCCore
from systems_under_test.twopc.participant import COMMIT


class UnilateralCommitCore(TwoPCCore):
    """``twopc:unilateral-commit``: an in-doubt participant gives up waiting and commits on its own.

    The tempting fix for 2PC's blocking. It is wrong because a participant that voted YES cannot know the
    outcome: another participant may have voted NO, or the coordinator may have timed out and aborted.
    Cut a participant off from the coordinator after its YES vote and it commits half of an aborted
    transfer -- money appears or vanishes, and a client that was told ``fail`` sees its effect.
    """

    def on_doubt(self, now: float, txid: str) -> list[Effect]:
        """Commit alone once the doubt timer fires (missing: keep asking and wait)."""
        if txid not in self.participant.prepared:
            return []
        return [Log(f"tired of waiting for {txid}: committing unilaterally"),
                *self.participant.finish(txid, COMMIT, why="unilateral")]


class NoDecisionLogCore(TwoPCCore):
    """``twopc:no-decision-log``: the coordinator keeps its COMMIT decisions only in memory.

    The decision is still sent before the client hears ``ok``, so nothing looks wrong until the
    coordinator crashes while some participant has not yet received COMMIT. After the restart the
    coordinator has no record, presumes ABORT, and that participant rolls back its half of a transaction
    whose other half (and whose client) already saw it committed.
    """

    log_decisions = False
