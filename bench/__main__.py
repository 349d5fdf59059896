"""Run every benchmark module in bench/ (or the ones named): ``python -m bench [NAME ...]``.

Each module ``bench/<name>.py`` exposes ``main() -> None`` that prints ratios measured side by side. A name
followed by options (``python -m bench calibrate --quick 3``) runs that one module, which reads the options.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = argv or sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    if any(a.startswith("-") for a in argv):
        names = argv[:1]  # its options are the module's (it reads sys.argv)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        if not argv and getattr(module, "STANDALONE", False):
            continue  # hours long (the calibration study): only when named
        print(f"\n=== bench/{name}.py ===", flush=True)
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
