"""Make sure the simulator backend can be named in a campaign, whatever the registry lists yet.

The backend registry (``harness.backends.registry``) gains ``sim`` through its own module; until it does,
campaigns register the same entry (same factory and loop factory) so ``backend = "sim"`` resolves.
Idempotent: once the registry lists ``sim`` this does nothing.
"""

from __future__ import annotations

from harness.backends import registry as backends


def ensure_backends() -> None:
    """Register ``sim`` in the backend registry if it is not there yet."""
    if "sim" not in backends.BACKENDS:
        backends.BACKENDS["sim"] = backends.BackendEntry(
            "sim",
            "every node in one process on a virtual-time loop (deterministic)",
            "harness.backends.sim.backend:make_sim_backend",
            "harness.backends.sim.loop:new_loop",
            "harness.backends.sim.backend:SimBackend",
        )
