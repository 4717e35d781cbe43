"""The lock workload: acquire a fenced lock, write the guarded resource with the token, release.

Clients do not own the lock sequentially here -- ops are dealt to whichever client is free -- so the
workload keeps the grants it has seen and plays the holders itself: a write usually carries the newest
grant's token, but sometimes an *older* (never released) grant's, exactly what a holder paused past its
lease would send when it wakes up. A correct service must refuse those writes (its resource fences stale tokens); a
resource that ignores tokens, or trusts a wall-clock lease deadline under clock skew, lets them through.

History (``checkers.locks`` shapes): ``acquire`` ``{"owner", "lock"}`` -> ok ``{..., "token"}``;
``write`` ``{"owner", "lock", "token", "value"}`` -> ok ``{..., "seq"}`` (the resource's acceptance
order); ``release`` ``{"owner", "lock", "token"}``; ``read`` ``null`` -> the guarded value.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from checkers.history import INFO, OK, Op
from checkers.result import Result, compose
from harness.workloads.base import Completion, Invocation, OptionError, Workload, error_completion

LOCK = "L"


class LockWorkload(Workload):
    """Acquire / guarded write / release / read, judged for fencing, mutual exclusion and linearizability."""

    name = "lock"
    checkers = ("lock", "linearizable")
    description = "fenced lock: acquire, write with the token (sometimes a stale one), release, read"

    def __init__(self, rng: random.Random, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(rng, options)
        allowed = {"ttl", "stale", "release", "linearizable"}
        unknown = sorted(set(self.options) - allowed)
        if unknown:
            raise OptionError(f"unknown lock option(s): {', '.join(unknown)}; valid: {', '.join(sorted(allowed))}")
        self.ttl = float(self.options.get("ttl", 1.0))
        self.stale = float(self.options.get("stale", 0.25))
        self.release = float(self.options.get("release", 0.03))
        self.linearizable = bool(self.options.get("linearizable", True))
        if self.ttl <= 0 or not 0 <= self.stale <= 1 or not 0 <= self.release <= 0.5:
            raise OptionError("lock options: ttl > 0, 0 <= stale <= 1, 0 <= release <= 0.5")
        self._owners = 0
        self._values = 0
        self._grants: list[dict[str, Any]] = []  # ok acquires in completion order
        self._expires: dict[int, float] = {}
        self._released: set[int] = set()

    def next_op(self) -> Invocation:
        """Acquire as a fresh owner, or act as the newest (sometimes an older) holder, or read."""
        r = self.rng.random()
        holders = [g for g in self._grants if g["token"] not in self._released]
        if not holders or r < 0.3:
            self._owners += 1
            return Invocation("acquire", {"owner": f"o{self._owners}", "lock": LOCK})
        if r < 0.95 - self.release:
            stale = self.rng.random() < self.stale and len(holders) > 1
            g = self.rng.choice(holders[:-1]) if stale else holders[-1]
            self._values += 1
            return Invocation("write", {"owner": g["owner"], "lock": LOCK, "token": g["token"], "value": self._values})
        if r < 0.95:  # most holders never release: their leases run out (a crashed or paused client)
            g = holders[-1]
            self._released.add(g["token"])  # a holder that lets go never writes again
            return Invocation("release", {"owner": g["owner"], "lock": LOCK, "token": g["token"]})
        return Invocation("read", None)

    def request(self, inv: Invocation) -> dict[str, Any]:
        """The lock service request for an op."""
        v = inv.value
        if inv.f == "acquire":
            return {"type": "acquire", "owner": v["owner"], "ttl": self.ttl}
        if inv.f == "write":
            return {"type": "write", "owner": v["owner"], "token": v["token"], "value": v["value"],
                    "expires": self._expires.get(v["token"])}
        if inv.f == "release":
            return {"type": "release", "owner": v["owner"], "token": v["token"]}
        if inv.f == "read":
            return {"type": "read"}
        raise ValueError(f"lock workload has no op {inv.f!r}")

    def complete(self, inv: Invocation, reply: Mapping[str, Any]) -> Completion:
        """Grants are remembered (with their lease deadline); writes carry the acceptance ``seq``."""
        if reply.get("type") == "error":
            return error_completion(inv, reply)
        if reply.get("type") != f"{inv.f}_ok":
            return Completion(INFO, inv.value, error=["unexpected-reply", str(reply.get("type"))])
        if inv.f == "acquire":
            grant = {**inv.value, "token": reply["token"]}
            self._grants.append(grant)
            if reply.get("expires") is not None:
                self._expires[int(reply["token"])] = float(reply["expires"])
            return Completion(OK, grant)
        if inv.f == "write":
            return Completion(OK, {**inv.value, "seq": reply.get("seq")})
        if inv.f == "read":
            return Completion(OK, reply.get("value"))
        return Completion(OK, inv.value)

    def final_ops(self) -> list[Invocation]:
        """One read of the guarded value."""
        return [Invocation("read", None)]

    def check(self, history: Sequence[Op], *, time_limit: float | None = None) -> Result:
        """Fencing order and mutual exclusion (``checkers.locks``), plus fencing-lock linearizability."""
        from checkers import locks

        results = {"lock": locks.check(history)}
        if self.linearizable:
            from checkers.linearizability import check

            results["linearizable"] = check(fencing_shapes(history), "fencing-lock", keyed=False,
                                            time_limit=time_limit)
        return compose(results)


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
