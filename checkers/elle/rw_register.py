"""Read-write register analysis: dependencies from unique writes and inferred version orders.

Transactions write unique values to registers and read them back. A read names its writer directly
(writes are unique), which yields wr edges and aborted / intermediate reads. Version *order* is harder to
come by than for lists, so it is inferred from sound sources only:

* every register starts as ``nil``, before any written version (always on);
* writes follow reads (``wfr_keys=True``): a transaction that read ``x = 1`` and then wrote ``x = 2``
  installed 2 after 1 — sound when transactions are atomic, which is what we are checking;
* per-process order (``sequential_keys=True``): the versions one process observed or wrote, in the order
  it did so, when the store promises sequential consistency per key;
* real-time order (``linearizable_keys=True``): a committed write that completed before another committed
  write to the same key began installed the earlier version — sound when every key is linearizable, which
  strict serializability implies (Elle's ``linearizable-keys?``).

The inferred orders must be acyclic — a cycle (``cyclic-versions``) means no total order exists, and
that key contributes no ww / rw edges. From an order ``v1 < v2``: ``writer(v1) -ww-> writer(v2)`` and
``reader(v1) -rw-> writer(v2)``. Only *external* reads (before the transaction's own write to the key)
and *final* writes (the last one a transaction made to the key) take part, as in Adya's model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from checkers.elle.analysis import Analysis, MalformedTxn, hashable, op_summary
from checkers.elle.graph import RW, WR, WW, DepGraph, realtime_frontier, sccs
from checkers.elle.txn import Txn

_NIL = None


def _mops(t: Txn) -> list[tuple[str, Any, Any]]:
    out = []
    for m in t.mops:
        if not isinstance(m, list | tuple) or len(m) != 3 or m[0] not in ("w", "r"):
            raise MalformedTxn(f"op {t.index}: rw-register micro-ops are [w k v] / [r k v], got {m!r}")
        out.append((m[0], hashable(m[1]), hashable(m[2])))
    return out


def _scc_of_versions(edges: dict[Any, set[Any]]) -> list[list[Any]]:
    """Cycles among the versions of one key (components of the inferred version order)."""
    nodes = set(edges) | {w for ws in edges.values() for w in ws}
    ids = {v: i for i, v in enumerate(nodes)}
    g = DepGraph(len(ids))
    for v, ws in edges.items():
        for w in ws:
            g.link(ids[v], ids[w], WW)
    rev = {i: v for v, i in ids.items()}
    return [[rev[i] for i in comp] for comp in sccs(g)]


class _Index:
    def __init__(self, txns: Sequence[Txn]) -> None:
        self.txns = txns
        self.mops = [_mops(t) for t in txns]
        self.writer: dict[Any, dict[Any, int]] = {}
        self.readers: dict[Any, dict[Any, list[int]]] = {}
        self.vorder: dict[Any, dict[Any, set[Any]]] = {}

    def explain(self, a: int, b: int, rel: int) -> dict[str, Any] | None:
        """Why ``a -rel-> b`` holds."""
        mops_b = self.mops[b]
        if rel == WR:
            for i, (f, k, v) in enumerate(mops_b):
                if f == "r" and v is not None and self.writer.get(k, {}).get(v) == a:
                    return {"type": "wr", "key": k, "value": v, "b-mop-index": i,
                            "text": f"{{b}} read key {k!r} = {v!r}, which {{a}} wrote"}
        for i, (f, k, v2) in enumerate(mops_b):
            if f != "w" or self.writer.get(k, {}).get(v2) != b:
                continue
            for v1, succs in self.vorder.get(k, {}).items():
                if v2 not in succs:
                    continue
                if rel == WW and v1 is not None and self.writer.get(k, {}).get(v1) == a:
                    return {"type": "ww", "key": k, "value": v1, "value'": v2, "b-mop-index": i,
                            "text": f"{{b}} overwrote {{a}}'s write of {v1!r} to key {k!r} with {v2!r}"}
                if rel == RW and a in self.readers.get(k, {}).get(v1, ()):
                    seen = "the initial nil" if v1 is None else repr(v1)
                    return {"type": "rw", "key": k, "value": v1, "value'": v2, "b-mop-index": i,
                            "text": f"{{a}} read {seen} for key {k!r}, which {{b}} overwrote with {v2!r}"}
        return None


def analyse(txns: Sequence[Txn], failed: Sequence[Txn], *, wfr_keys: bool = False,
            sequential_keys: bool = False, linearizable_keys: bool = False) -> Analysis:
    """Build the ww/wr/rw graph over ``txns`` (ok + info) and collect the non-cyclic anomalies."""
    idx = _Index(txns)
    g = DepGraph(len(txns))
    an = Analysis(txns, g, idx.explain)
    writer, readers, vorder = idx.writer, idx.readers, idx.vorder
    intermediate: dict[Any, dict[Any, int]] = {}
    for t, mops in zip(txns, idx.mops, strict=True):
        final: dict[Any, Any] = {}
        for f, k, v in mops:
            if f == "w":
                if k in final:
                    intermediate.setdefault(k, {})[final[k]] = t.id
                final[k] = v
        for k, v in final.items():
            wk = writer.setdefault(k, {})
            if v in wk and wk[v] != t.id:
                an.add("duplicate-writes", {"key": k, "value": v, "ops": [txns[wk[v]].index, t.index]})
            wk[v] = t.id
    failed_writes: dict[Any, dict[Any, Txn]] = {}
    for ft in failed:
        for m in ft.mops:
            if isinstance(m, list | tuple) and len(m) == 3 and m[0] == "w":
                failed_writes.setdefault(hashable(m[1]), {})[hashable(m[2])] = ft
    lost: dict[tuple[Any, Any], list[int]] = {}
    seq_last: dict[tuple[str, Any], Any] = {}
    for t, mops in zip(txns, idx.mops, strict=True):
        ok = t.type == "ok"
        wrote: dict[Any, Any] = {}
        ext: dict[Any, Any] = {}
        state: dict[Any, Any] = {}
        for f, k, v in mops:
            if f == "w":
                if k not in wrote and k in ext:
                    lost.setdefault((k, ext[k]), []).append(t.id)
                    if wfr_keys and ext[k] != v:
                        vorder.setdefault(k, {}).setdefault(ext[k], set()).add(v)
                wrote[k] = v
                state[k] = v
                continue
            if not ok:
                continue
            if k in state and state[k] != v:
                an.add("internal", {"op": op_summary(t), "mop": [f, k, v], "expected": state[k]})
            state[k] = v
            if k in wrote or k in ext:
                continue
            ext[k] = v
            readers.setdefault(k, {}).setdefault(v, []).append(t.id)
            if v is not None:
                w = writer.get(k, {}).get(v)
                if w is not None:
                    g.link(w, t.id, WR)
                if v in failed_writes.get(k, {}):
                    an.add("G1a", {"op": op_summary(t), "mop": [f, k, v],
                                   "writer": op_summary(failed_writes[k][v]), "element": v})
                im = intermediate.get(k, {}).get(v)
                if im is not None and im != t.id:
                    an.add("G1b", {"op": op_summary(t), "mop": [f, k, v], "writer": op_summary(txns[im]),
                                   "element": v})
        if sequential_keys:
            for k in {m[1] for m in mops}:
                for v in ([ext[k]] if k in ext else []) + ([wrote[k]] if k in wrote else []):
                    key = (repr(t.process), k)
                    if key in seq_last and seq_last[key] != v:
                        vorder.setdefault(k, {}).setdefault(seq_last[key], set()).add(v)
                    seq_last[key] = v
    for (k, v), tids in lost.items():
        if len(tids) > 1:
            an.add("lost-update", {"key": k, "value": v, "txns": [op_summary(txns[i]) for i in tids]})
    if linearizable_keys:
        _realtime_versions(txns, idx.mops, vorder)
    for k, wk in writer.items():
        vorder.setdefault(k, {}).setdefault(_NIL, set()).update(wk)
    for k in list(vorder):
        edges = vorder[k]
        cycles = _scc_of_versions({v: ws for v, ws in edges.items() if v is not None})
        if cycles:
            for comp in cycles:
                an.add("cyclic-versions", {"key": k, "scc": comp})
            vorder[k] = {_NIL: edges.get(_NIL, set())}
            continue
        wk = writer.get(k, {})
        rk = readers.get(k, {})
        for v1, succs in edges.items():
            w1 = wk.get(v1) if v1 is not None else None
            rs = rk.get(v1, ())
            for v2 in succs:
                w2 = wk.get(v2)
                if w2 is None:
                    continue
                if w1 is not None:
                    g.link(w1, w2, WW)
                for r in rs:
                    g.link(r, w2, RW)
    return an


def _realtime_versions(txns: Sequence[Txn], mops: Sequence[list[tuple[str, Any, Any]]],
                       vorder: dict[Any, dict[Any, set[Any]]]) -> None:
    """Per key, order the final writes of committed transactions by real time (a reduction of it)."""
    spans: dict[Any, list[tuple[int, int | None]]] = {}
    values: dict[Any, list[Any]] = {}
    for t, ms in zip(txns, mops, strict=True):  # txns are in invocation order
        if t.type != "ok":
            continue
        final = {k: v for f, k, v in ms if f == "w"}
        for k, v in final.items():
            spans.setdefault(k, []).append((t.start, t.end))
            values.setdefault(k, []).append(v)
    for k, ks in spans.items():
        vs = values[k]
        order = vorder.setdefault(k, {})
        for i, preds in enumerate(realtime_frontier(ks)):
            for p in preds:
                if vs[p] != vs[i]:
                    order.setdefault(vs[p], set()).add(vs[i])
