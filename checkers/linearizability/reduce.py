"""Sound reductions applied before the search, and cheap up-front refutations.

Each reduction below keeps the answer exactly: a history is linearizable iff its reduced form is. The
property tests in ``tests/checkers/test_linearizability_props.py`` compare every switch on and off
against a brute-force search.

* **Crashed no-ops.** A crashed op that can never change the state (a read; ``Model.crash_is_noop``)
  constrains nothing: its result is unknown, so placing it anywhere or nowhere is always allowed and
  leaves every other op's state alone. Dropped.
* **Late crashed ops.** A crashed op invoked after every completed op returned can only be placed after
  all of them, where nothing observes it. Dropped.
* **Unobserved values (register, cas-register).** These models only ever compare the state for
  equality with *observed* values: outputs of reads and the ``old`` of a cas. Every value outside that
  set behaves identically, so all of them (written values, cas ``new`` values, the initial value) are
  renamed to one symbol ``UNOBSERVED``. Linearizations map one-to-one, and there are fewer distinct
  states, so the configuration cache merges more and crashed writes fall into fewer classes.
* **Crashed writes of an unobserved value** (write or cas ``new``), when no failed-cas observation
  can follow them (below): placed at some point, the state becomes ``UNOBSERVED``, which no read returns and
  no cas compares against, so until the next state change only crashed ops that are no-ops there can
  follow; removing the write (and those crashed no-ops, which may simply never happen) leaves a valid
  linearization, and conversely any linearization without it is one with it never taking effect.
  A failed cas *does* tell ``UNOBSERVED`` from its ``old``: it may be placed in that state, and not
  in the one before. But it can only be placed there if it returned after the write was invoked (the
  write's effect comes after its invocation), so the write is dropped only when every failed-cas
  observation of the key returned before the write was invoked.

The up-front refutation (``impossible_read``) finds a read that returned a value no operation could
have written before the read returned: a linearization point of the read must follow the write's,
which must follow the write's invocation. It gives a verdict in linear time and a crisp reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from checkers.linearizability.entries import Entry
from checkers.models.base import FAILED, UNKNOWN, Model
from checkers.models.register import CasRegister, Register


class _Unobserved:
    """The one symbol standing for every value no operation observed."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unobserved value>"

    def __reduce__(self) -> str:
        return "UNOBSERVED"


UNOBSERVED = _Unobserved()
_CRASHED = itemgetter(3)  # Entry.crashed
_RET_POS = itemgetter(5)  # Entry.ret_pos
_INV_POS = itemgetter(4)  # Entry.inv_pos


@dataclass(frozen=True, slots=True)
class Reductions:
    """Switches for every reduction (all on by default; tests turn them off one by one)."""

    crashed_noops: bool = True
    late_crashed: bool = True
    unobserved_values: bool = True
    unobserved_crashed_writes: bool = True
    classes: bool = True
    dominance: bool = True
    forced_reads: bool = True
    precheck: bool = True
    dead_ends: bool = True
    twins: bool = True
    guided: bool = True  # an ordering heuristic, not a reduction: it only changes which child goes first

    @property
    def all_pre_search(self) -> bool:
        """Every reduction applied before the search is on (``reduce_register`` may do them at once)."""
        return self.crashed_noops and self.late_crashed and self.unobserved_values and self.unobserved_crashed_writes

    @staticmethod
    def none() -> Reductions:
        """Every reduction off: the plain search."""
        return Reductions(False, False, False, False, False, False, False, False, False, False, False)


def is_register(model: Model) -> bool:
    """The register models, whose values the reductions below may rename."""
    return type(model) in (Register, CasRegister)


_is_register = is_register


def observed_values(entries: Sequence[Entry]) -> set[Any]:
    """Values a register history compares the state against: read outputs and cas ``old`` values."""
    seen: set[Any] = set()
    for e in entries:
        if e.f == "read" and not e.crashed and e.out is not FAILED and e.out is not UNKNOWN:
            seen.add(e.out)
        elif e.f == "cas" and isinstance(e.inp, tuple) and len(e.inp) == 2:
            seen.add(e.inp[0])
    return seen


def reduce_entries(
    model: Model, entries: Sequence[Entry], red: Reductions
) -> tuple[Model, list[Entry], dict[str, int]]:
    """Apply the enabled pre-search reductions; returns the (possibly renamed) model, entries and counts."""
    stats: dict[str, int] = {}
    out = list(entries)
    any_crashed = any(map(_CRASHED, out))  # neither reduction below can drop anything otherwise
    if red.crashed_noops:
        if any_crashed:
            kept = [e for e in out if not (e.crashed and model.crash_is_noop(e.f, e.inp))]
            stats["crashed_noops_dropped"] = len(out) - len(kept)
            out = kept
        else:
            stats["crashed_noops_dropped"] = 0
    if red.late_crashed:
        if any_crashed:
            last_ret = max((e.ret_pos for e in out if not e.crashed), default=-1)
            kept = [e for e in out if not (e.crashed and e.inv_pos > last_ret)]
            stats["late_crashed_dropped"] = len(out) - len(kept)
            out = kept
        else:
            stats["late_crashed_dropped"] = 0
    if red.unobserved_values and _is_register(model):
        seen = observed_values(out)
        renamed = 0

        def rename(v: Any) -> Any:
            nonlocal renamed
            if v in seen:
                return v
            renamed += 1
            return UNOBSERVED

        new: list[Entry] = []
        for e in out:
            if e.f == "write" and e.inp not in seen:
                e = e._replace(inp=rename(e.inp))
            elif e.f == "cas" and isinstance(e.inp, tuple) and len(e.inp) == 2 and e.inp[1] not in seen:
                e = e._replace(inp=(e.inp[0], rename(e.inp[1])))
            new.append(e)
        out = new
        if model.initial not in seen:
            model = type(model)(UNOBSERVED)
        stats["unobserved_values_renamed"] = renamed
        if red.unobserved_crashed_writes:
            # a failed cas returning after the write was invoked might be placed while the state is
            # UNOBSERVED (which differs from its old): such a write stays
            last_failed = max((e.ret_pos for e in out if e.out is FAILED), default=-1)
            kept = [e for e in out if not (e.crashed and _writes_unobserved(e) and e.inv_pos > last_failed)]
            stats["unobserved_crashed_writes_dropped"] = len(out) - len(kept)
            out = kept
    return model, out, stats


def reduce_register(
    model: Model, entries: Sequence[Entry], precheck: bool = True
) -> tuple[Refutation | None, Model, list[Entry], dict[str, int]] | None:
    """``impossible_read`` (when ``precheck``) and ``reduce_entries`` with every pre-search reduction on,
    for a register model, in two walks over the entries instead of one or two per reduction: the same
    refutation, model, entries and stats. None when the entries are not in invocation order (as
    ``split_history`` gives them): then the general functions apply.

    Walk 1 gathers what the reductions and the refutation need: the last return of a completed op, of
    a failed-cas observation, the observed values (crashed cas kept for their ``old`` only if they are
    not late), the two earliest-invoked writers of each value and the completed observations. Walk 2
    drops crashed no-ops (reads), late crashed ops and crashed writes of an unobserved value, and
    renames unobserved values, as ``reduce_entries`` does one step after the other.
    """
    assert _is_register(model)
    last_ret = last_failed = -1
    last_inv = -1
    seen: set[Any] = set()
    crashed_olds: list[tuple[int, Any]] = []
    first_w: dict[Any, Entry] = {}
    second_w: dict[Any, Entry] = {}
    observers: list[tuple[Entry, Any]] = []
    failed_news: list[Any] = []  # the new values of failed-cas observations (renamed all the same)
    ro = model.read_only_fs or ()
    noops = 0
    last_crashed = -1  # the last invocation of a crashed op that is not a no-op
    for e in entries:
        f, inp, out, crashed, inv_pos, ret_pos, _, _ = e  # unpacked whole: no slice per entry
        if inv_pos < last_inv:
            return None
        last_inv = inv_pos
        pair = f == "cas" and isinstance(inp, tuple) and len(inp) == 2
        if crashed:
            if f in ro:
                noops += 1
                continue  # dropped below, and never a writer
            last_crashed = inv_pos
            if pair:
                crashed_olds.append((inv_pos, inp[0]))
        else:
            # running maxima without a call per entry (this walk is on every check's path)
            if ret_pos > last_ret:  # noqa: PLR1730
                last_ret = ret_pos
            if out is FAILED:
                if ret_pos > last_failed:  # noqa: PLR1730
                    last_failed = ret_pos
                if pair:
                    seen.add(inp[0])
                    failed_news.append(inp[1])
                continue
            if f == "read":
                if out is not UNKNOWN:
                    seen.add(out)
                observers.append((e, out))
            elif pair:
                seen.add(inp[0])
                observers.append((e, inp[0]))
        if f == "write":
            v = inp
        elif pair:
            v = inp[1]
        else:
            continue
        if v not in first_w:
            first_w[v] = e
        elif v not in second_w:
            second_w[v] = e
    for inv_pos, old in crashed_olds:
        if inv_pos <= last_ret:
            seen.add(old)

    refutation = None
    if precheck:
        initial = model.initial
        stuck: tuple[Entry, Any] | None = None
        for e, v in observers:
            if v == initial or (stuck is not None and e.ret_pos >= stuck[0].ret_pos):
                continue
            w = first_w.get(v)
            if w is e:
                w = second_w.get(v)
            if w is None or w.inv_pos >= e.ret_pos:
                stuck = (e, v)
        if stuck is not None:
            e, v = stuck
            writers = tuple(
                x for x in entries if x.out is not FAILED and (
                    (x.f == "write" and x.inp == v)
                    or (x.f == "cas" and isinstance(x.inp, tuple) and len(x.inp) == 2 and x.inp[1] == v))
            )
            refutation = Refutation(e, v, writers)

    if not (noops or last_crashed > last_ret) and all(map(seen.__contains__, first_w)) and all(
        map(seen.__contains__, failed_news)
    ):
        # nothing to drop, every value written is observed (the common case): the entries as they are
        stats = {"crashed_noops_dropped": 0, "late_crashed_dropped": 0, "unobserved_values_renamed": 0,
                 "unobserved_crashed_writes_dropped": 0}
        if model.initial not in seen:
            model = type(model)(UNOBSERVED)
        return refutation, model, list(entries), stats
    out_list: list[Entry] = []
    noops = late = renamed = unobserved_writes = 0
    for e in entries:
        f, inp, _out, crashed, inv_pos, _, _, _ = e
        if crashed:
            if f in ro:
                noops += 1
                continue
            if inv_pos > last_ret:
                late += 1
                continue
        if f == "write":
            if inp not in seen:
                renamed += 1
                if crashed and inv_pos > last_failed:
                    unobserved_writes += 1
                    continue
                e = e._replace(inp=UNOBSERVED)
        elif f == "cas" and isinstance(inp, tuple) and len(inp) == 2 and inp[1] not in seen:
            renamed += 1
            if crashed and inv_pos > last_failed:
                unobserved_writes += 1
                continue
            e = e._replace(inp=(inp[0], UNOBSERVED))
        out_list.append(e)
    if model.initial not in seen:
        model = type(model)(UNOBSERVED)
    stats = {"crashed_noops_dropped": noops, "late_crashed_dropped": late, "unobserved_values_renamed": renamed,
             "unobserved_crashed_writes_dropped": unobserved_writes}
    return refutation, model, out_list, stats


def _writes_unobserved(e: Entry) -> bool:
    if e.f == "write":
        return e.inp is UNOBSERVED
    return e.f == "cas" and isinstance(e.inp, tuple) and len(e.inp) == 2 and e.inp[1] is UNOBSERVED


def drop_unknown_nil_reads(model: Model, entries: Sequence[Entry]) -> tuple[list[Entry], int]:
    """Knossos' convention: a read returning nil from a register that can never hold nil is a read whose
    value is unknown (Jepsen clients record nil when they did not learn it), so it constrains nothing.

    Applies only when the initial value is not nil and no write or cas ever stores nil; for our own
    histories (registers start as null) every nil read stays a real observation.
    """
    if not _is_register(model) or model.initial is None:
        return list(entries), 0
    for e in entries:
        if (e.f == "write" and e.inp is None) or (
            e.f == "cas" and isinstance(e.inp, tuple) and len(e.inp) == 2 and e.inp[1] is None
        ):
            return list(entries), 0
    kept = [e for e in entries if not (e.f == "read" and not e.crashed and e.out is None)]
    return kept, len(entries) - len(kept)


@dataclass(frozen=True, slots=True)
class Refutation:
    """An op that no linearization can place, found without searching, and why."""

    entry: Entry
    value: Any
    writers: tuple[Entry, ...]  # writes of that value, all invoked too late (may be empty)


def impossible_read(model: Model, entries: Sequence[Entry]) -> Refutation | None:
    """A completed read (or cas) that observed a value nothing could have written before it returned."""
    if not _is_register(model):
        return None
    writers: dict[Any, list[Entry]] = {}
    for e in entries:
        if e.out is FAILED:
            continue
        if e.f == "write":
            writers.setdefault(e.inp, []).append(e)
        elif e.f == "cas" and isinstance(e.inp, tuple) and len(e.inp) == 2:
            writers.setdefault(e.inp[1], []).append(e)
    # per value, its two earliest-invoked writers: "some writer other than e was invoked before e
    # returned" needs only those (the earliest, or the next when the earliest is e itself)
    first: dict[Any, tuple[Entry, Entry | None]] = {}
    for v, ws in writers.items():
        two = sorted(ws, key=_INV_POS)[:2] if len(ws) > 1 else ws
        first[v] = (two[0], two[1] if len(two) > 1 else None)
    initial = model.initial
    for e in sorted(entries, key=_RET_POS):
        if e.crashed or e.out is FAILED:
            continue
        if e.f == "read":
            v = e.out
        elif e.f == "cas" and isinstance(e.inp, tuple) and len(e.inp) == 2:
            v = e.inp[0]
        else:
            continue
        if v == initial:
            continue
        pair = first.get(v)
        w = None if pair is None else pair[1] if pair[0] is e else pair[0]
        if w is None or w.inv_pos >= e.ret_pos:
            return Refutation(e, v, tuple(writers.get(v, ())))
    return None
