"""Reference services on one uvicorn worker, measured side by side in one run.

- rps of a cached ``GET /api/recommendations/{id}`` (with its bearer token, verified per request) ÷ rps of a bare
  Starlette hello on the same server options (target ≥ 0.4); also with the near cache off, i.e. every request a
  Redis GET (reported, no target)
- p99 latency at half of the saturation rate (target ≤ 5 ms)
- RSS of each service process after load (target ≤ 80 MB): users, catalog and events on real stores

Saturation is measured with wrk (closed loop, 32 connections); the half-rate p99 with hey at a fixed rate.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import psutil

from reference_services.common.auth import Tokens
from reference_services.seed import recommendations_doc

ROOT = Path(__file__).resolve().parent.parent
_HELLO = """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

async def hello(request):
    return PlainTextResponse("hello")

app = Starlette(routes=[Route("/hello", hello)])
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, env={**os.environ, **(env or {})}, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def _wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(url)


def _wrk(url: str, seconds: int = 5, headers: tuple[str, ...] = ()) -> float:
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds}s", *headers, url], capture_output=True, text=True).stdout
    assert "Non-2xx" not in out, out  # the rate of answers, not of errors
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def _p99_at(url: str, rate: float, seconds: int = 5, workers: int = 8, headers: tuple[str, ...] = ()) -> float:
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", str(workers), "-q", f"{rate / workers:.1f}", "-o", "csv", *headers, url],
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    latencies = sorted(float(r["response-time"]) for r in rows)
    return latencies[int(len(latencies) * 0.99) - 1] * 1000


def main() -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="tenfold-bench-"))
    (tmp / "hello_app.py").write_text(_HELLO)
    redis_port, hello_port, recs_port, redis_recs_port = _port(), _port(), _port(), _port()
    procs = [
        _spawn(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp)]),
        _spawn([sys.executable, "-m", "uvicorn", "hello_app:app", "--port", str(hello_port), "--loop", "uvloop",
                "--http", "httptools", "--no-access-log", "--log-level", "warning"], cwd=str(tmp)),
    ]  # fmt: skip
    secret = os.urandom(24).hex()
    env = {"TENFOLD_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "TENFOLD_DYNAMODB_ENDPOINT": "http://127.0.0.1:9",
           "TENFOLD_JWT_SECRET": secret}  # fmt: skip
    auth = f"Authorization: Bearer {Tokens(secret).issue(7)}"
    h = ("-H", auth)
    services = {
        "recommendations": _spawn([sys.executable, "-m", "reference_services", "recommendations"],
                                  {**env, "TENFOLD_PORT": str(recs_port)}, cwd=str(ROOT)),
        "recommendations (near cache off)": _spawn(
            [sys.executable, "-m", "reference_services", "recommendations"],
            {**env, "TENFOLD_PORT": str(redis_recs_port), "TENFOLD_NEAR_CACHE_SECONDS": "0"}, cwd=str(ROOT)),
    }  # fmt: skip
    procs += services.values()
    try:
        time.sleep(0.3)
        doc = orjson.dumps(recommendations_doc(7))[:-1] + b',"degraded":false}'
        subprocess.run(["redis-cli", "-p", str(redis_port), "-x", "SET", "recs:7"], input=doc, check=True,
                       capture_output=True)  # fmt: skip
        hello = f"http://127.0.0.1:{hello_port}/hello"
        recs = f"http://127.0.0.1:{recs_port}/api/recommendations/7"
        recs_redis = f"http://127.0.0.1:{redis_recs_port}/api/recommendations/7"
        for url in (hello, recs, recs_redis):
            _wait_http(url)
        answer = httpx.get(recs, headers=dict([auth.split(": ", 1)]))
        assert answer.status_code == 200 and answer.json()["degraded"] is False, "a cached answer, not a fallback"
        hello_rps = _wrk(hello)
        recs_rps = _wrk(recs, headers=h)
        redis_rps = _wrk(recs_redis, headers=h)
        p99 = _p99_at(recs, recs_rps / 2, headers=h)
        print(f"bare Starlette hello                      {hello_rps:9.0f} rps")
        print(f"cached recommendations (near cache+Redis) {recs_rps:9.0f} rps   ratio {recs_rps / hello_rps:.2f}"
              f"  (target >= 0.40)")  # fmt: skip
        print(f"cached recommendations (Redis GET each)   {redis_rps:9.0f} rps   ratio {redis_rps / hello_rps:.2f}")
        print(f"p99 at half saturation ({recs_rps / 2:.0f} rps)        {p99:9.2f} ms    (target <= 5 ms)")
        rss_mb: dict[str, dict[str, float]] = {}
        for name, proc in services.items():
            rss = psutil.Process(proc.pid).memory_info().rss / 2**20
            print(f"RSS {name:38s}{rss:9.1f} MB    (target <= 80 MB)")
            rss_mb[name] = {"rss_mb": round(rss, 1)}
        for name, (rps, rss) in _rss_of_other_services(secret).items():
            label = f"{name} after load ({rps:.0f} rps)"
            print(f"RSS {label:38s}{rss:9.1f} MB    (target <= 80 MB)")
            rss_mb[name] = {"rss_mb": round(rss, 1), "rps": round(rps)}
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(15)
        shutil.rmtree(tmp, ignore_errors=True)
    table = [
        ["cached `GET /api/recommendations/{id}` (bearer token checked) rps ÷ bare Starlette hello, one uvicorn worker",
         f"{recs_rps:,.0f} ÷ {hello_rps:,.0f} = **{recs_rps / hello_rps:.2f}**", "≥ 0.4"],
        ["same with the near cache off (a Redis GET per request)", f"{redis_rps / hello_rps:.2f}", "—"],
        [f"p99 at half the saturation rate ({recs_rps / 2:,.0f} rps)", f"**{p99:.2f} ms**", "≤ 5 ms"],
        *[[f"RSS of {name}" + (f" after {d['rps']:,} rps" if "rps" in d else ""), f"{d['rss_mb']:.1f} MB", "≤ 80 MB"]
          for name, d in rss_mb.items()],
    ]  # fmt: skip
    return {"table": table, "hello_rps": round(hello_rps), "recommendations_rps": round(recs_rps),
            "ratio": round(recs_rps / hello_rps, 3), "redis_each_rps": round(redis_rps),
            "redis_each_ratio": round(redis_rps / hello_rps, 3), "p99_half_saturation_ms": round(p99, 2),
            "services": rss_mb}  # fmt: skip


def _rss_of_other_services(secret: str) -> dict[str, tuple[float, float]]:
    """Each other service on real stores under load: its (requests/s, RSS MB)."""
    """users, catalog and events on real stores (PostgreSQL, Redis, DynamoDB and S3 emulators, seeded small), each
    under 5 s of wrk/hey load on its main route, then their RSS: what a replica holds with its pools open."""
    sys.path.insert(0, str(ROOT / "tests"))
    from servers import seeded_stores  # the tests' store helpers: temp dirs, stopped by pid

    with seeded_stores(titles=2000, users=2000, seed_timeout_s=300) as stores:
        env = {**stores, "TENFOLD_JWT_SECRET": secret}
        auth = ("-H", f"Authorization: Bearer {Tokens(secret).issue(7)}")
        event = orjson.dumps({"event_id": "bench", "user_id": 7, "title_id": 3, "type": "heartbeat",
                              "position_s": 1.0, "ts": time.time()}).decode()  # fmt: skip
        loads = {
            "users": ("/api/users/7/my-list", lambda url: _wrk(url, headers=auth)),
            "catalog": ("/api/titles/3", lambda url: _wrk(url)),
            "events": ("/api/events", lambda url: _hey_post(url, event, auth)),
        }
        out: dict[str, tuple[float, float]] = {}
        for name, (path, load) in loads.items():
            port = _port()
            proc = _spawn([sys.executable, "-m", "reference_services", name], {**env, "TENFOLD_PORT": str(port)},
                          cwd=str(ROOT))  # fmt: skip
            try:
                _wait_http(f"http://127.0.0.1:{port}/readyz")
                rps = load(f"http://127.0.0.1:{port}{path}")
                out[name] = (rps, psutil.Process(proc.pid).memory_info().rss / 2**20)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(15)
        return out


def _hey_post(url: str, body: str, headers: tuple[str, ...], seconds: int = 5) -> float:
    out = subprocess.run(["hey", "-z", f"{seconds}s", "-c", "32", "-m", "POST", "-T", "application/json", "-d", body,
                          *headers, url], capture_output=True, text=True).stdout  # fmt: skip
    status = re.search(r"\[(\d+)\]\s+\d+ responses", out)
    assert status is not None and status.group(1) == "202", out[-1500:]
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
