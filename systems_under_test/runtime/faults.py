"""Cooperative faults a node applies to its own peer traffic and clock (the local backend's nemesis).

Without root there is no iptables or netem, so the node runtime itself drops, delays and duplicates
peer messages, and shifts its clock, when the control channel tells it to:

* ``partition``: drop every peer message *received from* the listed nodes (Jepsen's grudge: a grudge
  ``{n1: [n2, n3]}`` becomes ``drop_from=[n2, n3]`` on ``n1``); replaces the previous set.
* ``packet``: for every peer message this node *sends*: drop with probability ``loss``, otherwise
  deliver after ``delay`` seconds, and with probability ``dup`` deliver it twice. Seeded.
* ``clock``: the node's clock (``now`` given to the core, and its timers) reads monotonic + offset.
* ``heal``: clear partition drops and packet faults, but not the clock offset (clock faults are undone
  by an explicit ``clock`` request, as Jepsen resets clocks separately).

Client traffic is never affected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any


class BadControlRequest(ValueError):
    """A control request with a missing or out-of-range field."""


@dataclass(frozen=True, slots=True)
class PacketFaults:
    """What happens to each peer message this node sends."""

    delay: float = 0.0
    loss: float = 0.0
    dup: float = 0.0

    @property
    def active(self) -> bool:
        """True if any packet fault is set."""
        return self.delay > 0 or self.loss > 0 or self.dup > 0


@dataclass(frozen=True, slots=True)
class Faults:
    """Every cooperative fault in force on one node."""

    drop_from: frozenset[str] = field(default_factory=frozenset)
    packet: PacketFaults = field(default_factory=PacketFaults)
    clock_offset: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``faults`` object of a status reply."""
        return {
            "drop_from": sorted(self.drop_from),
            "delay": self.packet.delay,
            "loss": self.packet.loss,
            "dup": self.packet.dup,
            "clock_offset": self.clock_offset,
        }


def _number(req: dict[str, Any], key: str, lo: float, hi: float) -> float:
    """A finite number field of ``req`` in ``[lo, hi]`` (missing means 0)."""
    value = req.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadControlRequest(f"{key} must be a finite number, got {value!r}")
    if not lo <= value <= hi:
        raise BadControlRequest(f"{key} must be within [{lo}, {hi}], got {value!r}")
    return float(value)


def apply_control(faults: Faults, req: dict[str, Any], nodes: frozenset[str]) -> Faults:
    """The fault state after a ``partition``/``packet``/``clock``/``heal`` request (pure)."""
    kind = req.get("type")
    if kind == "partition":
        drop = req.get("drop_from")
        if not isinstance(drop, list) or not all(isinstance(n, str) for n in drop):
            raise BadControlRequest("drop_from must be a list of node ids")
        unknown = sorted(set(drop) - nodes)
        if unknown:
            raise BadControlRequest(f"unknown node(s) {unknown}; nodes are {sorted(nodes)}")
        return replace(faults, drop_from=frozenset(drop))
    if kind == "packet":
        packet = PacketFaults(
            delay=_number(req, "delay", 0.0, 3600.0),
            loss=_number(req, "loss", 0.0, 1.0),
            dup=_number(req, "dup", 0.0, 1.0),
        )
        return replace(faults, packet=packet)
    if kind == "clock":
        if "offset" not in req:
            raise BadControlRequest("clock needs an offset")
        return replace(faults, clock_offset=_number(req, "offset", -1e9, 1e9))
    if kind == "heal":
        return replace(faults, drop_from=frozenset(), packet=PacketFaults())
    raise BadControlRequest(f"unknown control request type {kind!r}")
