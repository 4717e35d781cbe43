"""Every fault kind against real node processes (local backend), observed on client traffic, then healed.

Real processes, so waits are real: each check is bounded and the whole module stays well under 30 s.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fault_drills import NODES, drill_every_fault

from harness.backends.base import ClusterSpec
from harness.backends.local import LocalBackend
from harness.run.history_log import HistoryLog
from harness.run.runner import execute
from harness.run.spec import RunSpec
from nemesis.verify import residual_faults

pytestmark = pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / "systems_under_test" / "runtime" / "__main__.py").is_file(),
    reason="the node runtime (systems_under_test.runtime) is not present yet",
)

def test_each_fault_kind_on_real_processes(tmp_path: Path) -> None:
    backend = LocalBackend(ClusterSpec("paxos", NODES, tmp_path, 11))

    async def go() -> None:
        await backend.setup()
        try:
            await drill_every_fault(backend)
        finally:
            await backend.teardown()

    asyncio.run(go())


class Checked(LocalBackend):
    residual: list[str] | None = None

    async def teardown(self) -> None:
        if self.residual is None and any(n.alive for n in self.nodes.values()):
            self.residual = await residual_faults(self, self.spec.nodes)
        await super().teardown()


def test_a_short_local_run_with_overlapping_faults_ends_healed(tmp_path: Path) -> None:
    spec = RunSpec(system="paxos", workload="register", backend="local", nodes=3, concurrency=3,
                   time_limit=5.0,
                   rate=20.0, nemesis=("partition", "kill", "pause", "clock:any", "packet", "combined"),
                   nemesis_interval=0.5, seed=5, quiesce=0.5, op_timeout=0.5)
    backend = Checked(ClusterSpec(spec.system, spec.node_ids, tmp_path, 5))
    out = asyncio.run(execute(backend, spec, HistoryLog(None)))
    assert out.error is None and out.phase == "done"
    nem = [op for op in out.ops if op.process == "nemesis"]
    assert len({op.f for op in nem}) >= 6, sorted({op.f for op in nem})
    assert backend.residual == [], backend.residual


def test_membership_leave_and_join_on_real_processes(tmp_path: Path) -> None:
    from fault_drills import Journal

    from nemesis.executor import NemesisExecutor
    from nemesis.faults import FaultKind, FaultOp

    nodes = ("n1", "n2", "n3", "n4")
    backend = LocalBackend(ClusterSpec("hashring", nodes, tmp_path, 3))

    async def go() -> None:
        await backend.setup()
        try:
            ex = NemesisExecutor(
                backend, Journal(), nodes
            )  # n1 manages membership: it answers once committed
            await ex.apply(FaultOp(FaultKind.LEAVE, ["n4"]))
            assert (await backend.node_status("n1"))["core"]["members"] == ["n1", "n2", "n3"]
            await ex.heal()
            assert (await backend.node_status("n1"))["core"]["members"] == list(nodes)
            assert [(o["f"], o["value"], o["error"]) for o in ex.journal.ops] == [  # type: ignore[attr-defined]
                ("leave", ["n4"], None),
                ("join", ["n4"], None),
            ]
        finally:
            await backend.teardown()

    asyncio.run(go())
