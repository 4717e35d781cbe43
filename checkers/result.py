"""Checker results and how they compose (DESIGN §7): validity merges as ``False > "unknown" > True``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Validity = bool | Literal["unknown"]
UNKNOWN: Literal["unknown"] = "unknown"


def merge_validity(values: Iterable[Validity]) -> Validity:
    """Combine verdicts: any False wins, then any "unknown", else True (an empty input is True)."""
    seen_unknown = False
    for v in values:
        if v is False:
            return False
        if v == UNKNOWN:
            seen_unknown = True
    return UNKNOWN if seen_unknown else True


@dataclass(frozen=True, slots=True)
class Result:
    """A checker's verdict with JSON-able details (anomalies, counterexample, stats)."""

    checker: str
    valid: Validity
    details: Mapping[str, Any] = field(default_factory=dict)
    explanation: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object stored in ``results.json``."""
        return {
            "checker": self.checker,
            "valid": self.valid,
            "explanation": self.explanation,
            "details": dict(self.details),
        }


def compose(results: Mapping[str, Result]) -> Result:
    """Merge named sub-results into one ``compose`` result keyed by name."""
    return Result(
        checker="compose",
        valid=merge_validity(r.valid for r in results.values()),
        details={name: r.to_dict() for name, r in results.items()},
    )


def exit_code(valid: Validity) -> int:
    """Jepsen's exit codes: 0 valid, 1 invalid, 2 unknown."""
    if valid is True:
        return 0
    if valid is False:
        return 1
    return 2
