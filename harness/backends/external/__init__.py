"""Third-party systems under test (etcd, redis): how to start, stop, fault and reach them per backend.

A third-party system's descriptor names its adapter module (``SystemDescriptor.external``); that module
maps backend names to backend classes (``BACKENDS``). ``harness.backends.registry`` routes a run of such a system
here instead of to the backend's own node factory, so the runner, the nemesis and the checkers stay
exactly the same: the adapter's connections take our key-value requests and answer our reply shapes.
"""

from __future__ import annotations

import importlib
from typing import Any

from harness.backends.base import Backend, ClusterSpec
from harness.backends.external.refusals import needed_by, refuse_unsupported
from nemesis.executor import CapabilityError
from systems_under_test.registry import resolve


def external_module(system: str) -> str | None:
    """The adapter module of ``system`` (a variant name) if it is third-party, else None."""
    try:
        desc, _variant = resolve(system)
    except LookupError:
        return None
    return desc.external


def make_backend(backend: str, cluster: ClusterSpec, run_spec: Any = None, **_: Any) -> Backend:
    """The ``backend`` adapter for the third-party system of ``cluster``.

    Refuses (``CapabilityError``, with the reason) a backend the system cannot run on and any fault the
    run spec asks for that the system cannot be given there — before any process is started.
    """
    desc, _variant = resolve(cluster.system)
    if desc.external is None:
        raise ValueError(f"{desc.name} is not a third-party system")
    adapter = importlib.import_module(desc.external)
    backends: dict[str, Any] = adapter.BACKENDS
    if backend not in backends:
        raise CapabilityError(f"{desc.name} is a third-party system: it runs on the "
                              f"{' or '.join(sorted(backends))} backend, not on {backend!r}")
    if run_spec is not None:
        getattr(adapter, "refuse_unsupported", refuse_unsupported)(desc.name, backend, needed_by(run_spec))
    wants_spec = getattr(adapter, "WANTS_RUN_SPEC", False)  # e.g. external programs need the workload
    made: Backend = backends[backend](cluster, run_spec) if wants_spec else backends[backend](cluster)
    return made
