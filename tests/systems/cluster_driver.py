"""A pure, deterministic cluster driver for sans-IO cores, used by the protocol tests.

Everything happens in one process on a virtual clock: an event heap orders message deliveries, timer
firings, client requests/answers and faults; every random choice (latency, loss, duplication, client ops,
which node a client talks to) comes from one ``random.Random(seed)``, and every core gets its own rng
seeded from ``(seed, node, boot)``. Same seed, same history.

It honours the core contract the way the real hosts do: effects are carried out in order, messages and
records are round-tripped through JSON, ``Persist`` is durable at once, a crash discards the core, its
timers and its unanswered client requests (only the persisted records survive), and a restart calls
``on_start`` with those records. Partitions use grudge semantics (``{node: nodes it drops traffic
FROM}``) and, like the runtime's cooperative faults, only affect peer traffic, never client links.

Clients run a register workload (read / write / cas on a few keys, unique write values) and record a
Jepsen-shaped history (``checkers.history.Op``); ``check_register`` judges it.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from checkers.history import FAIL, INFO, INVOKE, OK, Op
from systems_under_test.core import CancelTimer, Core, Event, Log, Persist, Reply, Send, SetTimer, event_line

CoreMaker = Callable[[str, Sequence[str], random.Random, Mapping[str, Any]], Core]
INF = float("inf")


@dataclass(slots=True)
class _Client:
    process: int
    outstanding: str | None = None  # req_id in flight
    op: Op | None = None
    node: str = ""
    spec: dict[str, Any] | None = None  # workload settings of a looping client; None for one-shot requests


@dataclass(slots=True)
class Stats:
    """Counters of what the driver did (for assertions on the fault actually biting)."""

    sent: int = 0
    delivered: int = 0
    dropped: int = 0
    crashes: int = 0
    restarts: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Cluster:
    """N nodes of one core type on a simulated network with a virtual clock."""

    def __init__(
        self,
        make_core: CoreMaker,
        n: int = 3,
        seed: int = 0,
        *,
        config: Mapping[str, Any] | None = None,
        latency: tuple[float, float] = (0.001, 0.010),
        loss: float = 0.0,
        dup: float = 0.0,
    ) -> None:
        self.make_core = make_core
        self.ids = [f"n{i}" for i in range(1, n + 1)]
        self.seed = seed
        self.rng = random.Random(seed)
        self.config = dict(config or {})
        self.latency, self.loss, self.dup = latency, loss, dup
        self.now = 0.0
        self.cores: dict[str, Core | None] = {i: None for i in self.ids}
        self.durable: dict[str, list[dict[str, Any]]] = {i: [] for i in self.ids}
        self.boots: dict[str, int] = {i: 0 for i in self.ids}
        self.timers: dict[str, dict[str, int]] = {i: {} for i in self.ids}
        self.offset: dict[str, float] = {i: 0.0 for i in self.ids}
        self.grudge: dict[str, set[str]] = {i: set() for i in self.ids}
        self.logs: dict[str, list[str]] = {i: [] for i in self.ids}
        self.stats = Stats()
        self.history: list[Op] = []
        self._heap: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._seq = 0
        self._req_owner: dict[str, _Client] = {}  # req_id -> client waiting for it
        self._clients: list[_Client] = []
        self._next_process = 0
        self._req_counter = 0
        for i in self.ids:
            self.start(i)

    # ----------------------------------------------------------------- nodes and faults

    def core(self, node: str) -> Core:
        """The live core of ``node`` (raises if it is down)."""
        c = self.cores[node]
        if c is None:
            raise LookupError(f"{node} is down")
        return c

    def start(self, node: str) -> None:
        """(Re)start ``node``: a fresh core fed with its persisted records."""
        assert self.cores[node] is None
        self.boots[node] += 1
        rng = random.Random(f"{self.seed}-{node}-{self.boots[node]}")
        peers = [p for p in self.ids if p != node]
        core = self.make_core(node, peers, rng, self.config)
        self.cores[node] = core
        records = json.loads(json.dumps(self.durable[node]))
        self._effects(node, core.on_start(self._node_now(node), records))

    def crash(self, node: str) -> None:
        """Kill ``node``: drop the core, its timers and everything volatile; keep its records."""
        if self.cores[node] is None:
            return
        self.cores[node] = None
        self.timers[node] = {}
        self.stats.crashes += 1

    def restart(self, node: str) -> None:
        """Start ``node`` again if it is down."""
        if self.cores[node] is None:
            self.stats.restarts += 1
            self.start(node)

    def partition(self, grudge: Mapping[str, Sequence[str]]) -> None:
        """Replace the grudges: ``node`` drops every peer message received from ``grudge[node]``."""
        self.grudge = {i: set(grudge.get(i, ())) for i in self.ids}

    def isolate(self, nodes: Sequence[str]) -> None:
        """Cut ``nodes`` off from the rest in both directions (a two-sided partition)."""
        side = set(nodes)
        self.partition({i: [j for j in self.ids if (j in side) != (i in side)] for i in self.ids})

    def heal(self) -> None:
        """Remove every partition."""
        self.partition({})

    def set_clock(self, node: str, offset: float) -> None:
        """Shift ``node``'s clock by ``offset`` seconds (its ``now`` and its timers)."""
        self.offset[node] = offset

    def at(self, t: float, action: Callable[[], None]) -> None:
        """Schedule ``action`` (a fault, a check) at virtual time ``t``."""
        self._push(t, "call", (action,))

    def leader(self) -> str | None:
        """The node that reports itself leader with the highest ballot, if any (via ``status()``)."""
        best: tuple[Any, str] | None = None
        for i in self.ids:
            c = self.cores[i]
            if c is not None and c.status().get("role") == "leader":
                key = (c.status().get("ballot"), i)
                if best is None or key > best:
                    best = key
        return None if best is None else best[1]

    # ----------------------------------------------------------------- clients

    def add_clients(self, count: int, keys: Sequence[str], *, until: float, timeout: float = 1.0,
                    think: tuple[float, float] = (0.0, 0.05), nodes: Sequence[str] | None = None,
                    mix: tuple[float, float] = (0.4, 0.3)) -> None:
        """Start ``count`` clients doing read/write/cas on ``keys`` until virtual time ``until``.

        ``mix`` is (P(read), P(write)); the rest are cas. Write and cas-new values are unique.
        """
        targets = list(nodes or self.ids)
        spec = {"keys": list(keys), "until": until, "timeout": timeout, "think": think, "targets": targets,
                "mix": mix}
        for _ in range(count):
            client = _Client(self._new_process(), spec=spec)
            self._clients.append(client)
            self._push(self.now + self.rng.uniform(*think), "client", (client, spec))

    def request(self, node: str, req: dict[str, Any], *, timeout: float = 2.0, f: str | None = None,
                value: Any = None) -> int:
        """Send one client request now (recorded as op ``f`` with ``value``); returns its process id."""
        client = _Client(self._new_process())
        self._invoke(client, node, req, f or str(req["type"]), value, timeout)
        return client.process

    def completion(self, process: int) -> Op | None:
        """The last completion recorded for ``process`` (None while it is outstanding)."""
        for op in reversed(self.history):
            if op.process == process:
                return None if op.type == INVOKE else op
        return None

    def _new_process(self) -> int:
        self._next_process += 1
        return self._next_process - 1

    def _client_step(self, client: _Client, spec: dict[str, Any]) -> None:
        if self.now >= spec["until"] or client.outstanding is not None:
            return
        key = self.rng.choice(spec["keys"])
        node = self.rng.choice(spec["targets"])
        r = self.rng.random()
        p_read, p_write = spec["mix"]
        if r < p_read:
            req, f, value = {"type": "read", "key": key}, "read", [key, None]
        elif r < p_read + p_write:
            v = self._fresh_value()
            req, f, value = {"type": "write", "key": key, "value": v}, "write", [key, v]
        else:
            old = self.rng.choice([None, *range(max(1, self._req_counter - 6), self._req_counter + 1)])
            v = self._fresh_value()
            req, f, value = {"type": "cas", "key": key, "from": old, "to": v}, "cas", [key, [old, v]]
        self._invoke(client, node, req, f, value, spec["timeout"])

    def _fresh_value(self) -> int:
        self._req_counter += 1
        return self._req_counter

    def _invoke(self, client: _Client, node: str, req: dict[str, Any], f: str, value: Any,
                timeout: float) -> None:
        rid = f"r{len(self._req_owner)}"
        client.outstanding, client.node = rid, node
        client.op = self._record(INVOKE, client.process, f, value, node)
        self._req_owner[rid] = client
        self._push(self.now + self._lat(), "request", (node, {**req, "req_id": rid}))
        self._push(self.now + timeout, "client_timeout", (client, rid))

    def _answer(self, rid: str, body: dict[str, Any]) -> None:
        client = self._req_owner.get(rid)
        if client is None or client.outstanding != rid or client.op is None:
            return
        inv = client.op
        key = inv.value[0]
        if body.get("type") == "error":
            kind = FAIL if body.get("definite") else INFO
            self._record(kind, client.process, inv.f, inv.value, client.node, error=body.get("code"))
        elif inv.f == "read":
            self._record(OK, client.process, inv.f, [key, body.get("value")], client.node)
        else:
            self._record(OK, client.process, inv.f, inv.value, client.node)
        self._finish(client, info=body.get("type") == "error" and not body.get("definite"))

    def _finish(self, client: _Client, *, info: bool) -> None:
        client.outstanding, client.op = None, None
        if info and client.spec is not None:
            client.process = self._new_process()  # Jepsen: a process with an unknown op is retired
        if client.spec is not None:
            self._push(self.now + self.rng.uniform(*client.spec["think"]), "client", (client, client.spec))

    def _record(self, kind: str, process: int, f: str, value: Any, node: str, error: Any = None) -> Op:
        op = Op(len(self.history), int(self.now * 1e9), kind, process, f, value, node, error)
        self.history.append(op)
        return op

    # ----------------------------------------------------------------- the event loop

    def run_until(self, t: float) -> None:
        """Process every event up to virtual time ``t``; the clock ends at ``t``."""
        while self._heap and self._heap[0][0] <= t:
            when, _, kind, args = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            getattr(self, "_ev_" + kind)(*args)
        self.now = max(self.now, t)

    def _push(self, when: float, kind: str, args: tuple[Any, ...]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, kind, args))

    def _lat(self) -> float:
        return self.rng.uniform(*self.latency)

    def _node_now(self, node: str) -> float:
        return self.now + self.offset[node]

    def _ev_call(self, action: Callable[[], None]) -> None:
        action()

    def _ev_client(self, client: _Client, spec: dict[str, Any]) -> None:
        self._client_step(client, spec)

    def _ev_client_timeout(self, client: _Client, rid: str) -> None:
        if client.outstanding != rid or client.op is None:
            return
        self._record(INFO, client.process, client.op.f, client.op.value, client.node, error="timeout")
        self._finish(client, info=True)

    def _ev_request(self, node: str, req: dict[str, Any]) -> None:
        core = self.cores[node]
        if core is not None:
            self._effects(node, core.on_request(self._node_now(node), "client", req))

    def _ev_answer(self, rid: str, body: dict[str, Any]) -> None:
        self._answer(rid, body)

    def _ev_msg(self, src: str, dst: str, raw: str) -> None:
        core = self.cores[dst]
        if core is None or src in self.grudge[dst]:
            self.stats.dropped += 1
            return
        self.stats.delivered += 1
        self._effects(dst, core.on_message(self._node_now(dst), src, json.loads(raw)))

    def _ev_timer(self, node: str, name: str, token: int) -> None:
        core = self.cores[node]
        if core is None or self.timers[node].get(name) != token:
            return
        del self.timers[node][name]
        self._effects(node, core.on_timer(self._node_now(node), name))

    def _effects(self, node: str, effects: Sequence[Any]) -> None:
        for e in effects:
            if isinstance(e, Send):
                self._send(node, e.dst, e.msg)
            elif isinstance(e, Reply):
                body = json.loads(json.dumps(e.body))
                self._push(self.now + self._lat(), "answer", (e.req_id, body))
            elif isinstance(e, SetTimer):
                self._seq += 1
                self.timers[node][e.name] = self._seq
                when = max(self.now, e.at - self.offset[node])
                heapq.heappush(self._heap, (when, self._seq, "timer", (node, e.name, self._seq)))
            elif isinstance(e, CancelTimer):
                self.timers[node].pop(e.name, None)
            elif isinstance(e, Persist):
                self.durable[node].append(json.loads(json.dumps(e.record)))
            elif isinstance(e, Log):
                self.logs[node].append(f"{self.now:.3f} {e.text}")
            elif isinstance(e, Event):
                self.logs[node].append(f"{self.now:.3f} {event_line(e)}")
            else:
                raise TypeError(f"unknown effect {e!r}")

    def _send(self, src: str, dst: str, msg: dict[str, Any]) -> None:
        assert dst in self.ids and dst != src, f"{src} sent to {dst!r}"
        raw = json.dumps(msg)
        self.stats.sent += 1
        if self.rng.random() < self.loss:
            self.stats.dropped += 1
            return
        copies = 2 if self.rng.random() < self.dup else 1
        for _ in range(copies):
            self._push(self.now + self._lat(), "msg", (src, dst, raw))

    # ----------------------------------------------------------------- end of a run

    def final_reads(self, keys: Sequence[str], *, attempts: int = 5, timeout: float = 2.0) -> None:
        """Read every key through random live nodes until each read is answered (recorded as ops)."""
        for key in keys:
            for _ in range(attempts):
                live = [i for i in self.ids if self.cores[i] is not None]
                node = self.rng.choice(live)
                proc = self.request(node, {"type": "read", "key": key}, timeout=timeout, value=[key, None])
                self.run_until(self.now + timeout + 0.1)
                done = self.completion(proc)
                if done is not None and done.type == OK:
                    break


def check_register(history: Sequence[Op], *, max_configs: int = 200_000) -> bool | str:
    """Linearizability of a read/write/cas register history, per key (Wing-Gong search, memoised).

    ``ok`` ops must take effect between invocation and completion; ``info`` ops may take effect at any
    later time or never; ``fail`` ops never did; unanswered reads constrain nothing. Returns True,
    False, or ``"unknown"`` when the search exceeds ``max_configs``.
    """
    open_: dict[Any, Op] = {}
    per_key: dict[str, list[tuple[int, float, str, Any, bool]]] = {}
    for op in history:
        if op.type == INVOKE:
            open_[op.process] = op
            continue
        inv = open_.pop(op.process)
        if op.type == FAIL or (op.type == INFO and inv.f == "read"):
            continue
        key = inv.value[0]
        end = float(op.index) if op.type == OK else INF
        arg = op.value[1] if inv.f == "read" else inv.value[1]
        per_key.setdefault(key, []).append((inv.index, end, inv.f, arg, op.type == OK))
    for inv in open_.values():
        if inv.f != "read":
            per_key.setdefault(inv.value[0], []).append((inv.index, INF, inv.f, inv.value[1], False))
    verdict: bool | str = True
    for ops in per_key.values():
        v = _check_key(ops, max_configs)
        if v is False:
            return False
        if v == "unknown":
            verdict = "unknown"
    return verdict


def _check_key(ops: list[tuple[int, float, str, Any, bool]], max_configs: int) -> bool | str:
    ops = sorted(ops)
    n = len(ops)
    must = sum(1 << i for i, o in enumerate(ops) if o[4])
    seen: set[tuple[int, Any]] = set()
    stack: list[tuple[int, Any]] = [(0, None)]
    while stack:
        done, state = stack.pop()
        if done & must == must:
            return True
        if (done, state) in seen:
            continue
        seen.add((done, state))
        if len(seen) > max_configs:
            return "unknown"
        horizon = min((ops[i][1] for i in range(n) if not done >> i & 1 and ops[i][4]), default=INF)
        for i in range(n):
            if done >> i & 1:
                continue
            start, _, f, arg, _ = ops[i]
            if start > horizon:
                break
            if f == "read":
                if arg == state:
                    stack.append((done | 1 << i, state))
            elif f == "write":
                stack.append((done | 1 << i, arg))
            elif f == "cas" and state == arg[0] and state is not None:
                stack.append((done | 1 << i, arg[1]))
    return False
