"""Upload a finished run folder to S3: where a Locust master runs as a Kubernetes Job, its disk goes with its pod.

``--upload-to s3://BUCKET/PREFIX`` (env ``TENFOLD_UPLOAD_TO``) makes the master (or the only generator process)
upload the run folder once it is merged, valid or not: ``s3://BUCKET/PREFIX/<file>`` (the URL names the folder,
so give each run its own). Credentials and region come from boto3's usual chain (IRSA on EKS, the environment,
``AWS_ENDPOINT_URL`` for an emulator). Fetch it with ``aws s3 cp --recursive s3://BUCKET/PREFIX runs/<id>`` and
render it with ``tenfold report runs/<id>``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from pathlib import Path

from tenfold.errors import UsageError

__all__ = ["parse_s3_url", "upload_run"]


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as (bucket, prefix without slashes at either end)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise UsageError(f"--upload-to {url!r}: give an S3 URL like s3://my-bucket/tenfold-runs")
    return parts.netloc, parts.path.strip("/")


def upload_run(run_dir: Path, url: str, say: Callable[[str], None] = print) -> list[str]:
    """Upload every file under ``run_dir`` (not ``parts/``: merged already) to ``url``; returns the keys."""
    import boto3

    bucket, prefix = parse_s3_url(url)
    s3 = boto3.client("s3")
    keys = []
    files = sorted(p for p in run_dir.rglob("*") if p.is_file() and "parts" not in p.relative_to(run_dir).parts)
    for path in files:
        key = "/".join(x for x in (prefix, path.relative_to(run_dir).as_posix()) if x)
        s3.upload_file(str(path), bucket, key)
        keys.append(key)
    say(f"tenfold: uploaded {len(keys)} files of {run_dir} to s3://{bucket}/{prefix}")
    return keys
