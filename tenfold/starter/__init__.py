"""The starter set ``tenfold init`` writes, also the defaults of a run with only ``--locustfile``.

``scenario.yaml`` and ``slo.yaml`` here are what ``tenfold run --target URL --locustfile FILE`` uses when no
``--scenario-file`` / ``--slo`` is given.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FILES", "STARTER", "write_starter"]

STARTER = Path(__file__).resolve().parent
FILES = ("locustfile.py", "scenario.yaml", "slo.yaml", "experiments/pause-service.json")
"""What ``tenfold init`` copies, relative to the starter folder and to the folder it writes."""


def write_starter(dest: Path) -> list[tuple[Path, bool]]:
    """Copy the starter files into ``dest``; an existing file is kept. Returns (path, written) per file."""
    out = []
    for rel in FILES:
        target = dest / rel
        if target.exists():
            out.append((target, False))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((STARTER / rel).read_bytes())
        out.append((target, True))
    return out
