"""The import graph of every package keeps the layering DESIGN §1 draws, and has no cycles.

Imports flow one way::

    harness.apps -> harness.run -> harness.api -> harness.backends, harness.workloads
    harness -> reports, nemesis, checkers, systems_under_test
    reports -> nemesis (the fault table: bands and colours), checkers' public types (result, history)
    nemesis -> systems_under_test, checkers      (never harness, never reports)
    checkers -> (nothing of ours outside checkers)

The third-party systems shipped in ``harness.backends.external`` (etcd, Redis) are written as plugins,
against the public API (``harness.api``), to prove it is enough; that is the one import upward.

``systems_under_test`` importing only the standard library is tests/systems/test_stdlib_only.py's job.
The graph is built from the source with ``ast`` (every import, also those inside functions, except
those under ``if TYPE_CHECKING:``), one node per module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "checkers", "reports", "nemesis", "systems_under_test")

# Layers of our code, lowest first: a module may import its own layer's group or lower layers.
LAYERS: list[tuple[str, ...]] = [
    ("systems_under_test",),
    ("checkers",),
    ("nemesis",),
    ("reports",),
    ("harness.backends", "harness.workloads"),
    ("harness.api",),
    ("harness.run",),
    ("harness.apps",),
]
REPORTS_MAY_IMPORT = {"checkers.result", "checkers.history"}
# Known exceptions, each with why; the test fails when one disappears so the list cannot go stale.
ALLOWED: dict[tuple[str, str], str] = {
}


def module_name(path: Path) -> str:
    """``harness/run/spec.py`` -> ``harness.run.spec``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, Path]:
    """Every module of our packages, by dotted name."""
    return {module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of import nodes under ``if TYPE_CHECKING:`` (they cost nothing at run time)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """``(imported module, line)`` for each of our modules that ``name`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:  # ``import a.b.c`` of a non-module attribute: its module
                t = t.rpartition(".")[0]
            if t and t != name:
                yield t, node.lineno


def import_graph() -> nx.DiGraph:
    """Our modules and the imports between them (edge attribute ``line``: where the import is)."""
    mods = our_modules()
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for name, path in mods.items():
        for target, line in imports_of(name, path, set(mods)):
            g.add_edge(name, target, line=line)
    return g


def group_of(module: str) -> str:
    """The layering group a module belongs to (harness's top-level modules are their own group)."""
    for layer in LAYERS:
        for group in layer:
            if module == group or module.startswith(group + "."):
                return group
    return module


def layer_of(module: str) -> int | None:
    """Index of the module's layer in ``LAYERS`` (None: not placed, e.g. ``harness/__init__``)."""
    group = group_of(module)
    return next((i for i, layer in enumerate(LAYERS) if group in layer), None)


def violations(g: nx.DiGraph) -> list[str]:
    """Every import that breaks the layering, as ``a -> b (file:line): why``."""
    out = []
    for a, b, data in g.edges(data=True):
        why = None
        la, lb = layer_of(a), layer_of(b)
        ga, gb = group_of(a), group_of(b)
        if ga == "reports" and gb == "checkers" and b not in REPORTS_MAY_IMPORT:
            why = "reports import only checkers' public types (checkers.result, checkers.history)"
        elif ga == "nemesis" and b.startswith("harness"):
            why = "nemesis imports nothing of harness"
        elif b == "harness.api" and a.startswith("harness.backends.external."):
            why = None  # shipped third-party systems are plugins written against the public API
        elif la is not None and lb is not None and lb > la:
            why = "upward import"
        elif la is not None and lb is not None and la == lb and ga != gb:
            why = f"{ga} and {gb} are peers and do not import each other"
        if why is not None and (a, b) not in ALLOWED:
            out.append(f"{a} -> {b} (line {data['line']}): {why}")
    return sorted(out)


def test_the_graph_sees_every_package() -> None:
    g = import_graph()
    assert {"harness.apps.cli", "harness.run.spec", "checkers.result", "reports.run_report",
            "nemesis.executor", "systems_under_test.registry"} <= set(g)
    assert g.has_edge("harness.run.session", "harness.run.spec")
    assert g.has_edge("reports.run_report", "checkers.result")


def test_no_import_cycles() -> None:
    g = import_graph()
    cycles = [c for c in nx.simple_cycles(g) if len(c) > 1][:10]
    assert nx.is_directed_acyclic_graph(g), "import cycles:\n" + "\n".join(" -> ".join(c + c[:1]) for c in cycles)


def test_no_upward_or_sideways_imports() -> None:
    assert violations(import_graph()) == []


def test_allowed_exceptions_are_still_needed() -> None:
    g = import_graph()
    assert [e for e in ALLOWED if not g.has_edge(*e)] == []


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in our_modules() if layer_of(m) is None and m not in {"harness"}]
    assert unplaced == [], "place these modules in LAYERS"


@pytest.mark.parametrize("src, expect", [
    ("from harness.run.spec import RunSpec\n", "upward import"),
    ("import harness.apps.cli\n", "upward import"),
    ("from harness.workloads import base\n", "peers"),
])
def test_the_checker_catches_violations(tmp_path: Path, src: str, expect: str) -> None:
    mods = set(our_modules())
    path = tmp_path / "backend.py"
    path.write_text(src)
    g = nx.DiGraph()
    for target, line in imports_of("harness.backends.fake", path, mods | {"harness.backends.fake"}):
        g.add_edge("harness.backends.fake", target, line=line)
    assert any(expect in v for v in violations(g)), violations(g)


def test_reports_may_not_reach_into_checker_internals(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text("def f():\n    from checkers.linearizability import check\n")
    g = nx.DiGraph()
    for target, line in imports_of("reports.x", path, set(our_modules())):
        g.add_edge("reports.x", target, line=line)
    assert violations(g) == [("reports.x -> checkers.linearizability (line 2): reports import only checkers' "
                              "public types (checkers.result, checkers.history)")]


def test_no_importorskip_of_our_own_modules() -> None:
    """A broken import of ours must fail the suite, not skip it."""
    found = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "importorskip" and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and str(node.args[0].value).split(".")[0] in PACKAGES):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
            if isinstance(node, ast.Try) and any(
                    isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                    for h in node.handlers):
                for stmt in node.body:
                    mods = ([a.name for a in stmt.names] if isinstance(stmt, ast.Import)
                            else [stmt.module or ""] if isinstance(stmt, ast.ImportFrom) and not stmt.level
                            else [])
                    found += [f"{path.relative_to(REPO)}:{stmt.lineno}" for m in mods
                              if m.split(".")[0] in PACKAGES]
    assert found == []
