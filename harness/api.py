"""The public plugin API of splitbrain: everything a plugin imports, from one place.

A plugin is an installed distribution that registers objects under three entry-point groups (see
CONTRIBUTING.md for the recipes; the shipped systems, workloads and checkers register the same way in
our pyproject.toml, and etcd and Redis are written against this module alone)::

    [project.entry-points."splitbrain.systems"]
    chain = "chain_plugin.system:SYSTEM"               # a SystemDescriptor
    [project.entry-points."splitbrain.workloads"]
    chain-kv = "chain_plugin.workload:ChainKVWorkload"  # a WorkloadSpec subclass named like the entry
    [project.entry-points."splitbrain.checkers"]
    my-check = "my_plugin:check"                # check(history, **opts) -> Result

**Systems come in two kinds.**

* A *sans-IO* system gives each :class:`Variant` a core factory ``(node_id, peer_ids, rng, config) ->
  Core``. Our hosts run it everywhere: in the simulator, as local processes and in containers. A core
  module that must run in a container imports only the standard library and
  ``systems_under_test.core`` (the same ``Core``, effects and error codes as here): the container has
  Debian's python3 and our ``systems_under_test`` package, plus the plugin's own top-level package
  (mounted read-only), so that package's ``__init__`` must not import ``harness`` either — put the
  descriptor in a module of its own, as ``examples/chain-plugin`` does.
* A *third-party* system (a real server binary) gives no core; its descriptor's ``backends`` maps a
  backend name to a backend class that installs, starts, stops and reaches the nodes there. Build it on
  :class:`LocalProcesses` (nodes as local processes: you give the command line, readiness and the client
  connection) or :class:`DockerProcesses` (nodes in containers of the docker backend). Faults are the
  capability protocols (:class:`Net`, :class:`Kill`, :class:`Pause`, :class:`Clock`, :class:`Packet`): a
  backend offers a fault by implementing its protocol, and says why it cannot offer one for this system
  through a ``unsupported()`` classmethod (:class:`Refusals`). The run plan refuses an impossible fault,
  with that reason, before anything starts.

Connections answer our client protocol: a request dict with ``type`` and ``req_id``; a reply
``{"type": "<type>_ok", ...}`` or :func:`error_body`; :class:`Unreachable` if the request certainly was
not sent, :class:`Indefinite` if its outcome is unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from checkers.history import FAIL, INFO, INVOKE, OK, Op
from checkers.result import UNKNOWN, Result
from harness.backends.base import Backend, ClusterSpec, Connection, Indefinite, Unreachable
from harness.backends.external.http import HttpJsonConnection
from harness.backends.external.local_base import ExternalStartError
from harness.backends.external.local_base import LocalExternalBackend as LocalProcesses
from harness.backends.external.procs import BinaryMissing, ManagedProcess, require_binary
from harness.backends.local import free_ports
from harness.workloads.base import Completion, Invocation, OpGenerator, OptionError, Workload, WorkloadSpec
from nemesis.capabilities import Clock, Kill, Net, Packet, Pause, Refusals
from nemesis.executor import CapabilityError
from systems_under_test.core import (
    ABORT,
    KEY_DOES_NOT_EXIST,
    NOT_SUPPORTED,
    PRECONDITION_FAILED,
    TEMPORARILY_UNAVAILABLE,
    TIMEOUT,
    TXN_CONFLICT,
    CancelTimer,
    Core,
    Effect,
    Log,
    Persist,
    Reply,
    Send,
    SetTimer,
    error_body,
)
from systems_under_test.plugins import PluginError
from systems_under_test.registry import SystemDescriptor, UnknownName, Variant

if TYPE_CHECKING:  # imported on first use at run time (see __getattr__): they load the Docker SDK
    from harness.backends.docker.cluster import STATE_DIR as CONTAINER_STATE_DIR
    from harness.backends.docker.cluster import NodePlan
    from harness.backends.external.docker_nodes import ExternalDockerBackend as DockerProcesses

__all__ = [
    "ABORT",
    "CONTAINER_STATE_DIR",
    "FAIL",
    "INFO",
    "INVOKE",
    "KEY_DOES_NOT_EXIST",
    "NOT_SUPPORTED",
    "OK",
    "PRECONDITION_FAILED",
    "TEMPORARILY_UNAVAILABLE",
    "TIMEOUT",
    "TXN_CONFLICT",
    "UNKNOWN",
    "Backend",
    "BinaryMissing",
    "CancelTimer",
    "CapabilityError",
    "Clock",
    "ClusterSpec",
    "Completion",
    "Connection",
    "Core",
    "DockerProcesses",
    "Effect",
    "ExternalStartError",
    "HttpJsonConnection",
    "Indefinite",
    "Invocation",
    "Kill",
    "LocalProcesses",
    "Log",
    "ManagedProcess",
    "Net",
    "NodePlan",
    "Op",
    "OpGenerator",
    "OptionError",
    "Packet",
    "Pause",
    "Persist",
    "PluginError",
    "Refusals",
    "Reply",
    "Result",
    "Send",
    "SetTimer",
    "SystemDescriptor",
    "UnknownName",
    "Unreachable",
    "Variant",
    "Workload",
    "WorkloadSpec",
    "check_linearizable",
    "error_body",
    "free_ports",
    "require_binary",
]


def check_linearizable(history: Any, model: str = "cas-register", **opts: Any) -> Result:
    """Linearizability of a history against ``model`` (per key), as our register workload checks it."""
    from checkers.linearizability import check

    result: Result = check(list(history), model, **opts)
    return result


def __getattr__(name: str) -> Any:
    """The docker parts, imported on first use (they load the Docker SDK)."""
    if name == "DockerProcesses":
        from harness.backends.external.docker_nodes import ExternalDockerBackend

        return ExternalDockerBackend
    if name == "NodePlan":
        from harness.backends.docker.cluster import NodePlan

        return NodePlan
    if name == "CONTAINER_STATE_DIR":
        from harness.backends.docker.cluster import STATE_DIR

        return STATE_DIR
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
