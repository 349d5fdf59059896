"""The 10x spike, open-model: ``locust -f locustfiles/spike.py --headless --host URL [--quick]``.

Writes requests.parquet, ledger.jsonl and load.json into ``--run-dir`` (env TENFOLD_RUN_DIR); exits 2
when the generator itself was saturated, so the run cannot be trusted.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # siblings import by name under any cwd
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the repo root, for `tenfold`

from shapes import SpikeShape
from users import StreamingViewers

from tenfold.load.locust_plugin import install

__all__ = ["SpikeShape", "StreamingViewers"]

install()
