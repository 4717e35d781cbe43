"""Proving a model violated without naming the cycle: "some cycle exists in this projection".

A model forbids cycles in a particular projection of the dependency graph — read-committed in the ww+wr
edges, serializable in ww+wr+rw, strict-serializable once real-time edges are added, snapshot isolation
in the *sequential extension* of ww+wr by rw (an rw edge may only follow a non-rw one: the graph with the
ww/wr edges plus an edge a -> c for every a -ww/wr-> b -rw-> c). Finding a strongly connected component
there is linear and needs no search budget, so it settles the verdict even when the search for a named,
explained cycle gives up, and it uses *every* relation of an edge — a pair of transactions both
real-time ordered and anti-dependent counts as either — where explanations name one.

Each projection that has a cycle yields a ``<model>-cycle-exists`` anomaly (Elle's names), reported only
when no named anomaly already rules that model out, and only for the weakest such models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from checkers.elle import models
from checkers.elle.graph import PROCESS, REALTIME, RW, WR, WW, DepGraph, sccs
from checkers.elle.txn import Txn


@dataclass(frozen=True, slots=True)
class ExistsSpec:
    """A model and the projection that must be acyclic under it."""

    model: str  # canonical name
    base: int  # relations of the projection
    extension: int  # if set: relations that may follow a base edge (sequential extension)

    @property
    def type(self) -> str:
        """The anomaly name (Elle's)."""
        return f"{self.model}-cycle-exists"

    def describe(self) -> str:
        """The projection in words, e.g. ``ww+wr then rw``."""
        def names(bits: int) -> str:
            return "+".join(n for b, n in ((WW, "ww"), (WR, "wr"), (RW, "rw"), (PROCESS, "process"),
                                           (REALTIME, "realtime")) if bits & b)
        return names(self.base) + (f", extended by {names(self.extension)}" if self.extension else "")


SPECS: tuple[ExistsSpec, ...] = (
    ExistsSpec("PL-1", WW, 0),
    ExistsSpec("PL-2", WW | WR, 0),
    ExistsSpec("PL-SI", WW | WR, RW),
    ExistsSpec("PL-2.99", WW | WR | RW, 0),
    ExistsSpec("PL-3", WW | WR | RW, 0),
    ExistsSpec("strong-session-PL-1", WW | PROCESS, 0),
    ExistsSpec("strong-session-PL-2", WW | WR | PROCESS, 0),
    ExistsSpec("strong-session-snapshot-isolation", WW | WR | PROCESS, RW),
    ExistsSpec("strong-session-serializable", WW | WR | RW | PROCESS, 0),
    ExistsSpec("strong-PL-1", WW | REALTIME, 0),
    ExistsSpec("strong-PL-2", WW | WR | REALTIME, 0),
    ExistsSpec("strong-snapshot-isolation", WW | WR | REALTIME, RW),
    ExistsSpec("PL-SS", WW | WR | RW | REALTIME, 0),
)
TYPES = frozenset(s.type for s in SPECS)


def _cycle_in(g: DepGraph, comp: Sequence[int], spec: ExistsSpec) -> list[int] | None:
    """The smallest cyclic component of the projection restricted to ``comp``, or None."""
    if not spec.extension:
        found = sccs(g, comp, spec.base)
        return min(found, key=len) if found else None
    members = set(comp)
    local = {v: i for i, v in enumerate(comp)}
    ext = DepGraph(len(comp))
    succ = g.succ
    for a in comp:
        ia = local[a]
        for b, bits in succ[a].items():
            if b not in members or not bits & spec.base:
                continue
            ext.link(ia, local[b], WW)
            for c, bits2 in succ[b].items():
                if c in members and bits2 & spec.extension:
                    if c == a:
                        return [a]  # a -base-> b -rw-> a: a one-transaction cycle of the extension
                    ext.link(ia, local[c], WW)
    found = sccs(ext)
    return [comp[i] for i in min(found, key=len)] if found else None


def cases(g: DepGraph, txns: Sequence[Txn], comps: Sequence[Sequence[int]], wanted: set[str],
          already_impossible: set[str]) -> list[dict[str, Any]]:
    """Cycle-exists cases for the specs whose type is in ``wanted``, weakest models first, skipping
    models ruled out already (by named anomalies, or by a weaker cycle found here)."""
    out: list[dict[str, Any]] = []
    redundant = set(already_impossible)
    for spec in SPECS:
        if spec.type not in wanted or spec.model in redundant:
            continue
        best: list[int] | None = None
        for comp in comps:
            c = _cycle_in(g, comp, spec)
            if c is not None and (best is None or len(c) < len(best)):
                best = c
        if best is None:
            continue
        out.append({"type": spec.type, "not": models.friendly(spec.model), "subgraph": spec.describe(),
                    "scc-size": len(best), "scc": sorted(txns[v].op.index for v in best)})
        redundant |= models.impossible_models_of(spec.model)
    return out
