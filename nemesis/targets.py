"""Node specs: which nodes a fault strikes (Jepsen's ``:one``, ``:minority``, ``:majority``, ``:all``, ...).

A spec is a name rather than a node list so that a package can say "kill a majority" without knowing
the cluster, and so that a spec that depends on the running system (``primaries``: the nodes that
currently believe they lead) can be resolved at the moment the fault strikes. Which spec is used
matters for what a test can find: a minority crash never loses data a majority acknowledged, but
``paxos:no-persist`` only loses data when a *majority* of acceptors crash together, and a system that
survives every single-node fault may still lose everything when ``all`` nodes restart at once.

Everything here is pure except :func:`find_primaries`, which asks the backend.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

SPECS: dict[str, str] = {
    "one": "one random node",
    "minority": "a random minority (1 .. (n-1)/2 nodes)",
    "minority-third": "a random minority of at most a third of the nodes (at least one)",
    "majority": "a random majority (n/2 + 1 nodes)",
    "all": "every node",
    "primaries": "the nodes that currently lead (asked from the system; one random node if none does)",
}

# Core.status() roles that mean "this node orders operations" (replication: primary, paxos: leader).
LEADING_ROLES = frozenset({"primary", "leader", "coordinator"})
# Core.status() fields naming the node a node believes leads.
LEADER_FIELDS = ("leader", "primary", "coordinator")


class TargetError(ValueError):
    """An unknown node spec."""


def check_spec(spec: str) -> str:
    """``spec`` if it names a node spec; raises ``TargetError`` with the valid choices."""
    if spec not in SPECS:
        raise TargetError(f"unknown node spec {spec!r}; valid: {', '.join(SPECS)}")
    return spec


def pick(spec: str, nodes: Sequence[str], rng: random.Random, primaries: Sequence[str] = ()) -> list[str]:
    """The nodes ``spec`` selects from ``nodes`` (sorted); ``primaries`` is used for ``primaries``."""
    check_spec(spec)
    pool = list(nodes)
    n = len(pool)
    if n == 0:
        return []
    if spec == "one":
        return [rng.choice(pool)]
    if spec == "minority":
        # Same draws as the first nemesis cut (size, then sample) so old seeds give old schedules.
        return sorted(rng.sample(pool, rng.randint(1, max(1, (n - 1) // 2))))
    if spec == "minority-third":
        return sorted(rng.sample(pool, rng.randint(1, max(1, (n - 1) // 3))))
    if spec == "majority":
        return sorted(rng.sample(pool, n // 2 + 1))
    if spec == "all":
        return sorted(pool)
    chosen = sorted(p for p in primaries if p in pool)
    return chosen or [rng.choice(pool)]


def leaders_in(statuses: dict[str, dict[str, Any]]) -> list[str]:
    """The leading nodes according to ``{node: node_status reply}``.

    A node that reports a leading role counts (Jepsen's "primaries": several may think they lead
    during a split brain, and all of them are interesting targets). If none does, the node most
    often named in ``leader``/``primary`` fields counts, ties broken by name.
    """
    leading = sorted(n for n, s in statuses.items() if str(_core(s).get("role", "")) in LEADING_ROLES)
    if leading:
        return leading
    votes: Counter[str] = Counter()
    for s in statuses.values():
        for f in LEADER_FIELDS:
            v = _core(s).get(f)
            if isinstance(v, str) and v in statuses:
                votes[v] += 1
    if not votes:
        return []
    best = max(votes.values())
    return sorted(n for n, c in votes.items() if c == best)[:1]


def _core(status: dict[str, Any]) -> dict[str, Any]:
    core = status.get("core") if isinstance(status, dict) else None
    return core if isinstance(core, dict) else {}


async def find_primaries(backend: Any, nodes: Sequence[str]) -> list[str]:
    """Ask every reachable node for its status and return the nodes that lead (may be empty)."""
    statuses: dict[str, dict[str, Any]] = {}
    for n in nodes:
        try:
            statuses[n] = await backend.node_status(n)
        except Exception:  # noqa: BLE001, S112 - a down, paused or cut-off node simply does not vote
            continue
    return leaders_in(statuses)
