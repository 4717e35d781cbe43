"""Long fork (Jepsen's ``long-fork`` test): two reads that observe two writes in incompatible orders.

Parallel snapshot isolation allows it, snapshot isolation and serializability do not. The workload
writes each key exactly once (``[["w", k, v]]`` transactions, the "inserts") and reads groups of keys
in one transaction (``[["r", k1, v1], ["r", k2, v2], ...]``). Since a key only ever goes from absent
(``None``) to its one value, a read is fully described by the set of keys it saw written. Under any
serial order the states a reader can see only grow, so the reads of one group of keys must form a
chain under set inclusion. Two reads where each saw a write the other did not (T3 saw y but not x,
T4 saw x but not y) are a *fork*: T3 puts y's write first, T4 puts x's write first.

Checking: reads are grouped by the set of keys they read (Jepsen compares only reads of the same keys),
each group is sorted by how many writes a read saw, and a chain needs only each read to contain the one
before it: O(n log n) per group. Only when that fails are the incomparable pairs listed (up to
``max_listed``). Reads that saw nothing (*early*) or everything (*late*) can never fork; their counts are
reported because a history made only of those tested nothing, and the explanation says so.

``unknown`` when the history breaks the test's assumptions, as Jepsen's checker does: a key written
twice, or two reads that saw different values for one key. Only completed (``ok``) transactions and
write invocations are looked at, and never the process, so histories without ``process`` (elle-cli's)
are checked as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from checkers.history import INVOKE, OK, Op
from checkers.result import UNKNOWN, Result


def _micro_ops(value: Any) -> list[tuple[str, Any, Any]] | None:
    """``value`` as a list of ``(f, key, value)`` micro-ops, or None when it is not a transaction."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    out = []
    for m in value:
        if not isinstance(m, (list, tuple)) or len(m) != 3 or m[0] not in ("r", "w", "read", "write"):
            return None
        out.append((m[0][0], m[1], m[2]))
    return out


def _hashable(k: Any) -> Any:
    return tuple(_hashable(x) for x in k) if isinstance(k, list) else k


def check(history: Sequence[Op], *, group_size: int | None = None, max_listed: int = 16) -> Result:
    """Look for long forks among the ok read transactions of ``history``; see the module docstring.

    ``group_size``: when given, every read must read exactly that many keys (Jepsen's ``n``).
    """
    written: dict[Any, Any] = {}
    for op in history:
        if op.type != INVOKE or not op.is_client:
            continue
        mops = _micro_ops(op.value)
        if mops is not None and len(mops) == 1 and mops[0][0] == "w":
            k = _hashable(mops[0][1])
            if k in written:
                return Result("long-fork", UNKNOWN, {"multiple-writes": [mops[0][1]]},
                              f"key {mops[0][1]!r} is written twice (op {op.index}): this test needs each "
                              "key "
                              "written at most once")
            written[k] = mops[0][2]
    groups: dict[frozenset[Any], list[tuple[Op, dict[Any, Any]]]] = defaultdict(list)
    for op in history:
        if op.type != OK or not op.is_client:
            continue
        mops = _micro_ops(op.value)
        if mops is None or any(f != "r" for f, _, _ in mops):
            continue
        state = {_hashable(k): v for _, k, v in mops}
        if group_size is not None and len(state) != group_size:
            return Result("long-fork", UNKNOWN, {"bad-read": op.to_dict()},
                          f"op {op.index} read {len(state)} keys, but every read should read {group_size}")
        groups[frozenset(state)].append((op, state))
    reads = sum(len(g) for g in groups.values())
    early = late = 0
    forks: list[dict[str, Any]] = []
    fork_count = 0
    for members in groups.values():
        seen_sets = []
        values: dict[Any, tuple[Any, Op]] = {}
        for op, state in members:
            seen = frozenset(k for k, v in state.items() if v is not None)
            for k in seen:
                prior = values.setdefault(k, (state[k], op))
                if prior[0] != state[k]:
                    return Result("long-fork", UNKNOWN,
                                  {"conflicting-reads": [prior[1].to_dict(), op.to_dict()]},
                                  f"ops {prior[1].index} and {op.index} read different values of key {k!r}: "
                                  "this test needs each key written at most once")
            early += not seen
            late += len(seen) == len(state)
            seen_sets.append((seen, op))
        seen_sets.sort(key=lambda s: len(s[0]))
        if all(a <= b for (a, _), (b, _) in pairwise(seen_sets)):
            continue
        for i, (a, op_a) in enumerate(seen_sets):  # only for a broken chain: list the incomparable pairs
            for b, op_b in seen_sets[i + 1:]:
                if not a <= b and not b <= a:
                    fork_count += 1
                    if len(forks) < max_listed:
                        forks.append({"reads": [op_a.to_dict(), op_b.to_dict()],
                                      "only-first": sorted(a - b, key=repr),
                                      "only-second": sorted(b - a, key=repr)})
    details: dict[str, Any] = {"reads": reads, "early-reads": early, "late-reads": late,
                               "writes": len(written),
                               "fork-count": fork_count, "forks": forks}
    if forks:
        f = forks[0]
        a, b = f["reads"]
        return Result("long-fork", False, details,
                      f"{fork_count} long fork{'s' if fork_count != 1 else ''}: op {a['index']} saw the "
                      "write of "
                      f"{_keys(f['only-first'])} but not {_keys(f['only-second'])}, op {b['index']} the "
                      "reverse")
    informative = reads - early - late
    text = (f"{reads} reads agree on one order of the writes" if informative
            else f"vacuously valid: none of the {reads} reads saw some but not all of its keys written")
    return Result("long-fork", True, details, text)


def _keys(ks: Sequence[Any]) -> str:
    return ", ".join(repr(k) for k in ks)
