"""Derived seeds (see :mod:`harness.backends.seeds`, where they live so backends can use them too)."""

from __future__ import annotations

from harness.backends.seeds import child_rng, derive_seed

__all__ = ["child_rng", "derive_seed"]
