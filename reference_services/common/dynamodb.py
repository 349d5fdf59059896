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

    async def ping(self) -> None:
        await self.client.dynamodb("DescribeTable", {"TableName": self.name})
