"""events: 202 only once stored in S3 — proved by reconciling every acknowledgement with the bucket."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import httpx
import psutil
import pytest
from credentials import bearer
from servers import Server, moto, service, wait_for

AUTH = bearer(1)  # every event here is user 1's


def _event(**overrides: object) -> dict[str, object]:
    return {"event_id": uuid.uuid4().hex, "user_id": 1, "title_id": 2, "type": "heartbeat",
            "position_s": 12.5, "ts": time.time(), **overrides}  # fmt: skip


def _stored_event_ids(endpoint: str) -> set[str]:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    import orjson

    ids: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="tenfold-events"):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket="tenfold-events", Key=obj["Key"])["Body"].read()
            ids.update(orjson.loads(line)["event_id"] for line in body.splitlines())
    return ids


@contextlib.contextmanager
def _events_on_own_s3(stores: dict[str, str], env: dict[str, str]) -> Iterator[tuple[Server, Server]]:
    """A fresh S3 (moto, with the bucket) and an events replica writing to it with ``env`` on top."""
    s3 = moto()
    try:
        boto3.client("s3", endpoint_url=s3.url, region_name="us-east-1", aws_access_key_id="x",
                     aws_secret_access_key="x").create_bucket(Bucket="tenfold-events")  # fmt: skip
        svc = service("events", {**stores, "TENFOLD_S3_ENDPOINT": s3.url, **env})
        try:
            yield s3, svc
        finally:
            svc.stop()
    finally:
        if s3.proc is not None and s3.alive():
            os.kill(s3.proc.pid, signal.SIGCONT)
        s3.stop()


@pytest.fixture
def s3_and_events(stores: dict[str, str]) -> Iterator[tuple[Server, Server]]:
    with _events_on_own_s3(stores, {"TENFOLD_S3_TIMEOUT": "0.5", "TENFOLD_MAX_IN_FLIGHT": "40"}) as pair:
        yield pair


def test_event_is_acknowledged_with_the_object_that_holds_it(s3_and_events: tuple[Server, Server]) -> None:
    s3, svc = s3_and_events
    ev = _event()
    r = httpx.post(f"{svc.url}/api/events", headers=AUTH, json=ev)
    assert r.status_code == 202
    assert r.json()["object"].startswith("events/")
    assert ev["event_id"] in _stored_event_ids(s3.url)


def test_events_are_group_committed(s3_and_events: tuple[Server, Server]) -> None:
    _, svc = s3_and_events
    with ThreadPoolExecutor(20) as pool:
        rs = list(pool.map(lambda _: httpx.post(f"{svc.url}/api/events", headers=AUTH, json=_event()), range(60)))
    assert all(r.status_code == 202 for r in rs)
    objects = {r.json()["object"] for r in rs}
    assert len(objects) < 30  # many events per object


@pytest.mark.parametrize("bad", [{"type": "rewind"}, {"user_id": "1"}, {"position_s": -1}, {"event_id": "a b"}])
def test_invalid_events_are_422(s3_and_events: tuple[Server, Server], bad: dict[str, object]) -> None:
    _, svc = s3_and_events
    r = httpx.post(f"{svc.url}/api/events", headers=AUTH, json=_event(**bad))
    assert r.status_code == 422 and r.json()["errors"]


def test_s3_gone_means_503_and_no_acknowledgement_without_the_object(s3_and_events: tuple[Server, Server]) -> None:
    s3, svc = s3_and_events
    assert s3.proc is not None
    acked: list[str] = []
    refused = 0

    def send(i: int) -> None:
        nonlocal refused
        ev = _event()
        r = httpx.post(f"{svc.url}/api/events", headers=AUTH, json=ev, timeout=10)
        if r.status_code == 202:
            acked.append(str(ev["event_id"]))
        else:
            assert r.status_code == 503 and "Retry-After" in r.headers, r.text
            refused += 1

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(send, range(40)))
        os.kill(s3.proc.pid, signal.SIGSTOP)  # S3 hangs mid-stream
        list(pool.map(send, range(40)))
        os.kill(s3.proc.pid, signal.SIGCONT)
        list(pool.map(send, range(20)))
    assert refused > 0 and len(acked) >= 40
    missing = set(acked) - _stored_event_ids(s3.url)
    assert missing == set(), f"{len(missing)} acknowledged events are not in S3"


def test_overload_sheds_best_effort_before_critical(stores: dict[str, str]) -> None:
    # S3's timeout far past the test: the 25 stuck events stay in flight until S3 is thawed (at 0.5 s, on a busy
    # box, the first ones timed out before the last were sent and the best-effort request got in).
    with _events_on_own_s3(stores, {"TENFOLD_S3_TIMEOUT": "8", "TENFOLD_MAX_IN_FLIGHT": "40"}) as (s3, svc):
        assert s3.proc is not None
        os.kill(s3.proc.pid, signal.SIGSTOP)  # every event now waits for S3: work piles up in flight
        try:
            with ThreadPoolExecutor(30) as pool:
                hung = [pool.submit(httpx.post, f"{svc.url}/api/events", headers=AUTH, json=_event(), timeout=20)
                        for _ in range(25)]  # fmt: skip
                time.sleep(1.0)  # 25 in flight of max 40: best-effort threshold (50%) passed, critical not
                best = httpx.post(f"{svc.url}/api/events", json=_event(), headers={**AUTH, "X-Priority": "best-effort"})
                crit = pool.submit(httpx.post, f"{svc.url}/api/events", json=_event(),
                                   headers={**AUTH, "X-Priority": "critical"}, timeout=20)  # fmt: skip
                time.sleep(0.2)
                os.kill(s3.proc.pid, signal.SIGCONT)
                assert best.status_code == 503 and best.json()["title"] == "Overloaded", best.text
                assert best.headers["Retry-After"] == "1"
                assert crit.result().status_code == 202, crit.result().text  # admitted, stored once S3 is back
                assert [f.result().status_code for f in hung] == [202] * 25
        finally:
            os.kill(s3.proc.pid, signal.SIGCONT)


async def test_slow_puts_overlap_instead_of_queueing() -> None:
    """Group commit keeps several PutObjects in flight: a slow S3 answer does not stall the batches behind it."""
    import asyncio

    from reference_services.events.store import EventBatcher

    async def slow_put(key: str, body: bytes) -> None:
        await asyncio.sleep(0.3)

    batcher = EventBatcher(slow_put, replica="t", flush_seconds=0.01, batch_max=2, buffer_max=100, concurrency=4)
    batcher.start()
    start = time.perf_counter()
    keys = await asyncio.gather(*(batcher.submit(f'{{"n":{i}}}'.encode()) for i in range(8)))
    elapsed = time.perf_counter() - start
    await batcher.stop()
    assert len(set(keys)) == 4  # 8 events, 2 per object
    assert elapsed < 0.6, f"4 puts of 0.3 s took {elapsed:.2f} s: they ran one after another"


def _connections(svc: Server) -> int:
    assert svc.proc is not None
    conns = psutil.Process(svc.proc.pid).net_connections(kind="tcp")
    return sum(c.status == psutil.CONN_ESTABLISHED and c.laddr.port == svc.port for c in conns)


def test_sigterm_stores_and_acknowledges_the_buffered_events_then_exits_zero(stores: dict[str, str]) -> None:
    """Events waiting for their batch when SIGTERM comes are stored and answered 202 before the process exits,
    even when the batch timer would fire only after the shutdown budget."""
    env = {"TENFOLD_EVENTS_FLUSH_SECONDS": "60", "TENFOLD_DRAIN_SECONDS": "0.5", "TENFOLD_SHUTDOWN_TIMEOUT": "5"}
    with _events_on_own_s3(stores, env) as (s3, svc):
        assert svc.proc is not None
        events = [_event() for _ in range(20)]
        with ThreadPoolExecutor(20) as pool:
            sent = [pool.submit(httpx.post, f"{svc.url}/api/events", headers=AUTH, json=ev, timeout=20)
                    for ev in events]  # fmt: skip
            # all 20 wait in the buffer (the batch would go out only 60 s after the first): each has its connection
            wait_for(lambda: _connections(svc) >= 20, timeout=20, what="20 requests at the service")
            time.sleep(0.3)  # and has been read
            assert not any(f.done() for f in sent)
            t0 = time.monotonic()
            svc.proc.send_signal(signal.SIGTERM)
            code = svc.proc.wait(10)
            took = time.monotonic() - t0
            answers = [f.result() for f in sent]
        assert code == 0 and took < 10
        assert [r.status_code for r in answers] == [202] * 20, [r.text for r in answers if r.status_code != 202]
        acked = {str(ev["event_id"]) for ev, r in zip(events, answers, strict=True) if r.status_code == 202}
        assert acked <= _stored_event_ids(s3.url)


def test_a_full_buffer_sheds_the_excess_with_503_never_202(stores: dict[str, str]) -> None:
    """S3 stopped, one PutObject of one event in flight, 5 more waiting: the buffer is full, the rest is shed."""
    env = {"TENFOLD_EVENTS_BUFFER_MAX": "5", "TENFOLD_EVENTS_BATCH_MAX": "1", "TENFOLD_EVENTS_FLUSH_CONCURRENCY": "1",
           "TENFOLD_EVENTS_FLUSH_SECONDS": "0.01", "TENFOLD_S3_TIMEOUT": "8"}  # fmt: skip
    with _events_on_own_s3(stores, env) as (s3, svc):
        assert s3.proc is not None
        os.kill(s3.proc.pid, signal.SIGSTOP)
        events = [_event() for _ in range(20)]
        with ThreadPoolExecutor(20) as pool:
            sent = [pool.submit(httpx.post, f"{svc.url}/api/events", headers=AUTH, json=ev, timeout=30)
                    for ev in events]  # fmt: skip
            # the shed answers come at once; well inside the PutObject's budget nothing has left the buffer
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: sum(f.done() for f in sent) >= 14, timeout=6, what="the excess shed")
            os.kill(s3.proc.pid, signal.SIGCONT)
            answers = [f.result() for f in sent]
        shed = [r for r in answers if r.status_code == 503 and r.json()["title"] == "Overloaded"]
        assert len(shed) == 14, [(r.status_code, r.text[:60]) for r in answers]  # 20 - 1 in flight - 5 waiting
        assert all(r.headers["Retry-After"] == "1" and "waiting for S3" in r.json()["detail"] for r in shed)
        acked = {str(ev["event_id"]) for ev, r in zip(events, answers, strict=True) if r.status_code == 202}
        assert len(acked) <= 6 and acked <= _stored_event_ids(s3.url)
