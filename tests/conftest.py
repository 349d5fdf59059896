"""Fixtures shared by every test package: real stores, started once per session."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import resource
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from credentials import ENV as AUTH_ENV
from servers import left_behind, machine, seeded_stores

# A shell starts a background job (`make test &`, `nohup ... &`) with SIGINT ignored, and an ignored signal stays
# ignored in every process started from it: the tests that Ctrl-C a child (chaos run, tenfold up) would see the
# child ignore it. A handler (unlike SIG_IGN) is reset to the default in a child, so children get Ctrl-C back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


_EXCLUSIVE_MODULES: set[str] = set()
"""Modules with a test marked ``exclusive`` (filled at collection): they take the machine test by test."""


@pytest.fixture(scope="module", autouse=True)
def _module_share(request: pytest.FixtureRequest) -> Iterator[None]:
    """A module without exclusive tests holds the machine shared from its first fixture to its last teardown: its
    module-scoped stacks never start, idle or stop beside an exclusive test (servers.machine_to_itself), whose
    verdicts are about CPU time. Pure modules too: they are not free either (a 20k-row report, a mypy run)."""
    if request.module.__name__ in _EXCLUSIVE_MODULES:
        yield  # its tests take the machine one by one (_cpu_share), so its exclusive one can have it whole
        return
    with machine(fcntl.LOCK_SH):
        yield


@pytest.fixture(autouse=True)
def _cpu_share(request: pytest.FixtureRequest) -> Iterator[None]:
    """In a module with an exclusive test, each other test holds the machine shared while it runs."""
    if request.module.__name__ not in _EXCLUSIVE_MODULES or request.node.get_closest_marker("exclusive") is not None:
        yield  # its module holds it (_module_share), or its own fixture takes it whole
        return
    with machine(fcntl.LOCK_SH):
        yield


@pytest.fixture(scope="session", autouse=True)
def no_temp_dir_left() -> Iterator[None]:
    """Last to tear down: every /tmp/tenfold-* dir a fixture or test made (servers.tmpdir) is gone again.

    Left ones are removed here, and the session fails naming them, so a leak is fixed where it is made.
    """
    yield
    left = left_behind()
    assert not left, f"temp dirs left behind (remove them where they are made): {[str(d) for d in left]}"


@pytest.fixture(scope="session")
def stores() -> Iterator[dict[str, str]]:
    """One seeded set of stores shared by tests that do not break them (small data for speed). Started (and
    seeded) holding the machine shared: a session fixture comes before any module's hold."""
    with contextlib.ExitStack() as stack:
        with machine(fcntl.LOCK_SH):
            env = stack.enter_context(seeded_stores(titles=300, users=500))
        yield {**env, **AUTH_ENV}


_SERVER_FIXTURES = {"stores", "server", "target", "httpbin", "kinto_memory", "kinto_postgresql", "cluster", "stack",
                    "shared_home", "overload", "running_stack"}  # fmt: skip
_STARTERS = ("redis", "postgres", "dynalite", "moto", "service", "prometheus", "seeded_stores", "Server", "run_locust",
             "execute", "lifecycle")  # fmt: skip


_FILE_SECONDS = Path(os.environ.get("TENFOLD_TEST_FILE_SECONDS") or Path(__file__).with_name("file_seconds.json"))
"""Each test file's seconds in a recent ``make test`` (scripts/test_timeline.py --write): the longest start first.
``TENFOLD_TEST_FILE_SECONDS`` names another file (tests/test_test_order.py)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first (tests/file_seconds.json; ``make test`` keeps this order with
    ``--no-loadscope-reorder``, where xdist would start the files with the most tests first and leave the few long
    ones for the end), files with a test marked ``exclusive`` last: by then only short files run beside them, so
    their wait for the machine is short (first, they waited for the long files the other workers had started, 70 s),
    and ``servers`` on every test that starts a process or a server (a fixture that does, or a module that calls a
    starter), so ``make test-fast`` (``-m "not e2e and not servers"``) keeps the pure ones."""
    _EXCLUSIVE_MODULES.update(i.module.__name__ for i in items if isinstance(i, pytest.Function)
                              and i.get_closest_marker("exclusive") is not None)  # fmt: skip
    # Only where xdist keeps the suite's order (make test: whole files per worker). Test by test (make test-fast's
    # pure subset) the order of whole files' seconds made it slower (68 s instead of 53). Not `--dist`: xdist sets it
    # to "no" in its workers, which collect too, so that order was never used (tests/test_test_order.py).
    by_file = config.getoption("loadscopereorder", True) is False and _FILE_SECONDS.is_file()
    seconds: dict[str, int] = json.loads(_FILE_SECONDS.read_text()) if by_file else {}
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        first.setdefault(_file_of(item), index)
    exclusive = {_file_of(i) for i in items if i.get_closest_marker("exclusive") is not None}
    # Within a file its own order (an exclusive test before the others); files kept together: xdist sends whole files
    items.sort(key=lambda i: (_file_of(i) in exclusive, -seconds.get(_file_of(i), 0), first[_file_of(i)],
                              i.get_closest_marker("exclusive") is None))  # fmt: skip
    for item in items:
        module = getattr(item, "module", None)
        names = set(getattr(item, "fixturenames", ()))
        if names & _SERVER_FIXTURES or any(hasattr(module, s) for s in _STARTERS):
            item.add_marker(pytest.mark.servers)


def _file_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


_TIMELINE = os.environ.get("TENFOLD_TEST_TIMELINE")
"""A file to append one JSON line per test to (worker, test, start, end: setup to teardown), for finding what the
suite's wall time waits on: ``TENFOLD_TEST_TIMELINE=/tmp/t.jsonl make test``, then ``scripts/test_timeline.py``."""


def pytest_configure(config: pytest.Config) -> None:
    """The process that runs the tests takes the timeline's file out of its environment: the pytest runs that tests
    start themselves (tests/test_ci.py) must not write to it. An xdist controller keeps it for its workers."""
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        os.environ.pop("TENFOLD_TEST_TIMELINE", None)


def _cpu_seconds() -> float:
    """CPU this worker and every child it has reaped used so far. A child waited for within the test counts there (a
    generator, a run's own stack); one stopped by pid and reaped later counts where it is reaped, or nowhere: a stack
    from ``lifecycle.up`` (its controller is stopped by ``down`` from its pid file), the session's stores."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    start, cpu = time.time(), _cpu_seconds()
    yield
    if _TIMELINE:
        line = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "test": item.nodeid, "start": start,
                "end": time.time(), "cpu": round(_cpu_seconds() - cpu, 3)}  # fmt: skip
        with open(_TIMELINE, "a") as f:
            f.write(json.dumps(line) + "\n")
