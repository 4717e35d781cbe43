"""Derived seeds: one run seed drives every random choice, through named children.

Each consumer (generator, nemesis, each node) gets its own ``random.Random`` seeded from the run seed
and a label, so adding a consumer or drawing more numbers in one of them never shifts the choices of
another — which is what keeps a replay (and the simulator's byte-identical histories) stable as the
code grows. ``hash()`` is salted per process, so the derivation uses SHA-256 instead.
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(seed: int, *labels: object) -> int:
    """A 63-bit seed derived deterministically from ``seed`` and ``labels``."""
    text = "/".join([str(seed), *(str(label) for label in labels)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def child_rng(seed: int, *labels: object) -> random.Random:
    """A fresh ``random.Random`` for the consumer named by ``labels``."""
    return random.Random(derive_seed(seed, *labels))
