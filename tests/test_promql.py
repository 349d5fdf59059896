"""The harness's one Prometheus client (tenfold.promql) against a real Prometheus that scrapes itself."""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Iterator

import pytest
from servers import free_port, prometheus

from tenfold.promql import Prometheus, PrometheusError, Sample


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = prometheus([])  # no targets: the series below come from PromQL alone
    try:
        yield server.url
    finally:
        server.stop()


def test_an_instant_query_gives_one_sample_per_series(url: str) -> None:
    with Prometheus(url + "/", timeout_s=5) as prom:  # a trailing slash is fine
        got = prom.instant('label_replace(vector(2.5), "service", "catalog", "", "")')
        assert got == [Sample({"service": "catalog"}, 2.5)]
        assert prom.instant("scalar(vector(3))") == [Sample({}, 3.0)]  # a scalar: one sample without labels
        assert prom.instant("vector(1) > 5") == []
        assert math.isnan(prom.instant("vector(0) / vector(0)")[0].value)
        assert prom.instant("time()", at=1_000_000.5) == [Sample({}, 1_000_000.5)]


def test_a_range_query_gives_the_series_on_its_grid(url: str) -> None:
    end = time.time()
    with Prometheus(url) as prom:
        series = prom.range('label_replace(vector(1), "k", "v", "", "")', end - 10.5, end, 2.0)
    assert [s["metric"] for s in series] == [{"k": "v"}]
    times = [t for t, _ in series[0]["values"]]
    assert times[0] == pytest.approx(end - 10.5) and len(times) == 6  # not rounded to whole seconds
    assert {v for _, v in series[0]["values"]} == {"1"}


def test_a_query_prometheus_rejects_names_the_query_and_prometheus_error(url: str) -> None:
    with Prometheus(url) as prom, pytest.raises(PrometheusError) as caught:
        prom.instant("sum(")
    assert caught.value.kind == "rejected"
    assert str(caught.value).startswith(f"Prometheus at {url} rejected 'sum(': ")
    assert "parse error" in caught.value.reason


def test_a_range_vector_is_not_an_instant_answer(url: str) -> None:
    with Prometheus(url) as prom, pytest.raises(PrometheusError, match="one number per series") as caught:
        prom.instant("vector(1)[5s:1s]")  # a subquery: a range vector with points
    assert caught.value.kind == "unexpected"
    assert str(caught.value).startswith(f"Prometheus at {url} answered 'vector(1)[5s:1s]': a range vector")


def test_an_unreachable_prometheus_is_named(url: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with Prometheus(nowhere, timeout_s=1) as prom, pytest.raises(PrometheusError) as caught:
        prom.range("up", 0, 10, 1.0)
    assert time.monotonic() - started < 1  # refused at once, no retries with back-off
    assert caught.value.kind == "unreachable" and caught.value.url == nowhere
    assert str(caught.value).startswith(f"Prometheus at {nowhere} does not answer 'up': ConnectionError: ")
    assert "refused" in str(caught.value)


def test_a_prometheus_that_does_not_answer_in_time_is_named() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:  # connects (the kernel's backlog), never answers
        silent = f"http://127.0.0.1:{listening.getsockname()[1]}"
        started = time.monotonic()
        with Prometheus(silent, timeout_s=0.5) as prom, pytest.raises(PrometheusError) as caught:
            prom.instant("up")
    assert 0.5 <= time.monotonic() - started < 5
    assert caught.value.kind == "unreachable"
    assert str(caught.value) == f"Prometheus at {silent} does not answer 'up': no answer within 0.5 s"
