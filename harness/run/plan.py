"""The run plan: a ``RunSpec`` resolved and validated once, before anything starts (DESIGN §8).

A spec is names (``paxos:stale-read``, ``register``, ``partition,kill``, ``local``); a plan is what those
names mean: the system descriptor and variant, the workload class, the fault packages, the nemesis
schedule, the capabilities the schedule needs, and the backend that will host the nodes. Every refusal a
user can cause — an unknown name (with the valid choices), too few nodes, a workload the system does not
speak, a bad workload option, a bad schedule, a backend the system cannot run on, a fault that backend
cannot inject for this system (with the reason, for third-party systems too) — is raised by
:func:`build_plan`, before a run directory, a process or a container exists.

From there the flow is one way: CLI or campaign cell -> ``RunPlan`` -> backend (given only
:meth:`RunPlan.cluster`, never the spec) + runner -> history -> ``Result`` -> report. Nothing downstream
looks a name up again.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends.base import Backend, ClusterSpec
from harness.backends.registry import BackendEntry, backend_entry
from harness.run.seeds import child_rng, derive_seed
from harness.run.spec import RunSpec, SpecError, validate_config
from harness.workloads import OptionError, Workload, WorkloadSpec, workload_class
from nemesis import capabilities
from nemesis import schedule as schedules
from nemesis.executor import CapabilityError, capabilities_for
from nemesis.faults import TimedFault
from nemesis.membership import refusal as membership_refusal
from nemesis.packages import Package, resolve_mode, resolve_packages
from nemesis.table import validate_schedule
from systems_under_test.registry import SystemDescriptor, UnknownName, Variant, resolve

BackendFactory = Callable[..., Backend]


@dataclass(frozen=True, slots=True)
class RunPlan:
    """Everything a run needs, resolved from its spec once; immutable, so every consumer sees the same."""

    spec: RunSpec  # the spec as run: the default workload filled in
    system: SystemDescriptor
    variant: Variant
    workload_class: type[WorkloadSpec]
    packages: tuple[Package, ...]
    schedule: tuple[TimedFault, ...]
    capabilities: tuple[str, ...]  # what the schedule needs from the backend
    backend: BackendEntry
    backend_class: type  # the class whose instances host this cluster (third-party: the system's own)
    backend_factory: BackendFactory  # (cluster: ClusterSpec, **backend options) -> Backend

    @property
    def node_ids(self) -> tuple[str, ...]:
        """The cluster's node ids."""
        return self.spec.node_ids

    def cluster(self, run_dir: Path) -> ClusterSpec:
        """The backend's part of the plan: the variant, nodes, node seed and config overrides (what the
        workload asks of the cluster, overlaid by the run's own ``config``)."""
        config = {**self.workload_spec().cluster_config(self.spec.node_ids), **self.spec.config}
        return ClusterSpec(self.spec.system, self.spec.node_ids, run_dir,
                           derive_seed(self.spec.seed, "nodes"), config, variant=self.variant)

    def make_backend(self, run_dir: Path, **options: Any) -> Backend:
        """A fresh, not yet started backend for this plan's cluster (``options``: backend-specific)."""
        return self.backend_factory(self.cluster(run_dir), **options)

    def workload_spec(self) -> WorkloadSpec:
        """The run's stateless workload spec (requests, completions, final reads, checkers)."""
        return self.workload_class(self.spec.workload_options)

    def new_workload(self) -> Workload:
        """A fresh workload (spec plus op generator) for one run, seeded from the run seed."""
        spec = self.workload_spec()
        return Workload(spec, spec.generator(child_rng(self.spec.seed, "workload")))

    def with_schedule(self, schedule: Sequence[TimedFault]) -> RunPlan:
        """The same plan with an explicit schedule (the explorer's candidates), validated the same way."""
        sched = tuple(schedule)
        needed = _needed(self.packages, sched)
        check_capabilities(self.backend_class, needed, self.backend.name, self.system)
        return RunPlan(self.spec, self.system, self.variant, self.workload_class, self.packages, sched,
                       needed,
                       self.backend, self.backend_class, self.backend_factory)


def build_plan(spec: RunSpec) -> RunPlan:
    """Resolve and validate ``spec``; raises the user's error (``UnknownName``, ``SpecError``,
    ``OptionError``, ``ScheduleError``, ``CapabilityError``, ``PluginError``) before anything runs."""
    desc, variant = resolve(spec.system)
    workload = spec.workload or desc.workloads[0]
    wl_class = workload_class(workload)
    if workload not in desc.workloads:
        raise UnknownName(f"system {desc.name!r} does not support workload {workload!r}", desc.workloads)
    if spec.nodes < desc.min_nodes:
        raise SpecError(f"system {desc.name!r} needs at least {desc.min_nodes} nodes")
    entry = backend_entry(spec.backend)
    backend_class, factory = _backend_for(desc, entry)
    if variant.factory is not None and entry.name != "sim":
        _check_importable(variant)
    spec = spec.with_(workload=workload)
    packages = resolve_packages(spec.nemesis, spec.system)
    schedule = tuple(_schedule(spec, packages))
    validate_config(spec)
    try:
        wl_class(spec.workload_options)  # options are checked on construction
    except (ValueError, TypeError, KeyError, OverflowError) as e:
        if isinstance(e, OptionError):
            raise
        raise OptionError(f"workload options {dict(spec.workload_options)} are not usable by the {workload} "
                          f"workload ({type(e).__name__}: {e})") from None
    needed = _needed(packages, schedule)
    check_capabilities(backend_class, needed, entry.name, desc)
    check_config = getattr(backend_class, "check_config", None)
    if callable(check_config):  # e.g. an external program's path: the user's to fix before anything starts
        check_config({**variant.config, **spec.config})
    preflight = getattr(backend_class, "preflight", None)
    if callable(preflight):  # e.g. a third-party binary that is not installed: refused with its package
        preflight()
    return RunPlan(spec, desc, variant, wl_class, packages, schedule, needed, entry, backend_class, factory)


def plan_of(spec_or_plan: RunSpec | RunPlan) -> RunPlan:
    """A plan as given, or built from a spec (for callers that start from a spec: tests, scripts)."""
    return spec_or_plan if isinstance(spec_or_plan, RunPlan) else build_plan(spec_or_plan)


def _schedule(spec: RunSpec, packages: Sequence[Package]) -> list[TimedFault]:
    """The spec's explicit schedule (validated against the cluster), or one laid out from its packages by
    its mode, seeded by the run."""
    if spec.schedule is not None:
        return validate_schedule(list(spec.schedule), spec.node_ids)
    layout = schedules.MODES[resolve_mode(spec.nemesis)]
    return layout(packages, spec.node_ids, child_rng(spec.seed, "nemesis"), interval=spec.nemesis_interval,
                  time_limit=spec.time_limit, jitter=0.5)


def _needed(packages: Sequence[Package], schedule: Sequence[TimedFault]) -> tuple[str, ...]:
    return tuple(capabilities_for(packages, schedule))


def _load(ref: Any) -> Any:
    """A class or callable given directly or as ``"module:attr"``."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _check_importable(variant: Variant) -> None:
    """A node process imports the core factory by name (``--core``): it must be found again that way."""
    ref = variant.core_ref
    try:
        found = _load(ref)
    except (ImportError, AttributeError):
        found = None
    if found is not variant.factory:
        raise SpecError(f"the core factory of {variant.name} ({ref}) cannot be imported by name, which a "
                        "node process does: make it a module-level class or function")


def _backend_for(desc: SystemDescriptor, entry: BackendEntry) -> tuple[type, BackendFactory]:
    """The class hosting ``desc``'s nodes on ``entry`` and the factory that builds one.

    A sans-IO system runs on every backend's own host. A third-party system names, per backend, its
    own backend class (its nodes' lifecycle); a backend it does not name is refused here.
    """
    if entry.name in desc.refused_backends:
        raise CapabilityError(f"{desc.name} cannot run on the {entry.name} backend: "
                              f"{desc.refused_backends[entry.name]}")
    if not desc.is_third_party:
        return entry.load_class(), entry.load_factory()
    if entry.name not in desc.backends:
        raise CapabilityError(f"{desc.name} is a third-party system: it runs on the "
                              f"{' or '.join(sorted(desc.backends))} backend, not on {entry.name!r}")
    cls = _load(desc.backends[entry.name])
    return cls, cls


def check_capabilities(backend_class: type, needed: Sequence[str], backend_name: str,
                       system: SystemDescriptor) -> None:
    """Refuse, with every reason, a fault ``backend_class`` cannot inject into ``system``'s nodes.

    The capability protocols of :mod:`nemesis.capabilities` are checked on the class (a backend offers
    a fault by implementing its protocol); a backend that lacks or refuses one for this system says why
    through ``unsupported()`` (:class:`nemesis.capabilities.Refusals`), e.g. etcd on ``local``: partitions
    there are cooperative and etcd is not our runtime.
    """
    wanted = sorted(set(needed))
    reasons: dict[str, str] = {}
    if isinstance(backend_class, capabilities.Refusals):
        declared: Mapping[str, str] = backend_class.unsupported()
        reasons = {cap: declared[cap] for cap in wanted if cap in declared}
    lacking = [cap for cap in capabilities.missing(backend_class, wanted) if cap not in reasons]
    if "membership" in wanted and (why := membership_refusal(system.name)) is not None:
        reasons["membership"] = why
    if system.is_third_party and (reasons or lacking):
        supported = [c for c in capabilities.CAPABILITIES
                     if c not in capabilities.missing(backend_class, [c])
                     and c not in _declared(backend_class)]
        text = "; ".join([*(f"{cap}: {why}" for cap, why in sorted(reasons.items())),
                          *(f"{cap}: not offered by this backend" for cap in lacking)])
        raise CapabilityError(f"cannot run {system.name} on the {backend_name} backend with these faults — "
                              f"{text}. Supported there: {', '.join(sorted(supported)) or 'none'}")
    if lacking:
        raise CapabilityError(f"backend {backend_name!r} cannot inject {', '.join(lacking)} faults; "
                              "choose other --nemesis packages")
    if reasons:
        text = "; ".join(f"{cap}: {why}" for cap, why in sorted(reasons.items()))
        raise CapabilityError(f"backend {backend_name!r} cannot inject these faults here ({text}); "
                              "choose other --nemesis packages")


def _declared(backend_class: type) -> Mapping[str, str]:
    return backend_class.unsupported() if isinstance(backend_class, capabilities.Refusals) else {}
