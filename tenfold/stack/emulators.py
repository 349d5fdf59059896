"""The AWS stand-ins: dynalite for DynamoDB (≈3x faster than moto here), moto server for S3."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tenfold.stack.component import Component, http_ok, tcp_ok
from tenfold.stack.procs import Proc
from tenfold.stack.state import REPO_ROOT

__all__ = ["DYNALITE", "MOTO", "dynamodb", "s3"]

DYNALITE = REPO_ROOT / "tools" / "node_modules" / ".bin" / "dynalite"
MOTO = Path(sys.executable).parent / "moto_server"
_ENV = {"AWS_ACCESS_KEY_ID": "tenfold", "AWS_SECRET_ACCESS_KEY": "tenfold", "AWS_DEFAULT_REGION": "us-east-1"}


def dynamodb(home: Path, port: int) -> Component:
    """Kept on disk in the state dir, so a stop/start (chaos) keeps the tables and only the first start seeds."""
    data = home / "dynamodb"
    data.mkdir(parents=True, exist_ok=True)
    proc = Proc(
        "dynamodb",
        [str(DYNALITE), "--host", "127.0.0.1", "--port", str(port), "--createTableMs", "50", "--path", str(data)],
        log=home / "logs" / "dynamodb.log",
    )

    async def ready() -> bool:
        return await tcp_ok(port)

    return Component("dynamodb", [proc], ready, extra={"endpoint": f"http://127.0.0.1:{port}"})


def s3(home: Path, port: int) -> Component:
    env = dict(os.environ) | _ENV
    proc = Proc("s3", [str(MOTO), "-H", "127.0.0.1", "-p", str(port)], env=env, log=home / "logs" / "s3.log")

    async def ready() -> bool:
        return await http_ok(port, "/moto-api/")

    return Component("s3", [proc], ready, extra={"endpoint": f"http://127.0.0.1:{port}"})
