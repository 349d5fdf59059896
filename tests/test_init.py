"""``tenfold init [DIR]``: a starter for your service that runs as written, and never overwrites a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from load._server import Server
from load.conftest import scenario_file

from tenfold.cli import main as cli
from tenfold.load import run_locust
from tenfold.starter import FILES


def test_init_writes_the_starter_prints_the_next_command_and_keeps_what_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "svc"
    assert cli(["init", str(dest)]) == 0
    out = capsys.readouterr()
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == sorted(FILES)
    assert "tenfold run --target http://127.0.0.1:8080 --scenario-file scenario.yaml --slo slo.yaml" in out.out
    assert f"cd {dest}" in out.out and out.err.count("wrote") == len(FILES)
    (dest / "slo.yaml").write_text("# mine\n")
    assert cli(["init", str(dest)]) == 0
    assert (dest / "slo.yaml").read_text() == "# mine\n"
    assert capsys.readouterr().err.count("kept (exists)") == len(FILES)


def test_the_starter_files_validate_and_its_locustfile_runs_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "svc"
    cli(["init", str(dest)])
    assert cli(["validate", *(str(dest / f) for f in FILES if not f.endswith(".py"))]) == 0, capsys.readouterr()
    srv = Server().start()
    try:
        short = scenario_file(tmp_path, rate=20, phases={"baseline": 2})  # the starter's own profiles take minutes
        res = run_locust(srv.url, tmp_path / "run", dest / "locustfile.py", scenario="t", scenario_file=short,
                         timeout_s=60)  # fmt: skip
    finally:
        srv.stop()
    assert res.exit_code == 0 and res.valid, res.load
    assert res.load is not None and res.load["requests"] == pytest.approx(40, abs=4)
