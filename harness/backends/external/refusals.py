"""Which faults a third-party system cannot be given on a backend, and why — said before anything runs.

The generic capability check only says a backend lacks a fault. For etcd and redis the user deserves
the reason, because the same fault works for our own systems on the same backend:

* partitions and packet faults on ``local`` are cooperative — our node runtime drops or delays the
  peer messages it is told to; a third-party binary has no such control channel (docker does it with
  iptables instead);
* clock faults are out of scope everywhere: our clock offsets are cooperative too, and the only
  non-cooperative tool, libfaketime, does not affect etcd (Go reads the clock through the vDSO) and
  hangs redis-server (measured on these machines);
* delayed/duplicated messages on ``docker`` also go through our runtime (the kernel has no netem).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from nemesis.executor import CapabilityError

_COOPERATIVE = ("on the local backend {cap} faults are cooperative: our node runtime drops/delays the peer "
                "messages it is told to, and {system} is not our runtime; use --backend docker for "
                "partitions")
_CLOCK = ("clock faults on {system} are out of scope: our clock offsets are cooperative (applied by our node "
          "runtime), and libfaketime {faketime}")
_FAKETIME = {"etcd": "does not affect etcd (Go reads the clock through the vDSO)",
             "redis": "hangs redis-server"}
_PACKET_DOCKER = ("packet faults on docker delay/duplicate through our node runtime "
                  "(the kernel has no netem); "
                  "{system} is not our runtime")

SUPPORTED: dict[str, frozenset[str]] = {
    "local": frozenset({"kill", "pause"}),
    "docker": frozenset({"net", "kill", "pause"}),
}


def reason(system: str, backend: str, capability: str) -> str:
    """Why ``capability`` faults cannot be injected into third-party ``system`` on ``backend``."""
    if capability == "clock":
        faketime = _FAKETIME.get(system, "does not affect etcd and hangs redis-server")
        return _CLOCK.format(system=system, faketime=faketime)
    if backend == "local" and capability in ("net", "packet"):
        return _COOPERATIVE.format(system=system, cap="partition" if capability == "net" else capability)
    if backend == "docker" and capability == "packet":
        return _PACKET_DOCKER.format(system=system)
    return f"{capability} faults are not supported for {system} on the {backend} backend"


def refuse_unsupported(system: str, backend: str, needed: Collection[str]) -> None:
    """Raise ``CapabilityError`` with every reason when ``needed`` holds a fault the backend cannot do."""
    lacking = sorted(set(needed) - SUPPORTED.get(backend, frozenset()))
    if lacking:
        reasons = "; ".join(f"{cap}: {reason(system, backend, cap)}" for cap in lacking)
        raise CapabilityError(f"cannot run {system} on the {backend} backend with these faults — {reasons}. "
                              f"Supported there: {', '.join(sorted(SUPPORTED.get(backend, ()))) or 'none'}")


def needed_by(run_spec: Any) -> list[str]:
    """The fault capabilities a run spec's nemesis packages and schedule need."""
    from harness.run.runner import build_schedule
    from nemesis.executor import capabilities_for
    from nemesis.packages import resolve_packages

    return capabilities_for(resolve_packages(run_spec.nemesis), build_schedule(run_spec))
