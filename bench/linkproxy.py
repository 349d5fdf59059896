"""What a clean link proxy costs: redis-benchmark GET/SET direct vs through ``tenfold.stack.linkproxy``, one run.

Short and bounded (a few seconds): a temp redis-server and one proxy on free loopback ports, both stopped by pid.
"""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import sys
import tempfile
import time

__all__ = ["main"]

_REQUESTS = 50_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


def _bench(port: int, clients: int, pipeline: int) -> dict[str, float]:
    out = subprocess.run(
        [
            *("redis-benchmark", "-p", str(port), "-t", "get,set", "-n", str(_REQUESTS)),
            *("-c", str(clients), "-P", str(pipeline), "-q", "--csv"),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return {row[0]: float(row[1]) for row in csv.reader(io.StringIO(out)) if row and row[0] in ("GET", "SET")}


def main() -> dict[str, object]:
    tmp = tempfile.mkdtemp(prefix="tenfold-bench-linkproxy-")
    redis_port, proxy_port, control_port = _free_port(), _free_port(), _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp],
        stdout=subprocess.DEVNULL,
    )
    proxy = subprocess.Popen(
        [
            *(sys.executable, "-m", "tenfold.stack.linkproxy", "--listen", str(proxy_port)),
            *("--upstream", str(redis_port), "--control", str(control_port)),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_port(redis_port)
        _wait_port(proxy_port)
        print(f"{'case':<28}{'direct rps':>12}{'proxied rps':>13}{'ratio':>8}")
        cases: dict[str, dict[str, float]] = {}
        for clients, pipeline in ((1, 1), (20, 1), (20, 16)):
            direct = _bench(redis_port, clients, pipeline)
            proxied = _bench(proxy_port, clients, pipeline)
            for op in ("GET", "SET"):
                name = f"{op} -c {clients} -P {pipeline}"
                print(f"{name:<28}{direct[op]:>12.0f}{proxied[op]:>13.0f}{proxied[op] / direct[op]:>8.2f}")
                cases[name] = {"direct_rps": round(direct[op]), "proxied_rps": round(proxied[op]),
                               "ratio": round(proxied[op] / direct[op], 3)}  # fmt: skip
    finally:
        for proc in (proxy, server):
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    table = [
        [
            f"redis-benchmark {name}: through the link proxy ÷ direct",
            f"{c['proxied_rps']:,} ÷ {c['direct_rps']:,} = {c['ratio']:.2f}",
            "—",
        ]
        for name, c in cases.items()
    ]
    return {"table": table, "cases": cases}


if __name__ == "__main__":
    raise SystemExit(main())
