"""Third-party systems without their binaries: request translation, failover decisions, refusals."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from harness.backends.external.etcd_kv import decode_value, gateway_call, translate_reply
from harness.backends.external.failover import Policy, Supervisor, choose_successor, replicas_say_down
from harness.backends.external.redis_kv import commands_for, decode_read, translate_results
from harness.run.plan import build_plan
from harness.run.session import run_test
from harness.run.spec import RunSpec
from nemesis.executor import CapabilityError
from systems_under_test.registry import resolve, systems


@pytest.fixture
def binaries_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan tests below are about refusals and backends, not about this machine: etcd and Redis count
    as installed (the missing-binary refusal has tests of its own)."""
    from harness.backends.external import procs

    real_which = procs.shutil.which
    monkeypatch.setattr(procs.shutil, "which", lambda name, *a, **k: real_which(name, *a, **k)
                        or (f"/usr/bin/{name}" if name.startswith(("etcd", "redis")) else None))


@pytest.mark.usefixtures("binaries_installed")
def test_descriptors_are_registered_as_third_party() -> None:
    all_systems = systems()
    assert all_systems["etcd"].backends == {
        "local": "harness.backends.external.etcd_cluster:EtcdLocalBackend",
        "docker": "harness.backends.external.etcd_docker:EtcdDockerBackend"}
    assert set(all_systems["redis"].backends) == {"local", "docker"}
    assert [v.name for v in all_systems["etcd"].variants] == ["etcd", "etcd:serializable"]
    assert [v.name for v in all_systems["redis"].variants] == ["redis", "redis:wait"]
    assert all_systems["etcd"].is_third_party and not all_systems["replication"].is_third_party
    assert build_plan(RunSpec(system="etcd:serializable", nemesis=("kill",))).backend_class.__name__ == \
        "EtcdLocalBackend"
    assert build_plan(RunSpec(system="paxos")).backend_class.__name__ == "LocalBackend"


@pytest.mark.parametrize("name", ["etcd", "redis:wait"])
def test_third_party_variants_have_no_core(name: str) -> None:
    _desc, variant = resolve(name)
    with pytest.raises(ValueError, match="third-party system"):
        variant.make_core("n1", ["n2"], __import__("random").Random(0), {})


# ----- etcd gateway translation --------------------------------------------------------------------------

def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def test_etcd_reads_are_linearizable_unless_the_variant_says_serializable() -> None:
    path, body = gateway_call({"type": "read", "key": "k1"}, serializable=False)
    assert path == "/v3/kv/range" and body == {"key": _b64("k1")}
    _path, body = gateway_call({"type": "read", "key": "k1"}, serializable=True)
    assert body == {"key": _b64("k1"), "serializable": True}


def test_etcd_cas_is_a_value_compare_txn() -> None:
    path, body = gateway_call({"type": "cas", "key": "k", "from": 1, "to": 2}, serializable=False)
    assert path == "/v3/kv/txn"
    assert body["compare"] == [{"key": _b64("k"), "target": "VALUE", "result": "EQUAL", "value": _b64("1")}]
    assert body["success"] == [{"requestPut": {"key": _b64("k"), "value": _b64("2")}}]
    with pytest.raises(ValueError, match="supported: read, write, cas"):
        gateway_call({"type": "add", "key": "k", "element": 1}, serializable=False)


def test_etcd_replies_map_to_ours_with_the_right_certainty() -> None:
    read = {"type": "read", "key": "k"}
    ok = translate_reply(read, 200, {"kvs": [{"value": _b64("4")}]})
    assert ok == {"type": "read_ok", "value": 4}
    assert translate_reply(read, 200, {"header": {}}) == {"type": "read_ok", "value": None}
    cas = {"type": "cas", "key": "k", "from": 1, "to": 2}
    assert translate_reply(cas, 200, {"succeeded": True}) == {"type": "cas_ok"}
    failed = translate_reply(cas, 200, {"header": {}})
    assert failed["code"] == 22 and failed["definite"] is True
    # An etcd error on a write may still commit later: indefinite. On a read nothing changed: definite.
    timed_out = {"error": "etcdserver: request timed out", "code": 14}
    assert translate_reply({"type": "write", "key": "k", "value": 1}, 503, timed_out)["definite"] is False
    assert translate_reply(read, 503, timed_out)["definite"] is True
    assert decode_value(_b64("null")) is None


# ----- redis command translation -------------------------------------------------------------------------

def test_redis_writes_wait_for_replicas_only_in_the_wait_variant() -> None:
    plain = commands_for({"type": "write", "key": "k", "value": 3}, wait=0, wait_timeout_ms=500)
    assert plain.argvs == (("SET", "k", "3"),) and plain.writes
    waited = commands_for({"type": "add", "key": "s", "element": 7}, wait=1, wait_timeout_ms=500)
    assert waited.argvs == (("SADD", "s", "7"), ("WAIT", 1, 500))
    read = commands_for({"type": "read", "key": "k"}, wait=1, wait_timeout_ms=500)
    assert len(read.argvs) == 1 and not read.writes and "no-writes" in read.argvs[0][1]


def test_redis_results_map_to_ours() -> None:
    assert decode_read([b"string", b"5"]) == 5
    assert decode_read([b"set", [b"3", b"1", b"2"]]) == [1, 2, 3]
    assert decode_read([b"none"]) is None
    cas = {"type": "cas", "key": "k", "from": 1, "to": 2}
    assert (
        translate_results(cas, [0, 1], wait=1)["code"] == 22
    )  # comparison failed: definite, whatever WAIT says
    assert translate_results(cas, [1], wait=0) == {"type": "cas_ok"}
    short = translate_results({"type": "write", "key": "k", "value": 1}, [True, 0], wait=1)
    assert short["type"] == "error" and short["definite"] is False  # applied on the primary, not replicated
    assert translate_results({"type": "add", "key": "s", "element": 1}, [1, 1], wait=1) == {"type": "add_ok"}


# ----- failover decisions --------------------------------------------------------------------------------

def test_successor_is_the_reachable_replica_with_the_most_data() -> None:
    infos: dict[str, dict[str, Any] | None] = {
        "n2": {"role": "slave", "slave_repl_offset": 90},
        "n3": {"role": "slave", "slave_repl_offset": 120},
        "n4": None,
    }
    assert choose_successor(infos, "n1", ["n1", "n2", "n3", "n4"]) == "n3"
    infos["n3"] = None
    assert choose_successor(infos, "n1", ["n1", "n2", "n3", "n4"]) == "n2"
    assert choose_successor({"n2": None}, "n1", ["n1", "n2"]) is None


def test_replicas_vote_the_primary_down_only_by_majority() -> None:
    up, down = {"master_link_status": "up"}, {"master_link_status": "down"}
    assert not replicas_say_down({"n2": up, "n3": down}, "n1")
    assert replicas_say_down({"n2": down, "n3": down}, "n1")
    assert not replicas_say_down({}, "n1")


class FakeAdmin:
    """Nodes as dicts; ``frozen`` nodes answer nothing (a paused or cut-off process)."""

    def __init__(self, nodes: list[str]) -> None:
        self.role = {n: "master" if n == nodes[0] else "slave" for n in nodes}
        self.follows: dict[str, str | None] = {n: None if n == nodes[0] else nodes[0] for n in nodes}
        self.offset = {n: 0 for n in nodes}
        self.frozen: set[str] = set()
        self.sent: list[tuple[str, str | None]] = []

    async def ping(self, node: str) -> bool:
        return node not in self.frozen

    async def replication(self, node: str) -> dict[str, Any] | None:
        if node in self.frozen:
            return None
        link = "down" if self.follows[node] in self.frozen else "up"
        return {"role": self.role[node], "slave_repl_offset": self.offset[node], "master_link_status": link}

    async def replicaof(self, node: str, primary: str | None) -> bool:
        if node in self.frozen:
            return False
        self.sent.append((node, primary))
        self.role[node] = "master" if primary is None else "slave"
        self.follows[node] = primary
        return True


def test_supervisor_promotes_best_replica_and_demotes_the_old_primary_once_it_answers() -> None:
    async def scenario() -> tuple[Supervisor, FakeAdmin, list[str]]:
        admin = FakeAdmin(["n1", "n2", "n3"])
        admin.offset.update(n2=10, n3=11)
        events: list[str] = []
        sup = Supervisor(["n1", "n2", "n3"], "n1", admin, Policy(down_after=0.0, demote_every=0.0),
                         events.append)
        await sup.tick()
        assert sup.primary == "n1" and not admin.sent  # healthy: nothing happens
        admin.frozen.add("n1")
        await sup.tick()  # judged down
        await sup.tick()  # down for >= down_after: fail over
        assert sup.primary == "n3" and ("n3", None) in admin.sent and ("n2", "n3") in admin.sent
        assert sup.deposed == {"n1"} and all(node != "n1" for node, _ in admin.sent)
        admin.frozen.discard("n1")
        await sup.tick()
        return sup, admin, events

    sup, admin, events = asyncio.run(scenario())
    assert sup.deposed == set() and admin.follows["n1"] == "n3" and sup.failovers == 1
    assert any(e.startswith("FAILOVER 1: n1 -> n3") for e in events)


# ----- refusals ------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("binaries_installed")
def test_refusals_name_the_reason() -> None:
    build_plan(RunSpec(system="etcd", nemesis=("kill", "pause")))  # supported: no error
    with pytest.raises(CapabilityError) as err:
        build_plan(RunSpec(system="etcd", nemesis=("partition", "clock", "kill")))
    text = str(err.value)
    assert (
        "cooperative" in text
        and "--backend docker" in text
        and "vDSO" in text
        and "Supported there: kill, pause" in text
    )
    with pytest.raises(CapabilityError, match="hangs redis-server"):
        build_plan(RunSpec(system="redis", backend="docker", nemesis=("clock",)))
    build_plan(RunSpec(system="redis", backend="docker", nemesis=("partition", "kill", "pause")))


def test_refusals_are_declared_through_the_capability_protocols() -> None:
    from harness.backends.external.etcd_cluster import EtcdLocalBackend
    from harness.backends.external.etcd_docker import EtcdDockerBackend
    from nemesis.capabilities import Kill, Net, Pause, Refusals

    assert issubclass(EtcdLocalBackend, Kill) and issubclass(EtcdLocalBackend, Pause)
    assert not issubclass(EtcdLocalBackend, Net), "no partitions of a third-party binary on local"
    assert issubclass(EtcdDockerBackend, Net), "iptables partitions work for any server in a container"
    assert isinstance(EtcdDockerBackend, Refusals)
    assert set(EtcdDockerBackend.unsupported()) == {"clock", "packet"}


def test_an_unsupported_backend_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(CapabilityError, match="runs on the .*local.* backend, not on 'sim'"):
        build_plan(RunSpec(system="etcd", backend="sim"))


def test_run_with_a_refused_fault_leaves_no_run_dir(tmp_path: Path) -> None:
    spec = RunSpec(system="redis", nemesis=("partition", "kill"), time_limit=1.0)
    with pytest.raises(CapabilityError, match="partition faults are cooperative"):
        run_test(spec, store=tmp_path)
    assert not list(tmp_path.glob("*/*/spec.json"))


def test_backend_entry_routes_third_party_systems_to_their_adapter(tmp_path: Path) -> None:
    pytest.importorskip("redis")
    from harness.backends.external.procs import BinaryMissing

    try:
        backend = build_plan(RunSpec(system="redis:wait", nemesis=("kill",))).make_backend(tmp_path)
    except BinaryMissing as e:
        assert "apt-get install -y redis-server" in str(e)
        return
    assert type(backend).__name__ == "RedisLocalBackend" and backend.wait == 1  # type: ignore[attr-defined]
    assert json.loads(json.dumps(backend.command("n2")))[-3:] == [  # type: ignore[attr-defined]
        "--replicaof", "127.0.0.1", str(backend.ports["n1"])]  # type: ignore[attr-defined]


# ----- the gateway's HTTP client -------------------------------------------------------------------------

def test_http_client_reads_both_body_framings_and_classifies_failures() -> None:
    from harness.backends.base import Indefinite, Unreachable
    from harness.backends.external.http import HttpJsonConnection

    replies = [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\": 1}   ",
        (b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"5\r\n{\"err\r\n9\r\nor\": \"x\"}\r\n0\r\n\r\n"),
    ]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for reply in replies:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(
                next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
            )
            await reader.readexactly(length)
            writer.write(reply)
            await writer.drain()
        await reader.read()  # the third request gets no answer

    async def scenario() -> list[Any]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        out: list[Any] = []
        conn = await HttpJsonConnection.open("n1", "127.0.0.1", port, 1.0)
        out.append(await conn.post("/v3/kv/range", {"key": "x"}, 1.0))
        out.append(await conn.post("/v3/kv/put", {"key": "x"}, 1.0))
        with pytest.raises(Indefinite):
            await conn.post("/v3/kv/put", {"key": "x"}, 0.2)
        with pytest.raises(Unreachable):  # abandoned after the timeout: nothing more is sent on it
            await conn.post("/v3/kv/put", {"key": "x"}, 0.2)
        await conn.close()
        server.close()
        with pytest.raises(Unreachable):
            await HttpJsonConnection.open("n1", "127.0.0.1", port, 0.5)
        return out

    assert asyncio.run(scenario()) == [(200, {"a": 1}), (503, {"error": "x"})]


def test_status_roles_let_the_nemesis_target_primaries() -> None:
    from harness.backends.external.etcd_cluster import status_core
    from harness.backends.external.redis_cluster import redis_core
    from nemesis.targets import leaders_in

    def etcd(me: str, leader: str) -> dict[str, Any]:
        return {"core": status_core({"header": {"member_id": me}, "leader": leader, "raftTerm": "3"})}

    assert leaders_in({"n1": etcd("11", "22"), "n2": etcd("22", "22"), "n3": etcd("33", "22")}) == ["n2"]
    assert status_core({"header": {"member_id": "11"}, "leader": "0"})["role"] == "candidate"
    # a deposed primary that was not told yet still says master: both are targets
    redis = {"n1": {"core": redis_core({"role": "master"})}, "n2": {"core": redis_core({"role": "master"})},
             "n3": {"core": redis_core({"role": "slave", "master_link_status": "up"})}}
    assert leaders_in(redis) == ["n1", "n2"]


def test_a_missing_binary_is_refused_when_the_plan_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no etcd, no redis-server here
    with pytest.raises(CapabilityError, match=r"apt-get install -y etcd-server"):
        build_plan(RunSpec(system="etcd", nemesis=("kill",)))
    with pytest.raises(CapabilityError, match=r"apt-get install -y redis-server"):
        run_test(RunSpec(system="redis:wait", nemesis=("kill",)), store=tmp_path / "store")
    assert not (tmp_path / "store").exists(), "refused before a run directory was made"



def test_a_third_party_kill_cut_short_after_its_signal_is_undone_by_start(tmp_path: Path) -> None:
    """As on our own local backend: a kill cancelled between the SIGKILL and the reaping leaves the
    process down (``alive`` false), and ``start`` waits for the old process and spawns a new one."""
    import sys

    from harness.backends.external.procs import ManagedProcess

    proc = ManagedProcess("n1", tmp_path, lambda: [sys.executable, "-c", "import time; time.sleep(60)"])

    async def go() -> None:
        await proc.spawn()
        old = proc.proc
        assert old is not None
        kill = asyncio.ensure_future(proc.kill())
        await asyncio.sleep(0)  # the signal is sent; the kill now awaits the process
        kill.cancel()
        with pytest.raises(asyncio.CancelledError):
            await kill
        assert not proc.alive
        await proc.spawn()
        assert old.returncode is not None and proc.alive and proc.proc is not old
        await proc.stop()

    asyncio.run(go())
    assert proc.incarnation == 2 and not proc.alive
