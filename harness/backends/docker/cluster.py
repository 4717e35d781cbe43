"""Docker objects of one run: the internal network, a volume and a container per node (blocking calls).

Layout of a node container:

* image ``splitbrain-node:<hash>`` (Debian python3 + iptables); the project's ``systems_under_test``
  package bind-mounted read-only below ``/opt/splitbrain`` with ``PYTHONPATH`` pointing there —
  nothing of ours is in the image;
* a named volume at ``/var/lib/splitbrain`` holding ``durable.jsonl`` and ``node.log``: it outlives
  ``docker kill`` + start, which is what makes a kill a crash and not a wipe;
* hostname ``nK`` and a fixed address on the run's internal bridge network (no egress), so peers and
  firewall rules can name each other before anything starts;
* ``cap_add=[NET_ADMIN]`` (for iptables) and nothing more; never privileged; ``init=True`` so the node
  is not PID 1 (PID 1 ignores signals it has no handler for).

Every object carries the run and owner labels (see ``labels``).
"""

from __future__ import annotations

import io
import ipaddress
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SRC_MOUNT = "/opt/splitbrain"
STATE_DIR = "/var/lib/splitbrain"
NODE_LOG = f"{STATE_DIR}/node.log"
CLIENT_PORT = 7001
CONTROL_PORT = 7101
SUBNET_POOL = ipaddress.IPv4Network("10.213.0.0/16")


@dataclass(frozen=True, slots=True)
class NodePlan:
    """Where one node lives: names and address."""

    node: str
    ip: str
    container: str
    volume: str


def package_dir() -> Path:
    """The ``systems_under_test`` package directory: all a node runs (stdlib only), mounted read-only.

    Only this package is mounted, not the whole checkout: nodes have no business seeing the harness,
    the store or the virtualenv, and it works the same for an editable and an installed project.
    """
    import systems_under_test

    return Path(systems_under_test.__file__).resolve().parent


def plan_nodes(run_id: str, nodes: Sequence[str], subnet: ipaddress.IPv4Network) -> list[NodePlan]:
    """Names and fixed addresses: node i gets host .(10+i) of ``subnet`` (.1 is the host's gateway)."""
    hosts = list(subnet.hosts())
    if len(nodes) + 10 > len(hosts):
        raise ValueError(f"too many nodes ({len(nodes)}) for subnet {subnet}")
    return [
        NodePlan(n, str(hosts[9 + i]), f"splitbrain-{run_id}-{n}", f"splitbrain-{run_id}-{n}")
        for i, n in enumerate(nodes, start=1)
    ]


def node_command(
    system: str, plan: NodePlan, peers: Sequence[NodePlan], seed: int, config: Mapping[str, Any],
    core: str | None = None,
) -> list[str]:
    """The runtime command line for one node container (see "Node runtime process")."""
    argv = [
        "python3", "-m", "systems_under_test.runtime",
        "--system", system,
        "--node", plan.node,
        "--listen", f"{plan.ip}:{CLIENT_PORT}",
        "--peers", ",".join(f"{p.node}={p.ip}:{CLIENT_PORT}" for p in peers),
        "--control", f"{plan.ip}:{CONTROL_PORT}",
        "--data-dir", STATE_DIR,
        "--log", NODE_LOG,
        "--seed", str(seed),
    ]
    if core is not None:  # the node imports its core directly: no registry inside the container
        argv += ["--core", core]
    if config or core is not None:
        argv += ["--config", json.dumps(dict(config), sort_keys=True)]
    return argv


def plugin_dirs(core: str | None) -> dict[str, Path]:
    """Top-level package directories a plugin's core needs inside the container, by package name.

    Our own cores live in ``systems_under_test`` (always mounted); a plugin's core module is mounted
    read-only next to it, so a plugin system runs in containers like ours (its core must be stdlib-only).
    """
    if core is None:
        return {}
    top = core.partition(":")[0].split(".")[0]
    if top == "systems_under_test":
        return {}
    import importlib

    module = importlib.import_module(top)
    file = getattr(module, "__file__", None)
    if file is None:
        return {}
    path = Path(file).resolve()
    return {top: path.parent if path.name == "__init__.py" else path}


def _host_networks() -> list[ipaddress.IPv4Network]:
    """Destinations of the host's IPv4 routes (so a new subnet does not shadow one of them)."""
    out: list[ipaddress.IPv4Network] = []
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        f = line.split()
        if len(f) < 8 or f[1] == "00000000":
            continue
        dest = ipaddress.IPv4Address(bytes.fromhex(f[1])[::-1])
        mask = ipaddress.IPv4Address(bytes.fromhex(f[7])[::-1])
        out.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    return out


def candidate_subnets(start: int, taken: Iterable[ipaddress.IPv4Network]) -> list[ipaddress.IPv4Network]:
    """The /24s of the pool, rotated to begin at index ``start``, minus any overlapping ``taken``."""
    avoid = list(taken)
    subnets = list(SUBNET_POOL.subnets(new_prefix=24))
    start %= len(subnets)
    rotated = subnets[start:] + subnets[:start]
    return [s for s in rotated if not any(s.overlaps(t) for t in avoid)]


def create_network(client: Any, run_id: str, labels: Mapping[str, str], start: int) -> tuple[Any, Any]:
    """Create the run's internal bridge network on a free /24; returns (network, subnet)."""
    import docker.errors  # type: ignore[import-untyped]
    from docker.types import IPAMConfig, IPAMPool  # type: ignore[import-untyped]

    taken = _host_networks()
    for net in client.networks.list():
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            if cfg.get("Subnet") and ":" not in cfg["Subnet"]:
                taken.append(ipaddress.IPv4Network(cfg["Subnet"], strict=False))
    last: Exception | None = None
    for subnet in candidate_subnets(start, taken)[:20]:
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=str(subnet), gateway=str(next(subnet.hosts())))])
        try:
            net = client.networks.create(
                f"splitbrain-{run_id}", driver="bridge", internal=True, ipam=ipam, labels=dict(labels)
            )
            return net, subnet
        except docker.errors.APIError as e:  # overlap with a network created meanwhile: try the next
            last = e
    raise RuntimeError(f"no free subnet for the run network in {SUBNET_POOL}: {last}")


def create_node(
    client: Any, image: str, network: str, plan: NodePlan, command: Sequence[str], labels: Mapping[str, str],
    extra: Mapping[str, Path] | None = None,
    env: Mapping[str, str] | None = None,
    extra_binds: Mapping[str, Mapping[str, str]] | None = None,
) -> Any:
    """Create (not start) the node's volume and container; returns the container.

    ``extra``: source packages mounted read-only beside ours (a plugin system's core package);
    ``env``: more environment (the run's token); ``extra_binds``: any other host path -> its docker bind
    (e.g. an external program, read-only).
    """
    client.volumes.create(plan.volume, labels=dict(labels))
    api = client.api
    host_config = api.create_host_config(
        binds={
            str(package_dir()): {"bind": f"{SRC_MOUNT}/systems_under_test", "mode": "ro"},
            plan.volume: {"bind": STATE_DIR, "mode": "rw"},
            **{
                str(path): {"bind": f"{SRC_MOUNT}/{path.name}", "mode": "ro"}
                for path in (extra or {}).values()
            },
            **{k: dict(v) for k, v in (extra_binds or {}).items()},
        },
        cap_add=["NET_ADMIN"],
        init=True,
        privileged=False,
    )
    networking = api.create_networking_config(
        {network: api.create_endpoint_config(ipv4_address=plan.ip, aliases=[plan.node])}
    )
    created = api.create_container(
        image,
        command=list(command),
        name=plan.container,
        hostname=plan.node,
        environment={"PYTHONPATH": SRC_MOUNT, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
                     **(env or {})},
        working_dir=SRC_MOUNT,
        labels=dict(labels),
        host_config=host_config,
        networking_config=networking,
    )
    return client.containers.get(created["Id"])


def read_file(container: Any, path: str) -> bytes | None:
    """The content of ``path`` inside a (running or stopped) container, or None if it is not there."""
    import docker.errors

    try:
        stream, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    buf = io.BytesIO(b"".join(stream))
    with tarfile.open(fileobj=buf) as tar:
        for member in tar.getmembers():
            if member.isfile():
                fh = tar.extractfile(member)
                return fh.read() if fh is not None else None
    return None
