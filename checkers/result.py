"""Checker results: one typed contract from a checker to the CLI, the store and the report (DESIGN §7).

A checker returns a :class:`Result`: the verdict (``valid``: True, False or ``"unknown"``), a one-line
``reason`` a person can read next to the verdict, a longer ``explanation``, and the facts a report
draws from — the ``counterexample`` (linearizability), the ``blamed`` history indices, the offending
``key`` and the ``evidence`` (named groups of cases such as lost elements or wrong totals). ``details``
keeps each checker's own statistics as JSON-able data; nothing downstream has to search it for
conventional key names, because everything it needs has a field.

This module is also the one place that maps a verdict to its word (``VALID`` / ``INVALID`` /
``UNKNOWN``) and to Jepsen's exit code, and that defines the exit codes a run can end with.
Validity merges as ``False > "unknown" > True``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Validity = bool | Literal["unknown"]
UNKNOWN: Literal["unknown"] = "unknown"

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNKNOWN = 2
EXIT_BAD_INPUT = 254  # the user's input cannot be run or read
EXIT_CRASHED = 255  # the harness or a checker crashed: no verdict

MAX_REASON = 240


def merge_validity(values: Iterable[Validity]) -> Validity:
    """Combine verdicts: any False wins, then any "unknown", else True (an empty input is True)."""
    seen_unknown = False
    for v in values:
        if v is False:
            return False
        if v == UNKNOWN:
            seen_unknown = True
    return UNKNOWN if seen_unknown else True


def verdict_word(valid: object) -> str:
    """The verdict's word, the same in the terminal, results.json and reports: VALID, INVALID or UNKNOWN."""
    if valid is True:
        return "VALID"
    if valid is False:
        return "INVALID"
    return "UNKNOWN"


def exit_code(valid: object) -> int:
    """Jepsen's exit codes: 0 valid, 1 invalid, 2 unknown."""
    if valid is True:
        return EXIT_VALID
    if valid is False:
        return EXIT_INVALID
    return EXIT_UNKNOWN


def parse_validity(v: object) -> Validity:
    """A stored ``valid`` value back as a :data:`Validity` (anything unrecognised is unknown)."""
    return v if isinstance(v, bool) else UNKNOWN


def _int_or_none(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def one_line(text: str, limit: int = MAX_REASON) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


@dataclass(frozen=True)
class OpRef:
    """A history op a counterexample names, described in the model's own words.

    Not slotted: a counterexample names every op of its prefix, and :meth:`of` builds one from its
    fields several times faster than a frozen dataclass's ``__init__`` can.
    """

    index: int | None
    complete_index: int | None
    process: Any
    f: str
    type: str
    value: Any
    invoke_time: int | None
    complete_time: int | None
    description: str
    order: int | None = None  # position in the linearization (prefix ops only)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the shape ``checkers.linearizability`` has always stored)."""
        out = {"index": self.index, "complete_index": self.complete_index, "process": self.process,
               "f": self.f, "type": self.type, "value": self.value, "invoke_time": self.invoke_time,
               "complete_time": self.complete_time, "description": self.description}
        if self.order is not None:
            out["order"] = self.order
        return out

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> OpRef:
        """An OpRef with exactly these field values, each already of its field's type (``order`` may be
        left out): what :meth:`from_dict` of them gives, without its checks."""
        obj = object.__new__(cls)
        obj.__dict__.update(fields)
        return obj

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OpRef:
        """Rebuild from :meth:`to_dict` output."""
        return cls(_int_or_none(d.get("index")), _int_or_none(d.get("complete_index")), d.get("process"),
                   str(d.get("f", "")), str(d.get("type", "")), d.get("value"),
                   _int_or_none(d.get("invoke_time")), _int_or_none(d.get("complete_time")),
                   str(d.get("description") or f"{d.get('f')} {d.get('value')!r}"),
                   _int_or_none(d.get("order")))


@dataclass(frozen=True, slots=True)
class Counterexample:
    """Why a key is not linearizable: the longest linearizable prefix (in linearization order), the op
    that cannot follow it, the states the prefix can leave, and the ops concurrent with the stuck one."""

    key: Any
    op: OpRef
    prefix: tuple[OpRef, ...] = ()
    prefix_states: tuple[str, ...] = ()
    concurrent: tuple[OpRef, ...] = ()
    explanation: str = ""
    refuted_up_front: bool = False

    @property
    def blamed(self) -> tuple[int, ...]:
        """History indices of the stuck op (invocation and completion)."""
        return tuple(i for i in (self.op.index, self.op.complete_index) if i is not None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"key": self.key, "op": self.op.to_dict(), "prefix": [p.to_dict() for p in self.prefix],
                "prefix_states": list(self.prefix_states),
                "concurrent": [c.to_dict() for c in self.concurrent],
                "refuted_up_front": self.refuted_up_front, "explanation": self.explanation}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Counterexample:
        """Rebuild from :meth:`to_dict` output (also what the linearizability checker builds)."""
        return cls(
            key=d.get("key"),
            op=OpRef.from_dict(d["op"]),
            prefix=tuple(OpRef.from_dict(p) for p in d.get("prefix", ()) if isinstance(p, Mapping)),
            prefix_states=tuple(str(s) for s in d.get("prefix_states", ())),
            concurrent=tuple(OpRef.from_dict(p) for p in d.get("concurrent", ()) if isinstance(p, Mapping)),
            explanation=str(d.get("explanation", "")),
            refuted_up_front=bool(d.get("refuted_up_front")),
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """One named group of cases that proves (or qualifies) a verdict, e.g. 3 ``lost`` elements.

    ``cases`` are JSON-able (a string, an element, or an object — often with the history op it is
    about under ``"op"``); ``count`` is how many there were in all (``cases`` may list fewer).
    """

    kind: str
    title: str
    count: int
    cases: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"kind": self.kind, "title": self.title, "count": self.count, "cases": list(self.cases)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Evidence:
        """Rebuild from :meth:`to_dict` output."""
        cases = tuple(d.get("cases", ()))
        count = _int_or_none(d.get("count"))
        return cls(str(d.get("kind", "")), str(d.get("title") or d.get("kind", "")),
                   len(cases) if count is None else count, cases)


def op_indices(cases: Iterable[Any]) -> tuple[int, ...]:
    """History indices of the ops that evidence cases name (under ``"op"``, ``"ops"``, ``"cycle"``, ...).

    A helper for checkers filling :attr:`Result.blamed` from the cases they built themselves.
    """
    out: list[int] = []
    for case in cases:
        if not isinstance(case, Mapping):
            continue
        for name in ("op", "write", "writer", "later", "earlier", "after"):
            op = case.get(name)
            if isinstance(op, Mapping) and _int_or_none(op.get("index")) is not None:
                out.append(op["index"])
        for name in ("ops", "cycle", "txns"):
            for op in case.get(name, ()) if isinstance(case.get(name), list) else ():
                if isinstance(op, Mapping) and _int_or_none(op.get("index")) is not None:
                    out.append(op["index"])
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class Result:
    """A checker's verdict, its one-line reason and the typed facts behind it.

    ``Result(checker, valid, details, explanation)`` keeps working: every other field has a default,
    and ``reason`` defaults to the explanation's first line.
    """

    checker: str
    valid: Validity
    details: Mapping[str, Any] = field(default_factory=dict)
    explanation: str = ""
    reason: str = ""
    counterexample: Counterexample | None = None
    blamed: tuple[int, ...] = ()
    key: Any = None
    evidence: tuple[Evidence, ...] = ()
    parts: Mapping[str, Result] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.reason:
            object.__setattr__(self, "reason", one_line(self.explanation) or _default_reason(self.valid))

    @property
    def verdict(self) -> str:
        """VALID / INVALID / UNKNOWN."""
        return verdict_word(self.valid)

    @property
    def exit_code(self) -> int:
        """Jepsen's exit code for this verdict."""
        return exit_code(self.valid)

    def summary(self) -> str:
        """``VERDICT: reason`` — the line the CLI prints and the report's banner shows."""
        return f"{self.verdict}: {self.reason}"

    def leaves(self) -> list[tuple[str, Result]]:
        """``(name, result)`` of every leaf checker (a composed result expands into its parts)."""
        if not self.parts:
            return [(self.checker, self)]
        out: list[tuple[str, Result]] = []
        for name, part in self.parts.items():
            out.extend((name if sub is part else f"{name}/{sub_name}", sub) for sub_name,
                       sub in part.leaves())
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON object stored in ``results.json`` (:meth:`from_dict` reads it back)."""
        out: dict[str, Any] = {
            "checker": self.checker,
            "valid": self.valid,
            "verdict": self.verdict,
            "reason": self.reason,
            "explanation": self.explanation,
            "details": dict(self.details),
            "counterexample": None if self.counterexample is None else self.counterexample.to_dict(),
            "blamed": list(self.blamed),
            "key": self.key,
            "evidence": [e.to_dict() for e in self.evidence],
        }
        if self.parts:  # a composed result stores its parts' dicts in details, under these names
            out["parts"] = list(self.parts)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Result:
        """Rebuild a Result from ``results.json``'s ``result`` (also one written before the typed fields)."""
        details = d.get("details") if isinstance(d.get("details"), Mapping) else {}
        assert isinstance(details, Mapping)
        parts: dict[str, Result] = {}
        for name in d.get("parts", ()) or ():
            if isinstance(details.get(name), Mapping):
                parts[str(name)] = cls.from_dict(details[name])
        ce = d.get("counterexample")
        return cls(
            checker=str(d.get("checker", "")),
            valid=parse_validity(d.get("valid")),
            details=details,
            explanation=str(d.get("explanation") or ""),
            reason=str(d.get("reason") or ""),
            counterexample=Counterexample.from_dict(ce) if isinstance(ce, Mapping) and "op" in ce else None,
            blamed=tuple(i for i in d.get("blamed", ()) or () if _int_or_none(i) is not None),
            key=d.get("key"),
            evidence=tuple(
                Evidence.from_dict(e) for e in d.get("evidence", ()) or () if isinstance(e, Mapping)
            ),
            parts=parts,
        )


def _default_reason(valid: Validity) -> str:
    if valid is True:
        return "no violation found"
    if valid is False:
        return "the checker found a violation"
    return "the checker could not decide"


def compose(results: Mapping[str, Result]) -> Result:
    """Merge named sub-results into one ``compose`` result.

    The verdict merges; the reason names the parts that decided it (``2pc: 1 partial``); the
    counterexample, key and blamed ops are those of the invalid parts.
    """
    valid = merge_validity(r.valid for r in results.values())
    deciding = [(n, r) for n, r in results.items() if r.valid == valid] or list(results.items())
    reason = "; ".join(f"{n}: {r.reason}" for n, r in deciding)
    invalid = [r for r in results.values() if r.valid is False]
    ce = next((r.counterexample for r in invalid if r.counterexample is not None), None)
    key = next((r.key for r in invalid if r.key is not None), None)
    blamed = tuple(dict.fromkeys(i for r in invalid for i in r.blamed))
    return Result(
        checker="compose",
        valid=valid,
        details={name: r.to_dict() for name, r in results.items()},
        explanation="\n".join(f"{n}: {r.explanation}" for n, r in results.items() if r.explanation),
        reason=one_line(reason),
        counterexample=ce,
        blamed=blamed,
        key=key,
        parts=dict(results),
    )
