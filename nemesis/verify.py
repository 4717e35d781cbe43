"""Is the cluster really healed? Ask the nodes, not the nemesis's own bookkeeping.

The executor knows what it *meant* to undo; a heal guarantee is only worth something if it is checked
against what the nodes report. Every backend's ``node_status`` carries the node's fault state (the
simulator's and the runtime's shapes differ slightly; both are read here), and a node that does not
answer at all is itself a fault still in effect (down or frozen). The check is backend-neutral, so the
same assertion holds the simulator, local processes and containers to the same promise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def faults_in_status(node: str, status: Mapping[str, Any]) -> list[str]:
    """The faults a node's status reply shows in effect (empty when healed)."""
    out: list[str] = []
    state = status.get("state")
    if state not in (None, "running"):
        out.append(f"{node} is {state}")
    for section in ("faults", "docker"):  # the runtime's own state; a container backend's firewall state
        faults = status.get(section) or {}
        if isinstance(faults, Mapping):
            out.extend(_faults_in(node, faults))
    return out


def _faults_in(node: str, faults: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    if faults.get("drop_from"):
        out.append(f"{node} drops traffic from {', '.join(map(str, faults['drop_from']))}")
    offset = faults.get("clock_offset") or 0.0
    if offset:
        out.append(f"{node} clock offset {float(offset):+g}s")
    packet = faults.get("packet")
    src = packet if isinstance(packet, Mapping) else faults
    bad = {k: src.get(k) for k in ("delay", "loss", "dup") if float(src.get(k, 0.0) or 0.0) > 0.0}
    if bad:
        out.append(f"{node} packet faults " + ", ".join(f"{k}={v}" for k, v in bad.items()))
    return out


async def residual_faults(backend: Any, nodes: Sequence[str]) -> list[str]:
    """Every fault the nodes still report (an unreachable node counts as one); empty = healed."""
    out: list[str] = []
    for n in nodes:
        try:
            status = await backend.node_status(n)
        except Exception as e:  # noqa: BLE001 - not answering is exactly what we are looking for
            out.append(f"{n} does not answer: {e}")
            continue
        out.extend(faults_in_status(n, status))
    return out
