"""Planted-bug variants of the lock service: the storage resource trusts the wrong thing.

The lock service itself is the same in both; what changes is how the storage resource decides whether
a write comes from the current holder. Both look fine as long as holders are prompt and clocks agree.
"""

from __future__ import annotations

from systems_under_test.lock.core import LockCore
from systems_under_test.lock.resource import Guard


class NoFencingCore(LockCore):
    """``lock:no-fencing``: the resource ignores fencing tokens and accepts every write.

    Mutual exclusion then rests on holders stopping to write when their lease ends. A holder paused past
    its lease (GC, SIGSTOP) wakes up and writes after the next holder did: its stale write lands on top.
    """

    guard = Guard.NONE


class ClockLeaseCore(LockCore):
    """``lock:clock-lease``: the resource accepts a write while the writer's lease deadline, a wall-clock
    timestamp from the granting node, lies in the future by the resource's own clock -- tokens unchecked.

    Correct while every clock agrees (an expired lease is refused even after a long pause), but a
    resource whose clock runs behind the granting node's still honours a lease that has ended and was
    re-granted: the old and the new holder both write.
    """

    guard = Guard.WALL_CLOCK
