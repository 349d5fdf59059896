"""A DynamoDB table of JSON documents, read through the lean client (see ``aws.py``)."""

from __future__ import annotations

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

    async def scan_docs(self, limit: int) -> dict[int, bytes]:
        """Up to ``limit`` items' documents by key, page by page (DynamoDB pages at 1 MB)."""
        docs: dict[int, bytes] = {}
        start: object = None
        while len(docs) < limit:
            payload: dict[str, object] = {"TableName": self.name, "Limit": min(limit - len(docs), 1000)}
            if start is not None:
                payload["ExclusiveStartKey"] = start
            resp = await self.client.dynamodb("Scan", payload)
            items = resp.get("Items")
            for item in items if isinstance(items, list) else []:
                docs[int(item[self.key]["N"])] = item["doc"]["S"].encode()
            start = resp.get("LastEvaluatedKey")
            if not start:
                break
        return docs

    async def ping(self) -> None:
        await self.client.dynamodb("DescribeTable", {"TableName": self.name})
