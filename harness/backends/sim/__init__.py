"""The deterministic simulator: every node of a cluster in one process, on a virtual-time asyncio loop.

``SimBackend`` implements ``harness.backends.base.Backend`` and every ``nemesis.capabilities`` protocol, so
the ordinary runner drives it unchanged; run that runner under ``asyncio.Runner(loop_factory=new_loop)``.
Same seed, same events, same history, byte for byte.
"""

from harness.backends.sim.backend import SIM_CONFIG_KEY, SimBackend, SimConnection, make_sim_backend
from harness.backends.sim.loop import SimDeadlock, VirtualTimeLoop, new_loop, run
from harness.backends.sim.network import LinkParams, NetStats, PacketFaults, SimNetwork
from harness.backends.sim.node import NodeState, SimNode

__all__ = [
    "SIM_CONFIG_KEY",
    "LinkParams",
    "NetStats",
    "NodeState",
    "PacketFaults",
    "SimBackend",
    "SimConnection",
    "SimDeadlock",
    "SimNetwork",
    "SimNode",
    "VirtualTimeLoop",
    "make_sim_backend",
    "new_loop",
    "run",
]
