"""The calibration study: healthy runs must pass every time, each control must fail every time, with a margin.

``python -m bench calibrate [--quick N] [--default M] [--controls N] [--ab N] [--out FILE]`` (N = 10, M = 5 by
default: about two and a half hours on a 2-core machine; nothing else should run meanwhile). Every run is
``tenfold run`` as a user types it, on one local stack kept up between runs (restarted only where a control needs
other settings):

- ``quick`` x N and ``default`` x M: the reference system, its slo.yaml, its experiments: every objective must pass;
- ``autoscaling off`` x N (quick, ``--disable autoscaling``): the latency and scaling objectives must fail;
- ``fallbacks off + dropped write`` x N (quick, ``--disable fallbacks``, users acknowledging adds it never stores):
  ``cache-loss-fallbacks`` and ``acknowledged-writes-lost`` must fail;
- ``starved generator`` x N (quick, Locust capped at 3% of a core once it runs): the run must be invalid (exit 2);
- A/A: ``tenfold compare`` of consecutive healthy quick runs must find no regression;
- A/B: each healthy quick run against a quick run with titles 50 ms slower (a test hook of the catalog service)
  must regress, naming ``/api/titles/{id}``.

It prints, per group and objective, the outcomes and the distribution of measured ÷ target, and writes everything
as JSON (``--out``, default bench/results/calibrate.json); docs/calibration.md is written from it
(``python -m bench.calibrate --table FILE...``: several studies' files print as one).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
TENFOLD = str(Path(sys.executable).parent / "tenfold")
STANDALONE = True
"""Not part of ``python -m bench`` (it takes hours): run it by name."""
SLOW_ROUTE = "/api/titles/{id}"
CONTROLS: dict[str, dict[str, Any]] = {
    # group -> the objectives that must fail there (must_fail), or that the run must be invalid
    "autoscaling off": {"must_fail": ["peak-title-latency-p99", "scale-out-reaction"]},
    "fallbacks off + dropped write": {"must_fail": ["cache-loss-fallbacks", "acknowledged-writes-lost"]},
    "starved generator": {"must_be_invalid": True},
}


def _overlay(dest: Path, env: dict[str, str]) -> Path:
    doc = yaml.safe_load((ROOT / "infra" / "local" / "autoscaling.yaml").read_text())
    doc["env"] = {**doc.get("env", {}), **env}
    dest.write_text(yaml.safe_dump(doc))
    return dest


@contextlib.contextmanager
def _starved(proc: subprocess.Popen[bytes], stop: threading.Event) -> Iterator[None]:
    """Move the run's Locust into a cgroup capped at 3% of a core as soon as it runs."""
    from tenfold.stack.cgroups import CgroupRoot

    root = CgroupRoot("tenfold-calibrate")
    group = root.group("load")
    if group is None:
        raise SystemExit(f"cannot starve the generator: {root.reason}")
    group.set_cpu_limit(0.03)

    def watch() -> None:
        while not stop.is_set():
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(proc.pid).children(recursive=True):
                    if "locust" in " ".join(child.cmdline()):
                        time.sleep(5)  # it starts at full speed (under 3% its start-up would take minutes)
                        group.add(child.pid)
                        return
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join(2)
        root.cleanup()


def _run(group: str, runs_dir: Path, home: Path, args: list[str], log: Path) -> dict[str, Any]:
    """One ``tenfold run``; returns its summary (or why there is none)."""
    argv = [TENFOLD, "run", "--runs-dir", str(runs_dir), "--home", str(home), "--keep-stack", *args]
    started = time.monotonic()
    with log.open("ab") as out:
        out.write(f"\n=== {group}: {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        stop = threading.Event()
        try:
            with _starved(proc, stop) if group == "starved generator" else contextlib.nullcontext():
                code = proc.wait(1800)
        except BaseException:  # Ctrl-C or SIGTERM: the run stops the way tenfold's own interrupt does, then we do
            proc.send_signal(signal.SIGTERM)
            proc.wait(120)
            raise
    latest = runs_dir / "latest"
    summary = json.loads((latest / "summary.json").read_text()) if (latest / "summary.json").is_file() else None
    return {"group": group, "exit_code": code, "seconds": round(time.monotonic() - started, 1),
            "run_dir": str(latest.resolve()), "summary": summary}  # fmt: skip


def _compare(a: str, b: str) -> dict[str, Any]:
    out = subprocess.run([TENFOLD, "compare", a, b, "--json"], capture_output=True, text=True, timeout=600)
    doc = json.loads(out.stdout) if out.stdout.strip().startswith("{") else {"error": out.stderr[-2000:]}
    regressions = [r for r in doc.get("rows", []) if r.get("regressed")]
    return {"a": a, "b": b, "exit_code": out.returncode, "regressions": regressions}


def study(n_quick: int, n_default: int, n_controls: int, out: Path, n_ab: int | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="tenfold-calibrate-"))
    work.chmod(0o755)  # the stack's PostgreSQL runs as postgres and must reach its state dir in there
    home = work / "home"
    log = out.with_suffix(".log")
    runs: list[dict[str, Any]] = []

    def record(r: dict[str, Any]) -> None:
        runs.append(r)
        s = r["summary"] or {}
        print(f"{r['group']:<32} exit {r['exit_code']}  {s.get('counts')}  {r['seconds']:.0f} s", flush=True)
        out.write_text(json.dumps({"runs": runs}, indent=1))

    def down() -> None:
        subprocess.run([TENFOLD, "down", "--home", str(home)], capture_output=True, timeout=120)

    try:
        for _ in range(n_quick):
            record(_run("quick", work / "quick", home, ["--quick"], log))
        for _ in range(n_default):
            record(_run("default", work / "default", home, [], log))
        for _ in range(n_controls):
            record(_run("autoscaling off", work / "no-autoscaling", home, ["--quick", "--disable", "autoscaling"], log))
        for _ in range(n_controls):
            record(_run("starved generator", work / "starved", home, ["--quick"], log))
        down()
        overlay = _overlay(work / "drop-writes.yaml", {"TENFOLD_TEST_DROP_WRITES": "1000000000"})
        for _ in range(n_controls):
            record(_run("fallbacks off + dropped write", work / "no-fallbacks", home,
                        ["--quick", "--disable", "fallbacks", "--stack-overlay", str(overlay)], log))  # fmt: skip
        down()
        overlay = _overlay(work / "slow-titles.yaml", {"TENFOLD_TEST_DELAY_PATH_PREFIX": "/api/titles/",
                                                        "TENFOLD_TEST_DELAY_SECONDS": "0.05"})  # fmt: skip
        for _ in range(n_quick if n_ab is None else n_ab):
            record(_run("quick, titles +50 ms", work / "slow", home, ["--quick", "--stack-overlay", str(overlay)], log))
    finally:
        down()
    healthy = [r["run_dir"] for r in runs if r["group"] == "quick"]
    slow = [r["run_dir"] for r in runs if r["group"] == "quick, titles +50 ms"]
    pairs_aa = [_compare(healthy[i], healthy[(i + 1) % len(healthy)]) for i in range(len(healthy))] if len(
        healthy) > 1 else []  # fmt: skip
    pairs_ab = [_compare(a, b) for a, b in zip(healthy, slow, strict=False)]
    doc = {"runs": runs, "aa": pairs_aa, "ab": pairs_ab, "machine": {"cpus": os.cpu_count()},
           "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}  # fmt: skip
    out.write_text(json.dumps(doc, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    return doc


def _ratio(v: dict[str, Any]) -> float | None:
    m, t = v.get("measured"), v.get("target_value")
    if not isinstance(m, int | float) or not isinstance(t, int | float) or t == 0 or not math.isfinite(t):
        return None
    return float(m) / float(t)


def table(doc: dict[str, Any]) -> str:
    """The calibration table (markdown): per group and objective, outcomes and measured ÷ target."""
    lines = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in doc["runs"]:
        groups.setdefault(r["group"], []).append(r)
    for group, runs in groups.items():
        codes = sorted({r["exit_code"] for r in runs})
        exits = ", ".join(f"{c} x{sum(r['exit_code'] == c for r in runs)}" for c in codes)
        lines += [f"### {group} ({len(runs)} runs; exit codes: {exits})", "",
                  "| objective | pass | fail | no data | measured ÷ target: min | median | max |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        by: dict[str, list[dict[str, Any]]] = {}
        for r in runs:
            for v in (r["summary"] or {}).get("verdicts", []):
                by.setdefault(v["objective"], []).append(v)
        for name, vs in by.items():
            ratios = [x for x in (_ratio(v) for v in vs) if x is not None]
            counts = [sum(v["status"] == s for v in vs) for s in ("pass", "fail", "no-data")]
            spread = (f"{min(ratios):.2f} | {statistics.median(ratios):.2f} | {max(ratios):.2f}" if ratios
                      else "- | - | -")  # fmt: skip
            lines.append(f"| {name} | {counts[0]} | {counts[1]} | {counts[2]} | {spread} |")
        lines.append("")
    for key, title in (("aa", "A/A pairs (same build): regressions found"),
                       ("ab", "A/B pairs (titles +50 ms): regressions found")):  # fmt: skip
        pairs = doc.get(key) or []
        named = [sorted({f"{r['metric']} {r['scope']}" for r in p["regressions"]}) for p in pairs]
        lines += [f"### {title}", "", f"{sum(bool(n) for n in named)} of {len(pairs)} pairs flagged", ""]
        lines += [f"- {', '.join(n) or 'none'}" for n in named]
        lines.append("")
    return "\n".join(lines)


def merged(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several studies of the same build and machine as one: their runs, A/A and A/B pairs side by side (a study
    can be run in parts, e.g. the controls while the machine is shared and the healthy runs on a quiet one)."""
    return {"runs": [r for d in docs for r in d["runs"]], "aa": [p for d in docs for p in d.get("aa") or []],
            "ab": [p for d in docs for p in d.get("ab") or []], "machine": docs[-1].get("machine"),
            "finished": max(str(d.get("finished", "")) for d in docs)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", type=int, default=10)
    p.add_argument("--default", type=int, default=5)
    p.add_argument("--controls", type=int, default=10)
    p.add_argument("--ab", type=int, help="quick runs with titles 50 ms slower (default: as many as --quick)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "calibrate.json")
    p.add_argument(
        "--table",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="print the markdown table of earlier studies' JSON (several: as one study) and stop",
    )
    args = p.parse_args(argv if argv is not None else sys.argv[2:] if sys.argv[1:2] == ["calibrate"] else
                        sys.argv[1:])  # fmt: skip
    if args.table:
        print(table(merged([json.loads(path.read_text()) for path in args.table])))
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops the study like Ctrl-C: stack down
    doc = study(args.quick, args.default, args.controls, args.out, args.ab)
    print(table(doc))


if __name__ == "__main__":
    main()
