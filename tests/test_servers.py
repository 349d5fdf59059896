"""The test helpers' own promises: a reference service that never gets ready is not left running, and the error
says why (its /readyz and its log), so a failure under `make test` explains itself."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from credentials import ENV as AUTH_ENV
from servers import Server, busy_beside_us, free_port, port_open, service, tmpdir


def test_a_service_that_never_gets_ready_is_killed_and_the_error_says_why() -> None:
    dead = f"postgresql://tenfold@127.0.0.1:{free_port()}/x"
    d = tmpdir("never-ready")
    try:
        with pytest.raises(TimeoutError) as err:
            service("users", {**AUTH_ENV, "TENFOLD_POSTGRES_DSN": dead}, log=d / "users.log", ready_timeout=1.5)
    finally:
        shutil.rmtree(d)
    text = str(err.value)
    assert re.search(r'"postgres":\s*"error: ', text), text  # the dependency and its error, from /readyz
    assert '\n  log: {"ts":' in text and '"service":"users"' in text, text  # and the service's last log lines
    port = int(re.search(r"users ready on port (\d+)", text)[1])  # type: ignore[index]
    assert not port_open(port)


def test_a_server_that_exits_before_listening_fails_at_once_with_its_exit_code() -> None:
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"exited \(3\) before listening"):
        Server("quitter", ["sh", "-c", "exit 3"], free_port()).start().wait_port(30)
    assert time.monotonic() - started < 10  # not the 30 s timeout


def test_a_busy_process_outside_our_tree_is_named_at_an_exclusive_start() -> None:
    # A busy loop that is not our child (its shell exits, init adopts it), as a process a test left behind; 3 s bound.
    burn = "import time\nt = time.time() + 3\nwhile time.time() < t: pass"
    out = subprocess.run(["sh", "-c", f'{sys.executable} -c "{burn}" >/dev/null 2>&1 & echo $!'],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    pid = int(out)
    try:
        assert f"(pid {pid})" in busy_beside_us(0.5)
        assert f"(pid {pid})" not in busy_beside_us(0.5, over=2.0)  # no process uses more than two cores of two
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
