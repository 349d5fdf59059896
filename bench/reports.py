"""evaluate + render of a 1M-row run folder, measured against a bare pyarrow read of the same file.

- time of ``evaluate`` + ``render`` (default slo.yaml, all six charts, report.html/summary.json/junit.xml)
  ÷ time of ``pyarrow.parquet.read_table`` of the same requests.parquet (target ≤ 6x)
- peak RSS of the process that does it (target ≤ 1.5 GB)

Both timings are warm (the file is in the page cache, libraries imported), best of ``REPEAT``, interleaved
so machine load hits both alike; the request cache is cleared before each evaluate + render so every
repetition reads and decodes the file itself. On a machine with two or more cores, render draws three of
the six charts in a forked child (reports/chart_fork.py); its peak RSS (mostly pages shared with the
parent) is printed too. ``TENFOLD_BENCH_ROWS=10000000`` measures an hour at about 3k req/s instead.
The measured part runs in a child process so its peak RSS is its own, not the generator's or other benches'.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = int(os.environ.get("TENFOLD_BENCH_ROWS", "1000000"))
"""1M by default; ``TENFOLD_BENCH_ROWS=10000000`` is an hour at about 3k req/s."""
REPEAT = int(os.environ.get("TENFOLD_BENCH_REPEAT", "5"))
_CHILD = """
import json, resource, sys, time
import pyarrow.parquet as pq
from reports.evaluate import evaluate
from reports.render import render
from reports.runfolder import clear_cache
from reports.slo import load_slo

run, slo_path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
slo = load_slo(slo_path)
reads, full, evals = [], [], []
for _ in range(repeat + 1):  # the first round warms imports, fonts and the page cache
    clear_cache()  # before the bare read: the last round's request columns must not sit beside its table
    t = time.perf_counter(); pq.read_table(run + "/requests.parquet"); reads.append(time.perf_counter() - t)
    t = time.perf_counter(); summary = evaluate(run, slo); t1 = time.perf_counter(); render(run, summary)
    full.append(time.perf_counter() - t); evals.append(t1 - t)
print(json.dumps({"read": min(reads[1:]), "full": min(full[1:]), "evaluate": min(evals[1:]),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "outcome": summary.outcome, "verdicts": len(summary.verdicts)}))
"""


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="tenfold-bench-reports-") as tmp:
        run = Path(tmp) / "run"
        t = time.perf_counter()
        make = (
            "import sys; from pathlib import Path; sys.path.insert(0, 'tests'); from synthetic import Knobs, "
            f"make_run; make_run(Path({str(run)!r}), Knobs(rows={ROWS}))"
        )  # tests/synthetic.py
        subprocess.run([sys.executable, "-c", make], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        print(f"synthetic run folder with {ROWS:,} request rows written in {time.perf_counter() - t:.1f} s")
        out = subprocess.run([sys.executable, "-c", _CHILD, str(run), str(ROOT / "slo.yaml"), str(REPEAT)], cwd=ROOT,
                             check=True, capture_output=True, text=True)  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        size = (run / "requests.parquet").stat().st_size / 1e6
        html = (run / "report.html").stat().st_size / 1e6
    ratio = r["full"] / r["read"]
    print(f"bare pyarrow read of requests.parquet ({size:.0f} MB): {r['read'] * 1000:.0f} ms")
    print(f"evaluate ({r['verdicts']} verdicts, outcome {r['outcome']}): {r['evaluate'] * 1000:.0f} ms; "
          f"evaluate + render (report.html {html:.1f} MB): {r['full'] * 1000:.0f} ms")  # fmt: skip
    print(f"ratio evaluate+render / bare read: {ratio:.1f}x (target <= 6x) {'ok' if ratio <= 6 else 'OVER'}; "
          f"evaluate alone: {r['evaluate'] / r['read']:.1f}x")  # fmt: skip
    rss = r["rss_mb"]
    print(f"peak RSS: {rss:.0f} MB (target <= 1536 MB) {'ok' if rss <= 1536 else 'OVER'}; "
          f"forked chart child {r['child_rss_mb']:.0f} MB, mostly shared with the parent")  # fmt: skip
    table = [
        [f"evaluate + render of {ROWS:,} request rows ÷ a bare pyarrow read of the same file",
         f"{r['full'] * 1000:,.0f} ms ÷ {r['read'] * 1000:,.0f} ms = **{ratio:.1f}x**", "≤ 6x"],
        ["peak RSS of evaluate + render", f"**{rss:,.0f} MB** (chart child {r['child_rss_mb']:,.0f} MB)", "≤ 1,536 MB"],
    ]  # fmt: skip
    return {"table": table, "rows": ROWS, "read_ms": round(r["read"] * 1000),
            "evaluate_ms": round(r["evaluate"] * 1000),
            "full_ms": round(r["full"] * 1000), "ratio": round(ratio, 2), "rss_mb": round(rss),
            "child_rss_mb": round(r["child_rss_mb"])}  # fmt: skip


if __name__ == "__main__":
    main()
