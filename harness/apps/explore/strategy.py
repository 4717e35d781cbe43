"""What explore draws: a scenario (seed, network, workload shape, timed faults) as a Hypothesis strategy.

Every choice of a run is drawn from Hypothesis so that a failure can be shrunk as a whole, and each run
first draws which fault kinds it may use (swarm testing) and whether each fault is aimed at a protocol
event. See :mod:`harness.apps.explore` for the why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.backends.sim.backend import SIM_CONFIG_KEY
from harness.backends.sim.network import LinkParams
from harness.run.spec import RunSpec
from nemesis import schedule as schedules
from nemesis.faults import ANNOUNCED, ANY_EVENT, FaultKind, FaultOp, TimedFault
from nemesis.schedule import AIMABLE
from nemesis.table import family_of, group_of
from systems_under_test.core import EVENTS

FAULT_KINDS: tuple[str, ...] = ("partition", "kill", "pause", "clock", "packet", "member")
MAX_FAULTS = 8
DEFAULT_BUDGET = 200
DEFAULT_TIME_LIMIT = 10.0
DEFAULT_SHRINK_TIME = 120.0
DEFAULT_GENERIC_RUNS = 20


@dataclass(frozen=True, slots=True)
class ExploreOptions:
    """What to search: the system variant, how long, and the shape of each run."""

    system: str
    budget: int = DEFAULT_BUDGET  # runs to generate (shrinking comes on top)
    time_budget: float | None = None  # wall seconds for generating; None = only the run budget
    shrink_time: float = DEFAULT_SHRINK_TIME  # wall seconds for shrinking a failure
    seed: int = 0  # seeds Hypothesis itself, so a search is repeatable
    nodes: int | None = None  # None = the system's default
    time_limit: float = DEFAULT_TIME_LIMIT  # virtual seconds of the main phase of each run
    quiesce: float = 2.0
    kinds: tuple[str, ...] = FAULT_KINDS
    check_time_limit: float = 20.0  # checker budget per run (past it the verdict is unknown)
    # Feed Hypothesis the new event sequences each run reached (coverage guidance). Off by default: on
    # the bug zoo it slowed two searches as much as it sped one up (README, Detection).
    coverage: bool = False
    aim: bool = True  # let drawn faults wait for protocol events
    generic_runs: int = DEFAULT_GENERIC_RUNS  # runs of the generic schedule before the search


# ---------------------------------------------------------------------------------------------------
# Hypothesis strategies


def _grid(st: Any, lo: float, hi: float, steps: int = 40) -> Any:
    """Numbers on a grid of ``steps`` intervals over ``[lo, hi]``, shrinking towards ``lo``.

    Drawn as a small integer on purpose: Hypothesis draws wide integer (and float) ranges with a
    strong bias towards small values, which made almost every fault start in the first second and
    last a few milliseconds. Small ranges are drawn uniformly, and shrink just as well.
    """
    return st.integers(0, steps).map(lambda i: round(lo + (hi - lo) * i / steps, 4))


def _r(x: float) -> float:
    return round(x, 3)


_GAP_RANGE = 0.25  # the largest quiet gap before a fault, as a share of the time span it is drawn for


def _fault(draw: Any, st: Any, kind: str, nodes: Sequence[str],
           time_limit: float) -> tuple[float, float, FaultOp, FaultOp]:
    """Draw one fault of ``kind``: the quiet gap before it, how long it lasts, the op and its undo."""
    gap = draw(_grid(st, 0.0, _GAP_RANGE * time_limit, 20))
    length = draw(_grid(st, 0.1, time_limit / 2, 40))
    # How many nodes first (uniformly: Hypothesis' list sizes favour short lists, and "all of them" or
    # "a majority" matters for crash bugs), then which.
    k = draw(st.integers(1, len(nodes)))
    targets = sorted(draw(st.lists(st.sampled_from(list(nodes)), min_size=k, max_size=k, unique=True)))
    # Symbolic targets are resolved by the nemesis when it strikes: "whoever leads right now".
    leaders = draw(st.booleans())
    if kind == "partition" and leaders:
        return gap, length, FaultOp(FaultKind.START_PARTITION, {"grudge": "primaries"}), \
            FaultOp(FaultKind.STOP_PARTITION, None)
    if kind in ("kill", "pause") and leaders:
        start_kind, undo_kind = (FaultKind.KILL, FaultKind.START) if kind == "kill" else (FaultKind.PAUSE,
                                                                                         FaultKind.RESUME)
        return gap, length, FaultOp(start_kind, {"targets": "primaries"}), FaultOp(undo_kind, None)
    if kind == "partition":
        # Symmetric in who is on which side, so the smaller side is enough; one-way cuts drop only
        # what the smaller side receives.
        side = sorted(draw(st.lists(st.sampled_from(list(nodes)), min_size=1,
                                    max_size=max(1, len(nodes) // 2), unique=True)))
        rest = [n for n in nodes if n not in side]
        one_way = draw(st.booleans())
        grudge: dict[str, list[str]] = {n: list(rest) for n in side}
        if not one_way:
            grudge.update({n: list(side) for n in rest})
        start, stop = FaultOp(FaultKind.START_PARTITION, grudge), FaultOp(FaultKind.STOP_PARTITION, None)
        return gap, length, start, stop
    if kind == "kill":
        return gap, length, FaultOp(FaultKind.KILL, targets), FaultOp(FaultKind.START, targets)
    if kind == "pause":
        return gap, length, FaultOp(FaultKind.PAUSE, targets), FaultOp(FaultKind.RESUME, targets)
    if kind == "clock":
        offsets = {n: draw(_grid(st, 0.0, 30.0, 30)) * (-1 if draw(st.booleans()) else 1) for n in targets}
        if leaders:  # strobe: flip between +0 and the offset every period, for the fault's length
            value = {"nodes": offsets, "period": draw(_grid(st, 0.01, 0.2, 19)), "duration": length}
            start, stop = FaultOp(FaultKind.STROBE_CLOCK, value), FaultOp(FaultKind.RESET_CLOCK, targets)
            return gap, length, start, stop
        return gap, length, FaultOp(FaultKind.BUMP_CLOCK, offsets), FaultOp(FaultKind.RESET_CLOCK, targets)
    if kind == "member":  # never the first node: systems with membership use it as the change manager
        node = draw(st.sampled_from(list(nodes[1:]) or list(nodes)))
        return gap, length, FaultOp(FaultKind.LEAVE, [node]), FaultOp(FaultKind.JOIN, [node])
    if kind == "packet":
        value = {
            "nodes": targets,
            "delay": draw(_grid(st, 0.0, 0.3, 30)),
            "loss": draw(_grid(st, 0.0, 0.5, 50)),
            "dup": draw(_grid(st, 0.0, 0.3, 30)),
        }
        return gap, length, FaultOp(FaultKind.START_PACKET, value), FaultOp(FaultKind.STOP_PACKET, targets)
    raise ValueError(f"unknown fault kind {kind!r}; valid: {', '.join(FAULT_KINDS)}")


Drawn = tuple[Any, ...]  # overlap?, gap, length, the op, its undo[, aimed at event or None[, after]]


def _layout(faults: Sequence[Drawn], gap_range: float) -> list[TimedFault]:
    """Place faults in time, each as a (start, undo) pair, in the order drawn.

    A fault normally starts its quiet gap after every earlier fault has healed (Jepsen's alternation of
    quiet and fault periods). With its ``overlap`` flag it starts its gap after the *previous fault's
    start* instead (its gap, as a share of the largest gap, becomes that share of the previous fault's
    length), so it strikes while that one is still in force, as in Jepsen's combined nemesis
    (a coordinator crash inside a partition is what some bugs need). Faults of one group (the fault
    table's ``group``) would undo each other, so an overlap that would hit a still-active fault of its own
    group falls back to the sequential place. Every flag shrinks towards ``False``, so shrinking moves
    towards the plain sequential layout, and with no flag set the layout is exactly the sequential one.

    The result keeps each fault's start and undo adjacent (entries ``2i`` and ``2i + 1``), which is what
    lets the deletion pass drop a fault; it is *not* sorted by time: ``schedule.from_json`` sorts it
    (stably, so equal times keep this order) whenever it is run or replayed.
    """
    out: list[TimedFault] = []
    placed: list[tuple[str, float, float]] = []  # group, start, end of each fault so far
    for overlap, gap, length, start, undo, *aimed in faults:
        on = aimed[0] if aimed else None
        after = int(aimed[1]) if on is not None and len(aimed) > 1 else 0
        group = group_of(start.kind)
        healed = max((end for _, _, end in placed), default=0.0)
        at = _r(healed + gap)
        if overlap and placed:
            # the gap, as a share of its range, places the start inside the previous fault's span
            _, prev_start, prev_end = placed[-1]
            early = _r(prev_start + (prev_end - prev_start) * min(1.0, gap / gap_range))
            if all(g != group or end < early for g, _, end in placed):
                at = min(at, early)
        end = _r(at + length)
        placed.append((group, at, end))
        out.extend((TimedFault(at, start, on, _r(length / 2) if on else 0.0, after), TimedFault(end, undo)))
    return out


def _paired(schedule: Sequence[TimedFault], time_limit: float) -> list[TimedFault]:
    """A time-sorted schedule as (start, undo) pairs of adjacent entries, like :func:`_layout`'s, so that
    the deletion pass can drop whole faults; a fault still open at the end is undone at ``time_limit``."""
    from nemesis.packages import undo as undo_of
    from nemesis.table import CAPABILITY_OF, UNDO_OF

    pairs: list[list[TimedFault]] = []
    open_: dict[str, list[TimedFault]] = {}
    for tf in schedule:
        cap = CAPABILITY_OF[tf.op.kind]
        if tf.op.kind in UNDO_OF:
            open_[cap] = [tf]
            pairs.append(open_[cap])
        elif cap in open_:
            open_.pop(cap).append(tf)
    for pair in pairs:
        if len(pair) == 1:
            pair.append(TimedFault(max(time_limit, pair[0].at), undo_of(pair[0].op)))
    return [tf for pair in pairs for tf in pair]


def generic_schedule(kinds: Sequence[str], nodes: Sequence[str], seed: int, interval: float,
                     time_limit: float) -> list[TimedFault]:
    """The schedule ``splitbrain run --nemesis`` gives ``kinds`` (swarm phases; ``restart`` with ``kill``)
    for a nemesis seed, as (start, undo) pairs."""
    import random

    from nemesis.packages import resolve_packages

    names = [*kinds, *(["restart"] if "kill" in kinds else [])]
    packages = resolve_packages(names)
    return _paired(schedules.swarm(packages, nodes, random.Random(seed), interval=interval,
                                   time_limit=time_limit), time_limit)


def generic_spec(opts: ExploreOptions, nodes: int, workload: str, i: int) -> RunSpec:
    """The ``i``-th run of the generic schedule: what ``splitbrain run --backend sim --nemesis <kinds>`` does
    (swarm phases, every other setting at its default) with a seed drawn from the search seed, its
    schedule written out as (start, undo) pairs so that it replays and shrinks like a drawn one."""
    import random

    from nemesis.membership import refusal

    rng = random.Random(f"generic:{opts.seed}:{i}")
    kinds = [k for k in FAULT_KINDS if k in opts.kinds and (k != "member" or refusal(opts.system) is None)]
    node_ids = tuple(f"n{j}" for j in range(1, nodes + 1))
    # The interval in proportion to the run (``run``'s default of 5 s suits its 30 s runs): a short run
    # still gets several turns of every package.
    seed = rng.randrange(2**31)
    interval = round(opts.time_limit * rng.uniform(0.1, 0.25), 3)
    base = RunSpec(system=opts.system, workload=workload, backend="sim", nodes=nodes,
                   time_limit=opts.time_limit, quiesce=opts.quiesce, check_time_limit=opts.check_time_limit,
                   seed=seed, nemesis_interval=interval)
    faults = generic_schedule(kinds, node_ids, rng.randrange(2**31), base.nemesis_interval, opts.time_limit)
    used = tuple(k for k in kinds if any(_kind_of(tf) == k for tf in faults)) or ("none",)
    return base.with_(nemesis=used, schedule=tuple(schedules.to_json(faults)))


def scenario_strategy(opts: ExploreOptions, nodes: int, workload: str) -> Any:
    """A Hypothesis strategy of ``RunSpec``s for the simulator (schedule and network included)."""
    from hypothesis import strategies as st

    from nemesis.membership import refusal

    node_ids = tuple(f"n{i}" for i in range(1, nodes + 1))
    kinds = tuple(k for k in FAULT_KINDS
                  if k in opts.kinds and (k != "member" or refusal(opts.system) is None))
    if not kinds:
        raise ValueError(f"none of the fault kinds {', '.join(opts.kinds)} applies to {opts.system}")

    @st.composite
    def fault(draw: Any, enabled: Sequence[str], span: float) -> Drawn:
        drawn = _fault(draw, st, draw(st.sampled_from(list(enabled))), node_ids, span)
        overlap = draw(st.booleans())
        # Aimed at a protocol moment (strikes at the next such event, or when half its length passed);
        # shrinks towards not aimed.
        on, after = None, 0
        if opts.aim and drawn[2].kind in AIMABLE and draw(st.booleans()):
            # first (where shrinking leads): a kind the run announced; then any event, or a named one
            on = draw(st.sampled_from([ANNOUNCED, ANY_EVENT, *EVENTS]))
            # at the event, or after that many of the node's next messages (part-way through a broadcast)
            after = draw(st.integers(0, len(node_ids)))
        return (overlap, *drawn, on, after)

    @st.composite
    def scenario(draw: Any) -> RunSpec:
        seed = draw(st.integers(0, 2**31 - 1))
        # Swarm testing: this run's fault mix.
        # A coin per kind (not a list: Hypothesis favours short lists, which made runs mixing two
        # particular kinds, e.g. a kill inside a partition, rare); shrinks towards fewer kinds.
        enabled = [k for k in kinds if draw(st.booleans())] or [draw(st.sampled_from(kinds))]
        # How many faults first, uniformly (Hypothesis' list sizes favour one or two faults, which left
        # few runs where two kinds meet), then the faults; shrinking lowers the count, and the final
        # deletion pass (``_drop_faults``) removes any fault, not only the last ones.
        count = draw(st.integers(1, MAX_FAULTS))
        # Gaps and lengths scale with the share of the run each fault has, so that most of the drawn
        # faults happen inside the run rather than after its end.
        span = opts.time_limit * 2 / (count + 1)
        drawn = draw(st.lists(fault(enabled, span), min_size=count, max_size=count))
        faults = _layout(drawn, _GAP_RANGE * span)
        peer = LinkParams(
            base=draw(_grid(st, 0.0002, 0.005, 24)),
            jitter=draw(_grid(st, 0.0, 0.01, 20)),
            max_jitter=0.05,
            loss=draw(_grid(st, 0.0, 0.1, 20)),
            dup=draw(_grid(st, 0.0, 0.05, 10)),
            reorder=draw(st.booleans()),
        )
        concurrency = nodes + draw(st.integers(0, nodes))  # every node gets a client
        rate = float(draw(_grid(st, 10.0, 100.0, 18)))
        options: dict[str, Any] = {}
        if workload == "register":
            options = {"keys": draw(st.integers(1, 5))}
        return RunSpec(
            system=opts.system,
            workload=workload,
            backend="sim",
            nodes=nodes,
            concurrency=concurrency,
            time_limit=opts.time_limit,
            rate=rate,
            nemesis=tuple(k for k in enabled if any(_kind_of(tf) == k for tf in faults)) or ("none",),
            seed=seed,
            quiesce=opts.quiesce,
            check_time_limit=opts.check_time_limit,
            workload_options=options,
            config={SIM_CONFIG_KEY: {"peer_link": peer.to_dict()}},
            schedule=tuple(schedules.to_json(faults)),
        )

    return scenario()


def _kind_of(tf: TimedFault) -> str:
    return family_of(tf.op.kind)


