"""An async DynamoDB client (aiobotocore) whose lifetime is the service's."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from .settings import Settings

__all__ = ["DynamoTable", "aws_client_kwargs"]


def aws_client_kwargs(settings: Settings, endpoint: str, timeout: float) -> dict[str, Any]:
    """Emulators accept any credentials; real AWS takes them from the environment as usual."""
    return {
        "endpoint_url": endpoint or None,
        "region_name": settings.aws_region,
        "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", "tenfold"),
        "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "tenfold"),
        # Our Dependency wrapper owns retries and timeouts; botocore's own would multiply them.
        "config": AioConfig(
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=timeout,
            read_timeout=timeout,
            max_pool_connections=64,
        ),
    }


class DynamoTable:
    """One table with a numeric hash key and the item's JSON document in the ``doc`` attribute."""

    def __init__(self, settings: Settings, name: str, key: str) -> None:
        self.settings = settings
        self.name = settings.table_prefix + name
        self.key = key
        self._stack = contextlib.AsyncExitStack()
        self._client: Any = None

    async def open(self) -> None:
        kwargs = aws_client_kwargs(self.settings, self.settings.dynamodb_endpoint, self.settings.store_timeout)
        self._client = await self._stack.enter_async_context(get_session().create_client("dynamodb", **kwargs))

    async def close(self) -> None:
        await self._stack.aclose()

    async def get_doc(self, key: int) -> bytes | None:
        resp = await self._client.get_item(TableName=self.name, Key={self.key: {"N": str(key)}})
        item = resp.get("Item")
        return None if item is None else item["doc"]["S"].encode()

    async def ping(self) -> None:
        await self._client.describe_table(TableName=self.name)
