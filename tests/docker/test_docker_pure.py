"""Pure parts of the docker backend: apt sources, image recipe, firewall rules, labels, node plans.

None of these needs a Docker engine; they pin down the decisions the backend makes before it talks to one.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.backends.docker import labels as L
from harness.backends.docker.cluster import (
    CLIENT_PORT,
    CONTROL_PORT,
    candidate_subnets,
    node_command,
    plan_nodes,
)
from harness.backends.docker.firewall import NodeFaults, grudge_faults, restore_command, restore_script
from harness.backends.docker.image import BASE_PACKAGES, ImageRecipe
from harness.backends.docker.mirror import AptSource, host_sources, mirror_lines, parse_deb822, parse_one_line
from systems_under_test.runtime.options import parse_options

DEB822 = """\
Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://mirror.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Enabled: no
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
"""


def test_deb822_stanzas_expand_uris_and_suites_and_skip_disabled_and_source() -> None:
    got = parse_deb822(DEB822)
    assert got == [
        AptSource("http://mirror.example/debian", "bookworm", ("main", "contrib")),
        AptSource("http://mirror.example/debian", "bookworm-updates", ("main", "contrib")),
        AptSource("http://mirror.example/debian-security", "bookworm-security", ("main",)),
    ]


def test_one_line_format_with_options_and_comments() -> None:
    text = (
        "# comment\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main non-free\n"
        "deb-src http://m.example/debian bookworm main\n"
        "deb http://m.example/debian bookworm-updates main # trailing\n"
    )
    assert parse_one_line(text) == [
        AptSource("http://m.example/debian", "bookworm", ("main", "non-free")),
        AptSource("http://m.example/debian", "bookworm-updates", ("main",)),
    ]


def test_mirror_lines_keep_only_the_suite_family_with_main_one_suite_per_line() -> None:
    sources = parse_deb822(DEB822) + [AptSource("http://other.example/ubuntu", "jammy", ("main",)),
                                      AptSource("http://x.example/debian", "bookworm", ("contrib",))]
    lines = mirror_lines("bookworm", sources)
    assert lines == [
        "deb http://mirror.example/debian bookworm main",
        "deb http://mirror.example/debian bookworm-updates main",
        "deb http://mirror.example/debian-security bookworm-security main",
    ]
    assert mirror_lines("trixie", sources) == []


def test_host_sources_reads_list_and_sources_files_and_ignores_other_suffixes(tmp_path: Path) -> None:
    d = tmp_path / "etc" / "apt" / "sources.list.d"
    d.mkdir(parents=True)
    (tmp_path / "etc" / "apt" / "sources.list").write_text("deb http://a.example/debian bookworm main\n")
    (d / "debian.sources").write_text(DEB822)
    (d / "old.list.disabled").write_text("deb http://ignored.example/debian bookworm main\n")
    uris = {s.uri for s in host_sources(tmp_path)}
    assert uris == {"http://a.example/debian", "http://mirror.example/debian",
                    "http://mirror.example/debian-security"}


def test_recipe_tag_is_a_stable_hash_of_the_package_set() -> None:
    a = ImageRecipe()
    b = ImageRecipe(packages=tuple(reversed(BASE_PACKAGES)))
    assert a.tag == b.tag and a.tag.startswith("splitbrain-node:") and len(a.digest()) == 12
    extra = a.with_packages(["redis-server"])
    assert extra.tag != a.tag and "redis-server" in extra.packages
    assert ImageRecipe(suite="trixie").tag != a.tag


def test_mmdebstrap_argv_includes_packages_filters_and_mirrors() -> None:
    argv = ImageRecipe().mmdebstrap_argv("/tmp/x.tar", ["deb http://m.example/debian bookworm main"])
    assert argv[0] == "mmdebstrap" and "--variant=minbase" in argv
    include = next(a for a in argv if a.startswith("--include="))
    assert set(include.split("=", 1)[1].split(",")) == set(BASE_PACKAGES)
    assert argv[-3:] == ["bookworm", "/tmp/x.tar", "deb http://m.example/debian bookworm main"]
    assert "--dpkgopt=path-exclude=/usr/share/doc/*" in argv


PEERS = {"n2": "10.0.0.12", "n3": "10.0.0.13"}


def test_restore_script_drops_input_from_grudged_peers_only() -> None:
    script = restore_script(NodeFaults(frozenset({"n3"})), PEERS)
    lines = script.splitlines()
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    assert "-A INPUT -s 10.0.0.13/32 -j DROP" in lines
    assert not any("10.0.0.12" in line for line in lines)
    assert not any(line.startswith("-A OUTPUT") for line in lines)


def test_restore_script_loss_uses_statistic_on_output_to_every_peer() -> None:
    lines = restore_script(NodeFaults(loss=0.25), PEERS).splitlines()
    out = [line for line in lines if line.startswith("-A OUTPUT")]
    assert len(out) == 2
    assert all("-m statistic --mode random --probability 0.250000 -j DROP" in line for line in out)
    assert {line.split()[3] for line in out} == {"10.0.0.12/32", "10.0.0.13/32"}


def test_healed_script_only_resets_chains() -> None:
    lines = restore_script(NodeFaults(), PEERS).splitlines()
    assert not any(line.startswith("-A") for line in lines)
    assert ":INPUT ACCEPT [0:0]" in lines and ":OUTPUT ACCEPT [0:0]" in lines


def test_restore_script_rejects_unknown_nodes_and_bad_probabilities() -> None:
    with pytest.raises(ValueError, match="n9"):
        restore_script(NodeFaults(frozenset({"n9"})), PEERS)
    with pytest.raises(ValueError, match="probability"):
        restore_script(NodeFaults(loss=1.5), PEERS)


def test_restore_command_feeds_script_through_argv_not_a_file() -> None:
    argv = restore_command("*filter\nCOMMIT\n")
    assert argv[:2] == ["sh", "-c"] and "iptables-restore" in argv[2] and argv[-1] == "*filter\nCOMMIT\n"


def test_grudge_faults_replace_partition_but_keep_loss() -> None:
    nodes = ("n1", "n2", "n3")
    current = {"n1": NodeFaults(frozenset({"n2"}), 0.1)}
    new = grudge_faults({"n2": ["n1", "n3"], "n3": ["n2"]}, nodes, current)
    assert new["n1"] == NodeFaults(frozenset(), 0.1)
    assert new["n2"].drop_from == {"n1", "n3"} and new["n3"].drop_from == {"n2"}
    with pytest.raises(ValueError, match="n7"):
        grudge_faults({"n1": ["n7"]}, nodes, {})


def test_owner_of_this_process_is_alive_and_of_an_exited_one_is_not() -> None:
    me = L.current_owner()
    assert me.start and L.owner_alive(me.labels())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    start = L.process_start_time(child.pid)
    child.wait()
    assert L.process_start_time(child.pid) is None
    dead = L.Owner(child.pid, start or "1", me.host).labels()
    assert not L.owner_alive(dead)
    # same pid, different start time: the pid was reused by someone else, our owner is gone
    assert not L.owner_alive(L.Owner(os.getpid(), "0", me.host).labels())
    # another host's objects are never judged dead from here
    assert L.owner_alive(L.Owner(child.pid, "1", me.host + "-elsewhere").labels())


def test_plan_and_command_follow_the_runtime_interface() -> None:
    subnet = ipaddress.ip_network("10.213.5.0/24")
    plans = plan_nodes("abcd1234", ("n1", "n2", "n3"), subnet)
    assert [p.ip for p in plans] == ["10.213.5.11", "10.213.5.12", "10.213.5.13"]
    assert len({p.container for p in plans}) == 3 and all("abcd1234" in p.volume for p in plans)
    argv = node_command("replication:async", plans[1], plans, 42, {"x": 1})
    assert argv[:3] == ["python3", "-m", "systems_under_test.runtime"]
    opts = parse_options(argv[3:])  # the runtime itself accepts exactly this command line
    assert opts.node == "n2" and opts.system == "replication:async" and opts.seed == 42
    assert opts.listen == ("10.213.5.12", CLIENT_PORT) and opts.control == ("10.213.5.12", CONTROL_PORT)
    assert opts.peers["n3"] == ("10.213.5.13", CLIENT_PORT) and dict(opts.config) == {"x": 1}


def test_candidate_subnets_rotate_and_skip_taken() -> None:
    taken = [ipaddress.ip_network("10.213.7.0/24"), ipaddress.ip_network("10.213.8.0/23")]
    subs = candidate_subnets(7, taken)
    assert subs[0] == ipaddress.ip_network("10.213.10.0/24")
    assert not any(s.overlaps(t) for s in subs for t in taken)
    assert len(subs) == 256 - 3


def test_docker_backend_offers_every_fault_capability_without_touching_the_engine(tmp_path: Path) -> None:
    from harness.backends.base import ClusterSpec
    from harness.backends.docker.backend import DockerBackend
    from nemesis.capabilities import CAPABILITIES, missing

    backend = DockerBackend(ClusterSpec("replication", ("n1", "n2", "n3"), tmp_path, 1), client=object())
    assert missing(backend, list(CAPABILITIES)) == []
    assert backend.name == "docker" and len(backend.run_id) == 8
    with pytest.raises(ValueError, match="unknown node"):
        backend.address("n9")


def test_a_cancelled_build_stops_its_bootstrap_process_at_once() -> None:
    import threading
    import time

    from harness.backends.docker.image import BuildCancel, ImageError, _run_streaming

    cancel = BuildCancel()
    lines = _run_streaming(["sh", "-c", "echo 'I: started' >&2; exec sleep 60"], cancel)
    assert next(lines) == "I: started"
    threading.Thread(target=cancel.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(ImageError, match="cancelled"):
        list(lines)
    assert time.monotonic() - t0 < 10


def test_a_failing_bootstrap_reports_its_last_lines() -> None:
    from harness.backends.docker.image import BuildCancel, ImageError, _run_streaming

    with pytest.raises(ImageError, match="exit code 3(.|\n)*E: no such suite"):
        list(_run_streaming(["sh", "-c", "echo 'E: no such suite' >&2; exit 3"], BuildCancel()))


def test_a_quiet_bootstrap_still_shows_signs_of_life() -> None:
    from harness.backends.docker.image import BuildCancel, _run_streaming

    lines = list(_run_streaming(["sh", "-c", "echo 'I: unpacking' >&2; sleep 0.5; echo 'I: done' >&2"],
                                BuildCancel(), heartbeat=0.1))
    assert lines[0] == "I: unpacking" and lines[-1] == "I: done"
    assert "I: unpacking (still running)" in lines[1:-1]


class FakeObject:
    """A container/network/volume stand-in recording its removal into a shared journal."""

    def __init__(self, kind: str, name: str, labels: dict[str, str], journal: list[str]) -> None:
        self.kind, self.name, self.journal = kind, name, journal
        self.attrs = {"Config": {"Labels": labels}} if kind == "container" else {"Labels": labels}

    def remove(self, force: bool = False) -> None:
        assert force == (self.kind != "network")  # networks take no force flag
        self.journal.append(f"{self.kind}:{self.name}")


class FakeCollection:
    def __init__(self, objs: list[FakeObject]) -> None:
        self.objs = objs

    def list(self, filters: dict[str, Any] | None = None, **_: Any) -> list[FakeObject]:
        wanted = (filters or {}).get("label")
        keys = [wanted] if isinstance(wanted, str) else list(wanted or [])

        def match(o: FakeObject) -> bool:
            lab = o.attrs.get("Labels") or o.attrs["Config"]["Labels"]
            return all(lab.get(k.split("=", 1)[0]) == k.split("=", 1)[1] if "=" in k else k in lab
                       for k in keys)

        return [o for o in self.objs if match(o)]


class FakeClient:
    """Two runs (one whose harness is alive, one whose harness is gone) plus an object not of ours."""

    def __init__(self, journal: list[str]) -> None:
        alive = L.current_owner().labels()
        dead = L.Owner(2**22 + 12345, "1", L.current_owner().host).labels()  # beyond pid_max: never running
        objs: dict[str, list[FakeObject]] = {"container": [], "network": [], "volume": []}
        for run, owner in (("live", alive), ("gone", dead)):
            lab = {L.RUN: run, **owner}
            objs["container"] += [FakeObject("container", f"{run}-n{i}", lab, journal) for i in (1, 2)]
            objs["network"].append(FakeObject("network", f"{run}-net", lab, journal))
            objs["volume"] += [FakeObject("volume", f"{run}-v{i}", lab, journal) for i in (1, 2)]
        objs["container"].append(FakeObject("container", "someone-else", {}, journal))
        self.containers = FakeCollection(objs["container"])
        self.networks = FakeCollection(objs["network"])
        self.volumes = FakeCollection(objs["volume"])


def test_cleanup_removes_every_labelled_object_containers_first_and_sweep_only_dead_runs() -> None:
    pytest.importorskip("docker", reason="the docker Python package is not installed")
    from harness.backends.docker.cleanup import remove_all, sweep_orphans

    journal: list[str] = []
    swept = sweep_orphans(FakeClient(journal))
    assert swept.runs == ("gone",) and all("gone" in j for j in journal) and len(journal) == 5

    journal.clear()
    removed = remove_all(FakeClient(journal))
    assert removed.runs == ("gone", "live") and removed.total() == 10
    assert "container:someone-else" not in journal
    kinds = [j.split(":")[0] for j in journal]
    assert kinds == sorted(
        kinds, key=["container", "network", "volume"].index
    )  # containers, networks, volumes
