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


def _imports(module: str, path: Path) -> set[str]:
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
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
