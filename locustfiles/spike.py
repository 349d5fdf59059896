"""The 10x spike on its own: ``locust -f locustfiles/spike.py --headless --host URL [--quick]``.

The viewers of ``viewers.py`` under tenfold's open model with this folder's ``scenarios.yaml``; writes
requests.parquet, ledger.jsonl and load.json into ``--run-dir`` (env TENFOLD_RUN_DIR); exits 2 when the
generator itself was saturated, so the run cannot be trusted. (``tenfold run`` runs viewers.py the same way.)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # siblings import by name under any cwd
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the repo root, for `tenfold` and the seed data

from viewers import Viewer

from tenfold.load.locust_plugin import OpenModelClock, OpenModelShape, install

__all__ = ["OpenModelClock", "OpenModelShape", "Viewer"]

install(scenario_file=Path(__file__).resolve().with_name("scenarios.yaml"))
