"""List-append analysis: version orders from reads, then ww / wr / rw dependencies.

Transactions append unique elements to named lists and read whole lists. Every read therefore reveals
a prefix of the key's *version order*: reading ``[3, 1, 2]`` says the key went through ``[3]``,
``[3, 1]`` and ``[3, 1, 2]``. Taking the longest read per key as the order (after checking that every
other read is a prefix of it — if not, the database showed two incompatible histories:
``incompatible-order``) lets us relate any two transactions touching the key:

* ``T1 -ww-> T2``: T2 appended the element right after T1's element;
* ``T1 -wr-> T2``: T2 read a list whose last element T1 appended;
* ``T1 -rw-> T2``: T1 read a list ending in x, and T2 appended the element that followed x (T1 must
  precede T2, or it would have seen T2's element).

An append never observed by any read still happened after everything that was observed (or it was lost),
so it is placed after the last observed element — that is how two transactions that both read ``[0]``
and appended, neither seeing the other, form the rw-rw cycle of a lost update. A key with a single
append and no reads has the obvious order.

Besides the graph this module finds the anomalies that need no cycle: aborted reads (G1a), intermediate
reads (G1b), internal inconsistency, reads of one's own future appends, duplicate elements, dirty
updates over an aborted append, and lost updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from checkers.elle.analysis import Analysis, MalformedTxn, hashable, op_summary
from checkers.elle.graph import RW, WR, WW, DepGraph
from checkers.elle.txn import Txn

INIT = "init"  # the empty list every key starts as, in explanations

_UNKNOWN = object()


def _h(x: Any) -> Any:
    return hashable(x) if x.__class__ is list else x


def _mops(t: Txn) -> list[tuple[str, Any, Any]]:
    """Micro-ops with hashable keys and elements; reads become tuples (``None`` unless the txn is ok,
    since an indeterminate transaction's reads were never observed)."""
    out = []
    ok = t.type == "ok"
    for m in t.mops:
        try:
            f, k, v = m
        except (TypeError, ValueError):
            raise MalformedTxn(f"op {t.index}: list-append micro-ops are [append k v] / [r k list], "
                               f"got {m!r}") from None
        if k.__class__ is list:
            k = hashable(k)
        if f == "r":
            if v is None or not ok:
                v = None
            elif v.__class__ is list or v.__class__ is tuple:
                v = tuple(v)
                try:
                    hash(v)
                except TypeError:
                    v = hashable(list(v))
            else:
                raise MalformedTxn(f"op {t.index}: a list-append read returns a list, got {m!r}")
        elif f == "append":
            if v.__class__ is list:
                v = hashable(v)
        else:
            raise MalformedTxn(
                f"op {t.index}: list-append micro-ops are [append k v] / [r k list], got {m!r}"
            )
        out.append((f, k, v))
    return out


class _Index:
    """Per-key version orders plus who appended and who read what; answers edge explanations."""

    def __init__(self, txns: Sequence[Txn], failed: Sequence[Txn]) -> None:
        self.txns = txns
        self.writer: dict[Any, dict[Any, int]] = {}
        self.failed_writer: dict[Any, dict[Any, Txn]] = {}
        self.order: dict[Any, list[Any]] = {}
        self.pos: dict[Any, dict[Any, int]] = {}
        self.readers: dict[Any, dict[Any, list[int]]] = {}
        self.mops: list[list[tuple[str, Any, Any]]] = [_mops(t) for t in txns]
        self.duplicate_appends: list[dict[str, Any]] = []
        self.reads: dict[Any, dict[tuple[Any, ...], None]] = {}
        self.longest: dict[Any, tuple[Any, ...]] = {}
        self.mixed: set[int] = set()  # ok transactions that both read and appended

    def prev(self, k: Any, e: Any) -> Any:
        """The element appended just before ``e`` to ``k`` (``INIT`` for the first one)."""
        p = self.pos.get(k)
        order = self.order.get(k)
        if p is not None and e in p:
            i = p[e]
            return order[i - 1] if i > 0 and order else INIT
        return order[-1] if order else INIT

    def explain(self, a: int, b: int, rel: int) -> dict[str, Any] | None:
        """Why ``a -rel-> b`` holds, from ``b``'s micro-ops (see the module docstring)."""
        for i, (f, k, v) in enumerate(self.mops[b]):
            if rel == WR and f == "r" and v:
                if self.writer.get(k, {}).get(v[-1]) == a:
                    return {"type": "wr", "key": k, "value": v[-1], "b-mop-index": i,
                            "text": f"{{b}} observed {{a}}'s append of {v[-1]!r} to key {k!r}"}
            elif f == "append" and rel in (WW, RW):
                p = self.prev(k, v)
                if rel == WW and p is not INIT and self.writer.get(k, {}).get(p) == a:
                    return {"type": "ww", "key": k, "value": p, "value'": v, "b-mop-index": i,
                            "text": f"{{b}} appended {v!r} after {{a}} appended {p!r} to key {k!r}"}
                if rel == RW and a in self.readers.get(k, {}).get(p, ()):
                    if p is INIT:
                        text = (f"{{a}} observed the initial (empty) state of key {k!r}, which {{b}} "
                                f"created by appending {v!r}")
                    else:
                        text = (f"{{a}} read key {k!r} ending in {p!r} and did not observe {{b}}'s append "
                                f"of {v!r}, which followed it")
                    return {"type": "rw", "key": k, "value": p, "value'": v, "b-mop-index": i, "text": text}
        return None


def analyse(txns: Sequence[Txn], failed: Sequence[Txn]) -> Analysis:
    """Build the ww/wr/rw graph over ``txns`` (ok + info) and collect the non-cyclic anomalies."""
    idx = _Index(txns, failed)
    g = DepGraph(len(txns))
    an = Analysis(txns, g, idx.explain)
    writer = idx.writer
    readers = idx.readers
    reads = idx.reads  # per key, distinct lists read, insertion-ordered (deterministic choices)
    append_count: dict[Any, int] = {}
    last_append: dict[Any, Any] = {}
    mixed = idx.mixed
    # Pass 1: who appended what; which lists were read, and who read a list ending in what.
    for t, mops in zip(txns, idx.mops, strict=True):
        tid = t.id
        did_read = did_append = False
        for f, k, v in mops:
            if f == "append":
                did_append = True
                wk = writer.get(k)
                if wk is None:
                    wk = writer[k] = {}
                if v in wk and wk[v] != tid:
                    idx.duplicate_appends.append({"key": k, "value": v, "ops": [txns[wk[v]].index, t.index]})
                wk[v] = tid
                append_count[k] = append_count.get(k, 0) + 1
                last_append[k] = v
            elif v is not None:
                did_read = True
                if v:
                    rs = reads.get(k)
                    if rs is None:
                        rs = reads[k] = {}
                    rs[v] = None
                    last = v[-1]
                else:
                    last = INIT
                rk = readers.get(k)
                if rk is None:
                    rk = readers[k] = {}
                lst = rk.get(last)
                if lst is None:
                    rk[last] = [tid]
                elif lst[-1] != tid:
                    lst.append(tid)
        if did_read and did_append:
            mixed.add(tid)
    for ft in failed:
        for m in ft.mops:
            if isinstance(m, list | tuple) and len(m) == 3 and m[0] == "append":
                idx.failed_writer.setdefault(_h(m[1]), {})[_h(m[2])] = ft
    # Version orders: the longest read per key; every other read must be a prefix of it.
    for k, values in reads.items():
        longest = max(values, key=len)
        idx.longest[k] = longest
        for v in values:
            if longest[: len(v)] != v:
                an.add("incompatible-order", {"key": k, "values": [list(v), list(longest)]})
        order = list(dict.fromkeys(longest))
        idx.order[k] = order
        idx.pos[k] = {e: i for i, e in enumerate(order)}
    for k, n in append_count.items():
        if n == 1 and k not in reads:
            idx.order[k] = [last_append[k]]
            idx.pos[k] = {last_append[k]: 0}
    # Pass 2: edges.
    succ = g.succ
    orders, positions = idx.order, idx.pos
    empty: dict[Any, Any] = {}
    for t, mops in zip(txns, idx.mops, strict=True):
        tid = t.id
        for f, k, v in mops:
            if f == "append":
                # The element appended just before v (see _Index.prev, inlined: this is the hot loop).
                korder = orders.get(k)
                if korder is None:
                    p: Any = INIT
                else:
                    i = positions[k].get(v)
                    if i is None:
                        p = korder[-1]
                    else:
                        p = korder[i - 1] if i > 0 else INIT
                if p is not INIT:
                    w = writer[k].get(p)
                    if w is not None and w != tid:
                        d = succ[w]
                        d[tid] = d.get(tid, 0) | WW
                for r in readers.get(k, empty).get(p, ()):
                    if r != tid:
                        d = succ[r]
                        d[tid] = d.get(tid, 0) | RW
            elif v:
                w = writer.get(k, empty).get(v[-1])
                if w is not None and w != tid:
                    d = succ[w]
                    d[tid] = d.get(tid, 0) | WR
    _non_cyclic(an, idx)
    return an


def _non_cyclic(an: Analysis, idx: _Index) -> None:
    """Anomalies visible without a cycle; each read is examined once."""
    txns = idx.txns
    for case in idx.duplicate_appends:
        an.add("duplicate-appends", case)
    intermediate: dict[Any, dict[Any, int]] = {}
    for t, mops in zip(txns, idx.mops, strict=True):
        if len(mops) < 2:
            continue
        last: dict[Any, Any] = {}
        for f, k, v in mops:
            if f == "append":
                if k in last:
                    intermediate.setdefault(k, {})[last[k]] = t.id
                last[k] = v
    # A list without duplicates has none in any prefix, so only the longest read and the reads that are
    # not prefixes of it need the (linear) duplicate test.
    dup_reads: dict[Any, set[tuple[Any, ...]]] = {}
    for k, values in idx.reads.items():
        longest = idx.longest[k]
        if len(idx.order[k]) == len(longest) and all(longest[: len(v)] == v for v in values):
            continue
        dup_reads[k] = {v for v in values if len(set(v)) != len(v)}
    failed_writer = idx.failed_writer
    lost: dict[tuple[Any, Any], list[int]] = {}
    no_writes: dict[Any, Any] = {}
    # Most transactions only read or only append; those need a closer look only if some read could
    # have seen an aborted, intermediate or duplicated element at all.
    every_read = bool(failed_writer or intermediate or any(dup_reads.values()))
    mixed = idx.mixed
    for t, mops in zip(txns, idx.mops, strict=True):
        if t.type != "ok" or not (every_read or t.id in mixed):
            continue
        state: dict[Any, tuple[bool, tuple[Any, ...]]] = {}
        ext_read: dict[Any, Any] = {}
        wrote: set[Any] = set()
        internal_done = False
        for i, (f, k, v) in enumerate(mops):
            if f == "append":
                known, lst = state.get(k, (False, ()))
                state[k] = (known, (*lst, v))
                if k not in wrote:
                    wrote.add(k)
                    if k in ext_read:
                        lost.setdefault((k, ext_read[k]), []).append(t.id)
                continue
            if v is None:
                continue
            if k not in wrote and k not in ext_read:
                ext_read[k] = v
            if v in dup_reads.get(k, no_writes):
                dups = sorted({repr(e) for e in v if v.count(e) > 1})
                an.add("duplicate-elements",
                       {"op": op_summary(t), "mop": [f, k, list(v)], "duplicates": dups})
            fw = failed_writer.get(k, no_writes)
            if fw:
                for e in v:
                    if e in fw:
                        an.add("G1a",
                               {"op": op_summary(t), "mop": [f, k, list(v)], "writer": op_summary(fw[e]),
                                "element": e})
            if v and intermediate:
                im = intermediate.get(k, no_writes).get(v[-1])
                if im is not None and im != t.id:
                    an.add("G1b", {"op": op_summary(t), "mop": [f, k, list(v)],
                                   "writer": op_summary(txns[im]), "element": v[-1]})
            if i + 1 < len(mops) and v:
                later = {m[2] for m in mops[i + 1:] if m[0] == "append" and m[1] == k}
                future = [e for e in v if e in later]
                if future:
                    an.add("future-read", {"op": op_summary(t), "mop": [f, k, list(v)], "element": future[0]})
            expected = state.get(k)
            if expected is not None and not internal_done:
                known, lst = expected
                bad = (v != lst) if known else (len(v) < len(lst) or v[len(v) - len(lst):] != lst)
                if bad:
                    internal_done = True
                    exp = list(lst) if known else ["...", *lst]
                    an.add("internal", {"op": op_summary(t), "mop": [f, k, list(v)], "expected": exp})
            state[k] = (True, v)
    for (k, v), tids in lost.items():
        if len(tids) > 1:
            an.add("lost-update", {"key": k, "value": list(v) if isinstance(v, tuple) else v,
                                   "txns": [op_summary(txns[i]) for i in tids]})
    _dirty_updates(an, idx)


def _dirty_updates(an: Analysis, idx: _Index) -> None:
    """A committed append directly over aborted ones (in version order) is a dirty update.

    Info appends in between are skipped over (they may or may not have happened), as are runs of
    aborted appends, so the reported span covers everything from the aborted write to the commit.
    """
    for k, fw in idx.failed_writer.items():
        order = idx.order.get(k)
        if not order or not any(e in fw for e in order):
            continue
        wk = idx.writer.get(k, {})
        prev_type = "ok"
        prev_txn: Txn | None = None
        span: list[Any] = []
        for e in order:
            w = wk.get(e)
            if w is not None:
                cur = idx.txns[w]
            elif e in fw:
                cur = fw[e]
            else:
                continue
            typ = cur.type
            span = [*span, e]
            if prev_type == "fail" and typ == "ok" and prev_txn is not None:
                an.add("dirty-update",
                       {"key": k, "values": span, "txns": [op_summary(prev_txn), op_summary(cur)]})
                prev_type, prev_txn, span = typ, cur, [e]
            elif typ == "info" or (prev_type == "fail" and typ == "fail"):
                continue
            else:
                prev_type, prev_txn, span = typ, cur, [e]
