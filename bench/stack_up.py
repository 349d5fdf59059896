"""How long `tenfold up` takes, one run each: cold (fresh state dir: initdb, seed; the DynamoDB store comes from
the machine's seed cache when an earlier run left one, see tenfold/stack/snapshot.py), warm (nothing running,
data kept), and `tenfold down`; plus the pids left behind (must be 0).

Uses a temp state dir and its own port base (TENFOLD_BENCH_PORT_BASE, default 29000), stopped at the end.
Seeding size: set TENFOLD_BENCH_SEED_USERS to seed fewer users than the full 100k.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from tenfold.stack import lifecycle, snapshot
from tenfold.stack.manifests import load_overlay
from tenfold.stack.state import pid_alive, read_state

__all__ = ["main"]


def _up(home: Path, base: int, users: int | None) -> tuple[float, list[int]]:
    start = time.monotonic()
    state = lifecycle.up(home, base, seed_users=users, timeout_s=180)
    return time.monotonic() - start, list(state.get("pids", []))


def _down(home: Path) -> tuple[float, list[int]]:
    pids = list((read_state(home) or {}).get("pids", []))
    start = time.monotonic()
    lifecycle.down(home)
    took = time.monotonic() - start
    time.sleep(0.5)
    return took, [p for p in pids if pid_alive(p)]


def main() -> dict[str, object]:
    base = int(os.environ.get("TENFOLD_BENCH_PORT_BASE", "29000"))
    users = int(os.environ["TENFOLD_BENCH_SEED_USERS"]) if "TENFOLD_BENCH_SEED_USERS" in os.environ else None
    home = Path(tempfile.mkdtemp(prefix="tenfold-bench-up-"))
    overlay = load_overlay()
    cached = snapshot.cached(snapshot.seed_key(users or overlay.seed_users, overlay.seed_titles))
    try:
        cold, pids = _up(home, base, users)
        down1, left1 = _down(home)
        warm, _ = _up(home, base, users)
        down2, left2 = _down(home)
    finally:
        lifecycle.down(home)
        shutil.rmtree(home, ignore_errors=True)
    print(f"{'case':<44}{'seconds':>9}")
    label = "tenfold up, cold, seed cache " + ("hit" if cached else "miss (full seed)")
    print(f"{label:<44}{cold:>9.1f}")
    print(f"{'tenfold up, warm (data kept, nothing running)':<44}{warm:>9.1f}")
    print(f"{'tenfold down':<44}{(down1 + down2) / 2:>9.1f}")
    print(f"processes started: {len(pids)}; left behind after down: {len(left1) + len(left2)}")
    print(f"cold/warm ratio: {cold / warm:.1f}x")
    table = [
        [f"`tenfold up`, cold (seed cache {'hit' if cached else 'miss'})", f"{cold:.1f} s", "—"],
        ["`tenfold up`, warm (data kept)", f"{warm:.1f} s", "—"],
        ["`tenfold down`", f"{(down1 + down2) / 2:.1f} s; {len(left1) + len(left2)} of {len(pids)} processes left",
         "0 left"],
    ]  # fmt: skip
    return {"table": table, "cold_s": round(cold, 2), "seed_cache": "hit" if cached else "miss",
            "warm_s": round(warm, 2),
            "down_s": round((down1 + down2) / 2, 2), "processes": len(pids),
            "left_after_down": len(left1) + len(left2)}  # fmt: skip


if __name__ == "__main__":
    main()
