"""Per-checker sections of the run report: each checker's verdict, its reason, explanation and evidence.

Checkers differ in what proves a violation — a linearizability counterexample, Elle's cycles with their
text explanation, a set's lost elements, a 2PC transaction visible on only some participants, a lock's
fencing violations, a bank read with the wrong total — but each says so in the typed fields of its
:class:`checkers.result.Result`: ``evidence`` groups the cases under a title, ``reason`` is the
one-line summary. A composed result shows one section per part; the full details stay one click away.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from checkers.result import Evidence, Result

MAX_CASES = 5
MAX_TEXT = 4000
MAX_DETAILS = 200_000


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " …"


def case_text(case: Any) -> str:
    """One evidence case as text: its own explanation when it has one, else compact JSON."""
    if isinstance(case, str):
        return _clip(case)
    if isinstance(case, Mapping) and isinstance(case.get("explanation"), str):
        return _clip(case["explanation"])
    return _clip(json.dumps(case, default=str, indent=None, separators=(", ", ": ")))


def _evidence(evidence: tuple[Evidence, ...]) -> list[dict[str, Any]]:
    return [{"title": e.title, "kind": e.kind, "count": e.count,
             "cases": [case_text(c) for c in e.cases[:MAX_CASES]]} for e in evidence]


def _details_text(details: Mapping[str, Any]) -> str:
    text = json.dumps(details, indent=2, sort_keys=True, default=str)
    return (
        text if len(text) <= MAX_DETAILS else text[:MAX_DETAILS] + "\n… (cut here; results.json has it all)"
    )


def checker_sections(result: Result) -> list[dict[str, Any]]:
    """One section per leaf checker (a composed result is expanded into its named parts)."""
    return [{
        "name": name,
        "checker": leaf.checker,
        "valid": leaf.valid,
        "verdict": leaf.verdict,
        "verdict_class": leaf.verdict.lower(),
        "reason": leaf.reason,
        "explanation": _clip(leaf.explanation) if leaf.explanation.strip() != leaf.reason else "",
        "evidence": _evidence(leaf.evidence),
        "details": _details_text(leaf.details),
    } for name, leaf in result.leaves()]
