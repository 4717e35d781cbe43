"""The fenced storage resource: one guarded value that only current lock holders may overwrite.

Why fencing: a lock holder can be paused (GC, SIGSTOP, a slow disk) past its lease, wake up and write,
believing it still holds the lock, after the service granted the lock to someone else. No check the
holder makes before writing can close that window -- it can always pause right after the check. The
storage itself must refuse: every write carries the writer's fencing token, and the resource rejects a
token lower than the highest it has accepted. Tokens strictly increase with every grant, so a stale
holder's write is rejected however late it arrives, with no reliance on anybody's clock.

The lock service also *announces* every new token to the resource before the acquirer hears of its
grant (``raise_fence``): from the moment a holder knows it holds the lock, the previous holder's writes
are refused, even if the new holder has not written yet -- so accepted writes of two holders never
interleave. The fence, the value and a count of accepted writes (``seq``, the acceptance order the
lock checker reads) are persisted; applied write ids are remembered so a duplicated or retried
message cannot re-apply an old write (with the same token it would otherwise pass the fence and roll
the value back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from systems_under_test.core import JSON, PRECONDITION_FAILED, error_body

STALE_TOKEN = PRECONDITION_FAILED
LEASE_EXPIRED = 1002


class Guard(Enum):
    """How the resource decides whether to accept a write."""

    FENCE = "fence"  # correct: token must be >= the highest accepted token
    NONE = "none"  # lock:no-fencing -- accept every write
    WALL_CLOCK = "wall-clock"  # lock:clock-lease -- accept while the lease deadline is in the future


class Resource:
    """The guarded value, the fence, and the durable records that rebuild them."""

    def __init__(self, guard: Guard = Guard.FENCE) -> None:
        self.guard = guard
        self.value: JSON = None
        self.fence = 0  # highest token accepted or announced so far
        self.seq = 0  # accepted writes so far
        self.applied: dict[str, dict[str, JSON]] = {}  # write id -> the answer it got

    def recover(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Rebuild the value, the fence and the applied write ids."""
        for rec in records:
            if rec.get("t") == "resource":
                self.value, self.fence, self.seq = rec["value"], int(rec["fence"]), int(rec["seq"])
                self.applied[str(rec["id"])] = {"type": "write_ok", "seq": self.seq}
            elif rec.get("t") == "fence":
                self.fence = max(self.fence, int(rec["fence"]))

    def raise_fence(self, token: int) -> dict[str, JSON] | None:
        """A new grant was made: refuse lower tokens from now on. Returns the record to persist, if any."""
        if self.guard is not Guard.FENCE or token <= self.fence:
            return None
        self.fence = token
        return {"t": "fence", "fence": token}

    def read(self) -> dict[str, JSON]:
        """The guarded value."""
        return {"type": "read_ok", "value": self.value, "fence": self.fence}

    def write(self, write_id: str, token: int, value: JSON, expires: float | None,
              now: float) -> tuple[dict[str, JSON], dict[str, JSON] | None]:
        """Try a write: ``(reply body, record to persist before replying or None)``."""
        if write_id in self.applied:
            return self.applied[write_id], None
        refusal = self._refusal(token, expires, now)
        if refusal is not None:
            return refusal, None
        self.value, self.fence, self.seq = value, max(self.fence, token), self.seq + 1
        body: dict[str, JSON] = {"type": "write_ok", "seq": self.seq}
        self.applied[write_id] = body
        return body, {"t": "resource", "id": write_id, "value": value, "fence": self.fence, "seq": self.seq}

    def _refusal(self, token: int, expires: float | None, now: float) -> dict[str, JSON] | None:
        if self.guard is Guard.FENCE and token < self.fence:
            return error_body(STALE_TOKEN, f"stale fencing token {token} < {self.fence}", definite=True)
        if self.guard is Guard.WALL_CLOCK and (expires is None or now >= expires):
            return error_body(LEASE_EXPIRED, f"lease expired at {expires} (now {now:.3f})", definite=True)
        return None
