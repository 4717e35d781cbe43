"""``maelstrom``: any external program that speaks Maelstrom's protocol, as a system under test.

The user brings the executable (``--bin``); every node is its own OS process running it, hosted by a
shim (:mod:`systems_under_test.maelstrom.runtime.shim`) that bridges its stdin/stdout to our node network, so
partitions, packet faults, kills and pauses apply to it as to our own nodes. Maelstrom's services
(``lin-kv``, ``seq-kv``, ``lww-kv``, ``lin-tso``) are served by one more process on the same network.
There is no core here: the descriptor names, per backend, the backend class that starts the shims
(``harness.backends.maelstrom``), as a third-party system's does; the simulator is refused with the
reason (it cannot run a real process deterministically).
"""

from __future__ import annotations

from dataclasses import dataclass

from systems_under_test.registry import SystemDescriptor, Variant

WORKLOADS = (
    "lin-kv",
    "echo",
    "unique-ids",
    "g-set",
    "broadcast",
    "g-counter",
    "pn-counter",
    "txn-list-append",
    "txn-rw-register",
    "kafka",
    "register",
)


SIM_REASON = (
    "the simulator is deterministic because it executes every step of every node itself on virtual "
    "time, and an external program is a real process on the OS scheduler and the OS clock; use "
    "--backend local or --backend docker"
)


@dataclass(frozen=True, slots=True)
class ProgramDescriptor(SystemDescriptor):
    """The ``maelstrom`` descriptor: ``maelstrom:<label>`` names any program, so reports tell them apart.

    The label is only a name (``maelstrom:my-raft``); the program is always the one given with ``--bin``.
    A campaign that compares several programs gives each its own label, and the comparison report then
    shows one row per program beside ``paxos`` or ``etcd``.
    """

    def variant(self, name: str) -> Variant:
        """``maelstrom`` or ``maelstrom:<label>`` (any label of letters, digits, ``-``, ``_``, ``.``)."""
        base, sep, label = name.partition(":")
        if base == self.name and sep and label and all(ch.isalnum() or ch in "-_." for ch in label):
            return Variant(
                name=name,
                description=f"the program labelled {label!r} (given with --bin)",
                planted_bug=False,
                factory=None,
            )
        return SystemDescriptor.variant(self, name)


DESCRIPTOR = ProgramDescriptor(
    name="maelstrom",
    description="your own program speaking Maelstrom's protocol (JSON lines on stdin/stdout), "
    "given with --bin; local and docker backends",
    variants=(
        Variant(
            name="maelstrom",
            description="the program given with --bin (and --bin-arg)",
            planted_bug=False,
            factory=None,
        ),
    ),
    workloads=WORKLOADS,
    default_nodes=3,
    min_nodes=1,
    # named as strings because this package may import only the standard library
    backends={
        "local": "harness.backends.maelstrom.local:MaelstromLocalBackend",
        "docker": "harness.backends.maelstrom.docker:MaelstromDockerBackend",
    },
    refused_backends={"sim": SIM_REASON},
)

__all__ = ["DESCRIPTOR", "SIM_REASON", "WORKLOADS"]
