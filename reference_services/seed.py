"""Deterministic seed data: the same arguments always give the same titles, users and recommendations.

Titles ``1..TITLES`` have Zipf popularity (id 1 is the most watched), users are ``1..USERS``; each user has
precomputed recommendation rows drawn from that popularity, as an offline recommender would write them.

    python -m reference_services.seed --postgres-dsn DSN --dynamodb-endpoint URL --s3-endpoint URL
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import functools
import itertools
import os
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson

from .common.aws import AwsHttp

__all__ = [
    "TITLES",
    "USERS",
    "popular_doc",
    "recommendations_doc",
    "title_doc",
    "user_row",
    "zipf_title_id",
    "zipf_user_id",
]

TITLES = 10_000
USERS = 100_000
ZIPF_EXPONENT = 1.0
POPULAR_KEY = 0  # the recommendations item holding the popular rows (the fallback's source)
_META_KEY = -1  # the titles item recording what was seeded

_CUM_WEIGHTS = list(itertools.accumulate(1.0 / (i**ZIPF_EXPONENT) for i in range(1, TITLES + 1)))

_ADJ = ["Quiet", "Last", "Broken", "Hidden", "Golden", "Silent", "Crimson", "Lost", "Wild", "Frozen", "Electric",
        "Midnight", "Distant", "Hollow", "Burning", "Secret"]  # fmt: skip
_NOUN = ["Harbor", "Kingdom", "Signal", "Orchard", "Frontier", "Mirror", "Garden", "Empire", "River", "Station",
         "Protocol", "Island", "Verdict", "Horizon", "Circuit", "Archive"]  # fmt: skip
_GENRES = ["drama", "comedy", "thriller", "documentary", "sci-fi", "animation", "romance", "crime", "horror"]
_ROWS = ["Top picks for you", "Trending now", "Because you watched", "New releases"]
_FIRST = ["Ada", "Ben", "Chloe", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jun", "Kai", "Lena"]


def zipf_title_id(rng: random.Random) -> int:
    """A title id drawn with Zipf popularity (exponent 1.0): id 1 most often."""
    return bisect.bisect_left(_CUM_WEIGHTS, rng.random() * _CUM_WEIGHTS[-1]) + 1


@functools.lru_cache(maxsize=8)
def _user_weights(active: int) -> list[float]:
    return list(itertools.accumulate(1.0 / i**ZIPF_EXPONENT for i in range(1, active + 1)))


def zipf_user_id(rng: random.Random, active: int) -> int:
    """A user id of the active set ``1..active`` drawn with Zipf popularity: a few viewers watch a lot."""
    cum = _user_weights(max(1, min(active, USERS)))
    return min(len(cum), bisect.bisect_left(cum, rng.random() * cum[-1]) + 1)


def title_name(title_id: int) -> str:
    rng = random.Random(title_id * 7919)
    return f"The {rng.choice(_ADJ)} {rng.choice(_NOUN)} {title_id}"


def title_doc(title_id: int) -> dict[str, Any]:
    rng = random.Random(title_id)
    return {
        "id": title_id,
        "name": title_name(title_id),
        "year": 1970 + rng.randrange(56),
        "genres": sorted(rng.sample(_GENRES, 2)),
        "maturity": rng.choice(["G", "PG", "PG-13", "R", "TV-MA"]),
        "duration_min": 20 + rng.randrange(160),
        "popularity_rank": title_id,
        "synopsis": f"A story about a {rng.choice(_ADJ).lower()} {rng.choice(_NOUN).lower()}.",
    }


def recommendations_doc(user_id: int, per_row: int = 10) -> dict[str, Any]:
    rng = random.Random(user_id * 104729)
    rows = []
    for name in _ROWS:
        picked: list[int] = []
        while len(picked) < per_row:
            tid = zipf_title_id(rng)
            if tid not in picked:
                picked.append(tid)
        rows.append({"name": name, "titles": [{"id": t} for t in picked]})
    return {"user_id": user_id, "rows": rows}


def popular_doc() -> dict[str, Any]:
    """The popular rows: what a degraded answer shows when the personalised rows cannot be read."""
    return {
        "user_id": POPULAR_KEY,
        "rows": [{"name": "Popular on tenfold", "titles": [{"id": t} for t in range(1, 21)]}],
    }


def user_row(user_id: int) -> tuple[int, str, str, str]:
    rng = random.Random(user_id * 31)
    name = f"{rng.choice(_FIRST)} {user_id}"
    return user_id, name, f"user{user_id}@example.test", rng.choice(["basic", "standard", "premium"])


def _dynamo_items(titles: int, users: int) -> Iterator[tuple[str, int, bytes]]:
    for tid in range(1, titles + 1):
        yield "titles", tid, orjson.dumps(title_doc(tid))
    yield "recommendations", POPULAR_KEY, orjson.dumps(popular_doc())
    for uid in range(1, users + 1):
        yield "recommendations", uid, orjson.dumps(recommendations_doc(uid))


TABLE_KEYS = {"titles": "id", "recommendations": "user_id"}


def _client_kwargs(endpoint: str) -> dict[str, Any]:
    from aiobotocore.config import AioConfig

    from .common.aws import Credentials

    creds = Credentials.from_env()
    return {
        "endpoint_url": endpoint,
        "region_name": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "aws_access_key_id": creds.access_key,
        "aws_secret_access_key": creds.secret_key,
        "aws_session_token": creds.token,
        "config": AioConfig(connect_timeout=10, read_timeout=30, max_pool_connections=16),
    }


async def seed_dynamodb(endpoint: str, titles: int, users: int, prefix: str = "tenfold-") -> bool:
    """Creates the tables and loads them; returns False when the same data was already there."""
    from aiobotocore.session import get_session

    meta = orjson.dumps({"titles": titles, "users": users})
    async with get_session().create_client("dynamodb", **_client_kwargs(endpoint)) as client:
        existing = set((await client.list_tables())["TableNames"])
        for table, key in TABLE_KEYS.items():
            if prefix + table not in existing:
                await client.create_table(
                    TableName=prefix + table,
                    KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": key, "AttributeType": "N"}],
                    BillingMode="PAY_PER_REQUEST",
                )
        for table in TABLE_KEYS:
            await client.get_waiter("table_exists").wait(
                TableName=prefix + table, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
            )
        got = await client.get_item(TableName=prefix + "titles", Key={"id": {"N": str(_META_KEY)}})
        if got.get("Item", {}).get("doc", {}).get("S", "").encode() == meta:
            return False
        items = _dynamo_items(titles, users)
        # Bulk writes go through the lean client: botocore's request serialisation was the bottleneck.
        lean = AwsHttp(endpoint, service="dynamodb", region=_client_kwargs(endpoint)["region_name"], pool=8)

        async def writer() -> None:
            while batch := list(itertools.islice(items, 25)):
                by_table: dict[str, list[dict[str, Any]]] = {}
                for table, key, doc in batch:
                    by_table.setdefault(prefix + table, []).append(
                        {"PutRequest": {"Item": {TABLE_KEYS[table]: {"N": str(key)}, "doc": {"S": doc.decode()}}}}
                    )
                while by_table:
                    resp = await lean.dynamodb("BatchWriteItem", {"RequestItems": by_table})
                    by_table = resp.get("UnprocessedItems") or {}  # type: ignore[assignment]

        await asyncio.gather(*(writer() for _ in range(8)))
        await lean.close()
        await client.put_item(
            TableName=prefix + "titles", Item={"id": {"N": str(_META_KEY)}, "doc": {"S": meta.decode()}}
        )
    return True


async def seed_postgres(dsn: str, users: int) -> bool:
    import asyncpg

    from .users.passwords import DEMO_ITERATIONS, demo_password, hash_password
    from .users.store import SCHEMA

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SCHEMA)
        # Counting hashes, not rows: a database seeded before passwords existed has every user and no hash.
        have = await conn.fetchval("SELECT count(password_hash) FROM users")
        if have == users and await conn.fetchval("SELECT count(*) FROM users") == users:
            return False
        async with conn.transaction():
            await conn.execute("TRUNCATE users CASCADE")
            await conn.copy_records_to_table(
                "users",
                records=((*user_row(u), hash_password(demo_password(u), DEMO_ITERATIONS)) for u in range(1, users + 1)),
                columns=["id", "name", "email", "plan", "password_hash"],
            )
        return True
    finally:
        await conn.close()


async def seed_s3(endpoint: str, bucket: str) -> bool:
    from aiobotocore.session import get_session

    async with get_session().create_client("s3", **_client_kwargs(endpoint)) as client:
        names = {b["Name"] for b in (await client.list_buckets()).get("Buckets", [])}
        if bucket in names:
            return False
        await client.create_bucket(Bucket=bucket)
        return True


async def seed(
    *, postgres_dsn: str | None, dynamodb_endpoint: str | None, s3_endpoint: str | None, titles: int, users: int,
    bucket: str = "tenfold-events",
) -> None:  # fmt: skip
    jobs = []
    if postgres_dsn:
        jobs.append(_timed("postgres", seed_postgres(postgres_dsn, users)))
    if dynamodb_endpoint:
        jobs.append(_timed("dynamodb", seed_dynamodb(dynamodb_endpoint, titles, users)))
    if s3_endpoint:
        jobs.append(_timed("s3", seed_s3(s3_endpoint, bucket)))
    await asyncio.gather(*jobs)


async def _timed(name: str, job: Any) -> None:
    start = time.perf_counter()
    loaded = await job
    state = "loaded" if loaded else "already seeded"
    print(f"seed: {name}: {state} in {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_services.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-dsn", help="asyncpg DSN of the users database")
    parser.add_argument("--dynamodb-endpoint", help="DynamoDB (emulator) URL")
    parser.add_argument("--s3-endpoint", help="S3 (emulator) URL")
    parser.add_argument("--s3-bucket", default="tenfold-events")
    parser.add_argument("--titles", type=int, default=TITLES, help=f"number of titles (default {TITLES})")
    parser.add_argument("--users", type=int, default=USERS, help=f"number of users (default {USERS})")
    args = parser.parse_args(argv)
    if not (args.postgres_dsn or args.dynamodb_endpoint or args.s3_endpoint):
        parser.error("name at least one store to seed")
    asyncio.run(
        seed(
            postgres_dsn=args.postgres_dsn,
            dynamodb_endpoint=args.dynamodb_endpoint,
            s3_endpoint=args.s3_endpoint,
            titles=args.titles,
            users=args.users,
            bucket=args.s3_bucket,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
