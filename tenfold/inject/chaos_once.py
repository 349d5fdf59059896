"""``python -m tenfold.inject.chaos_once ARGS``: Chaos Toolkit's ``chaos`` CLI, except that only the first SIGINT
counts.

Chaos Toolkit treats a second Ctrl-C as "skip the remaining rollbacks". ``tenfold run`` sends each experiment
exactly one SIGINT on purpose, but when the harness itself is SIGKILLed the kernel delivers the parent-death
signal once per thread of the dead process that the child gets handed to (seen here: two SIGINTs in the same
millisecond), and the rollback that the first one started was cut off by the second. Here the first SIGINT
interrupts the experiment as Ctrl-C would and later ones are ignored, so the rollbacks always run.
To stop an experiment without its rollbacks, Chaos Toolkit's own SIGUSR2 still works.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

__all__ = ["main"]


def _first_sigint_only(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGINT, _first_sigint_only)
    from chaostoolkit.__main__ import cli  # type: ignore[import-untyped]

    sys.argv[0] = "chaos"
    result = cli()  # click's main: exits itself; returns only in standalone_mode=False
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
