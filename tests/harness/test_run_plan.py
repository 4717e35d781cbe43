"""The run plan: every name resolved once, every refusal before anything starts, one-way flow after."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.backends.base import ClusterSpec
from harness.run.plan import build_plan
from harness.run.spec import RunSpec
from harness.workloads import OptionError
from nemesis.executor import CapabilityError
from nemesis.faults import ScheduleError
from systems_under_test import plugins
from systems_under_test.registry import UnknownName

SPEC = RunSpec(system="paxos:stale-read", backend="sim", nodes=3, time_limit=4.0,
               nemesis=("partition", "kill"),
               nemesis_interval=0.5,
               seed=11)


def test_a_plan_holds_what_the_names_mean() -> None:
    plan = build_plan(SPEC)
    assert (
        plan.system.name == "paxos" and plan.variant.name == "paxos:stale-read" and plan.variant.planted_bug
    )
    assert plan.spec.workload == "register" and plan.workload_class.name == "register"
    assert [p.name for p in plan.packages] == ["partition", "kill"]
    assert plan.schedule and {"net", "kill"} <= set(plan.capabilities)
    assert plan.backend.name == "sim" and plan.backend_class.__name__ == "SimBackend"
    assert build_plan(SPEC).schedule == plan.schedule, "the schedule is a function of the spec and its seed"
    assert build_plan(SPEC.with_(seed=12)).schedule != plan.schedule


def test_the_runner_executes_the_plans_schedule_and_asks_the_registry_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.run.simrun import run_spec

    plan = build_plan(SPEC)
    lookups: Counter[str] = Counter()
    real = plugins.load_named

    def counting(group: str, name: str, check: Any) -> Any:
        lookups[group] += 1
        return real(group, name, check)

    monkeypatch.setattr(plugins, "load_named", counting)
    run = run_spec(plan)
    assert run.outcome.error is None and run.outcome.faults_applied > 0
    assert run.outcome.schedule == plan.schedule
    assert lookups == Counter(), "nothing downstream of the plan looks a name up again"
    build_plan(SPEC)
    assert lookups == Counter({plugins.SYSTEMS: 1, plugins.WORKLOADS: 1}), (
        "building a plan looks each name up once"
    )


def test_backends_get_the_cluster_part_only(tmp_path: Path) -> None:
    plan = build_plan(SPEC.with_(config={"request_timeout": 2.0}))
    cluster = plan.cluster(tmp_path)
    assert isinstance(cluster, ClusterSpec)
    assert cluster.variant is plan.variant and cluster.nodes == ("n1", "n2", "n3")
    assert cluster.node_config()["request_timeout"] == 2.0
    backend = plan.make_backend(tmp_path)
    assert backend.spec.variant is plan.variant


@pytest.mark.parametrize(("changes", "error", "text"), [
    ({"system": "nosuch"}, UnknownName, "valid choices: "),
    ({"system": "paxos:nosuch"}, UnknownName, "paxos:stale-read"),
    ({"workload": "bank"}, UnknownName, "does not support workload 'bank'"),
    ({"workload": "nosuch"}, UnknownName, "unknown workload"),
    ({"backend": "nosuch"}, UnknownName, "sim"),
    ({"nemesis": ("partiton",)}, UnknownName, "partition"),
    ({"workload_options": {"kees": 1}}, OptionError, "valid: keys"),
    ({"schedule": ({"at": 1.0, "f": "no-such-fault", "value": None},)}, ScheduleError, "no-such-fault"),
    ({"system": "etcd"}, CapabilityError, "runs on the docker or local backend, not on 'sim'"),
    ({"system": "etcd", "backend": "local"}, CapabilityError, "partition faults are cooperative"),
    ({"system": "replication", "backend": "local", "nemesis": ("member",)}, CapabilityError, "membership"),
])
def test_every_refusal_happens_when_the_plan_is_built(changes: dict[str, Any], error: type[Exception],
                                                      text: str) -> None:
    with pytest.raises(error, match=text):
        build_plan(SPEC.with_(**changes))


def test_a_core_a_node_process_cannot_import_is_refused_off_the_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.run import plan as plan_module
    from harness.run.spec import SpecError
    from systems_under_test.paxos.core import PaxosCore
    from systems_under_test.registry import SystemDescriptor, Variant

    def closure(*args: Any) -> PaxosCore:  # the point: a nested function cannot be imported by name
        return PaxosCore(*args)

    desc = SystemDescriptor(
        "paxos", "paxos with an anonymous factory", (Variant("paxos", "", False, closure),), ("register",)
    )
    monkeypatch.setattr(plan_module, "resolve", lambda name: (desc, desc.variants[0]))
    assert build_plan(SPEC.with_(system="paxos")).variant.factory is closure, (
        "the simulator calls it in-process"
    )
    with pytest.raises(SpecError, match="module-level class or function"):
        build_plan(SPEC.with_(system="paxos", backend="local"))
