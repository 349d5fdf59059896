"""The suite's file order (tests/conftest.py): under ``make test``'s xdist options each worker collects the files
longest first (tests/file_seconds.json); otherwise (``make test-fast``) in their own order. Checked in the workers
themselves, where the order is made: xdist gives them other options than the command line's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FILES = ["tests/test_promql.py", "tests/test_validity.py"]  # pure and quick; alphabetical, as pytest collects them

RECORDER = """
import os

def pytest_collection_finish(session):
    files = []
    for item in session.items:
        path = item.nodeid.split("::", 1)[0]
        if path not in files:
            files.append(path)
    with open(os.environ["ORDER_OUT"], "a") as f:
        f.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + " " + " ".join(files) + "\\n")
"""


def _worker_orders(tmp_path: Path, *options: str) -> set[str]:
    (tmp_path / "order_recorder.py").write_text(RECORDER)
    seconds = tmp_path / "seconds.json"
    seconds.write_text(json.dumps({FILES[0]: 1, FILES[1]: 100}))  # the second file is the long one
    out = tmp_path / "order.txt"
    env = {**os.environ, "ORDER_OUT": str(out), "TENFOLD_TEST_FILE_SECONDS": str(seconds),
           "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}  # fmt: skip
    env.pop("PYTEST_ADDOPTS", None)  # .ci/run's JUnit report is the outer run's
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "order_recorder", "-p", "no:cacheprovider", "-n", "2", *options,
         *FILES],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = out.read_text().splitlines()
    assert {line.split()[0] for line in lines} == {"gw0", "gw1"}, lines  # recorded in the workers
    return {line.split(" ", 1)[1] for line in lines}


@pytest.mark.servers
def test_make_tests_workers_collect_the_longest_file_first(tmp_path: Path) -> None:
    assert _worker_orders(tmp_path, "--dist", "loadfile", "--no-loadscope-reorder") == {f"{FILES[1]} {FILES[0]}"}


@pytest.mark.servers
def test_without_it_the_workers_keep_the_files_own_order(tmp_path: Path) -> None:
    assert _worker_orders(tmp_path) == {f"{FILES[0]} {FILES[1]}"}
