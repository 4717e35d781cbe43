"""Command-line options of the node runtime (the interface the backends start it with)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from systems_under_test.runtime.peers import parse_address


@dataclass(frozen=True, slots=True)
class Options:
    """Everything one node process needs to know."""

    system: str
    node: str
    listen: tuple[str, int]
    peers: Mapping[str, tuple[str, int]]  # every node, this one included
    control: tuple[str, int]
    data_dir: Path
    log: Path | None = None
    seed: int = 0
    config: Mapping[str, Any] = field(default_factory=dict)
    parent_pid: int | None = None
    core: str | None = None  # "module:qualname" of the core factory; None = look the system up by name
    token: str | None = None  # the run's shared secret; None = control and peer ports are open (no auth)


TOKEN_ENV = "SPLITBRAIN_NODE_TOKEN"
"""The run's secret: the environment (not the command line, which every local user can read)."""


def take_token() -> str | None:
    """Read the run token from the environment and remove it, so nothing this node starts inherits it."""
    token = os.environ.pop(TOKEN_ENV, None)
    return token or None


def parse_peers(text: str) -> dict[str, tuple[str, int]]:
    """``"n1=127.0.0.1:7001,n2=..."`` -> ``{"n1": ("127.0.0.1", 7001), ...}``."""
    peers: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, address = item.partition("=")
        if not sep or not name:
            raise ValueError(f"bad peer {item!r}: expected NODE=HOST:PORT")
        if name in peers:
            raise ValueError(f"peer {name!r} listed twice")
        peers[name] = parse_address(address)
    return peers


def _parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so ``--help`` documents every flag)."""
    p = argparse.ArgumentParser(
        prog="python -m systems_under_test.runtime",
        description="Run one node of a system under test as a networked process.",
    )
    p.add_argument("--system", required=True, help="system or variant name, e.g. replication:async")
    p.add_argument("--node", required=True, help="this node's id, e.g. n1")
    p.add_argument("--listen", required=True, help="HOST:PORT serving clients and peers")
    p.add_argument("--peers", required=True, help="every node: n1=HOST:PORT,n2=HOST:PORT,...")
    p.add_argument("--control", required=True, help="HOST:PORT of the control channel")
    p.add_argument("--data-dir", required=True, help="directory for durable.jsonl")
    p.add_argument("--log", default=None, help="node log file")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice this node makes")
    p.add_argument("--config", default="{}", help="system config as a JSON object")
    p.add_argument("--parent-pid", type=int, default=None, help="exit soon after this process is gone")
    p.add_argument("--core", default=None,
                   help="MODULE:NAME of the core factory to host, with --config as its whole config (the "
                        "backends pass it, so a node needs no installed registry); default: look up --system")
    return p


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Parse the command line; exits with status 2 and a one-line message on bad input."""
    parser = _parser()
    ns = parser.parse_args(argv)
    try:
        peers = parse_peers(ns.peers)
        listen = parse_address(ns.listen)
        control = parse_address(ns.control)
        config = json.loads(ns.config)
    except (ValueError, json.JSONDecodeError) as e:
        parser.error(str(e))
    if not isinstance(config, dict):
        parser.error("--config must be a JSON object")
    if ns.node not in peers:
        parser.error(f"--peers must list this node {ns.node!r} too")
    return Options(
        system=ns.system,
        node=ns.node,
        listen=listen,
        peers=peers,
        control=control,
        data_dir=Path(ns.data_dir),
        log=Path(ns.log) if ns.log else None,
        seed=ns.seed,
        config=config,
        parent_pid=ns.parent_pid,
        core=ns.core,
        token=take_token(),
    )
