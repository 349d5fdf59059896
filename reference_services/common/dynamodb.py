"""A DynamoDB table of JSON documents, read through the lean client (see ``aws.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from .aws import AwsHttp
from .settings import Settings

__all__ = ["DynamoTable"]


class DynamoTable:
    """One table with a numeric hash key and the item's JSON document in the ``doc`` attribute."""

    def __init__(self, settings: Settings, name: str, key: str) -> None:
        self.name = settings.table_prefix + name
        self.key = key
        self.client = AwsHttp(settings.dynamodb_endpoint, service="dynamodb", region=settings.aws_region)

    async def open(self) -> None:
        """Connections are opened on first use; nothing to do, kept for the service lifecycle."""

    async def close(self) -> None:
        await self.client.close()

    async def get_doc(self, key: int) -> bytes | None:
        resp = await self.client.dynamodb("GetItem", {"TableName": self.name, "Key": {self.key: {"N": str(key)}}})
        item = resp.get("Item")
        if not isinstance(item, dict):
            return None
        doc: str = item["doc"]["S"]
        return doc.encode()

    async def scan_pages(self, limit: int, page: int = 1000) -> AsyncIterator[list[tuple[int, bytes]]]:
        """Up to ``limit`` items' (key, document), ``page`` items per request (DynamoDB caps a page at 1 MB)."""
        left = limit
        start: object = None
        while left > 0:
            payload: dict[str, object] = {"TableName": self.name, "Limit": min(left, page)}
            if start is not None:
                payload["ExclusiveStartKey"] = start
            resp = await self.client.dynamodb("Scan", payload)
            items = resp.get("Items")
            docs = [(int(i[self.key]["N"]), i["doc"]["S"].encode()) for i in (items if isinstance(items, list) else [])]
            left -= len(docs)
            yield docs
            start = resp.get("LastEvaluatedKey")
            if not start:
                return

    async def ping(self) -> None:
        await self.client.dynamodb("DescribeTable", {"TableName": self.name})
