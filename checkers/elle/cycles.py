"""Finding and naming dependency cycles (G0, G1c, G-single-item, G-nonadjacent-item, G2-item, + variants).

Every cycle in the dependency graph is an anomaly; *which* one depends on its edges (Adya's taxonomy):

* only ww edges: **G0** (write cycle);
* ww and wr, at least one wr: **G1c** (circular information flow);
* exactly one rw: **G-single-item** (read skew; forbidden by snapshot isolation);
* two or more rw, none adjacent: **G-nonadjacent-item** (still forbidden by snapshot isolation);
* two or more rw, some adjacent: **G2-item** (write skew; only serializability forbids it).

A cycle that needs a process edge is the ``-process`` variant, one that needs a real-time edge the
``-realtime`` variant (those are violations of strong-session / strict models only). Our rw edges are all
per-key, so the general ``G-single`` / ``G-nonadjacent`` / ``G2`` follow by implication (see models.py).

Search: the whole graph is split into strongly connected components (cycles live inside them). For each
anomaly class and component, the component is projected onto the relations the class may use and split
again; in each sub-component a breadth-first search over (vertex, small automaton state) finds the
shortest closed walk satisfying the class (how many rw edges so far, whether the last one was rw, which
required relations were used). Each edge is counted as its most preferred allowed relation, the same
way explanations name it, so the class found is the class reported. The search of one class in one
component stops after ``budget`` edge visits: that component is then reported as ``cycle-search-timeout``
(verdict ``unknown`` unless something else is wrong) together with *some* cycle of it, which always exists
and is cheap to find.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from checkers.elle.graph import ALL_RELS, PROCESS, REALTIME, RW, WR, WW, DepGraph, label, sccs

Cycle = tuple[tuple[int, ...], tuple[int, ...]]  # vertices v0..vk-1, and the relation on vi -> vi+1

_NONE, _SINGLE, _MULTIPLE, _NONADJACENT = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class CycleSpec:
    """One anomaly class to search for."""

    name: str
    allowed: int  # relations usable besides rw
    rw_mode: int  # how rw edges may appear
    required: int  # each of these bits must label at least one edge
    typed: bool  # the cycle found must classify as ``name`` (else it is dropped)

    @property
    def usable(self) -> int:
        """Every relation an edge of such a cycle may be labelled with."""
        return self.allowed | (RW if self.rw_mode != _NONE else 0)


def _variants(name: str, allowed: int, rw_mode: int, required: int, typed: bool) -> list[CycleSpec]:
    return [
        CycleSpec(name, allowed, rw_mode, required, typed),
        CycleSpec(f"{name}-process", allowed | PROCESS, rw_mode, required | PROCESS, typed),
        CycleSpec(f"{name}-realtime", allowed | REALTIME, rw_mode, required | REALTIME, typed),
    ]


SPECS: tuple[CycleSpec, ...] = tuple(
    _variants("G0", WW, _NONE, 0, False)
    + _variants("G1c", WW | WR, _NONE, WR, False)
    + _variants("G-single-item", WW | WR, _SINGLE, 0, True)
    + _variants("G-nonadjacent-item", WW | WR, _NONADJACENT, 0, True)
    + _variants("G2-item", WW | WR, _MULTIPLE, 0, True)
)
CYCLE_TYPES = frozenset(s.name for s in SPECS)


def classify(labels: Sequence[int]) -> str:
    """Name a cycle from the relation of each of its edges (Adya / Elle conventions)."""
    rw = sum(1 for x in labels if x == RW)
    n = len(labels)
    adjacent = any(labels[i] == RW and labels[(i + 1) % n] == RW for i in range(n)) if rw > 1 else False
    if rw == 1:
        base = "G-single-item"
    elif rw > 1:
        base = "G2-item" if adjacent else "G-nonadjacent-item"
    elif WR in labels:
        base = "G1c"
    else:
        base = "G0"
    if REALTIME in labels:
        return base + "-realtime"
    if PROCESS in labels:
        return base + "-process"
    return base


class _Budget(Exception):
    pass


def _search_from(adj: dict[int, list[tuple[int, int]]], spec: CycleSpec, s: int, limit: int,
                 spent: list[int], budget: int) -> Cycle | None:
    """Shortest closed walk through ``s`` satisfying ``spec`` with <= ``limit`` edges; ``adj`` holds the
    component's edges already labelled for ``spec``."""
    required, mode = spec.required, spec.rw_mode
    # state bits: 0-1 rw count (capped at 2), 2 last edge rw, 3 first edge rw, 4.. required bits seen
    start = (s, 0)
    parent: dict[tuple[int, int], tuple[tuple[int, int], int] | None] = {start: None}
    frontier = [start]
    depth = 0
    while frontier and depth < limit:
        depth += 1
        first = depth == 1
        nxt: list[tuple[int, int]] = []
        for node in frontier:
            v, st = node
            cnt = st & 3
            keep = st & ~7 if not first else 0  # required bits and the first-edge-rw bit
            edges = adj[v]
            spent[0] += len(edges)
            if spent[0] > budget:
                raise _Budget
            for w, lab in edges:
                if lab == RW:
                    if mode == _SINGLE and cnt:
                        continue
                    if mode == _NONADJACENT and st & 4:
                        continue
                    nst = (cnt + 1 if cnt < 2 else 2) | 4 | keep | (8 if first else 0)
                else:
                    nst = cnt | keep
                if lab & required:
                    nst |= (lab & required) << 4
                if w == s:
                    if _accepts(nst, mode, required):
                        return _rebuild(parent, node, (w, nst), lab)
                    continue
                key = (w, nst)
                if key in parent:
                    continue
                parent[key] = (node, lab)
                nxt.append(key)
        frontier = nxt
    return None


def _accepts(st: int, mode: int, required: int) -> bool:
    cnt = st & 3
    if (st >> 4) & required != required:
        return False
    if mode == _NONE:
        return cnt == 0
    if mode == _SINGLE:
        return cnt == 1
    if mode == _NONADJACENT and st & 4 and st & 8:
        return False
    return cnt >= 2


def _rebuild(parent: dict[tuple[int, int], tuple[tuple[int, int], int] | None], last: tuple[int, int],
             closing: tuple[int, int], lab: int) -> Cycle:
    verts = [last[0]]
    labels = [lab]
    cur = parent[last]
    while cur is not None:
        prev, plab = cur
        verts.append(prev[0])
        labels.append(plab)
        cur = parent[prev]
    verts.reverse()
    labels.reverse()
    # verts = [s, ..., last]; labels[i] labels verts[i] -> verts[i+1] (the final one closes to s)
    return tuple(verts), tuple(labels)


def _simple_piece(g: DepGraph, walk: Cycle, spec: CycleSpec) -> Cycle | None:
    """A closed walk that revisits a vertex splits into simple cycles; return one that still satisfies
    ``spec`` (explanations should never loop), or None."""
    verts = walk[0]
    pieces: list[list[int]] = []
    stack: list[int] = []
    where: dict[int, int] = {}
    for v in (*verts, verts[0]):
        if v in where:
            i = where[v]
            pieces.append(stack[i:])
            for u in stack[i + 1:]:
                del where[u]
            del stack[i + 1:]
        else:
            where[v] = len(stack)
            stack.append(v)
    for piece in sorted(pieces, key=len):
        if len(piece) < 2:
            continue
        labs = tuple(label(g.rels(piece[i], piece[(i + 1) % len(piece)]), spec.usable)
                     for i in range(len(piece)))
        if accepts_labels(labs, spec):
            return tuple(piece), labs
    return None


def accepts_labels(labels: Sequence[int], spec: CycleSpec) -> bool:
    """Whether a cycle whose edges carry ``labels`` (in order) belongs to ``spec``'s class."""
    if any(lab == 0 or not lab & spec.usable for lab in labels):
        return False
    rw = sum(1 for x in labels if x == RW)
    seen = 0
    for x in labels:
        seen |= x & spec.required
    if seen != spec.required:
        return False
    n = len(labels)
    if spec.rw_mode == _NONE:
        return rw == 0
    if spec.rw_mode == _SINGLE:
        return rw == 1
    if spec.rw_mode == _NONADJACENT and any(labels[i] == RW and labels[(i + 1) % n] == RW for i in range(n)):
        return False
    return rw >= 2


def _candidate_starts(g: DepGraph, members: set[int], spec: CycleSpec) -> list[int]:
    """Vertices every matching cycle must pass through one of: sources of its rarest mandatory edge."""
    need = RW if spec.rw_mode != _NONE else (spec.required & (REALTIME | PROCESS)) or spec.required
    if not need:
        return sorted(members)
    out = []
    for v in sorted(members):
        for w, bits in g.succ[v].items():
            if w in members and label(bits, spec.usable) & need:
                out.append(v)
                break
    return out


def find_cycle(g: DepGraph, members: Iterable[int], spec: CycleSpec, budget: int,
               extra_starts: int = 8) -> tuple[Cycle | None, bool]:
    """A short cycle of class ``spec`` among ``members`` (one SCC); ``(cycle, timed_out)``.

    Searches from candidate starts in turn, each search bounded by the best length so far; after the
    first hit only ``extra_starts`` more starts are tried, which keeps big tangled components cheap while
    still usually finding the shortest cycle.
    """
    spent = [0]
    best: Cycle | None = None
    usable = spec.usable
    table = [label(bits, usable) for bits in range(ALL_RELS + 1)]
    for sub in sccs(g, members, usable):
        sub_set = set(sub)
        succ = g.succ
        adj = {v: [(w, table[bits]) for w, bits in succ[v].items() if w in sub_set and table[bits]]
               for v in sub}
        present = 0
        for edges in adj.values():
            for _, lab in edges:
                present |= lab
        mandatory = spec.required | (RW if spec.rw_mode != _NONE else 0)
        if present & mandatory != mandatory:
            continue  # some relation every such cycle needs does not occur here at all
        tries_left = None
        for s in _candidate_starts(g, sub_set, spec):
            limit = len(best[0]) - 1 if best else len(sub_set)
            if limit < 2 or tries_left == 0:
                break
            if tries_left is not None:
                tries_left -= 1
            try:
                c = _search_from(adj, spec, s, limit, spent, budget)
            except _Budget:
                return best, best is None
            if c is not None and len(set(c[0])) < len(c[0]):
                c = _simple_piece(g, c, spec)
            if c is not None and (best is None or len(c[0]) < len(best[0])):
                best = c
                if tries_left is None:
                    tries_left = extra_starts
    return best, False


def any_cycle(g: DepGraph, members: Sequence[int]) -> Cycle:
    """Some cycle inside a strongly connected component (BFS from one vertex back to itself)."""
    mset = set(members)
    s = members[0]
    parent: dict[int, int] = {}
    queue = deque([s])
    seen = {s}
    while queue:
        v = queue.popleft()
        for w in g.succ[v]:
            if w not in mset:
                continue
            if w == s:
                verts = [v]
                while verts[-1] != s:
                    verts.append(parent[verts[-1]])
                verts.reverse()
                labels = [label(g.rels(verts[i], verts[(i + 1) % len(verts)])) for i in range(len(verts))]
                return tuple(verts), tuple(labels)
            if w not in seen:
                seen.add(w)
                parent[w] = v
                queue.append(w)
    raise ValueError("not a strongly connected component")


def canonical_labels(g: DepGraph, cycle: Cycle) -> tuple[int, ...]:
    """The relation each edge is *explained* by (most preferred of all its relations)."""
    verts = cycle[0]
    n = len(verts)
    return tuple(label(g.rels(verts[i], verts[(i + 1) % n])) for i in range(n))
