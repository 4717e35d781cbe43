"""Bank checker (Jepsen's bank test): transfers between accounts must conserve the total.

History shape (Jepsen's): ``f="transfer"`` with value ``{"from": a, "to": b, "amount": n}`` (ok, fail or
info — a transfer's outcome does not matter, only what reads see) and ``f="read"`` whose ok completion's
value maps every account to its balance, ``{account: balance}``. Account ids may be ints (EDN) or
strings (JSON); they are compared by their string form.

Every ok read must

* sum to the conserved ``total`` (given, or else the most common sum over all ok reads — a store that
  loses money usually shows the right total most of the time; pass ``total`` when known);
* hold a balance for every account (``accounts`` given, or else every account any read or transfer
  mentions) and nothing else when ``accounts`` is given;
* hold no negative balance unless ``negative_balances=True``.

``details`` reports per-error counts with the first and the worst case, and plot-ready series
(``series.total``: ``[time_ns, total]`` per ok read; ``series.errors``: the times of bad reads).
No ok read at all gives ``unknown``: nothing was checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from checkers.history import OK, Op
from checkers.result import UNKNOWN, Evidence, Result, Validity, op_indices

TITLES = {"wrong-total": "Reads with the wrong total", "missing-balance": "Reads missing a balance",
          "unexpected-account": "Reads with an unexpected account", "negative-balance": "Negative balances"}


def _acct(k: Any) -> str:
    return str(k)


def check(history: Sequence[Op], *, total: int | None = None, accounts: Iterable[Any] | None = None,
          negative_balances: bool = False) -> Result:
    """Check every ok read of a bank history; see the module docstring."""
    reads = [op for op in history if op.is_client and op.f == "read" and op.type == OK
             and isinstance(op.value, Mapping)]
    if not reads:
        return Result("bank", UNKNOWN, {"reads": 0}, "no successful read: nothing to check")
    explicit_accounts = accounts is not None
    if accounts is not None:
        acct_set = {_acct(a) for a in accounts}
    else:
        acct_set = {_acct(k) for op in reads for k in op.value}
        for op in history:
            if op.f == "transfer" and isinstance(op.value, Mapping):
                acct_set.update(_acct(op.value[x]) for x in ("from", "to") if x in op.value)
    totals = []
    for op in reads:
        try:
            totals.append(sum(v for v in op.value.values() if v is not None))
        except TypeError:
            totals.append(None)
    expected = (
        total if total is not None else Counter(t for t in totals if t is not None).most_common(1)[0][0]
    )
    errors: dict[str, list[dict[str, Any]]] = {}
    series_total: list[list[Any]] = []
    series_err: list[list[Any]] = []
    for op, tot in zip(reads, totals, strict=True):
        balances = {_acct(k): v for k, v in op.value.items()}
        series_total.append([op.time, tot])
        bad = False
        if tot != expected:
            bad = True
            errors.setdefault("wrong-total", []).append(
                {"op": op.to_dict(), "total": tot, "expected": expected,
                 "delta": None if tot is None else tot - expected})
        missing = sorted(acct_set - {k for k, v in balances.items() if v is not None})
        if missing:
            bad = True
            errors.setdefault("missing-balance", []).append({"op": op.to_dict(), "accounts": missing})
        if explicit_accounts:
            extra = sorted(set(balances) - acct_set)
            if extra:
                bad = True
                errors.setdefault("unexpected-account", []).append({"op": op.to_dict(), "accounts": extra})
        if not negative_balances:
            neg = {k: v for k, v in balances.items() if isinstance(v, int | float) and v < 0}
            if neg:
                bad = True
                errors.setdefault("negative-balance", []).append(
                    {"op": op.to_dict(), "balances": neg, "lowest": min(neg.values())})
        if bad:
            series_err.append([op.time, tot])
    summary: dict[str, Any] = {}
    for kind, cases in errors.items():
        summary[kind] = {"count": len(cases), "first": cases[0], "worst": _worst(kind, cases)}
    valid: Validity = not errors
    details = {
        "reads": len(reads),
        "total": expected,
        "accounts": sorted(acct_set),
        "errors": summary,
        "bad-reads": len(series_err),
        "series": {"total": series_total, "errors": series_err},
    }
    if valid:
        text = f"all {len(reads)} reads saw total {expected} with every balance present and non-negative"
    else:
        parts = [f"{v['count']} {k}" for k, v in summary.items()]
        text = f"{len(series_err)} of {len(reads)} reads are wrong: {', '.join(parts)}"
    evidence = tuple(Evidence(kind, TITLES.get(kind, kind), v["count"],
                              tuple(c for c in (v["first"], v["worst"]) if c is not None)
                              if v["first"] is not v["worst"] else (v["first"],))
                     for kind, v in summary.items())
    blamed = op_indices(c for cases in errors.values() for c in cases)
    return Result("bank", valid, details, text, reason=text, evidence=evidence, blamed=blamed)


def _worst(kind: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    if kind == "wrong-total":
        return max(cases, key=lambda c: abs(c["delta"]) if c["delta"] is not None else float("inf"))
    if kind == "negative-balance":
        return min(cases, key=lambda c: c["lowest"])
    return max(cases, key=lambda c: len(c["accounts"]))
