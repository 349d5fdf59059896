"""Start children so that nothing outlives the controller: own process group, SIGKILL on parent death.

``PR_SET_PDEATHSIG`` fires when the *thread* that forked dies, so children are always started from the
controller's main (event loop) thread. PostgreSQL changes user, which clears the flag, so its ``setpriv``
wrapper sets it again (``--pdeathsig``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal as signals
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tenfold.stack.cgroups import Group
from tenfold.stack.state import pid_alive

__all__ = ["Proc", "kill_tree", "preexec"]

_PR_SET_PDEATHSIG = 1


def preexec(group: Group | None = None, death_signal: int = signals.SIGKILL, niceness: int = 0) -> Callable[[], None]:
    """Runs in the child before exec: get ``death_signal`` when the parent dies, join the cgroup before any code
    runs. Children that must clean up first (Chaos Toolkit's rollbacks, Locust's records) take SIGINT.
    ``niceness`` < 0 (root only; otherwise left as is) lets the child win the CPU over everything else."""

    libc = ctypes.CDLL("libc.so.6", use_errno=True)  # loaded here: no dlopen in a child forked beside threads

    def _run() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
        if os.getppid() == 1:  # the parent died between fork and prctl
            os._exit(1)
        if group is not None:
            group.add(os.getpid())
        if niceness:
            with contextlib.suppress(OSError):
                os.nice(niceness)
            # With the kernel's autogroups on (Debian's default), a process in a session of its own competes as
            # its session, at the session's nice, whatever its own: on a box where the stack's ~20 sessions are
            # busy, the generator's session got 1/20 of the CPU and its arrivals left 50-100 ms late.
            with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as f:
                f.write(str(niceness))

    return _run


class Proc:
    """One child process: started, watched, signalled and stopped by the controller."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log: Path,
        group: Group | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.log = log
        self.group = group
        self.popen: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.exit_code: int | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec(self.group),
            )
        self.started_at = time.monotonic()
        self.exit_code = None

    def alive(self) -> bool:
        if self.popen is None:
            return False
        code = self.popen.poll()
        if code is not None:
            self.exit_code = code
            return False
        return True

    def signal(self, sig: int) -> None:
        if self.popen is not None and self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self, timeout_s: float = 5.0, sig: int = signals.SIGTERM) -> None:
        """``sig`` to the process group, then SIGKILL after ``timeout_s``; always reaps."""
        if self.popen is None:
            return
        if self.group is not None and self.group.frozen():
            self.group.freeze(False)
        self.signal(sig)
        try:
            self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.signal(signals.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(2.0)
        kill_tree([self.popen.pid])
        self.alive()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def kill_tree(pids: Sequence[int]) -> None:
    """SIGKILL every still-live pid and its process group (leftovers after a controller crash)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signals.SIGKILL)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signals.SIGKILL)
