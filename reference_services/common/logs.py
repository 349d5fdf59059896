"""JSON logs on stderr: one object per line, so a run folder can keep and query them."""

from __future__ import annotations

import logging
import sys
import time

import orjson

__all__ = ["configure_logging"]


class _JsonFormatter(logging.Formatter):
    def __init__(self, service: str, replica: str) -> None:
        super().__init__()
        self._service = service
        self._replica = replica

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": round(time.time(), 3),
            "level": record.levelname.lower(),
            "service": self._service,
            "replica": self._replica,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc).decode()


def configure_logging(service: str, replica: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter(service, replica))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "botocore", "aiobotocore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
