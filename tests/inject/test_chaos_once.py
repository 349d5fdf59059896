"""tenfold.inject.chaos_once: when the harness is SIGKILLed mid-experiment, the rollbacks still run to the end.

The kernel sends the parent-death signal once per thread the orphan is handed to, so an experiment started from
a thread of a multi-threaded harness gets SIGINT twice; Chaos Toolkit's own CLI cuts its rollback on the second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tenfold.run import REPO

HARNESS = textwrap.dedent("""
    import signal, subprocess, sys, threading, time
    from tenfold.stack.procs import preexec
    argv = sys.argv[1:]
    def run():
        subprocess.Popen(argv, start_new_session=True, preexec_fn=preexec(death_signal=signal.SIGINT)).wait()
    for _ in range(3):
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    threading.Thread(target=run, daemon=True).start()
    time.sleep(60)
""")


def experiment(tmp_path: Path) -> Path:
    marker = tmp_path / "rolled-back"
    doc = {
        "version": "1.0.0", "title": "a fault that takes a while", "description": "rollback takes a second",
        "method": [{"type": "action", "name": "wait", "provider": {"type": "process", "path": "sleep",
                                                                   "arguments": "20"}}],
        "rollbacks": [{"type": "action", "name": "undo", "provider": {
            "type": "process", "path": "sh", "arguments": ["-c", f"sleep 1; touch {marker}"]}}],
    }  # fmt: skip
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(doc))
    return path


def sigkill_the_harness_mid_method(tmp_path: Path, chaos: list[str]) -> dict[str, object]:
    journal = tmp_path / "journal.json"
    argv = [*chaos, "--no-version-check", "--no-log-file", "run", "--rollback-strategy", "always",
            "--journal-path", str(journal), str(experiment(tmp_path))]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, *argv], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(4)  # Chaos Toolkit is up and inside the method's 20 s wait
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    deadline = time.monotonic() + 30
    while not journal.exists():
        assert time.monotonic() < deadline, "the experiment never finished"
        time.sleep(0.2)
    time.sleep(0.5)
    doc: dict[str, object] = json.loads(journal.read_text())
    return doc


def interrupted_twice(tmp_path: Path, chaos: list[str]) -> dict[str, object]:
    """SIGINT in the method, and another one half a second later, while the 1 s rollback runs."""
    journal = tmp_path / "journal.json"
    proc = subprocess.Popen([*chaos, "--no-version-check", "--no-log-file", "run", "--rollback-strategy", "always",
                             "--journal-path", str(journal), str(experiment(tmp_path))], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    doc: dict[str, object] = json.loads(journal.read_text())
    return doc


def test_a_sigkilled_harness_still_gets_its_rollbacks(tmp_path: Path) -> None:
    journal = sigkill_the_harness_mid_method(tmp_path, [sys.executable, "-m", "tenfold.inject.chaos_once"])
    assert journal["status"] == "interrupted"
    assert [r.get("status") for r in journal["rollbacks"]] == ["succeeded"]  # type: ignore[union-attr]
    assert (tmp_path / "rolled-back").exists()


def test_a_second_sigint_no_longer_cuts_the_rollback(tmp_path: Path) -> None:
    journal = interrupted_twice(tmp_path, [sys.executable, "-m", "tenfold.inject.chaos_once"])
    assert [r.get("status") for r in journal["rollbacks"]] == ["succeeded"]  # type: ignore[union-attr]
    assert (tmp_path / "rolled-back").exists()


def test_chaos_toolkits_own_cli_cuts_the_rollback_on_a_second_sigint(tmp_path: Path) -> None:
    """Why chaos_once exists: plain ``chaos`` leaves the rollback unfinished."""
    journal = interrupted_twice(tmp_path, [str(Path(sys.executable).parent / "chaos")])
    assert [r.get("status") for r in journal["rollbacks"]] != ["succeeded"]  # type: ignore[union-attr]
    assert not (tmp_path / "rolled-back").exists()
