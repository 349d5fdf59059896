"""users when its PostgreSQL connections are all busy: callers queue for a connection, not inside the client.

A busy pool is saturation, answered 503 + Retry-After ("busy"), and it must not open the breaker: a breaker opened
by the service's own queue refuses every request, critical ones included, for its whole reset time after the
database is fine again (at 20x the baseline that was 5 s of 503s for logins and My List).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from credentials import ENV as AUTH_ENV
from credentials import bearer
from servers import Server, seeded_stores, service


@pytest.fixture(scope="module")
def own_stores() -> Iterator[dict[str, str]]:
    """Stores of its own: the test locks the users table. (Users once never became ready on the shared PostgreSQL
    under xdist, 3 suites of 3: test_temp_dirs had removed its data dir mid-session; fixed there.)"""
    with seeded_stores(titles=10, users=20) as env:
        yield {**env, **AUTH_ENV}


@pytest.fixture()
def one_connection_users(own_stores: dict[str, str]) -> Iterator[Server]:
    stores = own_stores
    s = service("users", {**stores, "TENFOLD_POSTGRES_POOL_SIZE": "1", "TENFOLD_POSTGRES_TIMEOUT": "0.5",
                          "TENFOLD_BREAKER_FAIL_MAX": "3", "TENFOLD_BREAKER_RESET_SECONDS": "30"})  # fmt: skip
    yield s
    s.stop()


async def _burst_while_the_table_is_locked(url: str, dsn: str, held_s: float) -> tuple[list[httpx.Response], int]:
    locker = await asyncpg.connect(dsn)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            tx = locker.transaction()
            await tx.start()
            await locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")  # every query of users waits
            burst = asyncio.gather(*(client.get(f"{url}/api/users/7", headers=bearer(7)) for _ in range(8)))
            await asyncio.sleep(held_s)
            await tx.rollback()
            answers = list(await burst)
            after = await client.get(f"{url}/api/users/7", headers=bearer(7))
            return answers, after.status_code
    finally:
        await locker.close()


def test_a_busy_pool_sheds_with_503_busy_and_leaves_the_breaker_closed(
    one_connection_users: Server, own_stores: dict[str, str]
) -> None:
    answers, after = asyncio.run(
        _burst_while_the_table_is_locked(one_connection_users.url, own_stores["TENFOLD_POSTGRES_DSN"], held_s=0.8)
    )
    busy = [r for r in answers if r.status_code == 503]
    assert busy, [r.status_code for r in answers]  # seven callers waited 0.5 s for the one connection
    for r in busy:
        assert r.headers["Retry-After"] == "1"
        assert r.json()["dependency"] == "postgres"
    assert any("busy" in r.json()["detail"] for r in busy), [r.json()["detail"] for r in busy]
    # The database is fine again: the next request is served. With the old policy (pool waits inside the call's
    # timeout) the seven waits were seven timeouts, the breaker opened, and this was a 503 for 30 s.
    assert after == 200
    metrics = httpx.get(f"{one_connection_users.url}/metrics").text
    assert 'circuit_breaker_state{dependency="postgres",service="users"} 0.0' in metrics
