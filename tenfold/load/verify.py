"""Read back every acknowledged write (Jepsen-style): the locustfile's verifiers against the run's ledger.

``python -m tenfold.load.verify --locustfile F --run-dir D --host URL`` imports the locustfile (which registers
its ``@ledger.verifier`` functions), calls each kind's verifier once per acknowledged key with an
``httpx.Client`` whose ``base_url`` is the target (bounded concurrency, a progress line every few seconds) and
writes ``D/durability.json``. ``tenfold run`` runs it after the load and the experiments' rollbacks; a bare
Locust run does it itself when it quits. Only collection talks to the live system: evaluation reads the file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tenfold import ledger
from tenfold.layout import DURABILITY, LEDGER

from ._ledger import read_ledger

__all__ = ["import_locustfile", "main", "verify_run"]

_MISSING_LISTED = 1000
_TRIES = 3


def import_locustfile(path: str | Path) -> None:
    """Import a locustfile by path (its folder first on sys.path, as Locust does) so its verifiers register."""
    p = Path(path).resolve()
    sys.path.insert(0, str(p.parent))
    name = p.stem if p.stem != "locust" else "locustfile"
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {p}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


def _check(fn: Callable[[Any, str], bool | None], client: httpx.Client, key: str) -> tuple[bool | None, str | None]:
    """The verifier's answer, retried on exceptions (a verifier that cannot reach the service is no verdict)."""
    error = None
    for attempt in range(_TRIES):
        try:
            got = fn(client, key)
        except Exception as e:  # the user's code: anything may come out
            error = f"{type(e).__name__}: {e}"[:300]
            time.sleep(0.2 * (attempt + 1))
            continue
        return (None if got is None else bool(got)), None
    return None, error


def verify_run(
    run_dir: str | Path, host: str, *, say: Callable[[str], None] = print, concurrency: int = 8,
    timeout_s: float = 10.0,
) -> dict[str, Any]:  # fmt: skip
    """Check every acknowledged write of ``run_dir/ledger.jsonl``; writes and returns ``durability.json``."""
    run = Path(run_dir)
    entries = read_ledger(run / LEDGER)
    ledger._set_history(entries)
    fns = ledger.verifiers()
    acknowledged = Counter(e.kind for e in entries if e.outcome == "acknowledged")
    unknown = Counter(e.kind for e in entries if e.outcome == "unknown")
    keys: dict[tuple[str, str], float] = {}
    for e in entries:
        if e.outcome == "acknowledged" and e.kind in fns:
            keys.setdefault((e.kind, e.key), e.ack)
    started = time.monotonic()
    results: dict[tuple[str, str], tuple[bool | None, str | None]] = {}
    if keys:
        say(f"verifying {len(keys):,} acknowledged writes ({', '.join(sorted({k for k, _ in keys}))}) "
            f"against {host} …")  # fmt: skip
        last = time.monotonic()
        with httpx.Client(base_url=host, timeout=timeout_s) as client, ThreadPoolExecutor(concurrency) as pool:
            futures = {k: pool.submit(_check, fns[k[0]], client, k[1]) for k in keys}
            for i, (k, f) in enumerate(futures.items(), 1):
                results[k] = f.result()
                if time.monotonic() - last >= 3.0:
                    last = time.monotonic()
                    say(f"verified {i:,} of {len(keys):,} acknowledged writes")
    lost = [(k, keys[k]) for k, (ok, _) in results.items() if ok is False]
    unverified = Counter(k[0] for k, (ok, err) in results.items() if ok is None and err is None)
    errors = Counter(k[0] for k, (_, err) in results.items() if err is not None)
    doc: dict[str, Any] = {
        "acknowledged": dict(acknowledged),
        "unknown": dict(unknown),
        "checked": dict(Counter(k for k, _ in keys)),
        "lost": dict(Counter(k[0] for k, _ in lost)),
        "missing": [{"kind": k, "key": key, "ack": ack} for (k, key), ack in lost[:_MISSING_LISTED]],
        "unverified": dict(unverified),
        "errors": dict(errors),
        "error_examples": sorted({err for _, err in results.values() if err})[:5],
        "unchecked": sorted(k for k in acknowledged if k not in fns),
        "verifiers": sorted(fns),
        "duration_s": round(time.monotonic() - started, 3),
        "checked_at": time.time(),
    }
    (run / DURABILITY).write_text(json.dumps(doc, indent=2))
    if keys:
        say(f"verified {len(keys):,} acknowledged writes in {doc['duration_s']:.1f} s: {len(lost)} lost, "
            f"{sum(unverified.values())} unverified, {sum(errors.values())} errors")  # fmt: skip
    return doc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tenfold.load.verify", description=__doc__.split("\n\n")[0])
    p.add_argument("--locustfile", required=True, help="the locustfile whose @ledger.verifier functions to use")
    p.add_argument("--run-dir", required=True, help="the run folder with ledger.jsonl")
    p.add_argument("--host", required=True, help="the target's base URL (the verifiers' client's base_url)")
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args(argv)
    import_locustfile(args.locustfile)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    verify_run(args.run_dir, args.host, say=say, concurrency=args.concurrency)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
