"""Memory budget helpers: the process's resident memory, and a default cap below what the machine has.

The search compares the resident set size with a cap now and then and answers ``unknown`` ("memory
limit reached") past it, so a hopeless search ends with a reason instead of being killed by the
kernel's OOM killer. Linux's ``/proc`` gives the current size cheaply; elsewhere the peak size from
``getrusage`` stands in (it never decreases, so the cap is then a cap on the peak).
"""

from __future__ import annotations

import os
import sys

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
#: a memory limit that stands for "the default cap, worked out when first needed"
AUTO_MEMORY = -1
#: the share of the memory available at the start of a check that the check may grow into by default
DEFAULT_SHARE = 0.6


def rss_bytes() -> int:
    """The resident memory of this process now (bytes)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def available_bytes() -> int | None:
    """Memory the kernel says can still be given to processes (``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_memory_limit() -> int | None:
    """The cap used when the caller gives none: what the process holds now plus a share of what is
    still available (None when the platform does not say, then only the other budgets apply)."""
    avail = available_bytes()
    if avail is None:
        return None
    return rss_bytes() + int(avail * DEFAULT_SHARE)
