"""Fixtures shared by every test package: real stores, started once per session."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from credentials import ENV as AUTH_ENV
from servers import Server, dynalite, left_behind, moto, postgres, redis


@pytest.fixture(scope="session", autouse=True)
def no_temp_dir_left() -> Iterator[None]:
    """Last to tear down: every /tmp/tenfold-* dir a fixture or test made (servers.tmpdir) is gone again.

    Left ones are removed here, and the session fails naming them, so a leak is fixed where it is made.
    """
    yield
    left = left_behind()
    assert not left, f"temp dirs left behind (remove them where they are made): {[str(d) for d in left]}"


@pytest.fixture(scope="session")
def stores() -> Iterator[dict[str, str]]:
    """One seeded set of stores shared by tests that do not break them (small data for speed)."""
    servers: list[Server] = []
    try:
        r = redis()
        servers.append(r)
        pg, dsn = postgres()
        servers.append(pg)
        dyn = dynalite()
        servers.append(dyn)
        s3 = moto()
        servers.append(s3)
        subprocess.run(
            [sys.executable, "-m", "reference_services.seed", "--postgres-dsn", dsn, "--dynamodb-endpoint", dyn.url,
             "--s3-endpoint", s3.url, "--titles", "300", "--users", "500"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield {
            "TENFOLD_REDIS_URL": f"redis://127.0.0.1:{r.port}/0",
            "TENFOLD_POSTGRES_DSN": dsn,
            "TENFOLD_DYNAMODB_ENDPOINT": dyn.url,
            "TENFOLD_S3_ENDPOINT": s3.url,
            **AUTH_ENV,
        }
    finally:
        for s in servers:
            s.stop()
