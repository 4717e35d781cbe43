"""``splitbrain explore``: search fault schedules in the simulator and shrink a failure to its essence.

Why Hypothesis: a random fault schedule that breaks a system is usually long and mostly noise. If every
choice of a run — the seed, the network's latency/loss/duplication, the workload's shape and the list
of timed faults — is *drawn from Hypothesis*, then on a failure Hypothesis can shrink all of them
together: drop faults, shorten them, move them earlier, simplify the network, until no smaller run
still fails. Because the simulator is deterministic, every candidate run is a pure function of its
choices, which is exactly what shrinking needs.

Before drawing anything, the search tries a few runs of the *generic* schedule, the swarm phases that
``splitbrain run --nemesis`` lays out for the same fault kinds (with a seed derived from the search seed):
it finds many bugs within a run or two, and a failure it finds is shrunk by deleting whole faults.

Swarm testing (Groce et al.): each run first draws *which* fault kinds it may use, then draws its
faults only from those. Across runs the fault mix varies — some runs only partition, some only pause
and bump clocks — which finds bugs that a fixed uniform mix drowns out (e.g. a bug that needs a long
quiet partition is unlikely while crashes keep interrupting it).

The outcome of a search is a :class:`Finding`: the shrunk scenario as a ``RunSpec`` (explicit schedule
in ``spec.schedule``, network parameters in ``spec.config["sim"]``) that replays from one command, the
checker's verdict, and whether a fresh replay reproduced the very same history.

The package is split by concern: :mod:`.strategy` (what a scenario is and how it is drawn),
:mod:`.search` (running, coverage feedback, shrinking, replay) and :mod:`.command` (the CLI).
"""

from __future__ import annotations

from harness.apps.explore.command import _fault_kinds, _variant_name, explore_command
from harness.apps.explore.search import (
    Checker,
    ExploreReport,
    Finding,
    Verdict,
    coverage_of,
    describe_schedule,
    explore,
    load_scenario,
    reason_of,
    save_scenario,
    simulate_and_check,
    spec_key,
    sweep,
    sweep_spec,
    workload_check,
)
from harness.apps.explore.strategy import (
    DEFAULT_BUDGET,
    DEFAULT_GENERIC_RUNS,
    DEFAULT_SHRINK_TIME,
    DEFAULT_TIME_LIMIT,
    FAULT_KINDS,
    MAX_FAULTS,
    ExploreOptions,
    _fault,
    _layout,
    generic_spec,
    scenario_strategy,
)

__all__ = [
    "DEFAULT_BUDGET", "DEFAULT_GENERIC_RUNS", "DEFAULT_SHRINK_TIME", "DEFAULT_TIME_LIMIT", "FAULT_KINDS",
    "MAX_FAULTS", "Checker",
    "ExploreOptions", "ExploreReport", "Finding", "Verdict", "_fault", "_fault_kinds", "_layout",
    "_variant_name",
    "coverage_of", "describe_schedule", "explore", "explore_command", "generic_spec", "load_scenario",
    "reason_of",
    "save_scenario", "scenario_strategy", "simulate_and_check", "spec_key", "sweep", "sweep_spec",
    "workload_check",
]
