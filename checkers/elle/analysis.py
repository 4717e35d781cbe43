"""What a workload analysis (list-append, rw-register) hands to the cycle search.

Each workload turns transactions into a dependency graph plus a set of non-cyclic anomaly cases, and
knows how to justify any single edge of its graph in words ("T2 observed T1's append of 3 to key 7"):
cycle explanations are assembled from those justifications.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from checkers.elle.graph import DepGraph
from checkers.elle.txn import Txn

# Explains one edge a -> b under one relation; returns a JSON-able step with at least "type" and
# "text" (the text names the transactions by the placeholders {a} and {b}), or None if it cannot.
StepExplainer = Callable[[int, int, int], "dict[str, Any] | None"]


class MalformedTxn(ValueError):
    """A transaction whose micro-ops the workload cannot interpret (reported as ``unknown``)."""


@dataclass(slots=True)
class Analysis:
    """The graph, the non-cyclic anomaly cases found on the way, and an edge explainer."""

    txns: Sequence[Txn]
    graph: DepGraph
    explain_step: StepExplainer
    anomalies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, kind: str, case: dict[str, Any]) -> None:
        """Record one case of a non-cyclic anomaly."""
        self.anomalies.setdefault(kind, []).append(case)


def hashable(x: Any) -> Any:
    """Lists (as decoded from JSON) become tuples so they can key dicts; other values pass through."""
    if isinstance(x, list):
        return tuple(hashable(e) for e in x)
    return x


def op_summary(t: Txn) -> dict[str, Any]:
    """A JSON-able reference to a transaction for anomaly reports."""
    return {"index": t.op.index, "process": t.process, "type": t.type, "value": t.mops}
