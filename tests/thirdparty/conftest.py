"""Third-party services started as fixtures, from their own venv (.venv-thirdparty, scripts/setup), each in a
temp dir of its own. Kinto runs under a restart loop (as systemd or a kubelet would run it): a SIGKILL from an
experiment brings it back in a second or two, with or without its records depending on its storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servers import ROOT, Server, free_port, postgres, tmpdir

VENV = ROOT / ".venv-thirdparty" / "bin"
HERE = Path(__file__).resolve().parent


@pytest.fixture
def httpbin() -> Iterator[Server]:
    port = free_port()
    d = tmpdir("httpbin")
    argv = [str(VENV / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--pid", str(d / "pid"),
            "httpbin:app"]  # fmt: skip
    srv = Server("httpbin", argv, port, log=d / "httpbin.log", dirs=[d]).start().wait_port(30)
    try:
        # Warm, as a service in production is: each gunicorn worker's first answers import and build what httpbin
        # loads lazily (over 2 s beside busy test workers, which a 4 s baseline's p99 of ~40 requests is).
        for _ in range(8):
            httpx.get(f"{srv.url}/get", timeout=30)
        yield srv
    finally:
        srv.stop()


_KINTO_INI = """
[app:main]
use = egg:kinto
kinto.includes = kinto.plugins.default_bucket
kinto.storage_backend = kinto.core.storage.{storage}
kinto.storage_url = {url}
kinto.permission_backend = kinto.core.permission.{storage}
kinto.permission_url = {url}
kinto.cache_backend = kinto.core.cache.memory
kinto.userid_hmac_secret = tenfold-test-secret
multiauth.policies = basicauth
kinto.bucket_create_principals = system.Authenticated

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = {port}
threads = 8

[loggers]
keys = root
[handlers]
keys = console
[formatters]
keys = plain
[logger_root]
level = WARNING
handlers = console
[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = plain
[formatter_plain]
format = %(asctime)s %(message)s
"""


def _kinto(storage: str, url: str) -> Server:
    """Kinto under ``while :; do kinto start; done``: the loop (its own process group) is what the fixture stops."""
    import subprocess

    port = free_port()
    d = tmpdir("kinto")
    ini = d / "kinto.ini"
    ini.write_text(_KINTO_INI.format(storage=storage, url=url, port=port))
    if storage == "postgresql":
        subprocess.run([str(VENV / "kinto"), "migrate", "--ini", str(ini)], check=True, capture_output=True, timeout=60)
    loop = f'while :; do "{VENV / "kinto"}" start --ini "{ini}"; echo "kinto exited $?, restarting"; sleep 0.1; done'
    return Server(f"kinto-{storage}", ["sh", "-c", loop], port, log=d / "kinto.log", dirs=[d]).start().wait_port(60)


@pytest.fixture
def kinto_memory() -> Iterator[Server]:
    srv = _kinto("memory", "")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def kinto_postgresql() -> Iterator[Server]:
    pg, dsn = postgres()
    try:
        srv = _kinto("postgresql", dsn)
        try:
            yield srv
        finally:
            srv.stop()
    finally:
        pg.stop()


def restarts(srv: Server) -> int:
    assert srv.log is not None
    return srv.log.read_text(errors="replace").count("restarting")
