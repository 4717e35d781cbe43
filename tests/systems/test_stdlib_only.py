"""systems_under_test runs in a bare container: stdlib imports only; protocol cores stay sans-IO."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "systems_under_test"
FORBIDDEN_IN_CORES = {"asyncio", "socket", "time", "threading", "os", "subprocess", "selectors"}
MODULES = sorted(PKG.rglob("*.py"))


def _imports(tree: ast.AST) -> list[str]:
    """Top-level module names imported anywhere in ``tree`` (relative imports count as our own)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("systems_under_test" if node.level else (node.module or "").split(".")[0])
    return names


def _is_core(path: Path) -> bool:
    """Every module except the real host is protocol logic."""
    return "runtime" not in path.relative_to(PKG).parts


def test_scan_sees_the_packages() -> None:
    rel = {p.relative_to(PKG).as_posix() for p in MODULES}
    assert {"core.py", "kv.py", "replication/core.py", "runtime/host.py"} <= rel


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PKG).as_posix())
def test_imports_are_stdlib_or_our_own(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    foreign = [m for m in _imports(tree) if m not in sys.stdlib_module_names and m != "systems_under_test"]
    assert foreign == [], f"{path}: non-stdlib imports {foreign}"
    if _is_core(path):
        io = sorted(set(_imports(tree)) & FORBIDDEN_IN_CORES)
        assert io == [], f"{path}: a protocol core imports {io}"
        calls = [
            f"random.{n.func.attr}"
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and isinstance(n.func.value, ast.Name)
            and n.func.value.id == "random"
            and n.func.attr != "Random"
        ]
        assert calls == [], f"{path}: module-level randomness {calls} (use the injected rng)"
        from_random = [
            a.name
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module == "random"
            for a in n.names
            if a.name != "Random"
        ]
        assert from_random == [], f"{path}: imports {from_random} from random"


def test_the_scanner_catches_violations() -> None:
    bad = ast.parse("import asyncio\nimport click\nfrom .x import y\n")
    assert _imports(bad) == ["asyncio", "click", "systems_under_test"]
