"""The node runtime as real processes on 127.0.0.1: clients, peers, durability, control, lifecycle."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_procs import Cluster, call, wait_until

from systems_under_test.runtime import durable
from systems_under_test.runtime.faults import Faults, apply_control


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster("replication", tmp_path)
    try:
        yield c.start()
    finally:
        c.stop()


def test_write_then_read_through_a_replica_and_restart_keeps_state(cluster: Cluster) -> None:
    assert (
        cluster["n1"].ready == f"READY 127.0.0.1:{cluster['n1'].port} 127.0.0.1:{cluster['n1'].control_port}"
    )
    replies = call(cluster["n2"].port, [
        {"type": "write", "key": "x", "value": 1, "req_id": 1},
        {"type": "cas", "key": "x", "from": 1, "to": 2, "req_id": 2},
    ])
    assert sorted(replies, key=lambda r: r["req_id"]) == [
        {"type": "write_ok", "req_id": 1}, {"type": "cas_ok", "req_id": 2}]
    assert call(cluster["n3"].port, [{"type": "read", "key": "x", "req_id": "r"}]) == [
        {"type": "read_ok", "value": 2, "req_id": "r"}]
    before = cluster["n1"].status()["core"]
    assert before["log"] == 2 and before["commit"] == 2
    for node in ("n1", "n3"):  # the primary and a replica lose everything but their durable records
        assert cluster[node].kill() == -signal.SIGKILL
        cluster[node].start()
    assert wait_until(lambda: cluster["n3"].status()["core"]["log"] == 2)
    after = cluster["n1"].status()["core"]
    assert after["log"] == 2 and after["boot"] == 1
    assert call(cluster["n3"].port, [{"type": "read", "key": "x", "req_id": 5}], timeout=5) == [
        {"type": "read_ok", "value": 2, "req_id": 5}]


def test_partition_drops_peer_traffic_and_heal_restores_it(cluster: Cluster) -> None:
    n1 = cluster["n1"]
    assert n1.control({"type": "partition", "drop_from": ["n3"]}) == {"type": "partition_ok"}
    assert n1.status()["faults"]["drop_from"] == ["n3"]
    with socket.create_connection(("127.0.0.1", cluster["n2"].port), timeout=5) as s:
        s.sendall(json.dumps({"type": "write", "key": "p", "value": 7, "req_id": 9}).encode() + b"\n")
        s.settimeout(0.6)
        with pytest.raises(TimeoutError):  # n3's acks never reach the primary: the write blocks
            s.recv(1)
        assert n1.status()["counters"]["dropped_in"] > 0
        assert n1.control({"type": "heal"}) == {"type": "heal_ok"}
        s.settimeout(5)
        assert json.loads(s.makefile("rb").readline()) == {"type": "write_ok", "req_id": 9}
    assert n1.status()["faults"]["drop_from"] == []


def test_packet_loss_blocks_replication_until_healed(cluster: Cluster) -> None:
    n1 = cluster["n1"]
    assert n1.control({"type": "packet", "delay": 0.01, "loss": 1.0, "dup": 0.0}) == {"type": "packet_ok"}
    with socket.create_connection(("127.0.0.1", n1.port), timeout=5) as s:
        s.sendall(b'{"type": "write", "key": "q", "value": 1, "req_id": 1}\n')
        s.settimeout(0.4)
        with pytest.raises(TimeoutError):
            s.recv(1)
        assert n1.status()["counters"]["dropped_out"] > 0
        n1.control({"type": "heal"})
        s.settimeout(5)
        assert json.loads(s.makefile("rb").readline())["type"] == "write_ok"


def test_clock_offset_shows_in_status_and_survives_heal(cluster: Cluster) -> None:
    n2 = cluster["n2"]
    t0 = n2.status()["time"]
    assert n2.control({"type": "clock", "offset": 1000.0}) == {"type": "clock_ok"}
    t1 = n2.status()["time"]
    assert 1000.0 <= t1 - t0 < 1010.0
    n2.control({"type": "heal"})
    assert n2.status()["faults"]["clock_offset"] == 1000.0
    n2.control({"type": "clock", "offset": 0})
    assert n2.status()["time"] - t0 < 10.0


def test_malformed_input_gets_an_error_and_the_node_keeps_serving(cluster: Cluster) -> None:
    replies = call(cluster["n2"].port, [
        b"this is not json\n",
        b"[1, 2, 3]\n",
        {"type": "write", "key": "m", "value": 1},  # no req_id
        {"type": "bogus", "req_id": 4},
        {"type": "write", "key": "m", "value": 1, "req_id": 5},
    ])
    by_id = {r.get("req_id"): r for r in replies if r.get("req_id") is not None}
    errors = [r for r in replies if r.get("req_id") is None]
    assert len(errors) == 3 and all(r["code"] == 12 and r["definite"] is True for r in errors)
    assert by_id[4]["code"] == 10
    assert by_id[5] == {"type": "write_ok", "req_id": 5}
    bad = call(cluster["n2"].control_port, [{"type": "partition", "drop_from": "n3"}, {"type": "nope"}])
    assert [r["type"] for r in bad] == ["error", "error"]
    assert cluster["n2"].popen is not None and cluster["n2"].popen.poll() is None


def test_node_exits_when_its_parent_is_gone_and_on_sigterm(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    c = Cluster("replication:async", tmp_path, size=2, parent_pid=parent.pid)
    try:
        c.start()
        parent.kill()
        parent.wait()
        t0 = time.monotonic()
        assert c["n1"].popen is not None and c["n2"].popen is not None
        assert c["n1"].popen.wait(timeout=5) == 0
        assert time.monotonic() - t0 < 1.5
        assert "parent process" in c["n1"].log.read_text()
        assert c["n2"].popen.wait(timeout=5) == 0
    finally:
        parent.kill()
        c.stop()


def test_sigterm_exits_cleanly_and_records_are_durable(cluster: Cluster) -> None:
    assert (
        call(cluster["n1"].port, [{"type": "write", "key": "d", "value": 3, "req_id": 1}])[0]["type"]
        == "write_ok"
    )
    assert cluster["n2"].kill(signal.SIGTERM) == 0
    records = durable.load(cluster["n2"].data_dir / durable.FILE_NAME)
    assert records[0] == {"t": "boot"}
    assert any(r.get("t") == "entry" and r["cmd"] == {"type": "write", "key": "d", "value": 3}
               for r in records)
    assert "stopped" in cluster["n2"].log.read_text()


def test_durable_load_ignores_and_trims_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "durable.jsonl"
    log = durable.DurableLog(path)
    log.append({"t": "boot"})
    log.sync()
    log.close()
    with path.open("ab") as fh:
        fh.write(b'{"t": "entr')
    assert durable.load(path) == [{"t": "boot"}]
    log = durable.DurableLog(path)
    log.append({"t": "boot"})
    log.close()
    assert durable.load(path) == [{"t": "boot"}, {"t": "boot"}]
    path.write_bytes(b'{"t": "boot"}\nnot json\n{"t": "boot"}\n')
    with pytest.raises(durable.CorruptRecord, match=":2:"):
        durable.load(path)


def test_fault_state_is_validated() -> None:
    nodes = frozenset({"n1", "n2"})
    f = apply_control(Faults(), {"type": "packet", "delay": 0.1, "loss": 0.5}, nodes)
    assert f.packet.active and f.packet.loss == 0.5 and f.packet.dup == 0.0
    f = apply_control(f, {"type": "partition", "drop_from": ["n2"]}, nodes)
    f = apply_control(f, {"type": "clock", "offset": -3}, nodes)
    healed = apply_control(f, {"type": "heal"}, nodes)
    assert not healed.packet.active and healed.drop_from == frozenset() and healed.clock_offset == -3
    for bad in ({"type": "packet", "loss": 2}, {"type": "partition", "drop_from": ["n9"]}, {"type": "clock"}):
        with pytest.raises(ValueError):
            apply_control(Faults(), bad, nodes)


def test_failover_elects_a_new_primary_after_the_old_one_is_killed(tmp_path: Path) -> None:
    c = Cluster("replication:failover", tmp_path)
    try:
        c.start()

        def primary() -> str | None:
            roles = {n: c[n].status()["core"] for n in c.procs if c[n].popen and c[n].popen.poll() is None}
            leaders = [n for n, s in roles.items() if s["role"] == "primary"]
            return leaders[0] if len(leaders) == 1 else None

        old = wait_until(primary, timeout=5)
        assert (
            call(c[old].port, [{"type": "write", "key": "f", "value": 1, "req_id": 1}])[0]["type"]
            == "write_ok"
        )
        c[old].kill()
        new = wait_until(primary, timeout=5)
        assert new != old and c[new].status()["core"]["term"] > 1
        other = next(n for n in c.procs if n not in (old, new))
        replies = call(c[other].port, [{"type": "cas", "key": "f", "from": 1, "to": 2, "req_id": 2}])
        assert replies == [{"type": "cas_ok", "req_id": 2}]
        c[old].start()
        assert wait_until(lambda: c[old].status()["core"]["commit"] >= 3, timeout=5)
        assert call(c[old].port, [{"type": "read", "key": "f", "req_id": 3}]) == [
            {"type": "read_ok", "value": 2, "req_id": 3}]
    finally:
        c.stop()


def test_unknown_system_exits_2_with_the_choices(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "systems_under_test.runtime", "--system", "replication:nope", "--node", "n1",
         "--listen", "127.0.0.1:0", "--peers", "n1=127.0.0.1:0", "--control", "127.0.0.1:0",
         "--data-dir", str(tmp_path)],
        check=False, capture_output=True, text=True, timeout=20,
    )
    assert proc.returncode == 2
    assert "replication:async" in proc.stderr and "valid choices" in proc.stderr
