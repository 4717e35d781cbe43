"""iptables rules inside a node container: partitions and packet loss (pure; no Docker here).

A node's whole filter table is rewritten in one ``iptables-restore`` call each time its faults change.
Restore swaps the table atomically, so there is never a moment with half a partition installed, and
"heal" is simply the same call with no rules. Only the filter table is touched: Docker's embedded DNS
keeps its own rules in the nat table, which a filter-only restore leaves alone.

Semantics, matching the cooperative faults of the local backend:

* partition — Jepsen's grudge: node X lists the nodes it drops traffic *from*; each becomes
  ``-A INPUT -s <peer ip> -j DROP``. Dropping on input (not output) is what makes a one-way grudge
  one-way: the other side still receives what X sends (though TCP acks back to X are lost).
* packet loss — on traffic X *sends* to its peers: ``-A OUTPUT -d <peer ip> -m statistic --mode
  random --probability p -j DROP``. TCP retransmits, so to the protocol loss looks like latency spikes.

Client traffic comes from the bridge gateway (the harness host), which is never a peer address, so
neither rule ever touches it — the same guarantee the runtime's cooperative faults give.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodeFaults:
    """The network faults installed on one node."""

    drop_from: frozenset[str] = frozenset()  # node ids whose packets this node drops
    loss: float = 0.0  # probability of dropping each packet this node sends to a peer

    def healed(self) -> NodeFaults:
        """No faults."""
        return NodeFaults()


def restore_script(faults: NodeFaults, peer_ips: Mapping[str, str]) -> str:
    """The ``iptables-restore`` input (filter table) that installs exactly ``faults``.

    ``peer_ips`` maps every *other* node id to its address; unknown node ids are an error (a typo in a
    grudge must not silently become "no partition").
    """
    unknown = sorted(set(faults.drop_from) - set(peer_ips))
    if unknown:
        raise ValueError(f"grudge names unknown nodes: {', '.join(unknown)}")
    if not 0.0 <= faults.loss <= 1.0:
        raise ValueError(f"loss must be a probability, got {faults.loss}")
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    for node in sorted(faults.drop_from):
        lines.append(f"-A INPUT -s {peer_ips[node]}/32 -j DROP")
    if faults.loss > 0.0:
        for node in sorted(peer_ips):
            if faults.loss >= 1.0:
                lines.append(f"-A OUTPUT -d {peer_ips[node]}/32 -j DROP")
            else:
                lines.append(
                    f"-A OUTPUT -d {peer_ips[node]}/32 -m statistic --mode random "
                    f"--probability {faults.loss:.6f} -j DROP"
                )
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def restore_command(script: str) -> list[str]:
    """The argv run inside the container to apply ``script`` (fed through a shell pipe, no file)."""
    return ["sh", "-c", 'printf "%s" "$1" | iptables-restore -w 5', "splitbrain-firewall", script]


def grudge_faults(
    grudge: Mapping[str, Collection[str]], nodes: Collection[str], current: Mapping[str, NodeFaults]
) -> dict[str, NodeFaults]:
    """Per-node faults after replacing the partition with ``grudge`` (packet loss is kept)."""
    bad = sorted((set(grudge) | {p for peers in grudge.values() for p in peers}) - set(nodes))
    if bad:
        raise ValueError(
            f"grudge names unknown nodes: {', '.join(bad)}; nodes are {', '.join(sorted(nodes))}"
        )
    out = {}
    for node in nodes:
        old = current.get(node, NodeFaults())
        drop = frozenset(p for p in grudge.get(node, ()) if p != node)
        out[node] = NodeFaults(drop, old.loss)
    return out
