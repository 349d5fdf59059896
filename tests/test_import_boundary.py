"""The harness knows nothing of its demo system: ``tenfold/`` and ``reports/`` never import ``reference_services``
(nor the reference workload in ``locustfiles/``). The reference system reaches the harness only as any user's
service does: a locustfile, a scenario, an SLO file, experiments, verifiers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from servers import ROOT

HARNESS = ("tenfold", "reports")
FORBIDDEN = ("reference_services", "locustfiles")


def _modules() -> list[tuple[str, Path]]:
    out = []
    for pkg in HARNESS:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out.append((".".join(parts), path))
    return out


def _type_only(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:``: imports for annotations, which never run (import-linter's
    ``exclude_type_checking_imports``): the indicators name ``reports.slo.Objective`` in their signatures while the
    SLO file takes its indicators from their registry."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:`` (its ``else:`` runs, so it is kept)."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if _type_only(node):
            assert isinstance(node, ast.If)
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def _imports(module: str, path: Path) -> set[str]:
    """The modules ``module`` imports when it runs (at import time or in a function)."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
    return names


def test_no_harness_module_imports_the_reference_system() -> None:
    found = [(m, n) for m, p in _modules() for n in _imports(m, p) if n.split(".")[0] in FORBIDDEN]
    assert found == [], f"the harness imports the system under test: {found}"
    assert len(_modules()) > 50  # the walk saw the harness


def test_every_harness_module_imports_with_the_reference_system_absent() -> None:
    """Importing each module (what runs at import time included) with ``reference_services`` and ``locustfiles``
    made unimportable: a dynamic import would fail here even where the source scan cannot see it."""
    names = [m for m, p in _modules() if p.name != "open_model.py" and "/starter/" not in str(p)]
    script = f"""
import importlib, importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {FORBIDDEN!r}:
            raise ImportError("the harness imported " + name)
sys.meta_path.insert(0, Block())
for name in {names!r}:
    importlib.import_module(name)
print("imported", len({names!r}))
"""
    r = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"imported {len(names)}" in r.stdout


BASE = ("tenfold.errors", "tenfold.userfile", "tenfold.promql", "tenfold.layout", "tenfold.validity")
"""What every room may use: errors, the reading of a user's YAML file, the Prometheus client, the run folder's names
and the run's validity rules. They import nothing else of the harness."""


def _graph() -> dict[str, set[str]]:
    """Module -> the harness modules it imports (an import of a package's name resolves to its ``__init__``)."""
    mods = dict(_modules())
    graph: dict[str, set[str]] = {}
    for module, path in mods.items():
        deps = set()
        for name in _imports(module, path):
            parts = name.split(".")
            while parts and ".".join(parts) not in mods:
                parts.pop()
            if parts and ".".join(parts) != module:
                deps.add(".".join(parts))
        graph[module] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_two_harness_modules_import_each_other() -> None:
    """Data flows one way; a loop (even through a function-level import) means two modules are one room."""
    assert _cycles(_graph()) == []


def test_a_loop_is_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_type_only_imports_are_no_arrows(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\nimport typing\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\n"
        "if typing.TYPE_CHECKING:\n    from c import d\ndef f():\n    import e\n"
    )
    assert _imports("m", src) == {"typing", "b", "e"}


def test_the_report_imports_nothing_of_the_harness_but_its_base() -> None:
    """``reports/`` (evaluate, render) sits above the base and below the orchestrator: ``tenfold`` may import it, it
    imports from ``tenfold`` only errors, user files, the Prometheus client, the run folder's names and validity."""
    graph = _graph()
    upward = sorted((m, d) for m, deps in graph.items() if m.startswith("reports") for d in deps
                    if d.startswith("tenfold") and d not in BASE)  # fmt: skip
    assert upward == []
    for base in BASE:
        assert graph[base] <= set(BASE), (base, graph[base])


def test_the_architecture_map_names_only_rooms_that_exist() -> None:
    """docs/architecture.md tells a newcomer which room to open: every path it names is there."""
    import re

    text = (ROOT / "docs" / "architecture.md").read_text()
    paths = {p for p in re.findall(r"`([\w./-]+/[\w./-]*)`", text) if "<" not in p and not p.startswith("runs/")}
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert len(paths) > 25 and missing == [], missing
