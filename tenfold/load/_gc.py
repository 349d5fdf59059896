"""Deferred garbage collection while the arrival clock runs: no collection pause lands on the requests.

CPython's cyclic collector runs whenever enough objects were allocated. With a thousand requests in flight a
full (generation 2) collection walks every live greenlet, response and token, and the process stops for 50 ms to
a second (on a busy 2-core box at 1,600 req/s, 0.6 - 1 s): every request due in that time leaves late, and the
run's start-lag p99 (limit 50 ms) measures the generator, not the service. One such pause at the peak of an
80-second overload run delays 2% of its requests; collecting on a fixed cadence only moves the pauses around.

Cyclic garbage is rare in a normal run (about one object per two requests: everything else is freed by reference
counting), so while the clock runs the objects made during set-up are frozen (never walked again), automatic
collection is off, and a collection runs only once ``max_new_objects`` more objects are alive than after the last
one. Under a 20x overload it is more (~250k unreachable objects per process in 35 s of peak: a collection then
took 0.5 - 0.7 s), so the default (1M) lets an overload run finish first; what it holds back is bounded by that
count (a few hundred MB at most), each collection is logged ("deferred garbage collection") in locust.log, and
the process is as it was once the clock ends.
``python -m bench gc_deferral`` measures the start lag both ways side by side.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import gevent

__all__ = ["CHECK_EVERY_S", "DEFAULT_MAX_NEW_OBJECTS", "deferred_collection", "max_new_objects_from_env"]

DEFAULT_MAX_NEW_OBJECTS = 1_000_000
CHECK_EVERY_S = 2.0

log = logging.getLogger("tenfold.load")


def max_new_objects_from_env() -> int:
    """``TENFOLD_GC_MAX_NEW_OBJECTS``: objects allowed to pile up before a collection (0: CPython's automatic
    collection, for comparing)."""
    raw = os.environ.get("TENFOLD_GC_MAX_NEW_OBJECTS", "")
    try:
        value = int(raw) if raw else DEFAULT_MAX_NEW_OBJECTS
    except ValueError:
        value = -1
    if value < 0:
        raise SystemExit(f"TENFOLD_GC_MAX_NEW_OBJECTS={raw!r} is not a count of objects (0 turns deferring off)")
    return value


@contextmanager
def deferred_collection(max_new_objects: int = DEFAULT_MAX_NEW_OBJECTS) -> Iterator[None]:
    """Inside: set-up objects frozen, automatic collection off, a full collection only once ``max_new_objects``
    more tracked objects are alive than after the last one (checked every ``CHECK_EVERY_S`` s on the gevent loop).

    On leaving, the checker stops, nothing stays frozen, and collection is automatic again (as it was, if it was
    off). ``max_new_objects`` 0: nothing changes (CPython's automatic collection).
    """
    if max_new_objects <= 0:
        yield
        return
    was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()

    def collect_when_piled_up() -> None:
        while True:
            gevent.sleep(CHECK_EVERY_S)
            new = gc.get_count()[0]  # tracked allocations minus deallocations since the last collection
            if new >= max_new_objects:
                start = time.perf_counter()
                found = gc.collect()
                log.info("tenfold: deferred garbage collection: %d new objects, %d unreachable, %.0f ms",
                         new, found, (time.perf_counter() - start) * 1000)  # fmt: skip

    checker = gevent.spawn(collect_when_piled_up)
    try:
        yield
    finally:
        checker.kill(block=False)
        gc.unfreeze()
        if was_enabled:
            gc.enable()
