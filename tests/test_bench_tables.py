"""docs/performance.md's benchmark tables are what the committed ``bench/results/*.json`` say (the benches write
those files; ``python -m bench.tables --write`` rewrites the doc)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.tables import BEGIN, DOC, END, render, write


def test_the_performance_tables_are_the_committed_results() -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text, "docs/performance.md needs the bench-tables markers"
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert block.strip() == render().strip(), "run: .venv/bin/python -m bench.tables --write"


def test_a_result_becomes_a_table_with_its_command_and_date(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    figures = {"table": [["rps ÷ bare", "9,000 ÷ 10,000 = **0.90**", "≥ 0.85"]], "ratio": 0.9}
    doc = {"bench": "load", "command": ".venv/bin/python -m bench load", "measured": "2026-12-06 09:00 UTC",
           "cores": 2, "figures": figures}  # fmt: skip
    (results / "load.json").write_text(json.dumps(doc))
    (results / "plain.json").write_text(json.dumps({**doc, "bench": "plain", "figures": {"ratio": 0.5}}))
    page = tmp_path / "performance.md"
    page.write_text(f"intro\n{BEGIN}\nstale\n{END}\noutro\n")
    write(page, results)
    text = page.read_text()
    assert "stale" not in text and text.startswith("intro\n") and text.endswith(f"{END}\noutro\n")
    assert "### load\n\n`.venv/bin/python -m bench load`, 2026-12-06 09:00 UTC, 2 cores" in text
    assert "| rps ÷ bare | 9,000 ÷ 10,000 = **0.90** | ≥ 0.85 |" in text
    assert "| ratio | 0.5 | — |" in text  # a bench without a table: its figures as rows
