"""Counter checker (Jepsen's ``counter``): every read lies between what must and what may have been added.

History shape: ``f="add"`` with value ``n`` (an int, possibly negative), ``f="read"`` whose ok completion's
value is the counter. The counter starts at ``initial`` (0).

For an ok read, an add *definitely* happened before it if the add completed ok before the read was
invoked; it *may* have happened if it was invoked before the read completed and did not fail. The read
must lie within ``[initial + definite + negative maybes, initial + definite + positive maybes]``.
``details`` lists the out-of-bounds reads (count, first, worst by distance) and a plot-ready series of
``[time_ns, lower, value, upper]`` per read.

A history with adds but no ok read is *vacuously valid*, as in Jepsen's counter checker (and elle-cli's
suite, which expects exactly that): no read means no claim that could be out of bounds. The explanation
says so, so a user does not mistake it for a checked result. (The set and bank checkers answer
``unknown`` instead, also as Jepsen's do: there a missing final read means the test never looked.)
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from checkers.history import FAIL, OK, Op, pairs
from checkers.result import Evidence, Result, Validity, op_indices


def check(history: Sequence[Op], *, initial: int = 0, max_listed: int = 32) -> Result:
    """Check every ok read of a counter history; see the module docstring."""
    ps = pairs(history)
    adds = [p for p in ps if p.invoke.f == "add" and p.type != FAIL]
    reads = [p for p in ps if p.invoke.f == "read" and p.complete is not None and p.complete.type == OK]
    if not reads:
        return Result("counter", True, {"reads": 0, "adds": len(adds), "error-count": 0},
                      f"vacuously valid: {len(adds)} adds and no successful read, so no read can be out of "
                      "bounds")
    # Definite adds sorted by completion time, with prefix sums, answer "sum completed before t".
    definite = sorted((p.complete.time, int(p.invoke.value)) for p in adds
                      if p.complete is not None and p.complete.type == OK)
    d_times = [t for t, _ in definite]
    d_sums, d_pos, d_neg = [0], [0], [0]
    for _, n in definite:
        d_sums.append(d_sums[-1] + n)
        d_pos.append(d_pos[-1] + max(n, 0))
        d_neg.append(d_neg[-1] + min(n, 0))
    # Every non-failed add by invocation time: sum of positive / negative parts invoked before t.
    invoked = sorted((p.invoke.time, int(p.invoke.value)) for p in adds)
    i_times = [t for t, _ in invoked]
    pos_sums, neg_sums = [0], [0]
    for _, n in invoked:
        pos_sums.append(pos_sums[-1] + max(n, 0))
        neg_sums.append(neg_sums[-1] + min(n, 0))
    errors: list[dict[str, Any]] = []
    series: list[list[Any]] = []
    for p in reads:
        assert p.complete is not None
        t0, t1, value = p.invoke.time, p.complete.time, p.complete.value
        k = bisect.bisect_left(d_times, t0)
        sure = d_sums[k]
        j = bisect.bisect_left(i_times, t1)
        # Definite adds were invoked before t1 too, so subtract their parts to count them once.
        lower = initial + sure + (neg_sums[j] - d_neg[k])
        upper = initial + sure + (pos_sums[j] - d_pos[k])
        series.append([t1, lower, value, upper])
        if not isinstance(value, int) or not lower <= value <= upper:
            dist = (lower - value if value < lower else value - upper) if isinstance(value, int) else None
            errors.append({"op": p.complete.to_dict(), "lower": lower, "upper": upper, "value": value,
                           "distance": dist})
    valid: Validity = not errors
    details: dict[str, Any] = {
        "reads": len(reads),
        "errors": errors[:max_listed],
        "error-count": len(errors),
        "first": errors[0] if errors else None,
        "worst": max(errors, key=lambda e: e["distance"] or 0) if errors else None,
        "series": series,
    }
    text = (f"all {len(reads)} reads within bounds" if valid
            else f"{len(errors)} of {len(reads)} reads outside the possible range")
    evidence = (Evidence("out-of-bounds", "Reads outside the possible range", len(errors),
                         tuple(errors[:max_listed])),) if errors else ()
    return Result("counter", valid, details, text, evidence=evidence, blamed=op_indices(errors[:max_listed]))
