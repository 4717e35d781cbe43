"""What a run actually tested, and when a checker's ``valid`` must not pass as a clean success.

A checker judges the history it is given; it cannot know that the history is nearly empty of
information. Three situations make a "valid" misleading, and each turns the verdict into ``unknown``
(exit 2) with the reason on the verdict line and at the top of the report:

* **Cut short.** The run did not reach its end (harness killed, interrupted): the history is valid *as
  far as it went*, which is not the test that was asked for.
* **Mostly indeterminate.** When more than half of the client operations that completed ended ``info``
  (no answer, the outcome unknown) or could not reach a node at all, the cluster was effectively gone
  — nodes removed from under the run, a machine frozen — and a linearizability check of what is left
  says almost nothing. An ``invalid`` verdict stays ``invalid``: an anomaly that was found is real.
* **No fault took effect.** A run whose schedule planned faults where none took effect (every one
  failed, or the nodes were gone) did not test what was asked. When the run was too short for any
  fault to be planned at all, the verdict stays but the verdict line says so loudly.

Faults are counted as faults: a partition and its heal are one fault, so only fault *starts* that took
effect (journaled without an error, with at least one target) count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checkers.history import FAIL, INFO, INVOKE, OK, Op
from checkers.result import UNKNOWN, Result
from nemesis.faults import UNDO_OF, FaultKind

INDETERMINATE_SHARE = 0.5
_STARTS = {k.value for k in UNDO_OF}


@dataclass(frozen=True, slots=True)
class FaultSummary:
    """Faults that took effect, by kind, and the requested kinds that never did."""

    counts: Mapping[str, int]
    missing: tuple[str, ...]  # requested fault kinds (history f of their start) that never took effect
    requested: bool
    planned: int = 0  # fault starts the schedule held

    @property
    def total(self) -> int:
        """How many faults took effect."""
        return sum(self.counts.values())

    def phrase(self) -> str:
        """``3 faults (2 start-partition, 1 kill)`` plus what never took effect, for the verdict line."""
        if not self.requested:
            return "no faults requested"
        parts = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items()))
        text = f"{self.total} fault{'s' if self.total != 1 else ''}" + (f" ({parts})" if parts else "")
        if self.total == 0 and self.planned == 0:
            return text + ": NO FAULT WAS SCHEDULED (the run is shorter than the nemesis interval)"
        if self.total == 0:
            return text + f": NONE OF {self.planned} PLANNED FAULTS TOOK EFFECT, fault tolerance was not tested"
        if self.missing:
            text += f"; never took effect: {', '.join(self.missing)}"
        return text

    def to_json(self) -> dict[str, Any]:
        """For results.json."""
        return {"counts": dict(self.counts), "total": self.total, "missing": list(self.missing),
                "requested": self.requested, "planned": self.planned}

    def downgrade_reason(self) -> str | None:
        """Why a valid verdict cannot stand: faults were planned and not one took effect."""
        if self.requested and self.planned and self.total == 0:
            return f"none of the {self.planned} planned faults took effect: fault tolerance was not tested"
        return None


def _took_effect(op: Op) -> bool:
    if op.is_client or op.f not in _STARTS or op.error is not None:
        return False
    return op.value not in (None, [], {}, "")


def fault_summary(ops: Iterable[Op], requested_kinds: Sequence[str], planned: int = 0) -> FaultSummary:
    """Count fault starts that took effect; ``requested_kinds`` are the start ``f`` names asked for."""
    counts: dict[str, int] = {}
    for op in ops:
        if _took_effect(op):
            counts[op.f] = counts.get(op.f, 0) + 1
    missing = tuple(k for k in dict.fromkeys(requested_kinds) if k not in counts)
    return FaultSummary(counts, missing, bool(requested_kinds), planned)


def requested_kinds(nemesis: Sequence[str], schedule: Sequence[Mapping[str, Any]] | None,
                    system: str | None = None) -> list[str]:
    """The fault-start kinds a spec asks for: its schedule's starts, else its packages' starts."""
    if schedule is not None:
        return [str(e.get("f")) for e in schedule if str(e.get("f")) in _STARTS]
    from nemesis.packages import resolve_packages

    out: list[str] = []
    for pkg in resolve_packages(nemesis, system):
        for kind in pkg.starts:
            if kind is FaultKind.STROBE_CLOCK and FaultKind.BUMP_CLOCK in pkg.starts:
                continue  # clock:any draws one of the two; either counts
            out.append(kind.value)
    return out


def indeterminate_reason(ops: Iterable[Op]) -> str | None:
    """Why the history says too little to call it valid (the cluster was gone), or None.

    Three conditions, all needed: more than half of all client operations were lost (ended ``info``,
    never completed, or found no node); so were more than half of the operations sent to each node; and
    the cluster still answered nothing at the end (no ``ok`` among the last tenth of the completions,
    which hold the final reads). The second keeps a run with heavy crash faults — one node down much of
    the time while the others serve — from being mistaken for a cluster that vanished; the third keeps a
    run whose faults took the whole cluster down often (kill:all) but that answered again after the heal:
    that cluster was tested.
    """
    invoked: dict[Any, int] = {}
    lost: dict[Any, int] = {}
    info = unreachable = 0
    outcomes: list[str] = []
    for op in ops:
        if not op.is_client:
            continue
        if op.type == INVOKE:
            invoked[op.node] = invoked.get(op.node, 0) + 1
            lost[op.node] = lost.get(op.node, 0) + 1  # until it completes with an answer
            continue
        outcomes.append(op.type)
        if op.type == INFO:
            info += 1
        elif op.type == FAIL and isinstance(op.error, list) and op.error[:1] == ["unreachable"]:
            unreachable += 1
        else:
            lost[op.node] = lost.get(op.node, 0) - 1
    total, total_lost = sum(invoked.values()), sum(lost.values())
    if total == 0 or total_lost <= INDETERMINATE_SHARE * total:
        return None
    if any(lost[n] <= INDETERMINATE_SHARE * invoked[n] for n in invoked):
        return None  # some node kept answering: faults, not a vanished cluster
    if OK in outcomes[-max(3, len(outcomes) // 10):]:
        return None  # the cluster answered again at the end: it was there, only down for a while
    never = total_lost - info - unreachable
    return (f"{total_lost} of {total} operations were indeterminate or found no node ({info} info, "
            f"{unreachable} unreachable{f', {never} unanswered' if never > 0 else ''}) on every node: "
            "the cluster was gone for most of the run, so nothing was tested")


def downgrade(result: Result, reason: str) -> Result:
    """``result`` turned from valid into unknown with ``reason`` first in its explanation."""
    if result.valid is not True:
        return result
    text = reason + (f"\n{result.explanation}" if result.explanation else "")
    return dataclasses.replace(result, valid=UNKNOWN, explanation=text, reason=reason)


def cut_short_reason(phase: str | None) -> str:
    """The words for a run that did not reach its end."""
    return f"valid as far as it went (cut short in phase {phase or 'unknown'})"
