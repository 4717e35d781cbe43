"""Faults aimed at announced protocol events strike at that very moment in the simulator."""

from __future__ import annotations

from harness.run.simrun import run_spec
from harness.run.spec import RunSpec


def _run(schedule: tuple[dict[str, object], ...], seed: int = 4) -> object:
    spec = RunSpec(system="twopc", backend="sim", nodes=3, concurrency=4, time_limit=4.0, rate=40.0,
                   nemesis=(), seed=seed, quiesce=1.0, schedule=schedule)
    return run_spec(spec)


def test_a_kill_aimed_at_decided_crashes_the_deciding_node_before_its_next_effect() -> None:
    run = _run(({"at": 1.0, "f": "kill", "value": {"targets": "event"}, "on": "decided", "window": 1.0},
                {"at": 2.5, "f": "start", "value": None}))
    kills = [op for op in run.outcome.ops if op.process == "nemesis" and op.f == "kill"]
    assert len(kills) == 1 and kills[0].error is None and len(kills[0].value) == 1
    victim = kills[0].value[0]
    lines = run.backend.nodes[victim].log_lines
    crash = next(i for i, line in enumerate(lines) if line.endswith(" crash"))
    assert "event decided" in lines[crash - 1], lines[crash - 3:crash + 1]
    at = float(lines[crash].split()[0])
    assert 1.0 <= at < 2.0
    assert run.backend.event_trace, "the system announced events"


def test_an_aimed_fault_with_no_such_event_strikes_when_its_window_ends() -> None:
    run = _run(({"at": 1.0, "f": "pause", "value": ["n2"], "on": "handoff-started", "window": 0.5},
                {"at": 2.0, "f": "resume", "value": None}))
    pauses = [op for op in run.outcome.ops if op.process == "nemesis" and op.f == "pause"]
    assert len(pauses) == 1 and pauses[0].value == ["n2"]
    assert abs(pauses[0].time / 1e9 - 1.5) < 0.01


def test_aimed_runs_are_deterministic_per_seed() -> None:
    sched = ({"at": 0.5, "f": "start-partition", "value": {"grudge": "event"}, "on": "prepared",
              "window": 1.0},
             {"at": 2.0, "f": "stop-partition", "value": None})
    a, b = _run(sched, 9), _run(sched, 9)
    assert a.outcome.ops == b.outcome.ops


def _struck_at(run: object) -> str:
    """The event announced right before the aimed kill crashed its node."""
    kills = [op for op in run.outcome.ops if op.process == "nemesis" and op.f == "kill"]  # type: ignore[attr-defined]
    assert len(kills) == 1 and kills[0].error is None and len(kills[0].value) == 1
    lines = run.backend.nodes[kills[0].value[0]].log_lines  # type: ignore[attr-defined]
    crash = next(i for i, line in enumerate(lines) if line.endswith(" crash"))
    assert " event " in lines[crash - 1], lines[crash - 3:crash + 1]
    return lines[crash - 1].split(" event ", 1)[1].split()[0]


def test_a_fault_aimed_at_announced_strikes_at_each_kind_the_run_announced() -> None:
    """``announced`` draws among the kinds seen so far (twopc: prepared, decided), not among every name a
    system could announce, and not by frequency."""
    sched = ({"at": 1.0, "f": "kill", "value": {"targets": "event"}, "on": "announced", "window": 1.0},
             {"at": 2.5, "f": "start", "value": None})
    kinds = {_struck_at(_run(sched, seed)) for seed in range(1, 9)}
    assert kinds == {"prepared", "decided"}


def test_announced_with_nothing_announced_yet_waits_for_any_event() -> None:
    run = _run(({"at": 0.0, "f": "kill", "value": {"targets": "event"}, "on": "announced", "window": 1.0},
                {"at": 2.5, "f": "start", "value": None}))
    assert _struck_at(run) in ("prepared", "decided")


def _sent_as_it_crashed(monkeypatch: object, after: int, seed: int) -> int:
    """Run a kill aimed at ``decided`` with ``after``; how many messages the victim sent in that step."""
    from harness.backends.sim.network import SimNetwork
    from harness.backends.sim.node import SimNode

    sends: list[tuple[float, str]] = []
    crashes: list[tuple[float, str]] = []
    real_send, real_crash = SimNetwork.send_text, SimNode.crash

    def send_text(net: SimNetwork, src: str, dst: str, text: str) -> None:
        sends.append((net.loop.time(), src))
        real_send(net, src, dst, text)

    def crash(node: SimNode) -> None:
        crashes.append((node.loop.time(), node.node_id))
        real_crash(node)

    monkeypatch.setattr(SimNetwork, "send_text", send_text)  # type: ignore[attr-defined]
    monkeypatch.setattr(SimNode, "crash", crash)  # type: ignore[attr-defined]
    entry = {"at": 1.0, "f": "kill", "value": {"targets": "event"}, "on": "decided", "window": 1.0}
    _run(({**entry, "after": after} if after else entry, {"at": 2.5, "f": "start", "value": None}), seed)
    (at, victim), *_ = crashes
    return sum(1 for t, src in sends if t == at and src == victim)


SPREAD_SEED = 1  # the first decided transaction spans several nodes


def test_a_kill_aimed_after_messages_crashes_the_node_part_way_through_what_it_sends(
        monkeypatch: object) -> None:
    """With no ``after`` the deciding coordinator crashes before it sends anything more; with ``after: n``
    it sends exactly n more messages (decisions, the client's answer) and crashes before the rest, up to
    all of them (``after`` past the end of the step: it crashes once the step is done)."""
    sent = [_sent_as_it_crashed(monkeypatch, after, SPREAD_SEED) for after in (0, 1, 2, 3, 4, 5, 6, 1000)]
    assert sent[0] == 0 and sent[-1] >= 2, sent
    assert sent == [min(n, sent[-1]) for n in (0, 1, 2, 3, 4, 5, 6, 1000)], sent


def test_after_counts_messages_and_strikes_at_the_end_of_a_shorter_step() -> None:
    from types import SimpleNamespace

    from harness.backends.sim.node import NodeState, SimNode
    from systems_under_test.core import Log, Send

    class Probe(SimNode):
        def __init__(self) -> None:  # only what _run needs for Log/Send effects and a deferred strike
            self._defer = None
            self.on_event = None
            self.net = SimpleNamespace(  # type: ignore[assignment]
                send=None, send_text=lambda src, dst, text: self.seen.append(f"to {dst}"))
            self.node_id = "n1"
            self.incarnation = 1
            self.state = NodeState.RUNNING
            self.seen: list[str] = []

        def log(self, text: str) -> None:
            self.seen.append(text)

    node = Probe()
    node.after_messages(1, lambda: node.seen.append("STRIKE"))
    x = {"type": "x"}
    node._run([Log("a"), Send("n1", x), Send("n2", x), Log("b"), Send("n3", x), Log("c")])
    # a send to itself leaves nothing behind for anyone else: only the one to n2 counts
    assert node.seen == ["a", "to n1", "to n2", "STRIKE", "b", "to n3", "c"]
    node.seen.clear()
    node.after_messages(5, lambda: node.seen.append("STRIKE"))
    node._run([Send("n2", {"type": "x"}), Log("d")])
    assert node.seen == ["to n2", "d", "STRIKE"] and node._defer is None
