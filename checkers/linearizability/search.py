"""The search: Wing & Gong's backtracking over linearization orders with Lowe's configuration cache.

A *configuration* is (which completed ops are linearized, which crashed ops are, model state). Completed
ops are ranked by return position; ``k`` is the first rank not yet linearized and ``rel`` a small bitset
of the linearized ranks above ``k`` (bit ``d`` is rank ``k+1+d``). That pair names the linearized
completed set canonically with small ints: everything returned before op ``k`` returned is linearized
(otherwise it would be ``k``), and anything above ``k`` was invoked before ``k`` returned. The next op
to linearize must be invoked before rank ``k`` returns (else ``k`` would precede it in real time), so the
candidates are ``k``, the unlinearized ranks of the window above it, and crashed ops invoked in time.

Reductions inside the search (each can be switched off, and the property tests compare both ways):

* **Crashed-op classes.** Two crashed ops with the same ``(f, input)`` never return, so once both are
  invoked they are interchangeable: any linearization using the later one can use the earlier one in
  its place. So only the earliest-invoked unlinearized member of each class is tried, and the crashed
  ops linearized form a prefix of each class; their bits are laid out contiguously per class.
* **Dominance.** A crashed op may also never take effect, so a configuration whose crashed set is a
  subset of another's (same completed set, same state) can do everything the other can: the cache keeps,
  per (completed set, state), the crashed sets seen, and drops a configuration that is a superset of one.
  For the same reason a crashed op that would leave the state unchanged is never tried (always on).
  Only the first ``DOMINANCE_LIST`` crashed sets per (completed set, state) are compared against, so
  one configuration costs bounded work; exact repeats are always pruned.
* **Dead ends.** When the oldest pending op ``k`` needs an exact value (``Model.needs``: a read's
  result) the state does not hold, some op placed before it must write that value; only the current
  candidates can be placed before ``k`` (anything else was invoked after ``k`` returned). If none of
  them writes it (``Model.writes``), no continuation exists: the configuration has no children.
* **Twins.** Of two pending completed ops with the same ``(f, input, output)``, only the one returning
  first is tried: in any successful continuation placing the later-returning twin first, swapping the
  two keeps every state (the ops are identical) and the real-time order (an op placed between them
  that was invoked after either returned would already break the original order).
* **Forced reads.** If a pending read-only op (a read, a failed cas observation: ``FAILED`` output
  never changes the state) succeeds in the current
  state, linearizing it *now* loses nothing: moving it earlier in any successful continuation keeps the
  real-time order (it is a candidate now) and the states of every other op. So it is the only child.

* **Unreachable targets** (models with ``Model.may_reach``: Porcupine's kv, where gets and appends only
  ever extend the value). An op that must still be placed and needs an exact state (a get's value),
  with no unplaced op that ``resets`` the state able to come before it, needs a state reachable from
  the current one; when the model says it is not, the configuration has no children. Switched with
  ``dead_ends``; the argument is at ``unreachable`` below.

Order of the children (it changes the time to find a linearization, never the verdict): rank ``k``
first, then the window in return order, then crashed ops (taken only when needed: when rank ``k``
fits, they are worked out only if the search comes back to the configuration); when ``k`` is a read
the state cannot satisfy, the moves after which it can be placed go first (``guided``).

Memory: the cache is bucketed by ``k`` and a configuration is one int in its bucket; buckets of ranks
the search can no longer reach are dropped as it goes (``forget``: this changes nothing the search does,
it only forgets what can never be looked up again), so a search that moves forward through a long
history keeps a window of the cache, not all of it. The process's resident memory is compared with a
cap now and then (``memory_limit``). The search is a generator (``search_steps``) that can pause every
few steps and resume, so a driver can share time between many keys (``driver``).

The search keeps the deepest configuration it reaches (most completed ops linearized) and the path that
led there: the longest linearizable prefix for the counterexample. Time and configuration budgets turn
a search that would hang or exhaust memory into an ``unknown`` answer.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Generator, Hashable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, compress, count, filterfalse, islice, repeat
from operator import gt, itemgetter, ne, sub
from typing import Any

from checkers.linearizability.budget import AUTO_MEMORY, default_memory_limit, rss_bytes
from checkers.linearizability.entries import Entry
from checkers.models.base import FAILED, INVALID, NO_VALUE, UNKNOWN, Model

#: crashed sets kept per (completed set, state) for the dominance test; beyond that only exact repeats
#: are pruned, which keeps the cost of one configuration bounded (dominance is an optional pruning)
DOMINANCE_LIST = 1024
_CRASHED = itemgetter(3)  # Entry.crashed
_RET = itemgetter(5)  # Entry.ret_pos
_INV = itemgetter(4)  # Entry.inv_pos
_K = itemgetter(0)  # Child.k
_FIRST = itemgetter(0)
_OP3 = itemgetter(0, 1, 2)  # Entry (f, inp, out)
NEVER = 1 << 62
_UNSET: Any = object()  # a table entry not worked out yet  # a pause point never reached
INF_POS = 1 << 62
LAZY = -(1 << 60)  # the label of a sentinel child standing for the crashed children of its parent
#: ops with a target (gets) whose reachability is tested per configuration (see ``unreachable``)
REACH_LOOKAHEAD = 12
MAX_BEST_STATES = 16
#: a configuration: (k, rel, crashed bits, state id, label of the op placed last: a rank, or -1-class)
Child = tuple[int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """Which in-search reductions are on, and the budget (None = unlimited)."""

    classes: bool = True
    dominance: bool = True
    forced_reads: bool = True
    guided: bool = True
    dead_ends: bool = True
    twins: bool = True
    deadline: float | None = None  # time.monotonic() value
    max_configs: int | None = None
    #: bytes of resident memory of the process (checked now and then); AUTO_MEMORY: a default cap
    #: below what the machine has (``budget.default_memory_limit``), worked out when first needed
    memory_limit: int | None = None
    #: steps between budget checks and checks between cache clean-ups (powers of two; tests make them 1)
    check_every: int = 64
    forget_every: int = 64


@dataclass(slots=True)
class SearchOutcome:
    """What the search found: verdict, a witness order or the deepest prefix, and statistics."""

    valid: bool | None  # None = budget exhausted
    configs: int = 0
    steps: int = 0
    #: linearization (entries in order, completed and crashed) when valid
    witness: list[Entry] = field(default_factory=list)
    #: deepest linearizable prefix (entries in order) when not valid
    prefix: list[Entry] = field(default_factory=list)
    #: states the deepest prefix's completed set could leave the model in (bounded)
    prefix_states: list[Hashable] = field(default_factory=list)
    #: completed op that could not be linearized after the deepest prefix
    stuck: Entry | None = None
    #: completed ops that were candidates (concurrent with ``stuck``) there but not linearized
    pending: list[Entry] = field(default_factory=list)
    reason: str = ""


def search(model: Model, entries: Sequence[Entry], opts: SearchOptions = SearchOptions()) -> SearchOutcome:
    """Decide whether ``entries`` (one key) have a linearization under ``model``."""
    try:
        next(search_steps(model, entries, opts))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise AssertionError("a search without a slice never pauses")


def search_steps(
    model: Model, entries: Sequence[Entry], opts: SearchOptions = SearchOptions(), first_slice: int | None = None
) -> Generator[int, int | None, SearchOutcome]:
    """``search`` as a resumable generator, for drivers that share their time between many keys.

    It runs about ``first_slice`` steps (None: to the end), then yields the steps taken so far; send it
    the number of further steps to allow (None: to the end). Its return value (``StopIteration.value``)
    is the ``SearchOutcome``. A paused search keeps its cache, so resuming loses nothing.
    """
    crashed = list(filter(_CRASHED, entries))
    if crashed:
        crashed.sort(key=_INV)
        completed = sorted(filterfalse(_CRASHED, entries), key=_RET)
    else:
        completed = sorted(entries, key=_RET)
    m = len(completed)
    if m == 0:
        return SearchOutcome(valid=True)
    ret = list(map(_RET, completed))
    inv = list(map(_INV, completed))

    # window[k]: (rank j, bit d = j-k-1) of ops above k invoked before k returned; op j belongs to the
    # windows of ranks lo..j-1, where lo is the first rank returning after j's invocation
    # (an empty window is one shared empty tuple, a list only where there is something: most ranks have
    # none, and an empty list per rank was 1.4 % of the etcd corpus's search instructions)
    window: list[Sequence[tuple[int, int]]] = [()] * m
    # only an op invoked before the rank below it returned is in any window (else lo = j): the others
    # are skipped without a bisection
    late = list(compress(range(1, m), map(gt, ret, islice(inv, 1, None))))
    lo_of = list(map(bisect_right, repeat(ret, len(late)), map(inv.__getitem__, late)))
    # j - lo: how many windows op j is in; the highest bit d of any window, + 1: no rel has a bit at
    # w_bits or above
    w_bits = max(map(sub, late, lo_of), default=0)
    if w_bits:
        for j, lo in zip(late, lo_of, strict=True):
            for k in range(lo, j):
                w = window[k]
                if w:
                    w.append((j, j - k - 1))  # type: ignore[attr-defined]
                else:
                    window[k] = [(j, j - k - 1)]
    # rel only ever holds bits of the window, so rank k is the only move left when they are all set
    w_len = list(map(len, window))

    # crashed classes: members sorted by invocation, bits contiguous per class
    classes: list[list[Entry]] = []
    c_base: list[int] = []
    c_size: list[int] = []
    c_inv: list[list[int]] = []
    c_mask: list[int] = []
    n_avail: list[int] = []
    if crashed:
        if opts.classes:
            groups: dict[Any, list[Entry]] = {}
            for e in crashed:
                groups.setdefault(e[:2], []).append(e)  # (f, input)
            # in order of first invocation (the crashed ops are in invocation order)
            classes = list(groups.values())
        else:
            classes = [[e] for e in crashed]
        c_size = list(map(len, classes))
        c_base = list(accumulate(c_size, initial=0))
        c_inv = [list(map(_INV, g)) for g in classes]
        c_mask = [(1 << s) - 1 for s in c_size]
        first_inv = list(map(_INV, map(_FIRST, classes)))
        n_avail = list(map(bisect_left, repeat(first_inv, m), ret))
    n_cls = len(classes)

    # transition tables, shared between ops with equal (f, input, output): tables[t][sid] = next sid
    # (-1 = impossible), filled lazily so the model's step runs once per (op kind, state)
    s0 = model.init()
    states: list[Hashable] = [s0]
    state_id: dict[Hashable, int] = {s0: 0}
    sid0 = 0
    step = model.step

    def compute(t: int, sid: int) -> int:
        f, inp, out = table_op[t]
        ns = step(states[sid], f, inp, out)
        if ns is INVALID:
            r = -1
        else:
            r = state_id.get(ns, -1)
            if r < 0:
                r = state_id[ns] = len(states)
                states.append(ns)
        tables[t][sid] = r
        return r

    forced_ok = opts.forced_reads
    guided = opts.guided
    is_read_only = model.is_read_only
    # the model's read-only operations by name, unless it decides with a method of its own
    ro_fs = model.read_only_fs if type(model).is_read_only is Model.is_read_only else None
    # every property of an op below depends only on its (f, input, output), so it is computed per table
    c_key = list(map(_OP3, completed))
    # a table's id is the first rank with its (f, input, output): one dict operation per op (ids of
    # ranks that repeat an earlier op are unused)
    table_of: dict[tuple[str, Any, Any], int] = {}
    c_tid = list(map(table_of.setdefault, c_key, count()))
    n_tables = m
    table_op: list[Any] = [None] * m
    tables: list[Any] = [None] * m
    # a definite failure kept as an observation (a failed cas) never changes the state (the model
    # contract: its step returns the state or INVALID), so it is read-only whatever its name
    t_ro = [False] * m
    for op, t in table_of.items():
        table_op[t] = op
        tables[t] = {}
        if not forced_ok:
            continue
        if ro_fs is not None:
            t_ro[t] = op[0] in ro_fs or op[2] is FAILED
        else:
            t_ro[t] = op[2] is FAILED or is_read_only(op[0], op[1])
    c_tab = list(map(tables.__getitem__, c_tid))
    c_op = c_key
    read_only = list(map(t_ro.__getitem__, c_tid))
    # twin[j]: some other completed op has the same (f, input, output), so the twins rule may apply
    if opts.twins and len(table_of) < m:
        repeated = set(compress(c_tid, map(ne, c_tid, count())))  # an op past the first of its table
        twin = list(map(repeated.__contains__, c_tid))
    else:
        twin = [False] * m
    x_tid: list[int] = []
    for g in classes:
        key = (g[0].f, g[0].inp, UNKNOWN)
        t = table_of.get(key)
        if t is None:
            t = table_of[key] = len(tables)
            tables.append({})
            table_op.append(key)
        x_tid.append(t)
    x_tab = list(map(tables.__getitem__, x_tid))
    # dead ends need Model.needs; a model that does not override it never needs an exact value. What an
    # op needs and writes is worked out per table when a dead end is first looked for there (most
    # searches look at few): t_need[t], t_write[t] (_UNSET until then)
    dead_ends = opts.dead_ends and type(model).needs is not Model.needs
    t_need: list[Any] = [_UNSET] * n_tables
    t_write: list[Any] = [_UNSET] * n_tables
    needs = model.needs
    writes = model.writes

    # Unreachable targets (models with ``may_reach``: Porcupine's kv). A completed op j with a target
    # (a get: the exact value it returned) must be placed some time, and every op placed before it
    # was invoked before j returned. If none of the ops still unplaced that could come before j
    # ``resets`` the state, the state j meets is reached from the current one by non-resetting ops
    # only; if the model says the target cannot be reached that way, no continuation exists. The
    # test runs for the first REACH_LOOKAHEAD ops with a target from rank k on that are not placed
    # (every one of them must still be placed, in the window of k or later);
    # r_before(j): ranks of resetting completed ops invoked before j returned (ascending, made when
    # first needed), and
    # x_reset_before[j]: some resetting crashed op was invoked before j returned.
    reach = opts.dead_ends and type(model).may_reach is not Model.may_reach
    c_target: list[Any] = []
    target_ranks: list[int] = []
    reset_inv: list[tuple[int, int]] = []
    r_before_at: dict[int, list[int]] = {}
    x_reset_before: list[bool] = []
    may_reach = model.may_reach
    prefix = False
    if reach:
        t_target = [NO_VALUE if key is None else model.target(*key) for key in table_op[:n_tables]]
        reach = any(v is not NO_VALUE for v in t_target)
    if reach:
        t_reset = [key is not None and model.resets(key[0], key[1]) for key in table_op[:n_tables]]
        c_target = [t_target[t] for t in c_tid]
        reset_ranks = [r for r in range(m) if t_reset[c_tid[r]]]
        reset_inv = sorted((inv[r], r) for r in reset_ranks)
        x_reset_inv = min((e.inv_pos for e in crashed if model.resets(e.f, e.inp)), default=INF_POS)
        x_reset_before = [x_reset_inv < ret[j] for j in range(m)]
        target_ranks = [j for j in range(m) if c_target[j] is not NO_VALUE]
        # the model's reachability is "is a prefix of" and every target and state is a string: test
        # it with str.startswith directly (the hot path of kv searches)
        prefix = model.reach_is_prefix and all(type(c_target[j]) is str for j in target_ranks) and all(
            type(x) is str for x in states
        ) and all(type(op[1]) in (str, type(None)) for op in table_op if op is not None and op[0] != "get")

    # The look-ahead costs a test of several ops per configuration; a search that never has to
    # backtrack (most valid histories) does not need it, so it starts with the first dead end.
    # (Pruning less never changes a verdict: a configuration it would cut has no continuation.)
    pruning = False

    def unreachable(k: int, rel: int, sid: int) -> bool:
        """Some op that must still be placed (rank k, an unplaced op of its window) has a target the
        current state cannot reach before it (see above)."""
        s = states[sid]
        first = bisect_left(target_ranks, k)
        for j in target_ranks[first : first + REACH_LOOKAHEAD]:
            if j > k and (rel >> (j - k - 1)) & 1:
                continue  # placed already
            v = c_target[j]
            if (v.startswith(s) if prefix else may_reach(s, v)) or x_reset_before[j]:
                continue
            # still reachable if a resetting op not placed yet (and able to precede j) leaves a state
            # from which it is: the state j meets is the current one grown, or one such op's grown
            resets = r_before_at.get(j)
            if resets is None:
                resets = r_before_at[j] = sorted(r for _, r in reset_inv[: bisect_left(reset_inv, (ret[j], -1))])
            if resets and resets[-1] >= k:
                for r in resets[bisect_left(resets, k):]:
                    if r == k or not (rel >> (r - k - 1)) & 1:
                        after = step(s, *c_op[r])
                        if after is INVALID or may_reach(after, v):
                            break
                else:
                    return True
                continue
            return True
        return False

    # cache: (k, rel, sid) -> crashed bitsets seen (or a plain set when nothing crashed)
    use_lists = n_cls > 0
    dominance = opts.dominance
    # Memory-lean and forgetful: the cache is bucketed by k (one set or dict per rank, created when
    # first needed), and a configuration within a bucket is one int, (sid << w_bits) | rel (rel never
    # has a bit at w_bits or above), with the crashed bits below that in the exact set (see ``admit``:
    # used only where the dominance lists cannot tell a repeat). A bucket below the
    # lowest k the search can still reach is dropped (see ``forget``): it can never be looked up again.
    x_bits = sum(c_size)
    cache_at: list[dict[int, list[int]] | None] = [None] * (m + 1)
    seen_at: list[set[int] | None] = [None] * (m + 1)
    exact_at: list[set[int] | None] = [None] * (m + 1)
    forgotten = 0  # buckets below this rank are gone
    n_configs = 0
    max_configs = opts.max_configs
    deadline = opts.deadline
    memory_limit = opts.memory_limit
    pause_at = NEVER if first_slice is None else first_slice
    check_mask = opts.check_every - 1
    forget_mask = opts.forget_every - 1

    # movers[sid]: (class, next sid) of the crashed classes whose op can take effect in state sid and
    # changes it (the others are never tried there, see above), in class order; worked out per state
    # worked out per state up to the classes needed so far (movers_upto[sid]: classes below it done)
    movers: dict[int, list[tuple[int, int]]] = {}
    movers_upto: dict[int, int] = {}

    def state_movers(sid: int, na: int) -> list[tuple[int, int]]:
        out = movers.get(sid)
        if out is None:
            out = movers[sid] = []
        for c in range(movers_upto.get(sid, 0), na):
            nc = x_tab[c].get(sid)
            if nc is None:
                nc = compute(x_tid[c], sid)
            if nc >= 0 and nc != sid:
                out.append((c, nc))
        movers_upto[sid] = na
        return out

    # writers_of[v]: the crashed classes whose op writes v, in class order (for dead ends; made when
    # first needed)
    writers_of: dict[Any, list[int]] | None = None

    def crashed_writers() -> dict[Any, list[int]]:
        nonlocal writers_of
        writers_of = {}
        for c, g in enumerate(classes):
            writers_of.setdefault(writes(g[0].f, g[0].inp, UNKNOWN), []).append(c)
        return writers_of

    def crashed_raw(k: int, rel: int, cb: int, sid: int) -> list[Child]:
        """The children of a configuration that place a crashed op (the next member of a class
        invoked before rank k returned, which changes the state)."""
        raw: list[Child] = []
        rk = ret[k]
        na = n_avail[k]
        moves = movers.get(sid)
        if moves is None or movers_upto[sid] < na:
            moves = state_movers(sid, na)
        for c, nc in moves:
            if c >= na:
                break
            cnt = ((cb >> c_base[c]) & c_mask[c]).bit_length()
            if cnt == c_size[c] or c_inv[c][cnt] >= rk:
                continue
            raw.append((k, rel, cb | (1 << (c_base[c] + cnt)), nc, -1 - c))
        return raw

    def crashed_kids(k: int, rel: int, cb: int, sid: int) -> list[Child]:
        """What a sentinel child expands to: the crashed children not seen before (admitted now)."""
        return [ch for ch in crashed_raw(k, rel, cb, sid) if admit(ch[0], (ch[3] << w_bits) | ch[1], ch[2])]

    def children(k: int, rel: int, cb: int, sid: int, ns: int) -> tuple[list[Child], bool]:
        """Child configurations not seen before, and whether one of them linearizes everything
        (``ns``: the state after rank k, -1 if it cannot be placed now)."""
        nonlocal n_configs
        raw: list[Child] = []
        forced = False
        if pruning and unreachable(k, rel, sid):
            return [], False
        # rank k itself: linearizing it moves k past every linearized rank just above it
        if ns < 0 and dead_ends:
            t = c_tid[k]
            v = t_need[t]
            if v is _UNSET:
                v = t_need[t] = needs(*table_op[t])
        else:
            v = NO_VALUE
        if v is not NO_VALUE:
            for j, d in window[k]:
                if (rel >> d) & 1:
                    continue
                t = c_tid[j]
                w = t_write[t]
                if w is _UNSET:
                    w = t_write[t] = writes(*table_op[t])
                if w == v:
                    break
            else:
                rk = ret[k]
                na = n_avail[k] if n_cls else 0
                for c in (writers_of if writers_of is not None else crashed_writers()).get(v, ()):
                    if c >= na:
                        break
                    cnt = ((cb >> c_base[c]) & c_mask[c]).bit_length()
                    if cnt < c_size[c] and c_inv[c][cnt] < rk:
                        break
                else:
                    return [], False
        if ns >= 0:
            tz = (~rel & (rel + 1)).bit_length() - 1
            nk = k + 1 + tz
            if nk == m:
                return [(nk, 0, cb, ns, k)], True
            raw.append((nk, rel >> (tz + 1), cb, ns, k))
            forced = read_only[k] and ns == sid
        if not forced:
            tk = c_tid[k]
            twins_seen: set[int] | None = None
            for j, d in window[k]:
                if (rel >> d) & 1:
                    continue
                if twin[j]:
                    t = c_tid[j]
                    if t == tk:
                        continue
                    if twins_seen is None:
                        twins_seen = {t}
                    elif t in twins_seen:
                        continue
                    else:
                        twins_seen.add(t)
                nj = c_tab[j].get(sid)
                if nj is None:
                    nj = compute(c_tid[j], sid)
                if nj < 0:
                    continue
                if read_only[j] and nj == sid:
                    raw = [(k, rel | (1 << d), cb, nj, j)]
                    forced = True
                    break
                raw.append((k, rel | (1 << d), cb, nj, j))
        lazy = False
        if not forced and n_cls:
            if ns >= 0:
                # rank k fits: its child goes first, and the crashed ones are worked out only if the
                # search comes back here (a sentinel child stands for them, see ``crashed_kids``)
                lazy = True
            else:
                raw += crashed_raw(k, rel, cb, sid)
        elif forced:
            raw = raw[-1:]
        if guided and not forced and len(raw) > 1 and read_only[k]:
            # rank k is a read that the current state cannot satisfy (else it was forced): try first
            # the moves after which it can be placed (a valid history's order is then usually found
            # without backtracking; an invalid one is explored all the same)
            table_k = c_tab[k]
            good: list[Child] = []
            rest: list[Child] = []
            for ch in raw:
                r = table_k.get(ch[3])
                if r is None:
                    r = compute(c_tid[k], ch[3])
                (good if r >= 0 else rest).append(ch)
            raw = good + rest
        out: list[Child] = []
        if not use_lists:
            for ch in raw:
                key = (ch[3] << w_bits) | ch[1]
                bucket = seen_at[ch[0]]
                if bucket is None:
                    seen_at[ch[0]] = {key}
                elif key not in bucket:
                    bucket.add(key)
                else:
                    continue
                out.append(ch)
            n_configs += len(out)
            return out, False
        for ch in raw:
            if admit(ch[0], (ch[3] << w_bits) | ch[1], ch[2]):
                out.append(ch)
        if lazy:
            out.append((k, rel, cb, sid, LAZY))
        return out, False

    def admit(ck: int, key: int, ncb: int) -> bool:
        """The cache test of a configuration with crashed ops: False when it repeats or is dominated,
        else it is recorded (and counted) and True.

        With dominance, the crashed sets kept per (completed set, state) form an antichain: a set
        that one of them is a subset of is dominated, a repeat included (a kept set is only ever
        replaced by a subset of it). Once the list is full, the sets admitted past it go to the
        rank's exact set, which catches their repeats. Without dominance, the exact set alone.
        """
        nonlocal n_configs
        if dominance:
            cache = cache_at[ck]
            if cache is None:
                cache_at[ck] = {key: [ncb]}
            else:
                seen = cache.get(key)
                if seen is None:
                    cache[key] = [ncb]
                elif any(old & ~ncb == 0 for old in seen):
                    return False
                elif len(seen) < DOMINANCE_LIST:
                    # keep an antichain: sets that ncb dominates are redundant from now on
                    seen[:] = [old for old in seen if ncb & ~old != 0]
                    seen.append(ncb)
                elif not exact_new(ck, (key << x_bits) | ncb):
                    return False
        elif not exact_new(ck, (key << x_bits) | ncb):
            return False
        n_configs += 1
        return True

    def exact_new(ck: int, full: int) -> bool:
        """False if this exact configuration was recorded at rank ``ck`` before, else records it."""
        ex = exact_at[ck]
        if ex is None:
            exact_at[ck] = {full}
        elif full in ex:
            return False
        else:
            ex.add(full)
        return True

    # The deepest configuration: depth (completed ops linearized) never decreases along a path, so the
    # deepest configuration of a path is at its end, and only where a path ends (no new child, or the
    # budget ran out) is it compared with the best so far. The configurations of equal depth just
    # before that end are the crashed steps leading to it (a crashed step keeps k and rel): walking back
    # over them finds the first configuration that reached the depth, as a check at every step would.
    # The best path is copied lazily: only when the search is about to backtrack past it.
    best_depth = 0
    best_len = 0
    best_path: list[Child] = []
    dirty = False
    best_cfg = (0, 0)
    best_sids: set[int] = {sid0}
    path: list[Child] = []  # the configurations (k, rel, cb, sid, label) along the current branch

    def path_ends() -> None:
        nonlocal best_depth, best_len, dirty, best_cfg, best_sids
        if not path:
            return  # the root, the best from the start
        k, rel = path[-1][:2]
        depth = k + rel.bit_count()
        if depth < best_depth or (depth == best_depth and (k, rel) != best_cfg):
            return
        first = len(path) - 1
        while first >= 0 and path[first][4] < 0:
            first -= 1
        if depth > best_depth:
            best_depth, best_cfg, best_len, dirty = depth, (k, rel), max(first + 1, 0), True
            best_sids = {path[first][3] if first >= 0 else sid0}
        for cfg in path[max(first, 0):]:
            if len(best_sids) >= MAX_BEST_STATES:
                break
            best_sids.add(cfg[3])

    checks = 0
    # stack[:live_frames] are known to have no child left (frames never gain one; a pop below the mark
    # lowers it, so a frame pushed at a position below it later is never skipped)
    live_frames = 0

    def forget(k_now: int) -> None:
        """Drop the cache buckets of ranks below the lowest k the search can still reach.

        Sound because it changes nothing the search does: every configuration still to be expanded is
        a descendant of the current one or of a child not yet taken from a frame on the stack, and k
        never decreases from a configuration to its children. The bottom-most frame with a child left
        bounds them all from below (frames above it, and the current configuration, are its
        descendants), so a configuration of a lower k can never be generated again and its bucket
        could never be looked up.
        """
        nonlocal forgotten, live_frames
        low = k_now
        for i in range(live_frames, len(stack)):
            kids, nxt_i = stack[i][0], stack[i][1]
            if nxt_i < len(kids):
                low = min(low, min(map(_K, kids[nxt_i:])))
                break
            live_frames = i + 1
        for kk in range(forgotten, low):
            seen_at[kk] = None
            cache_at[kk] = None
            exact_at[kk] = None
        forgotten = max(forgotten, low)

    def over_budget(k_now: int) -> str:
        """Why the search must stop now ("" to go on); checked every few steps. Every 64th check also
        forgets unreachable cache buckets and compares the process's memory with the cap."""
        nonlocal checks, memory_limit
        if deadline is not None and time.monotonic() > deadline:
            return "time limit reached"
        if max_configs is not None and n_configs > max_configs:
            return f"configuration budget ({max_configs}) exhausted"
        checks += 1
        if not checks & forget_mask:
            forget(k_now)
            if memory_limit == AUTO_MEMORY:  # decided only now: most searches never get here
                memory_limit = default_memory_limit()
            if memory_limit is not None and rss_bytes() > memory_limit:
                return f"memory limit ({memory_limit // 1_000_000} MB) reached"
        return ""

    # Depth first from the root. A frame is pushed only where the search branches: [children, next
    # index, path length at the frame]. Chains of single children are followed without frames (the
    # most common one, where rank k is the only move, without even a call), and on a dead end the
    # path is cut back to the last branching frame.
    stack: list[list[Any]] = []
    k = rel = cb = 0
    sid = sid0
    steps = 0
    timed_out = ""
    while True:
        # expand the configuration (k, rel, cb, sid); ns: the state after rank k, -1 if impossible
        tab = c_tab[k]
        ns = tab.get(sid)
        if ns is None:  # compute(c_tid[k], sid), inlined: most steps reach a new state
            f, inp, out = c_op[k]
            nstate = step(states[sid], f, inp, out)
            if nstate is INVALID:
                ns = -1
            else:
                ns = state_id.get(nstate, -1)
                if ns < 0:
                    ns = state_id[nstate] = len(states)
                    states.append(nstate)
            tab[sid] = ns
        nxt: Child | None = None
        # rank k is the only child when it fits and is a forced read, or (without crashed ops) when
        # nothing else is pending: the step is taken right here. With crashed ops and nothing else
        # pending, the children are rank k and then the crashed ones, worked out only if the search
        # comes back (``children`` would give the same two, the second as a sentinel): the sentinel
        # goes into a frame of its own and rank k is taken right here as well
        forced_k = read_only[k] and ns == sid
        if ns >= 0 and (forced_k or (rel.bit_count() == w_len[k] and not (use_lists and pruning))):
            tz = (~rel & (rel + 1)).bit_length() - 1
            nk = k + 1 + tz
            if nk == m:
                path.append((nk, 0, cb, ns, k))
                witness = _entries_along(path, completed, classes, c_base, c_mask)
                return SearchOutcome(True, n_configs, steps or 1, witness=witness)
            nrel = rel >> (tz + 1)
            seen_key = (ns << w_bits) | nrel
            if forced_k:
                # a forced read is the only child of a configuration the cache has admitted: the
                # configuration after it is not recorded (met again by another way, it is expanded
                # again, and its own children are looked up then), which saves a cache entry a step
                fresh = True
            elif use_lists:
                fresh = admit(nk, seen_key, cb)
            else:
                bucket = seen_at[nk]
                if bucket is None:
                    bucket = seen_at[nk] = set()
                fresh = seen_key not in bucket
                if fresh:
                    bucket.add(seen_key)
                    n_configs += 1
            lazy = use_lists and not forced_k
            if fresh:
                if lazy:
                    stack.append([[(k, rel, cb, sid, LAZY)], 0, len(path)])
                path.append((nk, nrel, cb, ns, k))
                k = nk
                rel = nrel
                sid = ns
                steps += 1
                if steps & check_mask:
                    continue
                if steps >= pause_at:
                    more = yield steps
                    pause_at = steps + more if more else NEVER
                timed_out = over_budget(k)
                if timed_out:
                    path_ends()
                    break
                continue
            if lazy:
                nxt = (k, rel, cb, sid, LAZY)  # rank k was seen: on to the crashed children
        else:
            kids, done = children(k, rel, cb, sid, ns)
            if done:
                path.append(kids[0])
                witness = _entries_along(path, completed, classes, c_base, c_mask)
                return SearchOutcome(True, n_configs, steps or 1, witness=witness)
            if kids:
                nxt = kids[0]
                if len(kids) > 1:
                    stack.append([kids, 1, len(path)])
        while True:
            if nxt is None:
                path_ends()
                pruning = reach  # the search backtracks: from now on, look ahead (see ``unreachable``)
                while stack:  # back to the last frame with a child left
                    frame = stack[-1]
                    kids = frame[0]
                    i = frame[1]
                    if i == len(kids):
                        stack.pop()
                        # a frame pushed at this position later is a new one
                        live_frames = min(live_frames, len(stack))
                        continue
                    frame[1] = i + 1
                    plen = frame[2]
                    if len(path) > plen:
                        if dirty and len(path) >= best_len > plen:
                            best_path = path[:best_len]
                            dirty = False
                        del path[plen:]
                    nxt = kids[i]
                    break
                else:
                    break  # everything reachable was explored
            if nxt[4] != LAZY:
                break
            # a sentinel: the crashed children of the configuration at the end of the path
            kids = crashed_kids(nxt[0], nxt[1], nxt[2], nxt[3])
            nxt = kids[0] if kids else None
            if len(kids) > 1:
                stack.append([kids, 1, len(path)])
        if nxt is None:
            break  # everything reachable was explored
        path.append(nxt)
        k, rel, cb, sid, _ = nxt
        steps += 1
        if not steps & check_mask:
            if steps >= pause_at:
                more = yield steps
                pause_at = steps + more if more else NEVER
            timed_out = over_budget(k)
            if timed_out:
                path_ends()
                break
    if dirty:
        best_path = path[:best_len]

    k, rel = best_cfg
    pending = [completed[j] for j, d in window[k] if not (rel >> d) & 1]
    return SearchOutcome(
        valid=None if timed_out else False,
        configs=n_configs,
        steps=steps,
        prefix=_entries_along(best_path, completed, classes, c_base, c_mask),
        prefix_states=[states[s] for s in sorted(best_sids)],
        stuck=completed[k],
        pending=pending,
        reason=timed_out,
    )


def _entries_along(
    configs: Sequence[Child],
    completed: list[Entry],
    classes: list[list[Entry]],
    c_base: list[int],
    c_mask: list[int],
) -> list[Entry]:
    """The ops placed along a path of configurations: a label >= 0 is a completed rank, -1-c the next
    member of crashed class c (the one after those the crashed bits before the step hold)."""
    if not classes:
        return [completed[cfg[4]] for cfg in configs]
    out: list[Entry] = []
    before = 0
    for cfg in configs:
        label = cfg[4]
        if label >= 0:
            out.append(completed[label])
        else:
            c = -1 - label
            out.append(classes[c][((before >> c_base[c]) & c_mask[c]).bit_length()])
        before = cfg[2]
    return out
