"""``--upload-to s3://BUCKET/PREFIX``: the master uploads the finished run folder (a Kubernetes Job's disk goes with
its pod), tested against a real moto S3 server; a bad URL fails before the load, a failed upload fails the run."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from servers import Server, moto

from tenfold.errors import UsageError
from tenfold.load import run_locust
from tenfold.load.upload import parse_s3_url

from ._server import Server as Target
from .conftest import locustfile, scenario_file

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture
def s3() -> Iterator[Server]:
    server = moto()
    yield server
    server.stop()


def _client(s3: Server) -> object:
    return boto3.client("s3", endpoint_url=s3.url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")  # fmt: skip


def _run(tmp_path: Path, s3: Server, url: str) -> tuple[int, Path]:
    target = Target().start()
    try:
        sf = scenario_file(tmp_path, rate=50, phases={"baseline": 2})
        res = run_locust(target.url, tmp_path / "run-1", locustfile(tmp_path), scenario="t", scenario_file=sf,
                         extra_args=("--upload-to", url), env={**CREDENTIALS, "AWS_ENDPOINT_URL": s3.url},
                         timeout_s=90)  # fmt: skip
    finally:
        target.stop()
    return res.exit_code, res.run_dir


def test_the_finished_run_folder_is_uploaded(tmp_path: Path, s3: Server) -> None:
    client: object = _client(s3)
    client.create_bucket(Bucket="results")  # type: ignore[attr-defined]
    code, run_dir = _run(tmp_path, s3, "s3://results/spikes/run-1/")
    assert code == 0, (run_dir / "locust" / "locust.log").read_text()[-3000:]
    listed = client.list_objects_v2(Bucket="results", Prefix="spikes/run-1/")  # type: ignore[attr-defined]
    keys = {o["Key"] for o in listed.get("Contents", [])}
    for name in ("load.json", "requests.parquet", "ledger.jsonl", "manifest.json", "locust/report.html"):
        assert f"spikes/run-1/{name}" in keys, sorted(keys)
    assert not [k for k in keys if "/parts/" in k]  # merged already
    body = client.get_object(Bucket="results", Key="spikes/run-1/load.json")["Body"].read()  # type: ignore[attr-defined]
    assert json.loads(body) == json.loads((run_dir / "load.json").read_text())


def test_a_failed_upload_fails_the_run_and_keeps_the_folder(tmp_path: Path, s3: Server) -> None:
    code, run_dir = _run(tmp_path, s3, "s3://no-such-bucket/x")
    assert code == 2
    log = (run_dir / "locust" / "locust.log").read_text()
    assert "uploading" in log and "no-such-bucket" in log and "failed" in log, log[-2000:]
    assert (run_dir / "load.json").is_file()


@pytest.mark.parametrize("url", ["http://results/x", "s3:///x", "results/x"])
def test_an_upload_url_that_is_not_s3_is_refused(url: str) -> None:
    with pytest.raises(UsageError, match="give an S3 URL"):
        parse_s3_url(url)


def test_a_bad_upload_url_fails_before_the_load(tmp_path: Path) -> None:
    sf = scenario_file(tmp_path, rate=50, phases={"baseline": 30})
    res = run_locust("http://127.0.0.1:9", tmp_path / "run", locustfile(tmp_path), scenario="t", scenario_file=sf,
                     extra_args=("--upload-to", "http://results/x"), env=dict(os.environ), timeout_s=60)  # fmt: skip
    log = (tmp_path / "run" / "locust" / "locust.log").read_text()
    assert res.exit_code not in (0, None) and res.load is None and "give an S3 URL" in log, log[-2000:]
