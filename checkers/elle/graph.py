"""The transaction dependency graph: vertices are transaction ids, edges carry a bitmask of relations.

One pair of transactions may be related several ways at once (T1 -ww-> T2 *and* T1 -realtime-> T2), so
an edge stores the union of its relations as bits; a search for a given anomaly class projects the graph
onto the relations it may use. The representation is a list of ``{successor: bits}`` dicts because that is
what a pure-Python checker can build and walk fastest at 10^5 transactions.

Strongly connected components are computed with an iterative Tarjan (networkx gives the same answer
and is used to cross-check it in the tests, but building a networkx graph of this size costs more than
the whole analysis). Real-time edges are added as a *reduction* — each transaction is linked only from the
"frontier" of transactions that completed most recently before it began — because the full relation has
quadratically many edges while the reduction has the same transitive closure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from checkers.elle.txn import Txn

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
ALL_RELS = WW | WR | RW | PROCESS | REALTIME
REL_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}
# When one edge carries several relations, explanations name the first of these it has: data
# dependencies are the interesting ones, session and real-time order only fill gaps.
PREFERENCE = (WW, WR, RW, PROCESS, REALTIME)


class DepGraph:
    """A directed graph over ``0..n-1`` whose edges carry relation bits; self-loops are never stored."""

    __slots__ = ("n", "succ")

    def __init__(self, n: int) -> None:
        self.n = n
        self.succ: list[dict[int, int]] = [{} for _ in range(n)]

    def link(self, a: int, b: int, rel: int) -> None:
        """Add relation ``rel`` to the edge ``a -> b`` (ignored when ``a == b``)."""
        if a != b:
            d = self.succ[a]
            d[b] = d.get(b, 0) | rel

    def rels(self, a: int, b: int) -> int:
        """The relation bits on ``a -> b`` (0 when there is no edge)."""
        return self.succ[a].get(b, 0)

    def edge_count(self) -> int:
        """Number of distinct ordered pairs with at least one relation."""
        return sum(len(d) for d in self.succ)

    def count_by_rel(self) -> dict[str, int]:
        """How many edges carry each relation (an edge with two relations counts for both)."""
        by_bits: Counter[int] = Counter()
        for d in self.succ:
            by_bits.update(d.values())
        out = {name: 0 for name in REL_NAMES.values()}
        for bits, n in by_bits.items():
            for bit, name in REL_NAMES.items():
                if bits & bit:
                    out[name] += n
        return out


def label(bits: int, allowed: int = ALL_RELS) -> int:
    """The single relation an edge is explained by: the most preferred of its ``allowed`` relations."""
    b = bits & allowed
    for rel in PREFERENCE:
        if b & rel:
            return rel
    return 0


def sccs(g: DepGraph, vertices: Iterable[int] | None = None, mask: int = ALL_RELS) -> list[list[int]]:
    """Non-trivial strongly connected components (>= 2 vertices) of ``g`` restricted to ``vertices``
    and to edges carrying a relation in ``mask``; iterative Tarjan, linear time."""
    succ = g.succ
    n = g.n
    allowed: set[int] | None = None if vertices is None else set(vertices)
    if allowed is None:
        # Peel off everything that no cycle can reach (Kahn); in a valid history that is everything.
        allowed = _cyclic_core(g)
        if not allowed:
            return []
    order = sorted(allowed)
    index = [-1] * n
    low = [0] * n
    on_stack = bytearray(n)
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0

    def neighbours(v: int) -> list[int]:
        return [w for w, bits in succ[v].items() if bits & mask and w in allowed]

    for root in order:
        if index[root] >= 0:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = 1
        work: list[tuple[int, list[int], int]] = [(root, neighbours(root), 0)]
        while work:
            v, nbrs, i = work[-1]
            advanced = False
            lv = low[v]
            while i < len(nbrs):
                w = nbrs[i]
                i += 1
                iw = index[w]
                if iw < 0:
                    low[v] = lv
                    work[-1] = (v, nbrs, i)
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = 1
                    work.append((w, neighbours(w), 0))
                    advanced = True
                    break
                if on_stack[w] and iw < lv:
                    lv = iw
            if advanced:
                continue
            low[v] = lv
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], lv)
            if lv == index[v]:
                w = stack.pop()
                on_stack[w] = 0
                if w == v:
                    continue
                comp = [w]
                while w != v:
                    w = stack.pop()
                    on_stack[w] = 0
                    comp.append(w)
                out.append(sorted(comp))
    return out


def _cyclic_core(g: DepGraph) -> set[int]:
    """Vertices left after repeatedly removing those with no incoming edges, then those with no outgoing
    ones: every cycle, plus the paths between cycles. Cheap passes over the edges which let Tarjan run
    only where cycles may be (nowhere, in a valid history)."""
    succ = g.succ
    indeg = [0] * g.n
    for d in succ:
        for w in d:
            indeg[w] += 1
    stack = [v for v in range(g.n) if indeg[v] == 0]
    removed = 0
    while stack:
        v = stack.pop()
        removed += 1
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                stack.append(w)
    if removed == g.n:
        return set()
    core = {v for v in range(g.n) if indeg[v] > 0}
    # Same from the other side: drop what reaches no cycle (sinks, repeatedly), within what is left.
    preds: dict[int, list[int]] = {v: [] for v in core}
    outdeg = dict.fromkeys(core, 0)
    for v in core:
        for w in succ[v]:
            if w in core:
                outdeg[v] += 1
                preds[w].append(v)
    stack = [v for v, d in outdeg.items() if d == 0]
    while stack:
        v = stack.pop()
        core.discard(v)
        for u in preds[v]:
            outdeg[u] -= 1
            if outdeg[u] == 0:
                stack.append(u)
    return core


def add_process_edges(g: DepGraph, txns: Sequence[Txn]) -> None:
    """Link each transaction to the next one its process invoked (a process is single-threaded)."""
    last: dict[object, int] = {}
    for t in txns:  # txns are in invocation order
        if t.process is None:  # a history without processes says nothing about process order
            continue
        key = repr(t.process)
        prev = last.get(key)
        if prev is not None:
            g.link(prev, t.id, PROCESS)
        last[key] = t.id


def realtime_frontier(spans: Sequence[tuple[int, int | None]]) -> list[tuple[int, ...]]:
    """For spans ``(start, end)`` in start order (``end`` None: never completed), the spans that ended
    before each one started (by position), as a transitive reduction of that order.

    The frontier holds spans completed so far that no later-completed span already follows; a new start
    links from all of them. When a span completes, everything that was linked into it leaves the frontier
    (reachable through it) and it joins the frontier.
    """
    ends = sorted((end, i) for i, (_, end) in enumerate(spans) if end is not None)
    frontier: set[int] = set()
    preds: list[tuple[int, ...]] = []
    j = 0
    n_end = len(ends)
    for start, _ in spans:
        while j < n_end and ends[j][0] < start:
            done = ends[j][1]
            for p in preds[done]:
                frontier.discard(p)
            frontier.add(done)
            j += 1
        preds.append(tuple(frontier))
    return preds


def add_realtime_edges(g: DepGraph, txns: Sequence[Txn]) -> None:
    """Link T1 -> T2 whenever T1 completed (ok) before T2 was invoked, as a transitive reduction
    (``txns`` in invocation order with dense ids, as ``extract`` makes them)."""
    succ = g.succ
    for tid, ps in enumerate(realtime_frontier([(t.start, t.end) for t in txns])):  # position == id
        for p in ps:
            d = succ[p]
            d[tid] = d.get(tid, 0) | REALTIME
