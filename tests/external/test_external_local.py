"""etcd and redis as real processes on the local backend (skipped where Debian's binaries are missing)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checkers.history import read_jsonl
from harness.backends.base import ClusterSpec, Indefinite, Unreachable
from harness.backends.external.etcd_cluster import EtcdLocalBackend
from harness.run.session import run_test
from harness.run.spec import RunSpec

needs_etcd = pytest.mark.skipif(shutil.which("etcd") is None,
                                reason="etcd is not installed (apt-get install -y etcd-server etcd-client)")
needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None,
                                 reason="redis-server is not installed (apt-get install -y redis-server)")

REPO = Path(__file__).resolve().parents[2]
KILL_N1 = ({"at": 1.0, "f": "kill", "value": ["n1"]}, {"at": 2.5, "f": "start", "value": ["n1"]})


def _alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.append(pid)
    return out


@needs_etcd
def test_etcd_cluster_serves_the_register_workload_through_a_kill_and_is_valid(tmp_path: Path) -> None:
    spec = RunSpec(system="etcd", nodes=3, concurrency=4, time_limit=4.0, rate=40.0, nemesis=("kill",),
                   schedule=KILL_N1, quiesce=1.0, seed=7)
    res = run_test(spec, store=tmp_path)
    assert res.outcome.error is None, res.outcome.error
    assert res.result.valid is True and res.exit_code == 0, res.result.explanation
    ops = read_jsonl(res.run_dir / "history.jsonl")
    assert [o.f for o in ops if not o.is_client] == ["kill", "start"]
    # Served on both sides of the kill: counted by window, not in total, since etcd's fsyncs make the
    # total swing with the machine's load (64-97 ok ops on an idle 2-core machine, 39 on a busy one).
    killed_at = next(o.time for o in ops if o.f == "kill")
    client_ok = [o for o in ops if o.is_client and o.type == "ok"]
    assert any(o.time < killed_at for o in client_ok)
    assert sum(o.time > killed_at for o in client_ok) >= 10
    log = (res.run_dir / "nodes" / "n1.log").read_text()
    assert "incarnation 2" in log and "--initial-cluster" in log  # restarted, both lives collected
    assert not (res.run_dir / "data" / "n1").exists()  # ~80 MB of etcd WAL per member is not kept


@needs_etcd
def test_etcd_backend_classifies_failures_and_leaves_no_process(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[int], dict[str, object]]:
        backend = EtcdLocalBackend(ClusterSpec("etcd:serializable", ("n1",), tmp_path, 3))
        try:
            await backend.setup()
            conn = await backend.connect("n1")
            assert (await conn.call({"type": "write", "key": "a", "value": 1, "req_id": 1}, 10.0))[
                "type"
            ] == "write_ok"
            reply = await conn.call({"type": "read", "key": "a", "req_id": 2}, 10.0)
            status = await backend.node_status("n1")
            await backend.pause("n1")
            with pytest.raises(Indefinite):
                await conn.call({"type": "read", "key": "a", "req_id": 3}, 0.3)
            await backend.resume("n1")
            await backend.kill("n1")
            with pytest.raises(Unreachable):
                await backend.connect("n1")
            assert reply == {"type": "read_ok", "value": 1, "req_id": 2}
            return backend.pids(), status
        finally:
            await backend.teardown()

    pids, status = asyncio.run(scenario())
    assert status["core"]["role"] == "leader"  # type: ignore[index]  # a single member leads itself
    assert _alive(pids) == []


@needs_redis
def test_redis_starts_serves_and_fails_over_when_the_primary_dies(tmp_path: Path) -> None:
    pytest.importorskip("redis")
    from harness.backends.external.redis_cluster import RedisLocalBackend

    async def scenario() -> tuple[RedisLocalBackend, list[dict[str, object]]]:
        backend = RedisLocalBackend(ClusterSpec("redis:wait", ("n1", "n2", "n3"), tmp_path, 3,
                                                {"down_after": 0.3}))
        replies = []
        try:
            await backend.setup()
            conn = await backend.connect("n3")  # routed to the primary, n1
            replies.append(await conn.call({"type": "add", "key": "s", "element": 1, "req_id": 1}, 2.0))
            replies.append(await conn.call({"type": "write", "key": "r", "value": 5, "req_id": 2}, 2.0))
            replies.append(await conn.call({"type": "cas", "key": "r", "from": 4, "to": 6, "req_id": 3}, 2.0))
            await backend.kill("n1")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10.0
            while backend.supervisor.primary == "n1" and loop.time() < deadline:
                await asyncio.sleep(0.05)
            fresh = await backend.connect("n1")  # routed to the new primary
            replies.append(await fresh.call({"type": "read", "key": "s", "req_id": 4}, 2.0))
            replies.append(await fresh.call({"type": "cas", "key": "r", "from": 5, "to": 6, "req_id": 5},
                                            2.0))
            await backend.start("n1")  # comes back as a replica of the new primary
            await conn.close()
            await fresh.close()
            return backend, replies
        finally:
            await backend.teardown()

    backend, replies = asyncio.run(scenario())
    assert [r["type"] for r in replies] == ["add_ok", "write_ok", "error", "read_ok", "cas_ok"]
    assert replies[2]["code"] == 22 and replies[3]["value"] == [1]  # the acknowledged (WAITed) add survived
    assert backend.supervisor.primary in ("n2", "n3") and backend.supervisor.failovers == 1
    assert "--replicaof" in backend.command("n1")
    assert _alive(backend.pids()) == []
    backend.collect_logs(tmp_path / "logs")
    assert "FAILOVER 1: n1 ->" in (tmp_path / "logs" / "failover.log").read_text()
    assert "Ready to accept connections" in (tmp_path / "logs" / "n2.log").read_text()


@needs_redis
def test_redis_register_run_without_faults_is_linearizable(tmp_path: Path) -> None:
    pytest.importorskip("redis")
    spec = RunSpec(system="redis", nodes=3, concurrency=4, time_limit=2.0, nemesis=("none",), quiesce=0.2,
                   seed=5)
    res = run_test(spec, store=tmp_path)
    assert res.outcome.error is None, res.outcome.error
    assert res.result.valid is True, res.result.explanation
    doc = json.loads((res.run_dir / "results.json").read_text())
    assert doc["counts"]["ok"] > 30


def test_refused_capability_has_a_clear_message_on_the_command_line(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "harness.apps.cli", "run", "--system", "etcd", "--nemesis", "clock",
           "--store", str(tmp_path), "--quiet", "--seed", "1"]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 254, proc.stderr
    assert "clock faults on etcd are out of scope" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("*/*/spec.json"))
