"""Multi-Paxos key-value store: a sans-IO core (proposer, acceptor and learner on every node).

How it works, and why:

* **Stable leader.** A node whose election timer fires (randomised from the injected rng, so duelling
  candidates rarely collide twice) picks a ballot ``(round, node)`` above every ballot it has seen and
  runs phase 1 *once for every slot from its commit index on*: a majority of promises, each carrying
  the acceptor's accepted values, tells it which values may already have been chosen. It re-proposes
  the highest-ballot value of every such slot (a no-op for holes) and then serves new commands with
  phase 2 only. It sends heartbeats; followers re-arm their election timer whenever they hear from a
  ballot at least as high as their promise.
* **Phase 2 with a majority of distinct acceptors.** A slot is chosen when acceptors forming a majority
  accepted it in the leader's ballot; votes are tallied per acceptor, so retransmitted or duplicated
  answers cannot inflate the count. The leader re-sends phase 2 for unchosen slots on every heartbeat,
  which copes with message loss.
* **Durable acceptor.** Promises and accepted values are persisted (``acceptor.py``) and the records are
  emitted before the answer that depends on them, so a crash never makes an acceptor forget a vote.
  The chosen log is not persisted: a restarted node re-learns it from the leader (catch-up driven by
  the applied index followers report in heartbeat answers) or, if it becomes leader, in phase 1.
* **Reads go through the log.** A read is a command in a slot like any write, so it observes every
  write chosen before it. No leader leases: a lease is a promise about clocks, and this store is tested
  under clock faults; the price is one round trip to a majority per read.
* **Any node takes requests.** The receiving node tags the command with a unique id
  (``node.boot.counter``; the boot number is persisted so ids never repeat after a restart), keeps it
  pending and forwards it to the leader it knows (or holds it until it learns one). It answers the client
  when it applies that id from the chosen log -- so the answer is the one every replica computes. It
  re-forwards pending commands after a leader change and periodically; the state machine applies an id
  only once, so a command that ends up in two slots still takes effect (and answers) once. A request
  that is still unanswered at its deadline gets a *non-definite* error: it may yet be chosen.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from systems_under_test import kv
from systems_under_test.core import (
    JSON,
    NOT_SUPPORTED,
    TIMEOUT,
    CancelTimer,
    Core,
    Effect,
    Event,
    Log,
    Persist,
    Reply,
    Send,
    SetTimer,
    error_body,
)
from systems_under_test.paxos.acceptor import ZERO, Acceptor, Ballot, ballot_json, ballot_of
from systems_under_test.paxos.log import NOOP, Learner

DEFAULTS: dict[str, float] = {
    "heartbeat_interval": 0.05,  # leader heartbeat and phase-2 retransmission period (s)
    "election_timeout": 0.3,  # base election timeout; each arming draws from [t, 2t) (s)
    "retry_interval": 0.5,  # how often a node re-forwards its pending requests (s)
    "request_timeout": 10.0,  # an unanswered request gets a non-definite error after this (s)
    "catchup_batch": 1000,  # chosen entries sent to a lagging follower per heartbeat answer
}


class Role(Enum):
    """What a node is doing in the protocol right now."""

    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass(frozen=True, slots=True)
class Pending:
    """A client request this node received and has not answered yet."""

    req_id: str
    cmd: dict[str, Any]
    deadline: float


class PaxosCore(Core):
    """The correct multi-Paxos node (variant ``paxos``)."""

    def __init__(
        self,
        node_id: str,
        peer_ids: Sequence[str],
        rng: random.Random,
        config: Mapping[str, JSON] | None = None,
    ) -> None:
        super().__init__(node_id, peer_ids, rng, config)
        knob = {k: float(self.config.get(k, v)) for k, v in DEFAULTS.items()}
        self.hb_interval = knob["heartbeat_interval"]
        self.election_timeout = knob["election_timeout"]
        self.retry_interval = knob["retry_interval"]
        self.request_timeout = knob["request_timeout"]
        self.catchup_batch = int(knob["catchup_batch"])
        self.acceptor = Acceptor()
        self.learner = Learner()
        self.role = Role.FOLLOWER
        self.ballot: Ballot = ZERO  # this node's own ballot while candidate or leader
        self.leader: str | None = None
        self.leader_ballot: Ballot = ZERO
        self.max_round = 0
        self.boot = 0
        self.counter = 0
        self.pending: dict[str, Pending] = {}
        self.next_retry = 0.0
        self.p1_first = 0
        self.p1_replies: dict[str, tuple[list[Any], list[Any]]] = {}
        self.next_slot = 0
        self.proposals: dict[int, dict[str, Any]] = {}
        self.resend: dict[int, tuple[float, float]] = {}  # open slot -> (next retransmission, backoff)
        self.votes: dict[int, list[str]] = {}
        self.inflight: set[str] = set()
        self.p2a_since_tick: set[str] = set()  # followers sent a p2a since the last tick (leader only)
        self.peer_applied: dict[str, int] = {}  # applied index each follower last reported in a p2b
        self.tick_applied = 0  # this leader's applied index at its previous tick
        self.election_at = 0.0  # when to stand for leader unless a leader is heard from first
        self.election_timer: float | None = None  # when the host's "election" timer is set to fire
        self._majority = len(self.cluster) // 2 + 1  # the cluster is fixed for a core's lifetime
        # message type -> bound handler, built once (a getattr per message showed up in profiles)
        self._handlers: dict[str, Any] = {
            name[len("_on_"):]: getattr(self, name) for name in dir(self) if name.startswith("_on_")
        }

    @property
    def majority(self) -> int:
        """The size of a majority quorum (cached: the base class recomputes it from a sorted tuple)."""
        return self._majority

    # ----------------------------------------------------------------- host entry points

    def on_start(self, now: float, durable: Sequence[dict[str, JSON]]) -> list[Effect]:
        """Rebuild the acceptor from its records, bump the boot number and start as a follower."""
        self.acceptor.replay(durable)
        self.boot = 1 + sum(1 for rec in durable if "boot" in rec)
        self.max_round = self.acceptor.promised[0]
        eff: list[Effect] = [
            Persist({"boot": self.boot}),
            Log(
                f"paxos boot {self.boot}: promised {ballot_json(self.acceptor.promised)}, "
                f"{len(self.acceptor.accepted)} accepted slots"
            ),
            SetTimer("tick", now + self.hb_interval),
        ]
        return eff + self._arm_election(now)

    def on_request(self, now: float, client: str, req: dict[str, JSON]) -> list[Effect]:
        """Tag a key-value request with a unique id and send it towards the leader."""
        rid = str(req.get("req_id"))
        if not kv.is_kv_request(req):
            return [Reply(rid, error_body(NOT_SUPPORTED, f"unsupported request {req.get('type')!r}",
                                          definite=True))]
        cmd = kv.command(req)
        local = self._serve_locally(now, rid, cmd)
        if local is not None:
            return local
        self.counter += 1
        cmd["id"] = f"{self.node_id}.{self.boot}.{self.counter}"
        self.pending[cmd["id"]] = Pending(rid, cmd, now + self.request_timeout)
        return self._route(now, [cmd])

    def on_message(self, now: float, src: str, msg: dict[str, JSON]) -> list[Effect]:
        """Dispatch a peer message by type; unknown types are ignored (logged)."""
        raw = msg.get("ballot")
        if isinstance(raw, list):
            self.max_round = max(self.max_round, int(raw[0]))
        raw = msg.get("promised")
        if isinstance(raw, list):
            self.max_round = max(self.max_round, int(raw[0]))
        kind = msg.get("type")
        handler = self._handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            return [Log(f"ignoring unknown message {msg.get('type')!r} from {src}")]
        out: list[Effect] = handler(now, src, msg)
        return out

    def on_timer(self, now: float, name: str) -> list[Effect]:
        """``election``: stand for leader. ``tick``: heartbeat, retransmit, re-forward, expire."""
        if name == "election":
            self.election_timer = None
            if self.role is Role.LEADER:
                return []
            if now < self.election_at - 1e-9:  # heard from a leader since arming: not yet
                self.election_timer = self.election_at
                return [SetTimer("election", self.election_at)]
            return self._start_election(now)
        if name != "tick":
            return []
        eff: list[Effect] = [SetTimer("tick", now + self.hb_interval)]
        if self.role is Role.LEADER:
            eff += self._heartbeat(self._quiet_peers())
            self.p2a_since_tick, self.tick_applied = set(), self.learner.applied
            eff += self._retransmit(now)
        for cid, p in list(self.pending.items()):
            if now >= p.deadline:
                del self.pending[cid]
                eff.append(Reply(p.req_id,
                                 error_body(TIMEOUT, "no decision yet; it may still apply", definite=False)))
        if now >= self.next_retry:
            self.next_retry = now + self.retry_interval
            eff += self._route(now, [p.cmd for p in self.pending.values()])
        return eff

    def status(self) -> dict[str, JSON]:
        """Role, known leader and its ballot, commit index (applied prefix of the log), promise."""
        return {
            "role": self.role.value,
            "leader": self.leader,
            "ballot": ballot_json(self.leader_ballot),
            "commit_index": self.learner.applied,
            "promised": ballot_json(self.acceptor.promised),
            "pending": len(self.pending),
        }

    # ----------------------------------------------------------------- variant hooks

    def _persist(self, records: Iterable[dict[str, Any]]) -> list[Effect]:
        """Effects that make acceptor records durable (emitted before the answer that relies on them)."""
        return [Persist(r) for r in records]

    def _serve_locally(self, now: float, rid: str, cmd: dict[str, Any]) -> list[Effect] | None:
        """Answer a request without the log, or None to replicate it (every request, when correct)."""
        return None

    def _count_vote(self, slot: int, voter: str) -> int:
        """Record ``voter``'s phase-2 acceptance of ``slot``; return how many distinct acceptors voted."""
        votes = self.votes.setdefault(slot, [])
        if voter not in votes:
            votes.append(voter)
        return len(votes)

    # ----------------------------------------------------------------- roles

    def _arm_election(self, now: float) -> list[Effect]:
        """Push the election deadline to a fresh random point; touch the host's timer only if needed.

        Followers hear from the leader many times per election timeout, and re-arming the host timer
        on every message was a large share of the work. The deadline is kept here instead; a timer
        already armed for an earlier moment is left alone, and when it fires :meth:`on_timer` re-arms
        it for the deadline that is then current. The election starts at exactly the same moment.
        """
        self.election_at = now + self.election_timeout * (1.0 + self.rng.random())
        if self.election_timer is not None and self.election_timer <= self.election_at:
            return []
        self.election_timer = self.election_at
        return [SetTimer("election", self.election_at)]

    def _start_election(self, now: float) -> list[Effect]:
        self.max_round = max(self.max_round, self.acceptor.promised[0])
        self.ballot = (self.max_round + 1, self.node_id)
        self.max_round = self.ballot[0]
        vote = self.acceptor.promise(self.ballot)
        self._clear_leader_state()
        self.role = Role.CANDIDATE
        self.leader = None
        first = self.p1_first = self.learner.applied
        self.p1_replies = {self.node_id: self._p1_payload(first)}
        eff: list[Effect] = self._persist(vote.records)
        eff.append(Log(f"standing for leader with ballot {ballot_json(self.ballot)} from slot {first}"))
        eff += self._arm_election(now)
        msg = {"type": "p1a", "ballot": ballot_json(self.ballot), "first": first}
        eff += [Send(p, msg) for p in self.peer_ids]
        if len(self.p1_replies) >= self.majority:
            eff += self._become_leader(now)
        return eff

    def _p1_payload(self, first: int) -> tuple[list[Any], list[Any]]:
        return self.acceptor.accepted_from(first), self.learner.entries(first, self.learner.max_known)

    def _become_leader(self, now: float) -> list[Effect]:
        self.role = Role.LEADER
        self.leader, self.leader_ballot = self.node_id, self.ballot
        best: dict[int, tuple[Ballot, dict[str, Any]]] = {}
        for accepted, chosen in self.p1_replies.values():
            for slot, cmd in chosen:
                self.learner.learn(int(slot), dict(cmd))
            for slot, raw, cmd in accepted:
                b = ballot_of(raw)
                if int(slot) not in best or best[int(slot)][0] < b:
                    best[int(slot)] = (b, dict(cmd))
        self.p1_replies = {}
        top = max(self.learner.max_known, max(best, default=-1) + 1)
        self.next_slot = top
        self.election_timer = None
        eff: list[Effect] = [CancelTimer("election"), Log(f"leader with ballot {ballot_json(self.ballot)}"),
                             Event("elected", {"ballot": ballot_json(self.ballot)})]
        eff += self._apply()
        for slot in range(self.p1_first, top):
            if self.role is not Role.LEADER:
                break
            if not self.learner.is_chosen(slot):
                cmd = best[slot][1] if slot in best else dict(NOOP)
                if "id" in cmd:
                    self.inflight.add(str(cmd["id"]))
                eff += self._start_slot(now, slot, cmd)
        if self.role is Role.LEADER:
            eff += self._heartbeat()
            eff += self._route(now, [p.cmd for p in self.pending.values()])
        return eff

    def _clear_leader_state(self) -> None:
        self.proposals, self.votes, self.inflight, self.p1_replies = {}, {}, set(), {}
        self.resend = {}
        self.p2a_since_tick, self.peer_applied, self.tick_applied = set(), {}, 0

    def _step_down(self, now: float) -> list[Effect]:
        if self.role is Role.FOLLOWER:
            return []
        self.role = Role.FOLLOWER
        self._clear_leader_state()
        if self.leader == self.node_id:
            self.leader = None
        return [Log(f"stepping down from ballot {ballot_json(self.ballot)}"), *self._arm_election(now)]

    def _follow(self, now: float, b: Ballot) -> list[Effect]:
        """A message from the leader of ballot ``b`` (>= our promise) arrived: follow it."""
        if self.role is Role.FOLLOWER and b == self.leader_ballot and self.leader == b[1]:
            return self._arm_election(now)  # the steady state: nothing changes but the deadline
        eff: list[Effect] = []
        if self.role is not Role.FOLLOWER:
            if b == self.ballot:
                return eff
            eff += self._step_down(now)
        changed = False
        if b >= self.leader_ballot:
            changed = (self.leader, self.leader_ballot) != (b[1], b)
            self.leader, self.leader_ballot = b[1], b
        eff += self._arm_election(now)
        if changed:
            eff.append(Log(f"following {b[1]} (ballot {ballot_json(b)})"))
            eff += self._route(now, [p.cmd for p in self.pending.values()])
        return eff

    # ----------------------------------------------------------------- proposer / leader

    def _route(self, now: float, cmds: list[dict[str, Any]]) -> list[Effect]:
        """Propose ``cmds`` if leading, forward them to the known leader, or hold them (pending)."""
        if not cmds:
            return []
        if self.role is Role.LEADER:
            eff: list[Effect] = []
            for cmd in cmds:
                eff += self._propose(now, cmd)
            return eff
        if self.leader is not None and self.leader != self.node_id:
            return [Send(self.leader, {"type": "fwd", "cmds": [dict(c) for c in cmds]})]
        return []

    def _propose(self, now: float, cmd: dict[str, Any]) -> list[Effect]:
        cid = str(cmd.get("id"))
        if cid in self.inflight or cid in self.learner.results or self.role is not Role.LEADER:
            return []
        self.inflight.add(cid)
        slot = self.next_slot
        self.next_slot += 1
        return self._start_slot(now, slot, cmd)

    def _start_slot(self, now: float, slot: int, cmd: dict[str, Any]) -> list[Effect]:
        self.proposals[slot] = cmd
        self.resend[slot] = (now + self.hb_interval, self.hb_interval)
        self.votes[slot] = []
        eff = self._accept_own(now, slot, cmd)
        if self.role is Role.LEADER and slot in self.proposals:
            msg = {"type": "p2a", "ballot": ballot_json(self.ballot), "slot": slot, "cmd": cmd}
            eff += [Send(p, msg) for p in self.peer_ids]
            self.p2a_since_tick.update(self.peer_ids)
        return eff

    def _accept_own(self, now: float, slot: int, cmd: dict[str, Any]) -> list[Effect]:
        """The leader's own acceptor takes part in phase 2 like any other (persisted first)."""
        vote = self.acceptor.accept(self.ballot, slot, cmd)
        eff = self._persist(vote.records)
        if not vote.ok:
            return eff + self._step_down(now)
        return eff + self._vote(now, slot, self.node_id)

    def _vote(self, now: float, slot: int, voter: str) -> list[Effect]:
        if self.role is not Role.LEADER or slot not in self.proposals:
            return []
        if self._count_vote(slot, voter) < self.majority:
            return []
        cmd = self.proposals[slot]
        self._forget_slot(slot)
        eff: list[Effect] = []
        if self.learner.learn(slot, cmd):
            msg = {"type": "decide", "slot": slot, "cmd": cmd}
            eff.append(Event("decided", {"slot": slot}))
            eff += [Send(p, msg) for p in self.peer_ids]
        return eff + self._apply()

    def _forget_slot(self, slot: int) -> None:
        cmd = self.proposals.pop(slot, None)
        if cmd is None:
            return  # votes and resend entries exist only alongside a proposal
        self.votes.pop(slot, None)
        self.resend.pop(slot, None)
        if "id" in cmd:
            self.inflight.discard(str(cmd["id"]))

    def _heartbeat(self, quiet: Collection[str] = ()) -> list[Effect]:
        msg = {"type": "hb", "ballot": ballot_json(self.ballot), "applied": self.learner.applied}
        return [Send(p, msg) for p in self.peer_ids if p not in quiet]

    def _quiet_peers(self) -> set[str]:
        """Followers that need no heartbeat this tick: they got a phase-2 message since the last tick.

        A ``p2a`` does everything a heartbeat does for a follower (names the leader's ballot, re-arms
        its election timer, or draws a refusal that makes a stale leader step down), so under load the
        heartbeats are pure overhead. The one thing only the heartbeat's answer drives is catch-up, so a
        follower whose last ``p2b`` reported an applied index behind where this leader stood one tick
        ago (it missed decisions, or restarted) still gets its heartbeat and, through the answer, the
        entries it lacks.
        """
        applied, floor = self.peer_applied, self.tick_applied
        return {p for p in self.p2a_since_tick if applied.get(p, -1) >= floor}

    def _retransmit(self, now: float) -> list[Effect]:
        """Re-run phase 2 for slots not chosen yet (lost messages, slow acceptors).

        Only slots whose retransmission is due, and only to acceptors whose vote the leader has not
        counted yet. The first retransmission waits one heartbeat interval (a younger slot still has its
        answers in flight); each further one waits twice as long as the last, up to four intervals, so a
        leader cut off from its acceptors does not keep flooding the network with every open slot on
        every tick, yet a healed network sees the slot again well within an election timeout.
        """
        eff: list[Effect] = []
        for slot in sorted(self.proposals):
            if self.role is not Role.LEADER:
                break
            due, backoff = self.resend.get(slot, (now, self.hb_interval))
            if slot not in self.proposals or now < due - 1e-9:
                continue
            backoff = min(2 * backoff, 4 * self.hb_interval)
            self.resend[slot] = (now + backoff, backoff)
            cmd = self.proposals[slot]
            eff += self._accept_own(now, slot, cmd)
            if slot in self.proposals and self.role is Role.LEADER:
                msg = {"type": "p2a", "ballot": ballot_json(self.ballot), "slot": slot, "cmd": cmd}
                voted = self.votes.get(slot, ())
                todo = [p for p in self.peer_ids if p not in voted]
                eff += [Send(p, msg) for p in todo]
                self.p2a_since_tick.update(todo)
        return eff

    # ----------------------------------------------------------------- learner

    def _apply(self) -> list[Effect]:
        """Apply newly contiguous chosen slots; answer the clients whose requests they carry."""
        learner = self.learner
        if learner.applied not in learner.chosen:
            return []  # the usual case on a follower that learned a slot beyond a gap, or nothing new
        eff: list[Effect] = []
        for a in self.learner.apply_ready():
            self._forget_slot(a.slot)
            if a.cmd_id is None or a.body is None:
                continue
            self.inflight.discard(a.cmd_id)
            p = self.pending.pop(a.cmd_id, None)
            if p is not None:
                eff.append(Reply(p.req_id, a.body))
        return eff

    def _learn_rows(self, rows: Iterable[Any]) -> list[Effect]:
        for slot, cmd in rows:
            if self.learner.learn(int(slot), dict(cmd)):
                self._forget_slot(int(slot))
        return self._apply()

    # ----------------------------------------------------------------- message handlers

    def _on_p1a(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        b = ballot_of(msg["ballot"])
        vote = self.acceptor.promise(b)
        eff = self._persist(vote.records)
        if not vote.ok:
            nack = {"type": "p1b", "ballot": msg["ballot"], "ok": False,
                    "promised": ballot_json(self.acceptor.promised)}
            return eff + [Send(src, nack)]
        if self.role is not Role.FOLLOWER and b != self.ballot:
            eff += self._step_down(now)
        if b > self.leader_ballot:
            self.leader = None  # someone is taking over; its first heartbeat names it
        eff += self._arm_election(now)
        accepted, chosen = self._p1_payload(int(msg.get("first", 0)))
        eff.append(Send(src, {"type": "p1b", "ballot": msg["ballot"], "ok": True,
                              "accepted": accepted, "chosen": chosen}))
        return eff

    def _on_p1b(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        if self.role is not Role.CANDIDATE or ballot_of(msg["ballot"]) != self.ballot:
            return []
        if not msg.get("ok"):
            return self._step_down(now)
        self.p1_replies[src] = (list(msg.get("accepted", [])), list(msg.get("chosen", [])))
        if len(self.p1_replies) >= self.majority:
            return self._become_leader(now)
        return []

    def _on_p2a(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        b = ballot_of(msg["ballot"])
        slot = int(msg["slot"])
        vote = self.acceptor.accept(b, slot, dict(msg["cmd"]))
        eff = self._persist(vote.records)
        if not vote.ok:
            nack = {"type": "p2b", "ballot": msg["ballot"], "slot": slot, "ok": False,
                    "promised": ballot_json(self.acceptor.promised)}
            return eff + [Send(src, nack)]
        eff.append(Send(src, {"type": "p2b", "ballot": msg["ballot"], "slot": slot, "ok": True,
                              "applied": self.learner.applied}))
        return eff + self._follow(now, b)

    def _on_p2b(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        if self.role is not Role.LEADER or ballot_of(msg["ballot"]) != self.ballot:
            return []
        if not msg.get("ok"):
            return self._step_down(now)
        self.peer_applied[src] = int(msg.get("applied", -1))
        return self._vote(now, int(msg["slot"]), src)

    def _on_decide(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        slot = int(msg["slot"])
        if self.learner.learn(slot, dict(msg["cmd"])):
            self._forget_slot(slot)
        return self._apply()

    def _on_catchup(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        return self._learn_rows(msg.get("entries", []))

    def _on_hb(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        b = ballot_of(msg["ballot"])
        if b < self.acceptor.promised:
            return [Send(src, {"type": "hb_ack", "ballot": msg["ballot"], "ok": False,
                               "promised": ballot_json(self.acceptor.promised)})]
        eff = self._follow(now, b)
        eff.append(Send(src, {"type": "hb_ack", "ballot": msg["ballot"], "ok": True,
                              "applied": self.learner.applied}))
        return eff

    def _on_hb_ack(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        if self.role is not Role.LEADER or ballot_of(msg["ballot"]) != self.ballot:
            return []
        if not msg.get("ok"):
            return self._step_down(now)
        have = int(msg.get("applied", 0))
        self.peer_applied[src] = have
        top = min(have + self.catchup_batch, self.learner.max_known)
        if have >= top:
            return []
        return [Send(src, {"type": "catchup", "entries": self.learner.entries(have, top)})]

    def _on_fwd(self, now: float, src: str, msg: dict[str, Any]) -> list[Effect]:
        if self.role is not Role.LEADER:
            return []  # the origin re-forwards once it learns the real leader
        eff: list[Effect] = []
        for cmd in msg.get("cmds", []):
            eff += self._propose(now, dict(cmd))
        return eff
