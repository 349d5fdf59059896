"""The mutation score of the last `make mutation` run, per mutated module, from mutmut's results in mutants/.

Killed (a test failed) and timeout (a test hung) count as caught; the score is caught / mutants. Lists every surviving
mutant (`.venv/bin/mutmut show NAME` prints its diff; docs/mutation.md says which are equivalent) and exits 1 when
the total is under --fail-under (default 95%).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

CAUGHT = ("killed", "timeout")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fail-under", type=float, default=95.0, help="the lowest total score in percent")
    args = parser.parse_args()
    patterns = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    rows, total, survivors = [], Counter[str](), dict[str, str]()
    for pattern in patterns:  # a file or a glob (reports/indicators/*.py): one row per file mutmut mutated
        metas = sorted(Path("mutants").glob(f"{pattern}.meta"))
        if not metas:
            print(f"mutants/{pattern}.meta is missing: run `make mutation` first", file=sys.stderr)
            return 2
        for meta in metas:
            module = str(meta.relative_to("mutants").with_suffix(""))
            statuses = {k: status_by_exit_code[v] for k, v in json.loads(meta.read_text())["exit_code_by_key"].items()}
            counts = Counter(statuses.values())
            if not counts:
                continue  # nothing to mutate there (a package's __init__)
            survivors |= {k: s for k, s in sorted(statuses.items()) if s not in CAUGHT}
            rows.append((module, counts))
            total += counts
    print(f"{'module':<32} {'killed':>7} {'timeout':>7} {'other':>7} {'total':>7} {'score':>7}")
    for name, c in [*rows, ("total", total)]:
        n = sum(c.values())
        caught = sum(c[s] for s in CAUGHT)
        print(f"{name:<32} {c['killed']:>7} {c['timeout']:>7} {n - caught:>7} {n:>7} {100 * caught / n:>6.1f}%")
    for name, status in survivors.items():
        print(f"not caught: {name} ({status})")
    score = 100 * sum(total[s] for s in CAUGHT) / sum(total.values())
    if score < args.fail_under:
        print(f"mutation score {score:.1f}% is under {args.fail_under:g}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
