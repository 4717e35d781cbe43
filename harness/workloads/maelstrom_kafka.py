"""Maelstrom's ``kafka`` workload: append-only logs per key, polled from offsets, with committed offsets.

Requests and replies as Maelstrom's docs define them: ``send {key, msg}`` -> ``send_ok {offset}``;
``poll {offsets: {key: from}}`` -> ``poll_ok {msgs: {key: [[offset, msg], ...]}}``; ``commit_offsets
{offsets}`` -> ``commit_offsets_ok``; ``list_committed_offsets {keys}`` -> ``list_committed_offsets_ok
{offsets}``. Every message is a unique integer, so loss, duplication and reordering can be traced.
The workload learns offsets from replies (``complete``) to poll from places that exist and to commit
offsets it has seen. After healing it polls every key from 0 (``final-poll``) on every client.
Checked by :mod:`checkers.kafka`. The offsets seen live in the run's :class:`KafkaGenerator`; the
:class:`KafkaWorkload` spec is stateless.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import INFO, OK, Op
from checkers.result import Result
from harness.workloads.base import (
    Completion,
    Invocation,
    OpGenerator,
    OptionError,
    WorkloadSpec,
    error_completion,
)


class KafkaWorkload(WorkloadSpec):
    """send / poll / commit_offsets / list_committed_offsets on a few keys."""

    name = "kafka"
    checkers = ("kafka",)
    description = (
        "Maelstrom kafka: per-key logs; lost, duplicated, reordered messages and committed-offset regressions"
    )

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        allowed = {"keys", "final_polls"}
        unknown = sorted(set(self.raw_options) - allowed)
        if unknown:
            raise OptionError(
                f"unknown kafka option(s): {', '.join(unknown)}; valid: {', '.join(sorted(allowed))}"
            )
        self.keys = [f"k{i}" for i in range(int(self.raw_options.get("keys", 3)))]
        self.final_polls = int(self.raw_options.get("final_polls", 6))
        if not self.keys or self.final_polls < 1:
            raise OptionError("kafka options: keys >= 1, final_polls >= 1")

    def generator(self, rng: random.Random) -> KafkaGenerator:
        """Fresh message numbers and no offsets seen yet."""
        return KafkaGenerator(rng, self.keys)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """Maelstrom's request bodies."""
        if inv.f == "send":
            return {"type": "send", "key": inv.value[0], "msg": inv.value[1]}
        if inv.f in ("poll", "final-poll"):
            return {"type": "poll", "offsets": dict(inv.value)}
        if inv.f == "commit_offsets":
            return {"type": "commit_offsets", "offsets": dict(inv.value)}
        return {"type": "list_committed_offsets", "keys": list(inv.value)}

    def complete(self, inv: Invocation, reply: Mapping[str, Any], gen: OpGenerator) -> Completion:
        """Replies to completions; offsets seen are remembered (in ``gen``) for later polls and commits."""
        if reply.get("type") == "error":
            return error_completion(inv, reply)
        expected = "poll_ok" if inv.f == "final-poll" else f"{inv.f}_ok"
        if reply.get("type") != expected:
            return Completion(INFO, inv.value, error=["unexpected-reply", str(reply.get("type"))])
        if inv.f == "send":
            offset = reply.get("offset")
            if not isinstance(offset, int):
                return Completion(
                    INFO, inv.value, error=["unexpected-reply", "send_ok without an integer offset"]
                )
            if isinstance(gen, KafkaGenerator):
                gen.seen[inv.value[0]] = max(offset, gen.seen.get(inv.value[0], 0))
            return Completion(OK, [inv.value[0], inv.value[1], offset])
        if inv.f in ("poll", "final-poll"):
            raw = reply.get("msgs")
            msgs: dict[Any, Any] = raw if isinstance(raw, dict) else {}
            out = {
                str(k): [list(e) for e in v if isinstance(e, list | tuple)]
                for k, v in msgs.items()
                if isinstance(v, list)
            }
            return Completion(OK, out)
        if inv.f == "list_committed_offsets":
            raw = reply.get("offsets")
            offsets: dict[Any, Any] = raw if isinstance(raw, dict) else {}
            return Completion(OK, {str(k): v for k, v in offsets.items() if isinstance(v, int)})
        return Completion(OK, inv.value)

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """Polls of every key from offset 0, one per client first."""
        return [Invocation("final-poll", {k: 0 for k in self.keys}) for _ in range(self.final_polls)]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Lost / duplicated / reordered messages, inconsistent offsets, committed-offset regressions."""
        from checkers.kafka import check

        return check(history)


class KafkaGenerator(OpGenerator):
    """One run's ops: unique message numbers, and the highest offset seen per key (learnt from replies)."""

    def __init__(self, rng: random.Random, keys: Sequence[str]) -> None:
        super().__init__(rng)
        self.keys = list(keys)
        self._next = 0
        self.seen: dict[str, int] = {}  # highest offset known per key

    def next_op(self) -> Invocation:
        """Mostly sends; polls from a known offset; sometimes commits or lists committed offsets."""
        r = self.rng.random()
        key = self.rng.choice(self.keys)
        if r < 0.55:
            self._next += 1
            return Invocation("send", [key, self._next])
        if r < 0.85:
            high = self.seen.get(key, 0)
            return Invocation("poll", {key: self.rng.randint(0, high)})
        if r < 0.93 and self.seen:
            k = self.rng.choice(sorted(self.seen))
            return Invocation("commit_offsets", {k: self.seen[k]})
        return Invocation("list_committed_offsets", list(self.keys))
