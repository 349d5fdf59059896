"""Run every benchmark module in bench/ (or the ones named): ``python -m bench [NAME ...]``.

Each module ``bench/<name>.py`` exposes ``main()`` that prints ratios measured side by side in one run and returns
its figures; they are written to ``bench/results/<name>.json`` (with the command and the date), from which
docs/performance.md's tables are made (``python -m bench.tables``). A name followed by options (``python -m bench
calibrate --quick 3``) runs that one module, which reads the options.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
_NOT_BENCHES = {"tables"}


def write_result(name: str, figures: dict[str, object], command: str) -> Path:
    """``bench/results/<name>.json``: the figures, the command that printed them, when and on what."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {"bench": name, "command": command, "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "cores": os.cpu_count(), "figures": figures}  # fmt: skip
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = argv or sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_") and m.name not in _NOT_BENCHES
    )
    if any(a.startswith("-") for a in argv):
        names = argv[:1]  # its options are the module's (it reads sys.argv)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        if not argv and getattr(module, "STANDALONE", False):
            continue  # hours long (the calibration study): only when named
        if {"-h", "--help"} & set(argv[1:]) and not getattr(module, "STANDALONE", False):
            print(module.__doc__ or f"bench/{name}.py: no options")  # its help, not a run that rewrites its results
            return 0
        print(f"\n=== bench/{name}.py ===", flush=True)
        figures = module.main()
        if isinstance(figures, dict):
            options = argv[1:] if any(a.startswith("-") for a in argv) else []
            command = " ".join([".venv/bin/python -m bench", name, *options])
            print(f"figures: {write_result(name, figures, command)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
