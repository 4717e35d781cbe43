"""Turning a dependency cycle into a step-by-step argument a person can check by hand.

A cycle T1 -> T2 -> ... -> T1 is a proof that no serial order exists: each edge says "T_i must come
before T_i+1" for a reason visible in the history, and following them returns to T1. The text names the
transactions, quotes them, then gives each step's reason, ending with the contradiction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from checkers.elle.analysis import StepExplainer, op_summary
from checkers.elle.cycles import Cycle
from checkers.elle.graph import PROCESS, REALTIME, DepGraph
from checkers.elle.txn import Txn


def step(g: DepGraph, txns: Sequence[Txn], explain_data: StepExplainer, a: int, b: int, rel: int
         ) -> dict[str, Any]:
    """Why ``a`` precedes ``b`` through relation ``rel``, as a JSON-able step with a ``text`` template."""
    if rel == PROCESS:
        return {"type": "process", "process": txns[a].process,
                "text": f"process {txns[a].process!r} executed {{a}} before {{b}}"}
    if rel == REALTIME:
        return {"type": "realtime",
                "text": f"{{a}} completed (op {txns[a].op.index}) before {{b}} was invoked"}
    got = explain_data(a, b, rel)
    if got is None:  # should not happen: every data edge has a witness
        return {"type": "unexplained", "text": "{a} precedes {b} (no witness found)"}
    return got


def explain_cycle(g: DepGraph, txns: Sequence[Txn], explain_data: StepExplainer, cycle: Cycle,
                  kind: str) -> dict[str, Any]:
    """The JSON-able anomaly case for a cycle: the transactions, each step, and the rendered text."""
    verts, labels = cycle
    n = len(verts)
    names = {v: f"T{j + 1}" for j, v in enumerate(dict.fromkeys(verts))}
    steps = []
    lines = ["Let:"]
    for v in dict.fromkeys(verts):
        lines.append(f"  {names[v]} = {txns[v].describe()}")
    lines.append("Then:")
    for i in range(n):
        a, b = verts[i], verts[(i + 1) % n]
        st = step(g, txns, explain_data, a, b, labels[i])
        text = st.pop("text").format(a=names[a], b=names[b])
        st["text"] = text
        steps.append(st)
        lead = "However, " if i == n - 1 else ""
        tail = ": a contradiction!" if i == n - 1 else "."
        lines.append(f"  - {lead}{names[a]} < {names[b]}, because {text}{tail}")
    return {
        "type": kind,
        "cycle": [op_summary(txns[v]) for v in [*verts, verts[0]]],
        "steps": steps,
        "explanation": "\n".join(lines),
    }
