"""What the suite's wall time waits on, from ``TENFOLD_TEST_TIMELINE=FILE make test`` (tests/conftest.py).

Prints, per xdist worker, its test files in the order it ran them (start, length, CPU seconds, tests), its busy and
idle time, the files that took longest and those that used the most CPU (the worker's and every child it reaped,
so a stack started with ``lifecycle.up`` is missing: tests/conftest.py; under ``make test`` the two cores are the
limit until the exclusive runs, so CPU is what a file really costs the others).
Usage: ``python scripts/test_timeline.py FILE [--write tests/file_seconds.json]``; ``--write`` records each file's
seconds, which tests/conftest.py reads to start the longest files first.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FileSpan", "file_seconds", "main", "spans"]


@dataclass
class FileSpan:
    """One test file on one worker: from its first test's setup to its last test's teardown."""

    worker: str
    path: str
    start: float
    end: float
    tests: int
    cpu: float = 0.0

    @property
    def seconds(self) -> float:
        return self.end - self.start


def spans(lines: list[dict[str, object]]) -> list[FileSpan]:
    """The file spans of a timeline (each line: worker, test, start, end, and cpu if recorded), in order of start."""
    by_key: dict[tuple[str, str], FileSpan] = {}
    for line in lines:
        worker, path = str(line["worker"]), str(line["test"]).split("::", 1)[0]
        start, end, cpu = float(str(line["start"])), float(str(line["end"])), float(str(line.get("cpu", 0.0)))
        span = by_key.get((worker, path))
        if span is None:
            by_key[(worker, path)] = FileSpan(worker, path, start, end, 1, cpu)
        else:
            span.start, span.end, span.tests = min(span.start, start), max(span.end, end), span.tests + 1
            span.cpu += cpu
    return sorted(by_key.values(), key=lambda s: s.start)


def file_seconds(all_spans: list[FileSpan]) -> dict[str, int]:
    """Each file's seconds (a file split across workers: the sum), whole seconds, files of a second or more."""
    total: dict[str, float] = defaultdict(float)
    for s in all_spans:
        total[s.path] += s.seconds
    return {path: round(sec) for path, sec in sorted(total.items()) if sec >= 1}


def main(argv: list[str]) -> int:
    write = None
    if len(argv) == 3 and argv[1] == "--write":
        argv, write = argv[:1], Path(argv[2])
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    lines = [json.loads(x) for x in Path(argv[0]).read_text().splitlines() if x.strip()]
    if not lines:
        print(f"{argv[0]}: no tests in it", file=sys.stderr)
        return 1
    all_spans = spans(lines)
    t0 = min(s.start for s in all_spans)
    t1 = max(s.end for s in all_spans)
    per_worker: dict[str, list[FileSpan]] = defaultdict(list)
    for s in all_spans:
        per_worker[s.worker].append(s)
    cpu = sum(s.cpu for s in all_spans)
    print(f"{len(lines)} tests in {t1 - t0:.0f} s of wall time on {len(per_worker)} workers, {cpu:.0f} s of CPU")
    for worker, files in sorted(per_worker.items()):
        busy = sum(s.seconds for s in files)
        print(f"\n{worker}: busy {busy:.0f} s, idle {t1 - t0 - busy:.0f} s, ends at {files[-1].end - t0:.0f} s")
        for s in files:
            print(f"  {s.start - t0:6.0f} s  {s.seconds:6.1f} s  {s.cpu:6.1f} cpu  {s.tests:4d}  {s.path}")
    if write is not None:
        write.write_text(json.dumps(file_seconds(all_spans), indent=1) + "\n")
        print(f"wrote {write}")
    print("\nlongest files:")
    for s in sorted(all_spans, key=lambda s: -s.seconds)[:15]:
        print(f"  {s.seconds:6.1f} s  {s.worker}  {s.path}")
    if cpu > 0:
        print("\nmost CPU:")
        for s in sorted(all_spans, key=lambda s: -s.cpu)[:15]:
            print(f"  {s.cpu:6.1f} s of CPU in {s.seconds:6.1f} s  {s.worker}  {s.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
