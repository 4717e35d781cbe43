"""Elle-style transactional checking: dependency graphs, named anomalies, and the models they rule out.

Entry points (pure functions ``history -> Result``)::

    check(history, workload="list-append" | "rw-register", consistency_models=("strict-serializable",),
          anomalies=(), budget=200_000, f="txn", wfr_keys=False, sequential_keys=False,
          linearizable_keys=False, max_cases=16)
    check_list_append(history, **opts)
    check_rw_register(history, **opts)

History shape: client ops with ``f == "txn"`` whose value is a list of micro-ops — ``["append", k, v]``
and ``["r", k, [..]]`` for list-append, ``["w", k, v]`` and ``["r", k, v]`` for rw-register; reads carry
``None`` at invocation and the observed value at completion; ``fail`` means certainly aborted, ``info``
may or may not have committed.

The verdict: ``False`` when an anomaly forbidden by one of ``consistency_models`` (or named in
``anomalies``) is present; ``"unknown"`` when only inconclusive findings remain (an empty dependency graph,
a cycle search that ran out of budget, duplicate appends that break the analysis' assumptions); else
``True``. ``details`` mirrors Elle's output: ``anomaly-types``, ``anomalies`` (cases; cycles with their steps
and a text explanation), ``not`` (the weakest models violated), ``also-not`` and ``stats``, plus
``implied-anomalies``. Anomaly names are Elle's: since every rw edge here concerns one key, cycles are
reported as ``G-single-item`` / ``G-nonadjacent-item`` / ``G2-item`` (with ``-process`` / ``-realtime``
variants), and ``G-single`` / ``G-nonadjacent`` / ``G2`` appear among the implied ones. Where no named
cycle already rules a model out, a cycle proven in the projection that model needs acyclic is reported as
``<model>-cycle-exists`` (exists.py) — e.g. two sequential transactions that each miss the other's write
are a G2-item, and also break strong snapshot isolation through the real-time edge between them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from typing import Any

from checkers.elle import exists, list_append, models, rw_register
from checkers.elle.analysis import Analysis, MalformedTxn
from checkers.elle.cycles import SPECS, any_cycle, canonical_labels, classify, find_cycle
from checkers.elle.explain import explain_cycle
from checkers.elle.graph import add_process_edges, add_realtime_edges, sccs
from checkers.elle.txn import extract
from checkers.history import Op
from checkers.result import UNKNOWN, Evidence, Result, Validity, op_indices

DEFAULT_BUDGET = 200_000
UNKNOWN_TYPES = frozenset({"empty-transaction-graph", "cycle-search-timeout", "duplicate-appends",
                           "duplicate-writes"})
WORKLOADS = ("list-append", "rw-register")

__all__ = ["DEFAULT_BUDGET", "WORKLOADS", "check", "check_list_append", "check_rw_register"]


def check_list_append(history: Sequence[Op], **opts: Any) -> Result:
    """Check a list-append history (see :func:`check`)."""
    return check(history, "list-append", **opts)


def check_rw_register(history: Sequence[Op], **opts: Any) -> Result:
    """Check an rw-register history (see :func:`check`)."""
    return check(history, "rw-register", **opts)


def check(history: Sequence[Op], workload: str = "list-append", *,
          consistency_models: Iterable[str] = ("strict-serializable",), anomalies: Iterable[str] = (),
          budget: int = DEFAULT_BUDGET, f: str = "txn", wfr_keys: bool = False,
          sequential_keys: bool = False, linearizable_keys: bool = False, max_cases: int = 16) -> Result:
    """Check a transactional history against consistency models; see the module docstring."""
    name = f"elle-{workload}"
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; choose one of {', '.join(WORKLOADS)}")
    cms = list(consistency_models)
    prohibited = models.prohibited_by(cms) | models.anomalies_implying(anomalies)
    reportable = prohibited | UNKNOWN_TYPES
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the analysis allocates millions of small objects and frees none until the end
    try:
        return _check(history, workload, name, cms, prohibited, reportable, budget, f,
                      (wfr_keys, sequential_keys, linearizable_keys), max_cases)
    finally:
        if gc_was_enabled:
            gc.enable()


def _check(history: Sequence[Op], workload: str, name: str, cms: list[str], prohibited: set[str],
           reportable: set[str], budget: int, f: str, inference: tuple[bool, bool, bool],
           max_cases: int) -> Result:
    txns, failed = extract(history, f)
    try:
        if workload == "list-append":
            an = list_append.analyse(txns, failed)
        else:
            wfr, seq, lin = inference
            an = rw_register.analyse(txns, failed, wfr_keys=wfr, sequential_keys=seq, linearizable_keys=lin)
    except MalformedTxn as e:
        return Result(name, UNKNOWN, {"error": str(e)}, f"cannot analyse this history: {e}")
    g = an.graph
    # Real-time order contains process order (a process is sequential), so one of the two suffices;
    # the other variant's specs cannot match and are not searched.
    skip = "-process"
    if any(t.endswith("-realtime") for t in reportable):
        add_realtime_edges(g, txns)
    elif any(t.endswith("-process") for t in reportable):
        add_process_edges(g, txns)
        skip = "-realtime"
    if g.edge_count() == 0:
        an.add("empty-transaction-graph", {"transactions": len(txns)})
    comps = sccs(g)
    _cycle_cases(an, comps, [s for s in SPECS if s.name in reportable and not s.name.endswith(skip)], budget)
    if comps:
        named = set(an.anomalies) - UNKNOWN_TYPES
        for case in exists.cases(g, txns, comps, reportable & exists.TYPES, models.impossible_models(named)):
            an.add(case["type"], case)
    found = set(an.anomalies)
    rep = found & reportable
    valid: Validity = False if found & prohibited else (UNKNOWN if rep else True)
    not_, also_not = models.boundary(found - UNKNOWN_TYPES)
    details: dict[str, Any] = {
        "workload": workload,
        "consistency-models": cms,
        "anomaly-types": sorted(rep),
        "anomalies": {k: an.anomalies[k][:max_cases] for k in sorted(rep)},
        "anomaly-counts": {k: len(an.anomalies[k]) for k in sorted(rep)},
        # Classes present by implication (a G-single-item is also a G-single, a G2-item a G2, ...).
        "implied-anomalies": sorted(models.implied_anomalies(rep - UNKNOWN_TYPES) - rep),
        "not": not_,
        "also-not": also_not,
        "stats": {
            "transactions": len(txns) + len(failed),
            "ok": sum(1 for t in txns if t.type == "ok"),
            "info": sum(1 for t in txns if t.type == "info"),
            "fail": len(failed),
            "edges": g.count_by_rel(),
            "sccs": len(comps),
            "largest-scc": max((len(c) for c in comps), default=0),
        },
    }
    evidence = tuple(Evidence(k, k, details["anomaly-counts"][k], tuple(details["anomalies"][k]))
                     for k in details["anomaly-types"])
    if not_:
        evidence += (Evidence("not", "Consistency models ruled out", len(not_), tuple(not_)),)
    blamed = op_indices(c for k in details["anomaly-types"] if k in prohibited
                        for c in details["anomalies"][k])
    return Result(name, valid, details, _summary(valid, cms, details), reason=_reason(valid, cms, details),
                  evidence=evidence, blamed=blamed)


def _cycle_cases(an: Analysis, comps: list[list[int]], specs: Sequence[Any], budget: int) -> None:
    g, txns = an.graph, an.txns
    seen: set[tuple[str, frozenset[int]]] = set()
    for comp in comps:
        timed_out = False
        for spec in specs:
            cycle, out = find_cycle(g, comp, spec, budget)
            if out:
                timed_out = True
                an.add("cycle-search-timeout", {"anomaly-spec-type": spec.name, "scc-size": len(comp)})
            if cycle is None:
                continue
            labels = canonical_labels(g, cycle)
            kind = classify(labels)
            if spec.typed and kind != spec.name:
                continue
            key = (kind, frozenset(cycle[0]))
            if key not in seen:
                seen.add(key)
                an.add(kind, explain_cycle(g, txns, an.explain_step, (cycle[0], labels), kind))
        if timed_out:
            verts, _ = any_cycle(g, comp)
            labels = canonical_labels(g, (verts, ()))
            kind = classify(labels)
            if (kind, frozenset(verts)) not in seen and not an.anomalies.get(kind):
                seen.add((kind, frozenset(verts)))
                an.add(kind, explain_cycle(g, txns, an.explain_step, (verts, labels), kind))


def _reason(valid: Validity, cms: list[str], details: dict[str, Any]) -> str:
    n = details["stats"]["transactions"]
    if valid is True:
        return f"{n} transactions: no anomaly forbidden by {', '.join(cms)}"
    found = ", ".join(f"{details['anomaly-counts'][k]} {k}" for k in details["anomaly-types"])
    ruled_out = f"; not {', '.join(details['not'])}" if details["not"] else ""
    return f"{n} transactions: {found}{ruled_out}"


def _summary(valid: Validity, cms: list[str], details: dict[str, Any]) -> str:
    stats = details["stats"]
    head = f"{stats['transactions']} transactions"
    if valid is True:
        return f"{head}: no anomaly forbidden by {', '.join(cms)} found."
    lines = [f"{head}: found {', '.join(details['anomaly-types'])}."]
    if details["not"]:
        lines.append(f"Not {', '.join(details['not'])} (nor anything stronger).")
    for kind in details["anomaly-types"]:
        cases = details["anomalies"][kind]
        if cases and isinstance(cases[0], dict) and "explanation" in cases[0]:
            lines.append(f"{kind}:\n{cases[0]['explanation']}")
    return "\n".join(lines)
