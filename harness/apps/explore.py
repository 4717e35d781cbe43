"""``splitbrain explore``: search fault schedules in the simulator and shrink a failure to its essence.

Why Hypothesis: a random fault schedule that breaks a system is usually long and mostly noise. If every
choice of a run — the seed, the network's latency/loss/duplication, the workload's shape and the list
of timed faults — is *drawn from Hypothesis*, then on a failure Hypothesis can shrink all of them
together: drop faults, shorten them, move them earlier, simplify the network, until no smaller run
still fails. Because the simulator is deterministic, every candidate run is a pure function of its
choices, which is exactly what shrinking needs.

Swarm testing (Groce et al.): each run first draws *which* fault kinds it may use, then draws its
faults only from those. Across runs the fault mix varies — some runs only partition, some only pause
and bump clocks — which finds bugs that a fixed uniform mix drowns out (e.g. a bug that needs a long
quiet partition is unlikely while crashes keep interrupting it).

The outcome of a search is a :class:`Finding`: the shrunk scenario as a ``RunSpec`` (explicit schedule
in ``spec.schedule``, network parameters in ``spec.config["sim"]``) that replays from one command, the
checker's verdict, and whether a fresh replay reproduced the very same history.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click

from checkers.history import Op, dumps
from checkers.result import UNKNOWN, Result
from harness.apps.invoked import as_invoked
from harness.backends.sim.backend import SIM_CONFIG_KEY
from harness.backends.sim.network import LinkParams
from harness.run.plan import RunPlan, build_plan
from harness.run.simrun import run_spec
from harness.run.spec import RunSpec
from nemesis import schedule as schedules
from nemesis.faults import FaultKind, FaultOp, TimedFault
from nemesis.schedule import AIMABLE
from nemesis.table import family_of, group_of
from systems_under_test.core import EVENTS

FAULT_KINDS: tuple[str, ...] = ("partition", "kill", "pause", "clock", "packet", "member")
MAX_FAULTS = 8
DEFAULT_BUDGET = 200
DEFAULT_TIME_LIMIT = 10.0
DEFAULT_SHRINK_TIME = 120.0


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


@dataclass(frozen=True, slots=True)
class Finding:
    """A failing run, shrunk: replay ``spec`` with the simulator to see the same violation again."""

    spec: RunSpec
    result: Result
    reason: str  # "invalid" or "crashed"
    error: str | None
    history_sha256: str
    replayed: bool  # a fresh replay gave the same verdict and the same history bytes
    faults_before_shrinking: int
    seconds_to_first: float = 0.0  # wall seconds of the search until the first violating run
    runs_to_first: int = 0  # runs until (and including) the first violating run

    @property
    def schedule(self) -> list[dict[str, Any]]:
        """The shrunk fault schedule, JSON form."""
        return [dict(s) for s in self.spec.schedule or ()]


@dataclass(slots=True)
class ExploreReport:
    """What a search did and found."""

    system: str
    runs: int = 0
    shrink_runs: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {"true": 0, "false": 0, "unknown": 0, "crashed": 0})
    wall_seconds: float = 0.0
    finding: Finding | None = None
    coverage: int = 0  # distinct event sequences (bigrams of announced events and faults) reached


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


def _fault(draw: Any, st: Any, kind: str, nodes: Sequence[str], time_limit: float) -> tuple[float, float, FaultOp, FaultOp]:
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
        side = sorted(draw(st.lists(st.sampled_from(list(nodes)), min_size=1, max_size=max(1, len(nodes) // 2),
                                    unique=True)))
        rest = [n for n in nodes if n not in side]
        one_way = draw(st.booleans())
        grudge: dict[str, list[str]] = {n: list(rest) for n in side}
        if not one_way:
            grudge.update({n: list(side) for n in rest})
        return gap, length, FaultOp(FaultKind.START_PARTITION, grudge), FaultOp(FaultKind.STOP_PARTITION, None)
    if kind == "kill":
        return gap, length, FaultOp(FaultKind.KILL, targets), FaultOp(FaultKind.START, targets)
    if kind == "pause":
        return gap, length, FaultOp(FaultKind.PAUSE, targets), FaultOp(FaultKind.RESUME, targets)
    if kind == "clock":
        offsets = {n: draw(_grid(st, 0.0, 30.0, 30)) * (-1 if draw(st.booleans()) else 1) for n in targets}
        if leaders:  # strobe: flip between +0 and the offset every period, for the fault's length
            value = {"nodes": offsets, "period": draw(_grid(st, 0.01, 0.2, 19)), "duration": length}
            return gap, length, FaultOp(FaultKind.STROBE_CLOCK, value), FaultOp(FaultKind.RESET_CLOCK, targets)
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


Drawn = tuple[Any, ...]  # overlap?, gap, length, the op, its undo[, the event it is aimed at or None]


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
        out.extend((TimedFault(at, start, on, _r(length / 2) if on else 0.0), TimedFault(end, undo)))
    return out


def scenario_strategy(opts: ExploreOptions, nodes: int, workload: str) -> Any:
    """A Hypothesis strategy of ``RunSpec``s for the simulator (schedule and network included)."""
    from hypothesis import strategies as st

    from nemesis.membership import refusal

    node_ids = tuple(f"n{i}" for i in range(1, nodes + 1))
    kinds = tuple(k for k in FAULT_KINDS if k in opts.kinds and (k != "member" or refusal(opts.system) is None))
    if not kinds:
        raise ValueError(f"none of the fault kinds {', '.join(opts.kinds)} applies to {opts.system}")

    @st.composite
    def fault(draw: Any, enabled: Sequence[str], span: float) -> Drawn:
        drawn = _fault(draw, st, draw(st.sampled_from(list(enabled))), node_ids, span)
        overlap = draw(st.booleans())
        # Aimed at a protocol moment (strikes at the next such event, or when half its length passed);
        # shrinks towards not aimed.
        on = draw(st.sampled_from([*EVENTS, "*"])) if draw(st.booleans()) and drawn[2].kind in AIMABLE else None
        return (overlap, *drawn, on)

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


# ---------------------------------------------------------------------------------------------------
# Running and judging one scenario


@dataclass(frozen=True, slots=True)
class Verdict:
    """One simulated and checked run."""

    result: Result
    error: str | None
    history_sha256: str
    ops: tuple[Op, ...]
    coverage: frozenset[str] = frozenset()

    @property
    def failed(self) -> bool:
        """A violation or a crash (of the run itself)."""
        return self.result.valid is False or self.error is not None


Checker = Callable[[RunSpec, Sequence[Op]], Result]


def workload_check(spec: RunSpec | RunPlan, ops: Sequence[Op]) -> Result:
    """Judge ``ops`` with the checker(s) of the run's workload."""
    plan = spec if isinstance(spec, RunPlan) else build_plan(spec)
    return plan.workload_spec().check(list(ops), time_limit=plan.spec.check_time_limit)


def simulate_and_check(spec: RunSpec, check: Checker = workload_check) -> Verdict:
    """Plan ``spec``, run it in the simulator and judge its history (by default with the workload's checker)."""
    plan = build_plan(spec)
    run = run_spec(plan)
    ops = run.outcome.ops
    digest = hashlib.sha256("".join(dumps(op) + "\n" for op in ops).encode()).hexdigest()
    try:
        result = workload_check(plan, ops) if check is workload_check else check(spec, ops)
    except Exception:  # noqa: BLE001 - a checker bug must not end the search; it is reported
        result = Result("checker", UNKNOWN, explanation="the checker crashed:\n" + traceback.format_exc())
    return Verdict(result, run.outcome.error, digest, ops, coverage_of(run.backend.event_trace, ops))


def coverage_of(trace: Sequence[tuple[str, str]], ops: Sequence[Op]) -> frozenset[str]:
    """What a run reached, as a fuzzer counts it: pairs of consecutive announced events per node, and
    for every fault the first event announced after it (``kill>elected``: a leader was elected after
    a crash). Only names, never times, so that a new *sequence* counts and a new timing does not."""
    out: set[str] = set()
    last: dict[str, str] = {}
    for node, name in trace:
        prev = last.get(node)
        if prev != name:
            out.add(f"{prev or 'start'}>{name}")
        last[node] = name
    # faults in the history interleave with the events only by time; pair each with the next event kind
    names = [name for _, name in trace]
    faults = [op.f for op in ops if op.process == "nemesis" and op.error is None]
    if names:
        out.update(f"{f}>{names[min(i, len(names) - 1)]}" for i, f in enumerate(faults))
    return frozenset(out)


def reason_of(verdict: Verdict) -> str:
    """The one-line reason of a run's verdict (the checker's first line, or the crash)."""
    if verdict.error:
        return "the run crashed: " + (verdict.error.strip().splitlines() or ["(no message)"])[-1]
    text = (verdict.result.explanation or "").strip()
    return text.splitlines()[0] if text else f"{verdict.result.checker}: no explanation given"


def spec_key(spec: RunSpec) -> str:
    """A canonical text of ``spec`` (identical scenarios share it)."""
    return json.dumps(spec.to_dict(), sort_keys=True)


class _Failure(Exception):
    """Raised inside the Hypothesis test to mark a failing scenario."""


def explore(
    opts: ExploreOptions,
    progress: Callable[[str], None] | None = None,
    check: Checker = workload_check,
) -> ExploreReport:
    """Search for a failing scenario; on one, shrink it, replay it, and return it in the report."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings, target
    from hypothesis import seed as hyp_seed

    from systems_under_test.registry import resolve

    desc, _variant = resolve(opts.system)
    if desc.is_third_party:
        from harness.run.spec import SpecError

        raise SpecError(f"{desc.name} is a third-party system: explore runs only systems with a sans-IO core "
                        "in the simulator")
    nodes = opts.nodes or desc.default_nodes
    workload = desc.workloads[0]
    report = ExploreReport(opts.system)
    cache: dict[str, Verdict] = {}
    failures: list[RunSpec] = []
    t0 = time.perf_counter()
    shrink_started: list[float] = []
    seen: set[str] = set()  # coverage reached so far
    first: list[tuple[float, int]] = []

    def say(text: str) -> None:
        if progress is not None:
            progress(text)

    def judge(spec: RunSpec) -> Verdict:
        key = spec_key(spec)
        hit = cache.get(key)
        if hit is None:
            hit = simulate_and_check(spec, check)
            # keep histories only of failures: a search holds hundreds of runs
            cache[key] = hit if hit.failed else replace(hit, ops=())
            if shrink_started:
                report.shrink_runs += 1
            else:
                report.runs += 1
                label = "crashed" if hit.error else str(hit.result.valid).lower()
                report.verdicts[label] = report.verdicts.get(label, 0) + 1
                if hit.failed and not first:
                    first.append((time.perf_counter() - t0, report.runs))
                word = {"true": "valid", "false": "INVALID"}.get(label, label)
                say(f"run {report.runs}: seed {spec.seed}, {len(spec.schedule or ())} fault ops "
                    f"({','.join(spec.nemesis)}): {word}: {reason_of(hit)}")
        return hit

    @hyp_seed(opts.seed)
    @settings(
        max_examples=max(1, opts.budget),
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        print_blob=False,
        verbosity=Verbosity.quiet,
        phases=(Phase.generate, Phase.target, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(scenario_strategy(opts, nodes, workload))
    def probe(spec: RunSpec) -> None:
        now = time.perf_counter()
        key = spec_key(spec)
        if failures and not shrink_started:
            shrink_started.append(now)
            say(f"violation found after {report.runs} runs; shrinking")
        if not failures and opts.time_budget is not None and now - t0 > opts.time_budget and key not in cache:
            return  # generation time is up: let the remaining examples pass without running
        if shrink_started and now - shrink_started[0] > opts.shrink_time and key not in cache:
            return  # shrinking time is up: only already-known failures still fail
        verdict = judge(spec)
        if not shrink_started:
            # Coverage feedback: Hypothesis keeps and mutates the scenarios that score highest, and the
            # score is what this run reached that no run before it did (new event sequences).
            new = verdict.coverage - seen
            seen.update(new)
            report.coverage = len(seen)
            target(float(len(new)), label="new event sequences")
        if verdict.failed:
            failures.append(spec)
            raise _Failure(verdict.result.explanation or "invalid")

    try:
        probe()
    except _Failure:
        pass
    except Exception:  # e.g. Hypothesis' Flaky: keep what was found, if anything
        if not failures:
            raise
    report.wall_seconds = time.perf_counter() - t0
    if not failures:
        return report
    minimal = _drop_faults(failures[-1], lambda spec: judge(spec).failed,
                           time.perf_counter() + max(0.0, opts.shrink_time - (time.perf_counter() - t0)))
    verdict = cache[spec_key(minimal)]
    say("replaying the shrunk scenario")
    again = simulate_and_check(minimal, check)
    replayed = again.history_sha256 == verdict.history_sha256 and again.result.valid == verdict.result.valid
    report.finding = Finding(
        spec=minimal,
        result=verdict.result,
        reason="crashed" if verdict.error else "invalid",
        error=verdict.error,
        history_sha256=verdict.history_sha256,
        replayed=replayed,
        faults_before_shrinking=len(failures[0].schedule or ()),
        seconds_to_first=first[0][0] if first else report.wall_seconds,
        runs_to_first=first[0][1] if first else report.runs,
    )
    report.wall_seconds = time.perf_counter() - t0
    return report


def sweep_spec(system: str, seed: int, *, kinds: Sequence[str] = FAULT_KINDS, time_limit: float = 10.0,
               nodes: int | None = None) -> RunSpec:
    """A plain seeded run with every fault kind in ``kinds`` and seed-drawn network and fault rates.

    Swarm testing without Hypothesis: the nemesis interval, the link's loss/duplication/jitter and the
    subset of fault kinds are drawn from the seed, so a sweep over seeds varies the fault mix too.
    """
    from harness.run.seeds import child_rng
    from nemesis.membership import refusal
    from systems_under_test.registry import resolve

    rng = child_rng(seed, "sweep")
    kinds = [k for k in kinds if k != "member" or refusal(system) is None]
    mix = tuple(k for k in kinds if rng.random() < 0.7) or tuple(kinds)
    peer = LinkParams(base=round(rng.uniform(0.0002, 0.003), 4), jitter=round(rng.uniform(0.0, 0.01), 4),
                      loss=round(rng.choice([0.0, 0.0, rng.uniform(0.0, 0.1)]), 3),
                      dup=round(rng.choice([0.0, 0.0, rng.uniform(0.0, 0.05)]), 3), reorder=rng.random() < 0.7)
    desc, _ = resolve(system)
    return RunSpec(system=system, backend="sim", nodes=nodes or desc.default_nodes, concurrency=rng.randint(2, 8),
                   time_limit=time_limit, rate=float(rng.randint(20, 80)), nemesis=mix,
                   nemesis_interval=round(rng.uniform(0.5, 3.0), 3), seed=seed, quiesce=2.0,
                   config={SIM_CONFIG_KEY: {"peer_link": peer.to_dict()}})


def sweep(system: str, seeds: Sequence[int], **kw: Any) -> dict[int, Verdict]:
    """Run and check :func:`sweep_spec` for every seed; the verdict of each."""
    return {seed: simulate_and_check(sweep_spec(system, seed, **kw)) for seed in seeds}


def _without(spec: RunSpec, i: int) -> RunSpec:
    """``spec`` without its ``i``-th fault (the pair of schedule entries ``2i`` and ``2i + 1``)."""
    items = list(spec.schedule or ())
    del items[2 * i:2 * i + 2]
    used = {_kind_of(tf) for tf in schedules.from_json(items)}
    return spec.with_(schedule=tuple(items), nemesis=tuple(k for k in spec.nemesis if k in used) or ("none",))


def _drop_faults(spec: RunSpec, fails: Callable[[RunSpec], bool], deadline: float) -> RunSpec:
    """Greedily delete whole faults that the failure does not need (a last, 1-minimal shrinking pass).

    Hypothesis' shrinker can stop in a local minimum where deleting one fault would need another
    choice to change at the same time; ``_layout`` keeps each fault a (start, undo) pair of adjacent
    schedule entries (overlapping or not), so trying each deletion directly is cheap and closes that gap.
    """
    i = 0
    while i < len(spec.schedule or ()) // 2 and time.perf_counter() < deadline:
        candidate = _without(spec, i)
        if fails(candidate):
            spec = candidate
        else:
            i += 1
    return spec


def save_scenario(spec: RunSpec, path: Path) -> Path:
    """Write a scenario (a full ``RunSpec``) as JSON so that ``--replay`` can run it again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"spec": spec.to_dict()}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_scenario(path: Path) -> RunSpec:
    """Read a scenario written by :func:`save_scenario` (or any ``spec.json`` of a run)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return RunSpec.from_dict(doc.get("spec", doc))


def describe_schedule(spec: RunSpec) -> list[str]:
    """The schedule as short human lines: ``t=1.200s start-partition {...}``."""
    return [f"t={tf.at:.3f}s {tf.op.kind.value} {json.dumps(tf.op.value)}"
            for tf in schedules.from_json(spec.schedule or ())]


# ---------------------------------------------------------------------------------------------------
# The command line: ``splitbrain explore``


def _variant_name(system: str, variant: str | None) -> str:
    if not variant:
        return system
    if ":" in variant:
        return variant
    base = system.split(":", 1)[0]
    return base if variant == base else f"{base}:{variant}"


def _fault_kinds(text: str) -> tuple[str, ...]:
    from systems_under_test.registry import UnknownName

    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    if kinds == ("all",):
        return FAULT_KINDS
    bad = [k for k in kinds if k not in FAULT_KINDS]
    if bad or not kinds:
        raise UnknownName(f"unknown fault kind(s) {', '.join(bad) or '(none given)'}", [*FAULT_KINDS, "all"])
    return kinds


@click.command("explore")
@click.option("--system", required=True, help="system (or system:variant) to explore")
@click.option("--variant", default=None, help="variant of --system, e.g. 'async' or 'replication:async'")
@click.option("--budget", type=click.IntRange(min=1), default=DEFAULT_BUDGET, show_default=True,
              help="simulated runs to try before giving up (shrinking comes on top)")
@click.option("--time", "time_budget", type=click.FloatRange(min=0), default=None,
              help="wall-clock seconds to search (default: only --budget bounds it)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the search itself")
@click.option("--nodes", type=click.IntRange(min=1), default=None, help="cluster size (default: the system's)")
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=DEFAULT_TIME_LIMIT, show_default=True,
              help="virtual seconds of each run's main phase")
@click.option("--faults", default="all", show_default=True,
              help=f"fault kinds to draw from: {','.join(FAULT_KINDS)} (each run uses a random subset)")
@click.option("--shrink-time", type=click.FloatRange(min=0), default=DEFAULT_SHRINK_TIME, show_default=True,
              help="wall-clock seconds allowed for shrinking a failure")
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), default=Path("store"), show_default=True)
@click.option("--quiet", is_flag=True, help="no line per run")
def explore_command(system: str, variant: str | None, budget: int, time_budget: float | None, seed: int,
                    nodes: int | None, time_limit: float, faults: str, shrink_time: float, store: Path,
                    quiet: bool) -> int:
    """Search fault schedules in the simulator; shrink a violation and store a replayable run of it."""
    from harness.run.session import run_test
    from systems_under_test.registry import resolve

    name = _variant_name(system, variant)
    resolve(name)
    from nemesis.membership import refusal

    kinds = tuple(k for k in _fault_kinds(faults) if k != "member" or refusal(name) is None)
    opts = ExploreOptions(name, budget=budget, time_budget=time_budget, shrink_time=shrink_time, seed=seed,
                          nodes=nodes, time_limit=time_limit, kinds=kinds)
    click.echo(f"splitbrain explore: {name}, budget {budget} runs"
               f"{f' or {time_budget:g}s' if time_budget is not None else ''}, faults {','.join(opts.kinds)}, "
               f"{time_limit:g} virtual s per run", err=True)
    report = explore(opts, progress=None if quiet else (lambda line: click.echo("  " + line, err=True)))
    v = report.verdicts
    click.echo(f"{report.runs} runs in {report.wall_seconds:.1f}s (+{report.shrink_runs} while shrinking): "
               f"{v['true']} valid, {v['false']} invalid, {v['unknown']} unknown, {v['crashed']} crashed")
    f = report.finding
    if f is None:
        click.echo(f"no violation found ({report.coverage} event sequences reached)")
        if v["unknown"]:
            click.echo("some runs could not be judged: their lines above say why", err=True)
        return 2 if v["unknown"] else 0
    click.echo(f"VIOLATION ({f.reason}): {reason_of(Verdict(f.result, f.error, f.history_sha256, ()))}")
    click.echo(f"first violation after {f.runs_to_first} runs, {f.seconds_to_first:.1f}s; "
               f"{report.coverage} event sequences reached")
    lines = describe_schedule(f.spec)
    click.echo(f"shrunk schedule: {len(lines)} fault ops (from {f.faults_before_shrinking})")
    for line in lines or ["(no faults needed)"]:
        click.echo(f"  {line}")
    click.echo(f"seed {f.spec.seed}, {f.spec.nodes} nodes, {f.spec.concurrency} clients, rate {f.spec.rate:g}/s, "
               f"network {json.dumps(f.spec.config.get(SIM_CONFIG_KEY, {}))}")
    click.echo(f"replays identically: {'yes' if f.replayed else 'NO'}")
    res = run_test(f.spec.with_(test_name=f.spec.test_name or f"explore-{name.replace(':', '-')}"), store=store)
    click.echo(f"stored run: {res.result.summary()}")
    click.echo(f"report: {res.report_path}")
    click.echo(f"replay: {as_invoked(res.replay_command)}")
    return 1
