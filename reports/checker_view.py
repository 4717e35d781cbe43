"""Per-checker sections of the run report: each checker's verdict, its explanation and its evidence.

Checkers differ in what proves a violation — a linearizability counterexample, Elle's cycles with their
text explanation, a set's lost elements, a 2PC transaction visible on only some participants, a lock's
fencing violations, a bank read with the wrong total — but they all put it in ``details`` under a few
conventional names (``anomalies``, ``errors``, ``lost``, ...). The section lists those first, with
their own explanations where the checker wrote one, and keeps the full details one click away.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_CASES = 5
MAX_TEXT = 4000
MAX_DETAILS = 200_000
# details keys that hold evidence, in display order, with the heading shown for them
EVIDENCE = {
    "anomalies": "Anomalies",
    "errors": "Errors",
    "lost": "Lost elements",
    "duplicated": "Duplicated",
    "stale": "Stale elements",
    "never-read": "Never read",
    "partial": "Partial transactions",
    "violations": "Violations",
    "invalid_keys": "Invalid keys",
    "unknown_keys": "Keys the checker could not decide",
    "not": "Consistency models ruled out",
}


def verdict_word(valid: Any) -> str:
    """``valid`` / ``INVALID`` / ``unknown``."""
    return "valid" if valid is True else "INVALID" if valid is False else "unknown"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " …"


def _case_text(case: Any) -> str:
    if isinstance(case, str):
        return _clip(case)
    if isinstance(case, Mapping) and isinstance(case.get("explanation"), str):
        return _clip(case["explanation"])
    return _clip(json.dumps(case, default=str, indent=None, separators=(", ", ": ")))


def _evidence(details: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, title in EVIDENCE.items():
        v = details.get(key)
        if not v:
            continue
        if isinstance(v, Mapping):
            for kind, cases in v.items():
                seq = cases if isinstance(cases, list) else [cases]
                if isinstance(cases, Mapping) and "first" in cases:  # summarized: count, first, worst
                    seq = [c for c in (cases.get("first"), cases.get("worst")) if c is not None]
                out.append({"title": f"{title}: {kind}", "count": cases.get("count", len(seq))
                            if isinstance(cases, Mapping) else len(seq),
                            "cases": [_case_text(c) for c in seq[:MAX_CASES]]})
        elif isinstance(v, list):
            out.append({"title": title, "count": len(v), "cases": [_case_text(c) for c in v[:MAX_CASES]]})
        else:
            out.append({"title": title, "count": 1, "cases": [_case_text(v)]})
    return out


def _details_text(details: Mapping[str, Any]) -> str:
    text = json.dumps(details, indent=2, sort_keys=True, default=str)
    return text if len(text) <= MAX_DETAILS else text[:MAX_DETAILS] + "\n… (cut here; results.json has it all)"


def _is_result(d: Any) -> bool:
    return isinstance(d, Mapping) and "valid" in d and isinstance(d.get("details", {}), Mapping)


def checker_sections(result: Mapping[str, Any], name: str = "") -> list[dict[str, Any]]:
    """One section per leaf checker (a ``compose`` result is expanded into its named parts)."""
    details = result.get("details") or {}
    if result.get("checker") == "compose" and isinstance(details, Mapping) and all(
            _is_result(v) for v in details.values()):
        out: list[dict[str, Any]] = []
        for sub_name, sub in details.items():
            out.extend(checker_sections(sub, f"{name}/{sub_name}" if name else str(sub_name)))
        return out
    details = details if isinstance(details, Mapping) else {"value": details}
    return [{
        "name": name or str(result.get("checker", "checker")),
        "checker": str(result.get("checker", "")),
        "valid": result.get("valid"),
        "verdict": verdict_word(result.get("valid")),
        "explanation": _clip(str(result.get("explanation") or "")),
        "evidence": _evidence(details),
        "details": _details_text(details),
    }]
