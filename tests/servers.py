"""Real servers for tests, each in its own temp dir on a free loopback port, stopped by pid afterwards.

Every temp dir comes from :func:`tmpdir`, which records it in :data:`CREATED`; a server removes the dirs it owns
once it has stopped, and the session's guard (tests/conftest.py) fails the run if any recorded dir is left.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DYNALITE = ROOT / "tools" / "node_modules" / ".bin" / "dynalite"
MOTO = Path(sys.executable).parent / "moto_server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    check: Callable[[], bool], timeout: float = 15.0, what: str = "condition",
    gave_up: Callable[[], str | None] | None = None,
) -> None:  # fmt: skip
    """Until ``check`` is true (its exceptions count as false), or TimeoutError; RuntimeError at once when
    ``gave_up`` says why waiting on is no use (a process that exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        if gave_up is not None and (why := gave_up()):
            raise RuntimeError(why)
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    """A child process we own: started in its own process group, stopped by pid."""

    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    dirs: list[Path] = field(default_factory=list)  # temp dirs it owns: removed once it has stopped

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv, env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def wait_port(self, timeout: float = 15.0) -> Server:
        def exited() -> str | None:
            if self.alive():
                return None
            code = None if self.proc is None else self.proc.returncode
            return f"{self.name} exited ({code}) before listening on port {self.port}"

        try:
            wait_for(lambda: port_open(self.port), timeout, f"{self.name} on port {self.port}", gave_up=exited)
        except BaseException:
            self.kill()  # never leave a half-started server behind
            raise
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        for d in self.dirs:  # as root, also a PostgreSQL data dir owned by postgres
            shutil.rmtree(d, ignore_errors=True)
        return None if self.proc is None else self.proc.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


CREATED: list[Path] = []  # every dir tmpdir() made in this process; the session checks none is left


def tmpdir(prefix: str, owner: str | None = None) -> Path:
    """A fresh ``/tmp/tenfold-<prefix>-*`` dir (chowned to ``owner``), recorded in :data:`CREATED`.

    Whoever asks removes it: a server through ``Server.dirs``, a test in its ``finally``.
    """
    path = Path(tempfile.mkdtemp(prefix=f"tenfold-{prefix}-", dir="/tmp"))
    CREATED.append(path)
    if owner:
        shutil.chown(path, owner, owner)
    return path


def left_behind() -> list[Path]:
    """The dirs :func:`tmpdir` made that still exist; removed here (the caller reports them)."""
    left = [d for d in CREATED if d.exists()]
    for d in left:
        shutil.rmtree(d, ignore_errors=True)
    return left


def redis(tmp: Path | None = None) -> Server:
    port = free_port()
    d = tmp or tmpdir("redis")
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(d)]  # fmt: skip
    return Server("redis", argv, port, dirs=[] if tmp else [d]).start().wait_port()


def postgres() -> tuple[Server, str]:
    d = tmpdir("pg", "postgres")
    data = d / "data"
    port = free_port()
    argv = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", str(PG_BIN / "postgres"),
            "-D", str(data), "-p", str(port), "-k", str(d), "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "synchronous_commit=on"]  # fmt: skip
    server = Server("postgres", argv, port, log=d / "postgres.log", dirs=[d])
    try:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "--auth=trust", "--no-sync", "-U", "tenfold",
             "-D", str(data)],
            check=True, capture_output=True,
        )  # fmt: skip
        server.start().wait_port()
        wait_for(
            lambda: subprocess.run(
                [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "tenfold", "-d", "postgres", "-c",
                 "SELECT 1"], capture_output=True).returncode == 0,
            what="postgres accepting queries",
        )  # fmt: skip
        subprocess.run(
            [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "tenfold", "-d", "postgres", "-c",
             "CREATE DATABASE tenfold"], check=True, capture_output=True,
        )  # fmt: skip
    except BaseException:
        server.kill()  # and its dir
        raise
    return server, f"postgresql://tenfold@127.0.0.1:{port}/tenfold"


def dynalite() -> Server:
    port = free_port()
    return Server("dynalite", [str(DYNALITE), "--port", str(port), "--createTableMs", "5"], port).start().wait_port()


def moto() -> Server:
    port = free_port()
    return Server("moto", [str(MOTO), "-H", "127.0.0.1", "-p", str(port)], port).start().wait_port(30)


@contextlib.contextmanager
def seeded_stores(*, titles: int, users: int, seed_timeout_s: float = 120) -> Iterator[dict[str, str]]:
    """Redis, PostgreSQL, dynalite and moto, seeded with ``titles`` and ``users``; yields the services' settings for
    them (``TENFOLD_*``) and stops them all after."""
    servers: list[Server] = []
    try:
        r = redis()
        servers.append(r)
        pg, dsn = postgres()
        servers.append(pg)
        dyn = dynalite()
        servers.append(dyn)
        s3 = moto()
        servers.append(s3)
        subprocess.run(
            [sys.executable, "-m", "reference_services.seed", "--postgres-dsn", dsn, "--dynamodb-endpoint", dyn.url,
             "--s3-endpoint", s3.url, "--titles", str(titles), "--users", str(users)],
            check=True, capture_output=True, timeout=seed_timeout_s, cwd=str(ROOT),
        )  # fmt: skip
        yield {
            "TENFOLD_REDIS_URL": f"redis://127.0.0.1:{r.port}/0",
            "TENFOLD_POSTGRES_DSN": dsn,
            "TENFOLD_DYNAMODB_ENDPOINT": dyn.url,
            "TENFOLD_S3_ENDPOINT": s3.url,
        }
    finally:
        for s in servers:
            s.stop()


def service(
    name: str, env: dict[str, str], *, ready: bool = True, log: Path | None = None, ready_timeout: float = 60.0
) -> Server:
    """A reference service started with ``env``; by default once its /readyz is 200 (its required dependencies
    answered). One that never gets there is killed, and the error says what its /readyz and log said last."""
    port = free_port()
    full_env = {"TENFOLD_PORT": str(port), "TENFOLD_DRAIN_SECONDS": "0.2", **env}
    s = Server(name, [sys.executable, "-m", "reference_services", name], port, env=full_env, log=log).start()
    s.wait_port(60)  # generous: under `make test` other workers' stacks share the two cores
    if ready:
        try:
            wait_for(lambda: httpx.get(s.url + "/readyz").status_code == 200, ready_timeout,
                     f"{name} ready on port {port}")  # fmt: skip
        except TimeoutError as exc:
            why = _not_ready_why(s)
            s.kill()
            raise TimeoutError(f"{exc}; {why}") from None
        except BaseException:
            s.kill()
            raise
    return s


def _not_ready_why(s: Server) -> str:
    """What a service that never became ready said: its last /readyz (each dependency's error) and its log's tail."""
    try:
        said = httpx.get(s.url + "/readyz", timeout=10).text
    except httpx.HTTPError as exc:
        said = f"no answer ({type(exc).__name__})"
    tail = s.log.read_text(errors="replace").splitlines()[-5:] if s.log is not None and s.log.is_file() else []
    return f"/readyz said {said}" + "".join(f"\n  log: {line}" for line in tail)


def prometheus(targets: list[str], interval: str = "1s") -> Server:
    """A real Prometheus scraping ``targets`` (host:port) every ``interval``."""
    d = tmpdir("prometheus")
    port = free_port()
    (d / "prometheus.yml").write_text(
        f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
        "scrape_configs:\n  - job_name: services\n    static_configs:\n"
        f"      - targets: [{', '.join(repr(t) for t in targets)}]\n"
    )
    argv = ["prometheus", f"--config.file={d / 'prometheus.yml'}", f"--storage.tsdb.path={d / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    server = Server("prometheus", argv, port, log=d / "prometheus.log", dirs=[d]).start().wait_port()
    try:
        wait_for(lambda: httpx.get(f"{server.url}/-/ready").status_code == 200, what="prometheus ready")
    except BaseException:
        server.kill()
        raise
    return server


CPU_CGROUP = Path("/sys/fs/cgroup/cpu")


@contextlib.contextmanager
def cpu_capped_group(name: str, cores: float) -> Iterator[Path]:
    """A cgroup v1 ``cpu`` group capped at ``cores`` (write pids into ``<group>/cgroup.procs``), removed afterwards.

    Processes still in it are moved back to the root group first, so the group can always be removed.
    """
    group = CPU_CGROUP / f"tenfold-test-{name}-{os.getpid()}"
    group.mkdir()
    try:
        (group / "cpu.cfs_period_us").write_text("100000")
        (group / "cpu.cfs_quota_us").write_text(str(int(100_000 * cores)))
        yield group
    finally:
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                (CPU_CGROUP / "cgroup.procs").write_text(pid)
        group.rmdir()


def free_port_base() -> int:
    """A port base for a whole local stack whose fixed and replica ports are all free.

    Below the kernel's ephemeral range (32768+), where a busy box's outgoing connections would collide.
    """
    import random

    from tenfold.stack.ports import Ports

    def free(port: int) -> bool:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
        return True

    for _ in range(200):
        base = random.randrange(21000, 32000, 250)
        ports = Ports(base)
        if all(free(p) for p in [*ports.fixed().values(), *(ports.replica(i, s) for i in range(4) for s in range(8))]):
            return base
    raise RuntimeError("no free port range found")


def reference_scenarios(dest: Path, profiles: dict[str, dict[str, object]], **spike: object) -> Path:
    """locustfiles/scenarios.yaml's spike with ``profiles`` (and any ``spike`` keys) instead, written to ``dest``;
    its locustfile by absolute path, as the copy no longer sits beside viewers.py."""
    import yaml

    doc = yaml.safe_load((ROOT / "locustfiles" / "scenarios.yaml").read_text())
    doc["spike"].update(spike, profiles=profiles, locustfile=str(ROOT / "locustfiles" / "viewers.py"))
    dest.write_text(yaml.safe_dump({"spike": doc["spike"]}))
    return dest


@contextlib.contextmanager
def machine(mode: int) -> Iterator[None]:
    """Hold the machine shared (``fcntl.LOCK_SH``) or exclusively (``LOCK_EX``) among pytest-xdist workers.

    Writer first: an exclusive taker closes a gate that shared takers pass through, so the tests that keep
    starting on other workers cannot keep it waiting (without the gate it waited 290 s for a gap)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if _HELD and mode == fcntl.LOCK_EX and _HELD[-1] != fcntl.LOCK_EX:
        raise RuntimeError("an exclusive hold inside a shared one: mark the test exclusive (tests/conftest.py)")
    if run is None or _HELD:  # one process: nothing runs beside it; or this worker holds it already (a session
        yield  # fixture inside a module's hold: taking it again could wait at a gate an exclusive taker closed,
        return  # while that taker waits for our own hold)
    with open(f"/tmp/tenfold-pytest-{run}.gate", "a") as gate, open(f"/tmp/tenfold-pytest-{run}.lock", "a") as lock:
        fcntl.flock(gate, mode)
        if mode == fcntl.LOCK_SH:
            fcntl.flock(lock, fcntl.LOCK_SH)
            fcntl.flock(gate, fcntl.LOCK_UN)  # in: an exclusive taker may close the gate behind us now
        else:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the gate stays closed until we are done
            print(busy_beside_us(), file=sys.stderr)  # shown with a failure: was the machine really ours?
        _HELD.append(mode)
        try:
            yield
        finally:
            _HELD.pop()
            fcntl.flock(lock, fcntl.LOCK_UN)
            fcntl.flock(gate, fcntl.LOCK_UN)


def busy_beside_us(interval_s: float = 0.5, over: float = 0.1) -> str:
    """The processes outside this one's tree that used more than ``over`` of a core over ``interval_s``: at the start
    of an exclusive run there should be none (a process a test left running steals the CPU its verdicts are about)."""
    own = {os.getpid(), *(c.pid for c in psutil.Process().children(recursive=True))}
    before: dict[int, tuple[psutil.Process, float]] = {}
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if p.pid not in own:
                before[p.pid] = (p, sum(p.cpu_times()[:2]))
    time.sleep(interval_s)
    busy = []
    for p, used in before.values():
        with contextlib.suppress(psutil.Error):
            share = (sum(p.cpu_times()[:2]) - used) / interval_s
            if share > over:
                busy.append(f"{p.name()} (pid {p.pid}) {share:.0%}")
    return f"machine held: busy beside us over {interval_s:g} s: {', '.join(busy) or 'nothing'}"


_HELD: list[int] = []
"""The hold this worker process has (at most one: a nested take is the same hold)."""


def machine_to_itself() -> contextlib.AbstractContextManager[None]:
    """Under pytest-xdist (``make test``: several workers), wait until no other test runs and let none start
    meanwhile: for runs whose verdicts are about the CPU (the overload's generator start lag). Use it in the
    fixture that does the work, in a module marked ``exclusive`` (tests/conftest.py runs those last)."""
    return machine(fcntl.LOCK_EX)
