"""The fault vocabulary, grudges, schedules, and the capability protocols backends implement.

``faults`` (ops as data) · ``table`` (every fault kind declared once: capability, undo, family,
group, colour, value shape, handler; plugins register here) · ``handlers`` (how each kind is done) ·
``grudges`` (partition shapes) · ``targets`` (node specs, leaders) ·
``packages`` (named fault families for ``--nemesis``) · ``schedule`` (when faults strike: mix,
combined, phased) · ``executor`` (applies ops through ``capabilities``, heals, sweeps) · ``strobe`` and
``membership`` (faults the executor drives itself) · ``verify`` (what the nodes say is still broken).
"""
