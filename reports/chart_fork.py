"""Charts drawn in a forked child while this process draws the others (a large run on a multi-core machine):
matplotlib's fixed cost is most of a chart's time, so two processes take about half as long. Any trouble in the
child (an error, a timeout) and the caller draws those charts itself.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import threading
import time
from collections.abc import Callable, Sequence

from reports.chart_kit import Chart

__all__ = ["Builder", "Forked", "can_fork"]

_CHILD_TIMEOUT_S = 60.0
Builder = Callable[[], "Chart | None"]


def can_fork() -> bool:
    return hasattr(os, "fork") and hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) > 1


class Forked:
    """Builders run in a forked child; ``result()`` returns their charts, or None if the child failed.

    The child only draws with matplotlib and numpy on arrays it inherited, writes pickled charts to a
    pipe and leaves with ``os._exit`` (no atexit handlers, no destructors of the parent's objects).
    """

    def __init__(self, builders: Sequence[Builder]) -> None:
        self.count = len(builders)
        read, write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # child
            code = 1
            try:
                os.close(read)
                data = pickle.dumps([b() for b in builders])
                with os.fdopen(write, "wb") as out:
                    out.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self.fd = read

    def result(self) -> list[Chart | None] | None:
        chunks: list[bytes] = []
        deadline = time.monotonic() + _CHILD_TIMEOUT_S
        timed_out = False
        try:
            while True:
                ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    timed_out = True
                    os.kill(self.pid, signal.SIGKILL)
                    break
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self.fd)
            if timed_out:
                os.waitpid(self.pid, 0)
            else:  # the pipe is closed: the charts are here, while the child's exit (~10 ms at 1M rows) goes on
                threading.Thread(target=os.waitpid, args=(self.pid, 0), name="chart-child-reaper", daemon=True).start()
        if timed_out:
            return None
        try:  # a child that failed wrote nothing (or, killed while writing, a part): no whole pickle
            charts = pickle.loads(b"".join(chunks))
        except Exception:
            return None
        return charts if isinstance(charts, list) and len(charts) == self.count else None
