"""The load generator itself, measured side by side in one run against the same static endpoint.

- rps of the tenfold-instrumented open-model generator ÷ rps of a bare Locust FastHttpUser (target ≥ 0.85);
  both one process, same connection count, the open model's target rate set far above what one core does
- requests per generator CPU-second of the instrumented generator (target ≥ 3k)
- peak RSS of a generator-like process (Locust + gevent imported) after recording 1M samples (target ≤ 200 MB)

The endpoint is HAProxy answering 200 itself (``http-request return``), so the server is never the limit.
"""

from __future__ import annotations

import csv
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 6
CONNECTIONS = 64
_BARE = """
from locust import FastHttpUser, constant, task

class Bare(FastHttpUser):
    wait_time = constant(0)

    @task
    def hit(self):
        self.client.get("/")
"""
_STATIC = """
from locust import FastHttpUser, task

class Static(FastHttpUser):
    @task
    def hit(self):
        self.client.get("/")
"""
_SCENARIO = f"""
bench:
  profiles:
    default:
      baseline_rate: 50000
      peak_multiplier: 1
      phases: {{baseline: {SECONDS}, ramp: 0, peak: 0, cooldown: 0}}
      arrivals: uniform
      max_in_flight: {CONNECTIONS}
"""
_RSS = """
import json, random, resource, time
from pathlib import Path
import locust.contrib.fasthttp  # the generator's baseline: locust, gevent, geventhttpclient
from tenfold.load import HealthLimits, Recorder, merge_run
run = Path("{run}")
(run / "parts").mkdir(parents=True)
rec = Recorder(worker=0)
rng = random.random
routes = ("/a", "/b")
t = time.perf_counter()
for i in range(1_000_000):
    x = 1.7e9 + i * 1e-3
    rec.add(x, x + 1e-4, rng() * 0.05, routes[i & 1], "GET", 2, 200, False, False, False)
dt = time.perf_counter() - t
rec.write(run / "parts" / "requests-0.parquet")
(run / "parts" / "health-0.json").write_text(json.dumps({{"worker": 0, "cpu_samples": [], "lag_p99_ms": 0}}))
del rec
merge_run(run, scenario="s", profile="p", t0=1.7e9, phases=[], limits=HealthLimits(), expected_processes=1, target={{}})
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, dt)
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _static_server(tmp: Path, *, global_lines: str = "") -> tuple[subprocess.Popen[bytes], str]:
    """HAProxy answering 200 itself; ``global_lines``: more of its ``global`` section (a stats socket, say)."""
    return _haproxy(tmp, "  http-request return status 200 content-type text/plain string ok\n",
                    global_lines=global_lines)  # fmt: skip


def _haproxy(
    tmp: Path, frontend: str, *, global_lines: str = "", maxconn: int = 2000, timeout_s: float = 10
) -> tuple[subprocess.Popen[bytes], str]:
    """HAProxy on a free 127.0.0.1 port with ``frontend`` as its frontend's rules; (process, URL) once it accepts."""
    port = _port()
    cfg = tmp / "haproxy.cfg"
    cfg.write_text(
        f"global\n  maxconn {maxconn}\n{global_lines}defaults\n  mode http\n  maxconn {maxconn}\n"
        f"  timeout client {timeout_s:g}s\n  timeout server {timeout_s:g}s\n"
        f"  timeout connect 2s\nfrontend f\n  bind 127.0.0.1:{port}\n{frontend}"
    )
    proc = subprocess.Popen([shutil.which("haproxy") or "haproxy", "-f", str(cfg), "-db"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


def _bare(tmp: Path, url: str) -> float:
    lf = tmp / "bare.py"
    lf.write_text(_BARE)
    csv_prefix = tmp / "bare"
    subprocess.run([sys.executable, "-m", "locust", "-f", str(lf), "--headless", "--host", url, "-u",
                    str(CONNECTIONS), "-r", str(CONNECTIONS), "-t", f"{SECONDS}s", "--csv", str(csv_prefix),
                    "--only-summary"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   timeout=SECONDS + 60)  # fmt: skip
    with open(f"{csv_prefix}_stats.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return float(row["Requests/s"])


def _instrumented(tmp: Path, url: str) -> tuple[float, float, int]:
    """Achieved rps, requests per CPU-second and the number of requests recorded."""
    sf = tmp / "scenarios.yaml"
    sf.write_text(_SCENARIO)
    lf = tmp / "static.py"
    lf.write_text(_STATIC)
    run = tmp / "run"
    sys.path.insert(0, str(ROOT))
    from tenfold.load import run_locust

    res = run_locust(url, run, lf, scenario="bench", scenario_file=sf, timeout_s=SECONDS + 90)
    assert res.load is not None, (run / "locust" / "locust.log").read_text()[-2000:]
    proc = res.load["generator"]["processes"][0]
    cpu = [frac for _, frac in proc["cpu_samples"]][1:SECONDS]  # whole seconds inside the schedule
    import pyarrow.parquet as pq

    actual = pq.read_table(run / "requests.parquet", columns=["actual_start"]).column(0).to_numpy()
    inside = actual[(actual >= res.load["started"]) & (actual < res.load["ended"])]
    rps = inside.size / SECONDS
    per_core = rps / (sum(cpu) / len(cpu)) if cpu else float("nan")
    return rps, per_core, int(res.load["requests"])


def _rss(tmp: Path) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", _RSS.format(run=tmp / "rss")], capture_output=True,
                         text=True, cwd=ROOT, check=True, timeout=120)  # fmt: skip
    mb, secs = out.stdout.split()[-2:]
    return float(mb), float(secs) / 1e6 * 1e9


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="tenfold-bench-load-") as d:
        tmp = Path(d)
        server, url = _static_server(tmp)
        try:
            bare = _bare(tmp, url)
            rps, per_core, n = _instrumented(tmp, url)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(10)
        rss, ns_per_add = _rss(tmp)
    print(f"static endpoint: HAProxy return-200; {CONNECTIONS} connections; {SECONDS} s each; 1 generator process")
    print(f"bare Locust FastHttpUser (closed model)     {bare:9.0f} rps")
    print(f"tenfold open-model generator (recording)    {rps:9.0f} rps   ({n} requests recorded)")
    print(f"ratio tenfold / bare                        {rps / bare:9.2f}     target >= 0.85")
    print(f"tenfold requests per generator CPU-second   {per_core:9.0f}       target >= 3000")
    print(f"peak RSS: record 1M, write, merge            {rss:9.1f} MB    target <= 200 MB "
          f"(Recorder.add {ns_per_add:.0f} ns/sample)")  # fmt: skip
    figures = {"bare_rps": round(bare), "tenfold_rps": round(rps), "ratio": round(rps / bare, 3),
               "rps_per_core": round(per_core), "rss_1m_mb": round(rss, 1)}  # fmt: skip
    print(json.dumps(figures))
    table = [
        [f"tenfold open-model generator (recording every request) rps ÷ bare Locust FastHttpUser rps, one process, "
         f"{CONNECTIONS} connections, HAProxy answering itself", f"{rps:,.0f} ÷ {bare:,.0f} = **{rps / bare:.2f}**",
         "≥ 0.85"],
        ["requests per generator CPU-second", f"**{per_core:,.0f}**", "≥ 3,000"],
        ["peak RSS of a generator process after recording, writing and merging 1M samples", f"**{rss:.0f} MB**",
         "≤ 200 MB"],
    ]  # fmt: skip
    return {"table": table, **figures}


if __name__ == "__main__":
    main()
