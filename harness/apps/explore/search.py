"""Running, judging, searching and shrinking: the explorer's engine.

A scenario is simulated and checked (:func:`simulate_and_check`); the search feeds Hypothesis the
coverage each run reached (new sequences of announced events and faults) so it keeps and mutates the
scenarios that reached something new, stops at the first violation, shrinks it (Hypothesis, then a
greedy pass deleting whole faults) and replays the result to confirm it is deterministic.
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

from checkers.history import Op, dumps
from checkers.result import UNKNOWN, Result, verdict_word
from harness.apps.explore.strategy import (
    FAULT_KINDS,
    ExploreOptions,
    _kind_of,
    generic_spec,
    scenario_strategy,
)
from harness.backends.sim.backend import SIM_CONFIG_KEY
from harness.backends.sim.network import LinkParams
from harness.run.plan import RunPlan, build_plan
from harness.run.simrun import run_spec
from harness.run.spec import RunSpec
from nemesis import schedule as schedules
from nemesis.faults import TimedFault


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
    verdicts: dict[str, int] = field(
        default_factory=lambda: {"true": 0, "false": 0, "unknown": 0, "crashed": 0})
    wall_seconds: float = 0.0
    finding: Finding | None = None
    coverage: int = 0  # distinct event sequences (bigrams of announced events and faults) reached


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
    """Plan ``spec``, run it in the simulator and judge its history (by default: the workload's checker)."""
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
    generic_runs = max(0, min(opts.generic_runs, opts.budget))

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
                word = "CRASHED" if hit.error else verdict_word(hit.result.valid)
                say(f"run {report.runs}: seed {spec.seed}, {len(spec.schedule or ())} fault ops "
                    f"({','.join(spec.nemesis)}): {word}: {reason_of(hit)}")
        return hit

    @hyp_seed(opts.seed)
    @settings(
        max_examples=max(1, opts.budget - generic_runs),
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        print_blob=False,
        verbosity=Verbosity.quiet,
        phases=((Phase.generate, Phase.target, Phase.shrink) if opts.coverage
                else (Phase.generate, Phase.shrink)),
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
            if opts.coverage:
                target(float(len(new)), label="new event sequences")
        if verdict.failed:
            failures.append(spec)
            raise _Failure(verdict.result.explanation or "invalid")

    # The generic schedule first: the swarm mix ``run`` uses finds many bugs within a few runs, and costs
    # nothing to try; a failure it finds is shrunk by the deletion pass alone (its faults come from a
    # seed, which Hypothesis cannot shrink).
    for i in range(generic_runs):
        if opts.time_budget is not None and time.perf_counter() - t0 >= opts.time_budget:
            break
        spec = generic_spec(opts, nodes, workload, i)
        verdict = judge(spec)
        new = verdict.coverage - seen
        seen.update(new)
        report.coverage = len(seen)
        if verdict.failed:
            failures.append(spec)
            shrink_started.append(time.perf_counter())
            say(f"violation found after {report.runs} runs; shrinking")
            break
    if not failures and opts.budget > generic_runs:
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
                      dup=round(rng.choice([0.0, 0.0, rng.uniform(0.0, 0.05)]), 3),
                      reorder=rng.random() < 0.7)
    desc, _ = resolve(system)
    return RunSpec(system=system, backend="sim", nodes=nodes or desc.default_nodes,
                   concurrency=rng.randint(2, 8),
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
    def aimed(tf: TimedFault) -> str:
        if tf.on is None:
            return ""
        return f" at the next {tf.on} event" + (f" + {tf.after} messages" if tf.after else "")

    return [f"t={tf.at:.3f}s {tf.op.kind.value} {json.dumps(tf.op.value)}{aimed(tf)}"
            for tf in schedules.from_json(spec.schedule or ())]


