"""The observation probes: PromQL against a real Prometheus, gateway bursts against a real HTTP server."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from chaos_servers import free_port, port_open, stop, wait_for
from chaoslib.exceptions import ActivityFailed

from tenfold.chaos.gateway import probes as gateway
from tenfold.chaos.prometheus import probes as prometheus


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prometheus that scrapes itself every second, so `up` has a sample within ~2 s."""
    tmp = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    (tmp / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs: [{{job_name: self, static_configs: [{{targets: ['127.0.0.1:{port}']}}]}}]\n"
    )
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: port_open(port), "prometheus")
        wait_for(
            lambda: httpx.get(f"{url}/api/v1/query", params={"query": "up"}).json()["data"]["result"],
            "prometheus's first self-scrape",
        )
        yield url
    finally:
        stop(proc)


def test_query_value_reads_one_number(prometheus_url: str) -> None:
    cfg = {"tenfold_prometheus_url": prometheus_url}
    assert prometheus.query_value('up{job="self"}', configuration=cfg) == 1.0
    assert prometheus.query_value("scalar(vector(2.5))", configuration=cfg) == 2.5
    assert prometheus.query_value('up{job="nope"}', when_empty=-1.0, configuration=cfg) == -1.0
    assert prometheus.query_value("vector(0) / vector(0)", configuration=cfg) == 0.0  # NaN → when_empty


def test_query_value_errors_are_actionable(prometheus_url: str) -> None:
    with pytest.raises(ActivityFailed, match="Prometheus rejected"):
        prometheus.query_value("sum(", configuration={"tenfold_prometheus_url": prometheus_url})
    with pytest.raises(ActivityFailed, match="one number"):
        prometheus.query_value("up[5s]", configuration={"tenfold_prometheus_url": prometheus_url})
    with pytest.raises(ActivityFailed, match="tenfold up"):
        prometheus.query_value("up", configuration={"tenfold_prometheus_url": f"http://127.0.0.1:{free_port()}"})


class _Gateway(BaseHTTPRequestHandler):
    """Odd ids answer 200, ids divisible by 4 a degraded 200, other even ids 503: known ratios to count."""

    def do_GET(self) -> None:
        n = int(Path(self.path).name)
        status = 200 if n % 2 or n % 4 == 0 else 503
        self.send_response(status)
        if n % 4 == 0:
            self.send_header("X-Degraded", "cache")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def gateway_cfg() -> Iterator[dict[str, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"tenfold_gateway_url": f"http://127.0.0.1:{server.server_address[1]}"}
    finally:
        server.shutdown()
        server.server_close()


def test_gateway_ratios_count_what_came_back(gateway_cfg: dict[str, str]) -> None:
    # ids 1..20: 10 odd (200) + 5 multiples of 4 (degraded 200) = 15 successes, 5 degraded
    assert gateway.success_ratio("/api/titles/{n}", requests=20, configuration=gateway_cfg) == 0.75
    assert gateway.degraded_ratio("/api/titles/{n}", requests=20, configuration=gateway_cfg) == 0.25
    assert gateway.gateway_is_healthy("/api/titles/1", configuration=gateway_cfg) is True
    assert gateway.gateway_is_healthy("/api/titles/2", configuration=gateway_cfg) is False


class _AuthGateway(BaseHTTPRequestHandler):
    """Own data needs user n's token (401 otherwise); logins of multiples of 5 fail (503)."""

    logins: list[int] = []

    def do_POST(self) -> None:
        doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        user = doc["user_id"]
        ok = user % 5 != 0 and doc["password"] == f"pw-{user}"
        type(self).logins.append(user)
        body = json.dumps({"access_token": f"t-{user}", "token_type": "bearer", "expires_in": 3600}) if ok else "{}"
        self._answer(200 if ok else 503, body)

    def do_GET(self) -> None:
        n = self.path.split("/")[3]  # /api/users/{n}/... or /api/recommendations/{n}
        self._answer(200 if self.headers.get("Authorization") == f"Bearer t-{n}" else 401, "{}")

    def _answer(self, status: int, body: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def test_probes_on_own_data_log_in_as_that_user_once() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AuthGateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg = {"tenfold_gateway_url": f"http://127.0.0.1:{server.server_address[1]}"}
    try:
        # users 5 and 10 cannot log in: their requests count as failed, the other 8 carry their own token
        assert gateway.success_ratio("/api/recommendations/{n}", requests=10, configuration=cfg) == 0.8
        assert gateway.success_ratio("/api/users/{n}/my-list", requests=10, configuration=cfg) == 0.8
        assert sorted(set(_AuthGateway.logins)) == list(range(1, 11))
        assert len(_AuthGateway.logins) == 10 + 2  # tokens reused; only the failed logins were tried again
    finally:
        server.shutdown()
        server.server_close()


def test_gateway_probes_stay_bounded_and_on_loopback(gateway_cfg: dict[str, str]) -> None:
    with pytest.raises(ActivityFailed, match="requests must be in"):
        gateway.success_ratio(requests=100_000, configuration=gateway_cfg)
    with pytest.raises(ActivityFailed, match="not loopback"):
        gateway.success_ratio(requests=1, configuration={"tenfold_gateway_url": "http://192.0.2.1:80"})
    # nothing listening: every request is an error, the ratio says so instead of raising
    dead = {"tenfold_gateway_url": f"http://127.0.0.1:{free_port()}"}
    assert gateway.success_ratio(requests=3, timeout_s=0.5, configuration=dead) == 0.0
