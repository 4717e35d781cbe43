"""The consistency-model lattice: which anomalies each model forbids, and which models imply which.

A transactional checker finds *anomalies*; users care about *models*. Two small directed graphs bridge
them (names follow Elle so that results can be compared with Elle's own):

* ``IMPLIES_ANOMALY``: an edge ``a -> b`` means every history exhibiting ``a`` also exhibits ``b``
  (G0 is a special G1c; a G1c is a G1; a lost update is a G2-item; a realtime-free cycle is trivially a
  process and a realtime one).
* ``MODEL_IMPLIES``: ``m -> n`` means a history satisfying ``m`` satisfies ``n`` (strict-serializable
  implies serializable implies repeatable-read ...).
* ``FORBIDS``: the anomalies each model proscribes *directly*; the full set a model forbids adds
  everything forbidden by weaker models and every anomaly implying one of those.

From these, ``boundary(anomalies)`` answers the user's question: the *weakest* models the history
violates (``not``) and the stronger ones that fall with them (``also_not``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

IMPLIES_ANOMALY: Mapping[str, tuple[str, ...]] = {
    "G0": ("G1c", "G0-process"),
    "G0-process": ("G1c-process", "G0-realtime"),
    "G0-realtime": ("G1c-realtime",),
    "G1a": ("G1",),
    "G1b": ("G1",),
    "G1c": ("G1", "G1c-process"),
    "G1c-process": ("G1c-realtime", "G1-process"),
    "G1c-realtime": ("G1-realtime",),
    "G1": ("G1-process",),
    "G1-process": ("G1-realtime",),
    "G-single-item": ("G-single", "G-single-item-process", "G-nonadjacent-item"),
    "G-single-item-process": ("G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"),
    "G-single-item-realtime": ("G-single-realtime", "G-nonadjacent-item-realtime"),
    "G-single": ("G-nonadjacent", "G-SIb", "G-single-process"),
    "G-single-process": ("G-nonadjacent-process", "G-single-realtime"),
    "G-single-realtime": ("G-nonadjacent-realtime",),
    "G-nonadjacent-item": ("G-nonadjacent", "G2-item", "G-nonadjacent-item-process"),
    "G-nonadjacent-item-process": ("G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"),
    "G-nonadjacent-item-realtime": ("G2-item-realtime", "G-nonadjacent-realtime"),
    "G-nonadjacent": ("G2", "G-nonadjacent-process"),
    "G-nonadjacent-process": ("G2-process", "G-nonadjacent-realtime"),
    "G-nonadjacent-realtime": ("G2-realtime",),
    "G2": ("G2-process",),
    "G2-item": ("G2", "G2-item-process"),
    "G2-item-process": ("G2-process", "G2-item-realtime"),
    "G2-item-realtime": ("G2-realtime",),
    "G2-process": ("G2-realtime",),
    "G-SIa": ("G-SI",),
    "G-SIb": ("G-SI",),
    # Two committed reads that cannot both be prefixes of one append order imply someone read dirty state.
    "incompatible-order": ("G1a",),
    # Reading your own later write is a one-transaction cycle T -wr-> T.
    "future-read": ("G1c",),
    # A committed write built on an aborted one: a dirty read by another name.
    "dirty-update": ("G1a",),
    "lost-update": ("write-skew", "G2-item"),
    "write-skew": ("G2",),
}

# Several names denote one model; the lattice below uses the canonical (Adya) names.
CANONICAL: Mapping[str, str] = {
    "consistent-view": "PL-2+",
    "conflict-serializable": "PL-3",
    "cursor-stability": "PL-CS",
    "forward-consistent-view": "PL-FCV",
    "monotonic-snapshot-read": "PL-MSR",
    "monotonic-view": "PL-2L",
    "read-committed": "PL-2",
    "read-uncommitted": "PL-1",
    "repeatable-read": "PL-2.99",
    "serializable": "PL-3",
    "snapshot-isolation": "PL-SI",
    "strict-serializable": "PL-SS",
    "strong-serializable": "PL-SS",
    "update-serializable": "PL-3U",
    "strong-session-read-uncommitted": "strong-session-PL-1",
    "strong-session-read-committed": "strong-session-PL-2",
    "strong-read-uncommitted": "strong-PL-1",
    "strong-read-committed": "strong-PL-2",
}

FRIENDLY: Mapping[str, str] = {
    **{canon: name for name, canon in CANONICAL.items() if name not in ("conflict-serializable",
                                                                         "strong-serializable")},
}

_MODEL_IMPLIES_RAW: Mapping[str, tuple[str, ...]] = {
    "causal-cerone": ("read-atomic",),
    "consistent-view": ("cursor-stability", "monotonic-view"),
    "conflict-serializable": ("view-serializable",),
    "cursor-stability": ("read-committed",),
    "forward-consistent-view": ("consistent-view",),
    "read-committed": ("read-uncommitted",),
    "serializable": ("repeatable-read", "update-serializable", "snapshot-isolation", "view-serializable"),
    "update-serializable": ("forward-consistent-view",),
    "monotonic-atomic-view": ("read-committed",),
    "monotonic-view": ("read-committed",),
    "monotonic-snapshot-read": ("read-committed",),
    "parallel-snapshot-isolation": ("causal-cerone", "update-atomic"),
    "prefix": ("causal-cerone",),
    "read-atomic": ("monotonic-atomic-view",),
    "repeatable-read": ("cursor-stability", "monotonic-atomic-view"),
    "update-atomic": ("read-atomic",),
    "session-serializable": ("1SR",),
    "snapshot-isolation": ("forward-consistent-view", "monotonic-atomic-view", "monotonic-snapshot-read",
                           "parallel-snapshot-isolation", "prefix"),
    "strict-serializable": ("serializable", "linearizable", "snapshot-isolation",
                            "strong-snapshot-isolation", "strong-session-serializable",
                            "session-serializable"),
    "strong-session-read-uncommitted": ("read-uncommitted",),
    "strong-session-read-committed": ("read-committed", "strong-session-read-uncommitted"),
    "strong-read-uncommitted": ("strong-session-read-uncommitted",),
    "strong-read-committed": ("strong-session-read-committed", "strong-read-uncommitted"),
    "strong-session-serializable": ("serializable", "strong-session-snapshot-isolation"),
    "strong-session-snapshot-isolation": ("snapshot-isolation", "strong-session-read-committed"),
    "strong-snapshot-isolation": ("strong-session-snapshot-isolation", "strong-read-committed"),
    "linearizable": ("sequential",),
    "sequential": ("causal",),
    "causal": ("writes-follow-reads", "PRAM"),
    "PRAM": ("monotonic-reads", "monotonic-writes", "read-your-writes"),
}

# "<model>-cycle-exists": a cycle was proven in the projection that model needs acyclic (exists.py).
_FORBIDS_RAW: Mapping[str, tuple[str, ...]] = {
    "causal-cerone": ("internal", "G1a"),
    "cursor-stability": ("G1", "G-cursor", "lost-update"),
    "monotonic-view": ("G1", "G-monotonic"),
    "monotonic-snapshot-read": ("G1", "G-MSR"),
    "consistent-view": ("G1", "G-single"),
    "forward-consistent-view": ("G1", "G-SIb"),
    "parallel-snapshot-isolation": ("internal", "G1a"),
    "serializable": ("G1", "G2", "internal", "PL-3-cycle-exists"),
    "read-committed": ("G1", "PL-2-cycle-exists"),
    "read-uncommitted": ("G0", "duplicate-elements", "cyclic-versions", "PL-1-cycle-exists"),
    "prefix": ("internal", "G1a"),
    "snapshot-isolation": ("internal", "G1", "G-SI", "G-nonadjacent", "PL-SI-cycle-exists"),
    "read-atomic": ("internal", "G1a", "future-read"),
    "repeatable-read": ("G1", "G2-item", "lost-update", "PL-2.99-cycle-exists"),
    "update-atomic": ("lost-update",),
    "strict-serializable": ("G1", "G1c-realtime", "G2-realtime", "PL-SS-cycle-exists"),
    "strong-session-read-uncommitted": ("G0-process", "strong-session-PL-1-cycle-exists"),
    "strong-session-read-committed": ("G1c-process", "strong-session-PL-2-cycle-exists"),
    "strong-read-uncommitted": ("G0-realtime", "strong-PL-1-cycle-exists"),
    "strong-read-committed": ("G1c-realtime", "strong-PL-2-cycle-exists"),
    "strong-session-snapshot-isolation": ("internal", "G1-process", "G-nonadjacent-process",
                                          "strong-session-snapshot-isolation-cycle-exists"),
    "strong-snapshot-isolation": ("internal", "G1-realtime", "G-nonadjacent-realtime",
                                  "strong-snapshot-isolation-cycle-exists"),
    "strong-session-serializable": ("G1-process", "G2-process", "strong-session-serializable-cycle-exists"),
    "update-serializable": ("G1", "G-update"),
}


def canonical(model: str) -> str:
    """The canonical (Adya) name of a model."""
    return CANONICAL.get(model, model)


def friendly(model: str) -> str:
    """The everyday name of a canonical model (``PL-2`` -> ``read-committed``)."""
    return FRIENDLY.get(model, model)


def _canon_graph(raw: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for k, vs in raw.items():
        lst = out.setdefault(canonical(k), [])
        lst.extend(canonical(v) for v in vs if canonical(v) not in lst)
    return {k: tuple(v) for k, v in out.items()}


MODEL_IMPLIES: Mapping[str, tuple[str, ...]] = _canon_graph(_MODEL_IMPLIES_RAW)
FORBIDS: Mapping[str, tuple[str, ...]] = {canonical(k): v for k, v in _FORBIDS_RAW.items()}


def _reverse(g: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    rev: dict[str, list[str]] = {}
    for a, bs in g.items():
        for b in bs:
            rev.setdefault(b, []).append(a)
    return {k: tuple(v) for k, v in rev.items()}


_IMPLIED_BY_ANOMALY = _reverse(IMPLIES_ANOMALY)
_MODEL_IMPLIED_BY = _reverse(MODEL_IMPLIES)
_FORBIDDEN_BY = _reverse(FORBIDS)

ALL_MODELS: frozenset[str] = frozenset(
    set(MODEL_IMPLIES) | {m for vs in MODEL_IMPLIES.values() for m in vs} | set(FORBIDS)
    | set(CANONICAL) | set(CANONICAL.values())
)


def _closure(start: Iterable[str], edges: Mapping[str, tuple[str, ...]]) -> set[str]:
    seen = set(start)
    stack = list(seen)
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def validate_models(models: Iterable[str]) -> list[str]:
    """Canonical names of ``models``; raises ValueError naming the valid choices for an unknown one."""
    out = []
    for m in models:
        if m not in ALL_MODELS:
            raise ValueError(f"unknown consistency model {m!r}; known: {', '.join(sorted(ALL_MODELS))}")
        out.append(canonical(m))
    return out


def implies(models: Iterable[str], model: str) -> bool:
    """Whether a history satisfying all ``models`` satisfies ``model`` too."""
    return canonical(model) in _closure(validate_models(models), MODEL_IMPLIES)


def implied_anomalies(anomalies: Iterable[str]) -> set[str]:
    """Every anomaly implied by (and including) the given ones."""
    return _closure(anomalies, IMPLIES_ANOMALY)


def anomalies_implying(anomalies: Iterable[str]) -> set[str]:
    """Every anomaly that implies (or is) one of the given ones."""
    return _closure(anomalies, _IMPLIED_BY_ANOMALY)


def prohibited_by(models: Iterable[str]) -> set[str]:
    """Anomalies that cannot occur if all ``models`` hold (what a checker for them must look for)."""
    ms = _closure(validate_models(models), MODEL_IMPLIES)
    direct = {a for m in ms for a in FORBIDS.get(m, ())}
    return anomalies_implying(direct)


def impossible_models(anomalies: Iterable[str]) -> set[str]:
    """Canonical models ruled out by the presence of ``anomalies``."""
    direct = {m for a in implied_anomalies(anomalies) for m in _FORBIDDEN_BY.get(a, ())}
    return _closure(direct, _MODEL_IMPLIED_BY)


def impossible_models_of(model: str) -> set[str]:
    """A violated model and every model implying it (all of them are violated too)."""
    return _closure([canonical(model)], _MODEL_IMPLIED_BY)


def weakest(models: Iterable[str]) -> set[str]:
    """The models of the set not implying another member of the set: the weakest ones."""
    ms = {canonical(m) for m in models}
    return {m for m in ms if not (_closure([m], MODEL_IMPLIES) - {m}) & ms}


def boundary(anomalies: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(not, also_not)``: friendly names of the weakest violated models, then the other violated ones."""
    impossible = impossible_models(anomalies)
    weak = weakest(impossible)
    return (sorted(friendly(m) for m in weak), sorted(friendly(m) for m in impossible - weak))
