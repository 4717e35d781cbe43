"""The lock workload: acquire a fenced lock, write the guarded resource with the token, release.

Clients do not own the lock sequentially here -- ops are dealt to whichever client is free -- so the
workload keeps the grants it has seen and plays the holders itself: a write usually carries the newest
grant's token, but sometimes an *older* (never released) grant's, exactly what a holder paused past its
lease would send when it wakes up. A correct service must refuse those writes (its resource fences stale
tokens); a
resource that ignores tokens, or trusts a wall-clock lease deadline under clock skew, lets them through.

History (``checkers.locks`` shapes): ``acquire`` ``{"owner", "lock"}`` -> ok ``{..., "token"}``;
``write`` ``{"owner", "lock", "token", "value"}`` -> ok ``{..., "seq"}`` (the resource's acceptance
order); ``release`` ``{"owner", "lock", "token"}``; ``read`` ``null`` -> the guarded value.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checkers.history import INFO, OK, Op
from checkers.result import Result, compose
from harness.workloads.base import (
    Completion,
    Invocation,
    OpGenerator,
    OptionError,
    WorkloadSpec,
    check_option_names,
    error_completion,
)

LOCK = "L"


@dataclass(frozen=True, slots=True)
class LockOptions:
    """Lease ``ttl``, the share of writes with a stale token, of releases, and whether to also check
    fencing-lock linearizability."""

    ttl: float = 1.0
    stale: float = 0.25
    release: float = 0.03
    linearizable: bool = True

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> LockOptions:
        """Validated options from a JSON object; ``OptionError`` says what is wrong."""
        check_option_names(raw, cls, "lock")
        opts = cls(float(raw.get("ttl", 1.0)), float(raw.get("stale", 0.25)), float(raw.get("release", 0.03)),
                   bool(raw.get("linearizable", True)))
        if opts.ttl <= 0 or not 0 <= opts.stale <= 1 or not 0 <= opts.release <= 0.5:
            raise OptionError("lock options: ttl > 0, 0 <= stale <= 1, 0 <= release <= 0.5")
        return opts


class LockWorkload(WorkloadSpec):
    """Acquire / guarded write / release / read, judged for fencing, mutual exclusion and linearizability."""

    name = "lock"
    checkers = ("lock", "linearizable")
    description = "fenced lock: acquire, write with the token (sometimes a stale one), release, read"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.options = LockOptions.parse(self.raw_options)

    def generator(self, rng: random.Random) -> LockGenerator:
        """The grants seen so far and who released, for one run."""
        return LockGenerator(self.options, rng)

    def request(self, inv: Invocation, gen: OpGenerator) -> dict[str, Any]:
        """The lock service request for an op (a write carries its grant's lease deadline, if known)."""
        assert isinstance(gen, LockGenerator)
        v = inv.value
        if inv.f == "acquire":
            return {"type": "acquire", "owner": v["owner"], "ttl": self.options.ttl}
        if inv.f == "write":
            return {"type": "write", "owner": v["owner"], "token": v["token"], "value": v["value"],
                    "expires": gen.expires.get(v["token"])}
        if inv.f == "release":
            return {"type": "release", "owner": v["owner"], "token": v["token"]}
        if inv.f == "read":
            return {"type": "read"}
        raise ValueError(f"lock workload has no op {inv.f!r}")

    def complete(self, inv: Invocation, reply: Mapping[str, Any], gen: OpGenerator) -> Completion:
        """Grants are remembered (with their lease deadline); writes carry the acceptance ``seq``."""
        assert isinstance(gen, LockGenerator)
        if reply.get("type") == "error":
            return error_completion(inv, reply)
        if reply.get("type") != f"{inv.f}_ok":
            return Completion(INFO, inv.value, error=["unexpected-reply", str(reply.get("type"))])
        if inv.f == "acquire":
            grant = {**inv.value, "token": reply["token"]}
            gen.grants.append(grant)
            if reply.get("expires") is not None:
                gen.expires[int(reply["token"])] = float(reply["expires"])
            return Completion(OK, grant)
        if inv.f == "write":
            return Completion(OK, {**inv.value, "seq": reply.get("seq")})
        if inv.f == "read":
            return Completion(OK, reply.get("value"))
        return Completion(OK, inv.value)

    def final_ops(self, gen: OpGenerator) -> list[Invocation]:
        """One read of the guarded value."""
        return [Invocation("read", None)]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Fencing order and mutual exclusion (``checkers.locks``), plus fencing-lock linearizability."""
        from checkers import locks

        results = {"lock": locks.check(history)}
        if self.options.linearizable:
            from checkers.linearizability import check

            results["linearizable"] = check(fencing_shapes(history), "fencing-lock", keyed=False,
                                            time_limit=time_limit)
        return compose(results)


class LockGenerator(OpGenerator):
    """Plays the lock's holders: fresh owners acquire, the newest (sometimes an older) holder writes."""

    def __init__(self, options: LockOptions, rng: random.Random) -> None:
        super().__init__(rng)
        self.options = options
        self._owners = 0
        self._values = 0
        self.grants: list[dict[str, Any]] = []  # ok acquires in completion order
        self.expires: dict[int, float] = {}
        self._released: set[int] = set()

    def next_op(self) -> Invocation:
        """Acquire as a fresh owner, or act as the newest (sometimes an older) holder, or read."""
        r = self.rng.random()
        holders = [g for g in self.grants if g["token"] not in self._released]
        if not holders or r < 0.3:
            self._owners += 1
            return Invocation("acquire", {"owner": f"o{self._owners}", "lock": LOCK})
        release = self.options.release
        if r < 0.95 - release:
            stale = self.rng.random() < self.options.stale and len(holders) > 1
            g = self.rng.choice(holders[:-1]) if stale else holders[-1]
            self._values += 1
            return Invocation("write",
                              {"owner": g["owner"], "lock": LOCK, "token": g["token"], "value": self._values})
        if r < 0.95:  # most holders never release: their leases run out (a crashed or paused client)
            g = holders[-1]
            self._released.add(g["token"])  # a holder that lets go never writes again
            return Invocation("release", {"owner": g["owner"], "lock": LOCK, "token": g["token"]})
        return Invocation("read", None)


def fencing_shapes(history: Sequence[Op]) -> list[Op]:
    """The history in the fencing-lock model's shapes: acquire ``owner`` -> ``[owner, token]``, write
    ``[token, value]``, release ``owner``, read unchanged."""
    out: list[Op] = []
    for op in history:
        v = op.value
        if op.is_client and isinstance(v, Mapping):
            if op.f == "acquire":
                v = [v["owner"], v["token"]] if op.type == OK and "token" in v else v["owner"]
            elif op.f == "write":
                v = [v["token"], v["value"]]
            elif op.f == "release":
                v = v["owner"]
        out.append(Op(op.index, op.time, op.type, op.process, op.f, v, op.node, op.error, op.extra))
    return out
