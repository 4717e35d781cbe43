"""External Maelstrom-protocol programs: the parts that need no process (services, table, checkers,
refusals)."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from checkers.history import Op
from checkers.maelstrom import absence_observations, check_convergence, check_echo, check_eventual_counter
from harness.apps.cli import run_cli
from harness.backends.maelstrom import SERVICES, SIM_REASON, grudge_with_services, program
from harness.run.plan import build_plan
from harness.run.spec import RunSpec, SpecError
from harness.workloads import make_workload, workload_spec
from harness.workloads.base import Invocation
from harness.workloads.maelstrom_misc import topology
from nemesis.executor import CapabilityError
from systems_under_test.maelstrom.errors import annotate, classify
from systems_under_test.maelstrom.runtime.shim import ShimOptions
from systems_under_test.maelstrom.services import Services

NODES = Path(__file__).parent / "nodes"


def _ask(svc: Services, dest: str, body: dict, src: str = "n1") -> dict:
    reply = svc.handle({"src": src, "dest": dest, "body": {**body, "msg_id": 7}})
    assert reply is not None and reply["dest"] == src and reply["src"] == dest
    assert reply["body"]["in_reply_to"] == 7
    return reply["body"]


def test_lin_kv_service_read_write_cas_and_create_if_not_exists() -> None:
    svc = Services(random.Random(1))
    assert _ask(svc, "lin-kv", {"type": "read", "key": 1})["code"] == 20
    assert _ask(svc, "lin-kv", {"type": "cas", "key": 1, "from": 0, "to": 1})["code"] == 20
    assert (
        _ask(svc, "lin-kv", {"type": "cas", "key": 1, "from": 0, "to": 5, "create_if_not_exists": True})[
            "type"
        ]
        == "cas_ok"
    )
    assert _ask(svc, "lin-kv", {"type": "read", "key": 1}) == {
        "type": "read_ok",
        "value": 5,
        "msg_id": 4,
        "in_reply_to": 7,
    }
    assert _ask(svc, "lin-kv", {"type": "cas", "key": 1, "from": 4, "to": 6})["code"] == 22
    assert _ask(svc, "lin-kv", {"type": "write", "key": 1, "value": 9})["type"] == "write_ok"
    assert _ask(svc, "lin-kv", {"type": "read", "key": 1})["value"] == 9
    assert _ask(svc, "lin-kv", {"type": "nope"})["code"] == 10


def test_seq_kv_reads_never_go_back_for_one_client_but_may_lag_for_another() -> None:
    svc = Services(random.Random(3))
    lagged = False
    for v in range(50):
        _ask(svc, "seq-kv", {"type": "write", "key": "k", "value": v}, src="n1")
        assert _ask(svc, "seq-kv", {"type": "read", "key": "k"}, src="n1")["value"] == v  # own writes: seen
        seen = [_ask(svc, "seq-kv", {"type": "read", "key": "k"}, src="n2")["value"] for _ in range(3)]
        assert seen == sorted(seen)  # monotonic for n2
        lagged |= seen[0] < v
    assert lagged  # stale reads do happen, as Maelstrom documents for seq-kv


def test_lin_tso_is_strictly_increasing_and_services_ignore_non_requests() -> None:
    svc = Services(random.Random(0))
    ts = [_ask(svc, "lin-tso", {"type": "ts"})["ts"] for _ in range(5)]
    assert ts == sorted(set(ts)) and len(ts) == 5
    assert svc.handle({"src": "n1", "dest": "lin-kv", "body": {"type": "read_ok", "in_reply_to": 3}}) is None


def test_error_table_definite_and_unknown_codes_indefinite() -> None:
    assert classify(20) == ("key-does-not-exist", True)
    assert classify(0) == ("timeout", False) and classify(13) == ("crash", False)
    assert classify(99) == ("unknown-99", False)
    assert classify("x")[1] is False
    assert annotate({"type": "error", "code": 22, "definite": False})["definite"] is True


def _op(i: int, t: int, typ: str, p: int, f: str, v: object, node: str = "n1", error: object = None) -> Op:
    return Op(i, t, typ, p, f, v, node=node, error=error)


def test_cas_answered_20_becomes_an_absence_observation() -> None:
    h = [
        _op(0, 0, "invoke", 0, "write", [1, 3]),
        _op(1, 1, "ok", 0, "write", [1, 3]),
        _op(2, 2, "invoke", 0, "cas", [1, [3, 4]]),
        _op(3, 3, "fail", 0, "cas", [1, [3, 4]], error=[20, "gone"]),
    ]
    rewritten = absence_observations(h)
    assert [(o.type, o.f, o.value) for o in rewritten[2:]] == [
        ("invoke", "read", [1, None]),
        ("ok", "read", [1, None]),
    ]
    wl = make_workload("lin-kv", random.Random(0))
    assert wl.check(h).valid is False  # the key was written, then reported absent: lost data
    assert (
        make_workload("lin-kv", random.Random(0), {"absence": False}).check(h).valid is True
    )  # Maelstrom's view


def test_lin_kv_read_answered_20_is_an_ok_read_of_nil_unless_absence_is_off() -> None:
    wl = make_workload("lin-kv", random.Random(0))
    inv = Invocation("read", [2, None])
    err = {"type": "error", "code": 20, "text": "no", "definite": True}
    assert wl.complete(inv, err).type == "ok" and wl.complete(inv, err).value == [2, None]
    plain = make_workload("lin-kv", random.Random(0), {"absence": False})
    assert plain.complete(inv, err).type == "fail"
    cas = Invocation("cas", [2, [1, 2]])
    assert wl.complete(cas, {**err, "code": 22}).type == "fail"
    assert wl.complete(cas, {"type": "error", "code": 99, "definite": False}).type == "info"


def test_echo_checker_flags_a_changed_echo() -> None:
    h = [
        _op(0, 0, "invoke", 0, "echo", "a"),
        _op(1, 1, "ok", 0, "echo", "a"),
        _op(2, 2, "invoke", 1, "echo", "b"),
        _op(3, 3, "ok", 1, "echo", "c"),
    ]
    assert check_echo(h[:2]).valid is True
    assert check_echo(h).valid is False


def _unconverged() -> list[Op]:
    """Two acknowledged broadcasts; n1's final read has both, n2's misses 2."""
    return [
        _op(0, 0, "invoke", 0, "broadcast", 1),
        _op(1, 1, "ok", 0, "broadcast", 1),
        _op(2, 2, "invoke", 1, "broadcast", 2),
        _op(3, 3, "ok", 1, "broadcast", 2),
        _op(4, 4, "invoke", 0, "final-read", None, "n1"),
        _op(5, 5, "ok", 0, "final-read", [1, 2], "n1"),
        _op(6, 6, "invoke", 1, "final-read", None, "n2"),
        _op(7, 7, "ok", 1, "final-read", [1], "n2"),
    ]


def test_convergence_needs_every_acknowledged_element_on_every_node() -> None:
    h = _unconverged()
    res = check_convergence(h, add_f="broadcast")
    assert res.valid is False
    assert res.details["convergence"]["details"]["unconverged"] == {"n2": {"count": 1, "elements": [2]}}
    fixed = [*h[:7], _op(7, 7, "ok", 1, "final-read", [1, 2], "n2")]
    assert check_convergence(fixed, add_f="broadcast").valid is True


def test_eventual_counter_bounds() -> None:
    h = [
        _op(0, 0, "invoke", 0, "add", 3),
        _op(1, 1, "ok", 0, "add", 3),
        _op(2, 2, "invoke", 1, "add", -1),
        _op(3, 3, "info", 1, "add", -1),
        _op(4, 4, "invoke", 0, "read", None),
        _op(5, 5, "ok", 0, "read", 0),  # stale but possible
        _op(6, 6, "invoke", 2, "final-read", None),
        _op(7, 7, "ok", 2, "final-read", 2),
    ]
    assert check_eventual_counter(h).valid is True
    bad = [*h[:7], _op(7, 7, "ok", 2, "final-read", 1)]  # below 3 - 1: an acknowledged add is lost
    assert check_eventual_counter(bad).valid is False
    too_high = [*h[:5], _op(5, 5, "ok", 0, "read", 4), *h[6:]]
    assert check_eventual_counter(too_high).valid is False


def test_topologies_are_symmetric_and_connected() -> None:
    nodes = [f"n{i}" for i in range(1, 8)]
    for kind in ("grid", "line", "tree", "total"):
        topo = topology(kind, nodes)
        assert set(topo) == set(nodes)
        for a, near in topo.items():
            assert a not in near and all(a in topo[b] for b in near)
        reached, todo = {"n1"}, ["n1"]
        while todo:
            for b in topo[todo.pop()]:
                if b not in reached:
                    reached.add(b)
                    todo.append(b)
        assert reached == set(nodes), kind
    line = workload_spec("broadcast", {"topology": "line"})
    assert line.cluster_config(["n1", "n2"]) == {
        "after_init": [{"type": "topology", "topology": {"n1": ["n2"], "n2": ["n1"]}}]
    }
    assert workload_spec("g-set").cluster_config(["n1"]) == {}


def test_the_plan_hands_the_program_and_the_topology_to_the_backend_in_the_cluster_config(
    tmp_path: Path,
) -> None:
    """The backend gets the cluster part of the plan only: program, arguments and after-init messages."""
    spec = RunSpec(
        system="maelstrom",
        workload="broadcast",
        nodes=2,
        workload_options={"topology": "line"},
        config={"bin": str(NODES / "pynode.py"), "bin_args": ["broadcast"]},
    )
    plan = build_plan(spec)
    assert plan.backend_class.__name__ == "MaelstromLocalBackend"
    cluster = plan.cluster(tmp_path)
    assert cluster.config["bin_args"] == ["broadcast"]
    assert cluster.config["after_init"] == [{"type": "topology", "topology": {"n1": ["n2"], "n2": ["n1"]}}]
    assert (
        "after_init"
        not in build_plan(spec.with_(workload="g-set", workload_options={})).cluster(tmp_path).config
    )
    own = {**spec.config, "after_init": [{"type": "hello"}]}  # the run's own config wins over the workload's
    assert build_plan(spec.with_(config=own)).cluster(tmp_path).config["after_init"] == [{"type": "hello"}]
    with pytest.raises(SpecError, match="after_init"):
        build_plan(spec.with_(config={**spec.config, "after_init": "topology"}))
    backend = plan.make_backend(tmp_path)
    assert backend.setup_messages == cluster.config["after_init"]
    cmd = backend._command(backend.nodes["n1"])
    assert cmd[cmd.index("--after-init") + 1] == '{"type":"topology","topology":{"n1":["n2"],"n2":["n1"]}}'
    assert cmd[-2:] == [str(NODES / "pynode.py"), "broadcast"]


def test_program_validation(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="--bin PATH"):
        program({})
    with pytest.raises(SpecError, match="no such file"):
        program({"bin": str(tmp_path / "nope")})
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    with pytest.raises(SpecError, match="not executable"):
        program({"bin": str(plain)})
    assert program({"bin": str(NODES / "pynode.py"), "bin_args": ["echo"]}) == (
        str(NODES / "pynode.py"),
        ("echo",),
    )


def test_sim_backend_and_clock_faults_are_refused_with_the_reason() -> None:
    spec = RunSpec(system="maelstrom", workload="echo", config={"bin": str(NODES / "pynode.py")})
    with pytest.raises(CapabilityError, match="deterministic"):
        build_plan(spec.with_(backend="sim"))
    for backend in ("local", "docker"):
        with pytest.raises(CapabilityError, match="operating system's clock"):
            build_plan(spec.with_(backend=backend, nemesis=("clock", "kill")))
    plan = build_plan(spec.with_(nemesis=("partition", "kill", "pause", "packet")))
    assert set(plan.capabilities) == {"net", "kill", "pause", "packet"}
    assert "use --backend local" in SIM_REASON


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bin", "/no/such/program"], "no such file"),
        (["--bin", __file__], "not executable"),
        ([], "needs the program to test"),
    ],
)
def test_cli_refuses_a_bad_program_with_254_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    store = tmp_path / "store"
    code = run_cli(
        ["run", "--system", "maelstrom", "--workload", "echo", "--store", str(store), "--quiet", *args]
    )
    assert code == 254
    assert message in capsys.readouterr().err
    assert not list(store.glob("maelstrom/*"))  # no run dir was left behind


def test_cli_refuses_sim_and_clock_with_254(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = [
        "run",
        "--system",
        "maelstrom",
        "--workload",
        "echo",
        "--bin",
        str(NODES / "pynode.py"),
        "--store",
        str(tmp_path),
        "--quiet",
    ]
    assert run_cli([*base, "--backend", "sim"]) == 254
    assert "deterministic" in capsys.readouterr().err
    assert run_cli([*base, "--nemesis", "clock"]) == 254
    assert "clock" in capsys.readouterr().err


def test_kafka_checker_finds_lost_duplicated_reordered_and_regressions() -> None:
    from checkers.kafka import check

    sends = [
        _op(0, 0, "invoke", 0, "send", ["k", 1]),
        _op(1, 1, "ok", 0, "send", ["k", 1, 0]),
        _op(2, 2, "invoke", 0, "send", ["k", 2]),
        _op(3, 3, "ok", 0, "send", ["k", 2, 1]),
    ]
    good_poll = [
        _op(4, 4, "invoke", 1, "final-poll", {"k": 0}),
        _op(5, 5, "ok", 1, "final-poll", {"k": [[0, 1], [1, 2]]}),
    ]
    assert check(sends + good_poll).valid is True
    lost = [good_poll[0], _op(5, 5, "ok", 1, "final-poll", {"k": [[0, 1]]})]
    assert check(sends + lost).details["counts"]["lost"] == 1
    swapped = [good_poll[0], _op(5, 5, "ok", 1, "final-poll", {"k": [[1, 2], [0, 1]]})]
    assert check(sends + swapped).details["counts"]["reordered"] == 1
    clash = [good_poll[0], _op(5, 5, "ok", 1, "final-poll", {"k": [[0, 1], [1, 3]]})]
    res = check(sends + clash)
    assert res.valid is False and res.details["counts"]["inconsistent-offsets"] == 1
    twice = [good_poll[0], _op(5, 5, "ok", 1, "final-poll", {"k": [[0, 1], [1, 2], [2, 1]]})]
    assert check(sends + twice).details["counts"]["duplicated"] == 1
    lists = [
        _op(6, 6, "invoke", 2, "list_committed_offsets", ["k"]),
        _op(7, 7, "ok", 2, "list_committed_offsets", {"k": 1}),
        _op(8, 8, "invoke", 2, "list_committed_offsets", ["k"]),
        _op(9, 9, "ok", 2, "list_committed_offsets", {"k": 0}),
    ]
    assert check(sends + good_poll + lists).details["counts"]["committed-regression"] == 1


def test_campaign_file_puts_an_external_program_beside_paxos_on_the_same_workload() -> None:
    from harness.apps.campaign.loader import load_campaign

    repo = Path(__file__).resolve().parents[2]
    camp = load_campaign(repo / "campaigns" / "maelstrom.toml")
    by_system: dict[str, set[tuple[str, str]]] = {}
    for cell in camp.cells:
        by_system.setdefault(cell.spec.system, set()).add((cell.spec.workload, cell.fault))
    assert {
        "paxos",
        "replication:failover",
        "maelstrom:pynode-lin-kv",
        "maelstrom:pynode-local-reads",
    } <= set(by_system)
    assert by_system["paxos"] == by_system["maelstrom:pynode-lin-kv"]  # same workload and faults
    for cell in camp.cells:
        if cell.spec.system.startswith("maelstrom:"):
            assert (repo / cell.spec.config["bin"]).is_file()
            assert cell.expect.value == ("invalid" if "local-reads" in cell.spec.system else "valid")


def test_comparison_report_charts_every_implementation_and_escapes_labels() -> None:
    from reports.campaign_charts import campaign_charts
    from reports.campaign_report import render_campaign_report

    rows = [
        {
            "variant": "paxos",
            "backend": "local",
            "latency_p50_ms": 3.0,
            "availability_faults": 0.6,
            "throughput": 38.0,
            "first_violation_s_median": None,
        },
        {
            "variant": "maelstrom:<b>x</b>",
            "backend": "local",
            "latency_p50_ms": 1.5,
            "availability_faults": 0.9,
            "throughput": 40.0,
            "first_violation_s_median": 2.5,
        },
    ]
    common = {
        "planted_bug": False,
        "done": 3,
        "cells": 3,
        "detection_rate": 0.0,
        "invalid": 0,
        "first_violation_s_min": None,
        "latency_p99_ms": 9.0,
        "availability_quiet": 1.0,
        "wall_seconds": 60.0,
    }
    rows = [{**common, **r} for r in rows]
    html = campaign_charts({"implementations": rows})
    assert html.count("<figure") == 3 and html.count("<circle") == 2
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "2.5 s" in html  # the caught one's time to first violation
    assert campaign_charts({"implementations": []}) == ""
    page = render_campaign_report(
        {
            "name": "c",
            "implementations": rows,
            "groups": [],
            "zoo": [],
            "min_detection": 1.0,
            "totals": {
                "cells": 0,
                "valid": 0,
                "invalid": 0,
                "unknown": 0,
                "crashed": 0,
                "pending": 0,
                "interrupted": 0,
            },
        }
    )
    assert 'id="charts"' in page and "<svg" in page


def test_bin_is_refused_for_our_own_systems(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert (
        run_cli(["run", "--system", "paxos", "--bin", str(NODES / "pynode.py"), "--store", str(tmp_path)])
        == 254
    )
    assert "only for --system maelstrom" in capsys.readouterr().err


def test_docker_backend_mounts_the_program_and_adds_debian_packages(tmp_path: Path) -> None:
    from harness.backends.base import ClusterSpec
    from harness.backends.docker import cluster
    from harness.backends.maelstrom.docker import MaelstromDockerBackend

    spec = ClusterSpec(
        "maelstrom",
        ("n1", "n2"),
        tmp_path,
        1,
        {"bin": str(NODES / "pynode.py"), "bin_args": ["echo"], "packages": ["ruby"]},
    )
    spec = replace(spec, config={**spec.config, "after_init": [{"type": "topology", "topology": {}}]})
    backend = MaelstromDockerBackend(spec, client=object())
    assert "ruby" in backend.recipe.packages and "python3" in backend.recipe.packages
    assert backend.spec.nodes == ("n1", "n2", "services") and backend.cluster_nodes == ("n1", "n2")
    (bind,) = backend._extra_binds().items()
    assert bind == (str(NODES / "pynode.py"), {"bind": "/opt/splitbrain-program/pynode.py", "mode": "ro"})
    plans = [
        cluster.NodePlan(n, f"10.0.0.{i}", f"c-{n}", f"v-{n}") for i, n in enumerate(backend.spec.nodes, 10)
    ]
    cmd = backend._node_command(plans[0], plans)
    assert cmd[-3:] == ["--", "/opt/splitbrain-program/pynode.py", "echo"]
    assert "lin-kv=10.0.0.12:7001" in cmd[cmd.index("--peers") + 1] and "--after-init" in cmd
    assert backend._node_command(plans[2], plans)[-1] == "--services"
    with pytest.raises(SpecError, match="Debian package"):
        MaelstromDockerBackend(
            ClusterSpec(
                "maelstrom", ("n1",), tmp_path, 1, {"bin": str(NODES / "pynode.py"), "packages": "ruby"}
            ),
            client=object(),
        )


def test_maelstrom_checkers_are_registered_for_the_check_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from checkers.history import write_jsonl

    h = _unconverged()
    lagging = tmp_path / "lagging.jsonl"
    write_jsonl(lagging, h)
    converged = tmp_path / "converged.jsonl"
    write_jsonl(converged, [*h[:7], _op(7, 7, "ok", 1, "final-read", [1, 2], "n2")])
    assert (
        run_cli(["check", "--checker", "convergence", str(lagging)]) == 1
    )  # broadcast ops found by themselves
    assert run_cli(["check", "--checker", "convergence", str(converged)]) == 0
    echoes = tmp_path / "echo.jsonl"
    write_jsonl(echoes, [_op(0, 0, "invoke", 0, "echo", "a"), _op(1, 1, "ok", 0, "echo", "b")])
    assert run_cli(["check", "--checker", "echo", str(echoes)]) == 1
    capsys.readouterr()


def _shim_options(tmp_path: Path, **overrides: Any) -> ShimOptions:
    """Options of a one-node shim on ephemeral loopback ports running ``/bin/true`` (``overrides`` win)."""
    base: dict[str, Any] = {"node": "n1", "nodes": ("n1",), "listen": ("127.0.0.1", 0), "peers": {},
                            "control": ("127.0.0.1", 0), "data_dir": tmp_path, "command": ("/bin/true",)}
    return ShimOptions(**{**base, **overrides})


def test_shim_refuses_client_requests_before_the_program_answered_init(tmp_path: Path) -> None:
    """Otherwise a request dialled early (docker clients do) reaches the program before ``init``."""
    import json

    from systems_under_test.maelstrom.runtime.shim import Shim, _Client

    class Writer:
        def __init__(self) -> None:
            self.lines: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.lines.append(data)

    shim = Shim(_shim_options(tmp_path))
    writer = Writer()
    shim._client_line(_Client("c1", writer), b'{"type": "add", "element": 1, "req_id": 5}\n')  # type: ignore[arg-type]
    (reply,) = [json.loads(line) for line in writer.lines]
    assert reply["req_id"] == 5 and reply["code"] == 11 and reply["definite"] is True
    assert shim.pending == {} and shim.counters.client_requests == 0


def test_shim_keeps_the_drop_to_list_of_a_partition_that_drops_nothing_itself(tmp_path: Path) -> None:
    """A one-way grudge on docker: n1 drops nothing but must not send to n2 and the services."""
    from systems_under_test.maelstrom.runtime.shim import Shim
    from systems_under_test.maelstrom.services import SERVICE_NAMES

    peers = {"n2": ("127.0.0.1", 1), "n3": ("127.0.0.1", 2)}
    shim = Shim(_shim_options(tmp_path, nodes=("n1", "n2", "n3"), peers=peers))
    one_way = {"type": "partition", "drop_from": [], "drop_to": ["n2", "services"]}
    assert shim.control_request(one_way)["type"] == "partition_ok"
    assert shim.drop_to == {"n2", "services", *SERVICE_NAMES} and not shim.faults.drop_from
    bad = {"type": "partition", "drop_from": ["n9"], "drop_to": []}
    assert shim.control_request(bad)["type"] == "error"
    assert shim.drop_to == {"n2", "services", *SERVICE_NAMES}, "a refused request changes nothing"
    assert shim.control_request({"type": "partition", "drop_from": ["n3"]})["type"] == "partition_ok"
    assert shim.drop_to == frozenset() and shim.faults.drop_from == {"n3"}
    shim.control_request(one_way)
    assert shim.control_request({"type": "heal"})["type"] == "heal_ok"
    assert shim.drop_to == frozenset() and not shim.faults.drop_from


FIVE = ["n1", "n2", "n3", "n4", "n5"]


def test_partition_cuts_the_minority_half_off_from_the_services_both_ways() -> None:
    minority, majority = ["n1", "n2"], ["n3", "n4", "n5"]
    grudge = {**{n: majority for n in minority}, **{n: minority for n in majority}}
    out = grudge_with_services(grudge, FIVE)
    for n in minority:
        assert out[n] == sorted([*majority, SERVICES])
    for n in majority:
        assert out[n] == minority  # the majority keeps the services
    assert out[SERVICES] == minority
    assert grudge["n1"] == majority  # the input is not changed


def test_isolated_node_loses_the_services_the_rest_keep_them() -> None:
    others = ["n2", "n3"]
    out = grudge_with_services({"n1": others, "n2": ["n1"], "n3": ["n1"]}, ["n1", "n2", "n3"])
    assert out == {"n1": ["n2", "n3", SERVICES], "n2": ["n1"], "n3": ["n1"], SERVICES: ["n1"]}


def test_even_cluster_split_in_halves_leaves_nobody_the_services() -> None:
    four = ["n1", "n2", "n3", "n4"]
    a, b = ["n1", "n2"], ["n3", "n4"]
    out = grudge_with_services({**{n: b for n in a}, **{n: a for n in b}}, four)
    assert out[SERVICES] == four  # two of four is not a majority on either side
    assert all(SERVICES in out[n] for n in four)


def test_bridge_and_ring_follow_the_per_node_rule() -> None:
    # bridge: n3 hears everyone; n1, n2 hear each other and n3 (3 of 5: a majority); same for n4, n5
    bridge = {"n1": ["n4", "n5"], "n2": ["n4", "n5"], "n4": ["n1", "n2"], "n5": ["n1", "n2"]}
    assert grudge_with_services(bridge, FIVE) == {k: sorted(v) for k, v in bridge.items()}
    # ring of five: each node hears itself and its two neighbours, a majority, so nobody is cut off
    ring = {n: [FIVE[(i + 2) % 5], FIVE[(i + 3) % 5]] for i, n in enumerate(FIVE)}
    assert SERVICES not in grudge_with_services(ring, FIVE)
    # a one-way grudge: only the node that hears too few is cut off
    one_way = {"n1": ["n2", "n3", "n4"]}
    assert grudge_with_services(one_way, FIVE) == {"n1": ["n2", "n3", "n4", SERVICES], SERVICES: ["n1"]}


def test_empty_grudge_touches_no_service() -> None:
    assert grudge_with_services({}, FIVE) == {}
    assert grudge_with_services({"n1": []}, FIVE) == {"n1": []}


def test_local_backend_gives_the_services_host_ports_no_node_has(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The services host's ports are drawn after the nodes' (whose sockets are closed again by then): a
    draw that repeats a node's port is skipped, else the services host could not listen."""
    from harness.backends import local
    from harness.backends.base import ClusterSpec
    from harness.backends.maelstrom.local import MaelstromLocalBackend

    base = local.free_ports(8)
    draws = [*base[:6], *base[:6], *base[6:]]  # the services draw repeats the nodes' ports first
    it = iter(draws)

    class Draws:
        def randrange(self, _lo: int, _hi: int) -> int:
            return next(it)

    monkeypatch.setattr(local.random, "SystemRandom", Draws)
    backend = MaelstromLocalBackend(ClusterSpec("maelstrom", ("n1", "n2", "n3"), tmp_path, 1,
                                                {"bin": str(NODES / "pynode.py"), "bin_args": ["echo"]}))
    ports = [p for n in backend.nodes.values() for p in (n.port, n.control_port)]
    assert len(ports) == 8 and len(set(ports)) == 8
    svc = backend.nodes[SERVICES]
    assert {svc.port, svc.control_port} == set(base[6:])


def test_a_life_has_its_own_stats_file_from_the_start(tmp_path: Path) -> None:
    """The file a previous life left (docker keeps it in the node's volume) is replaced before ``init``, so
    a life killed before its first refresh is never counted with the previous life's counters."""
    import asyncio
    import json

    from systems_under_test.maelstrom.runtime.__main__ import run
    from systems_under_test.maelstrom.runtime.shim import EXIT_NO_INIT

    stats_file = tmp_path / "stats.json"
    stats_file.write_text(json.dumps({"node": "n1", "client_requests": 99}))
    # the program never answers init
    opts = _shim_options(tmp_path, command=("sleep", "30"), stats=stats_file, init_timeout=1.0)

    async def scenario() -> tuple[dict[str, int], int]:
        shim = asyncio.create_task(run(opts))
        await asyncio.sleep(0.3)  # still waiting for init
        during = json.loads(stats_file.read_text())
        return during, await shim

    during, code = asyncio.run(scenario())
    assert during["node"] == "n1" and during["client_requests"] == 0
    assert code == EXIT_NO_INIT
