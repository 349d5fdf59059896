"""Response shapes of the recommendations service."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["Recommendations"]


class TitleRef(BaseModel):
    id: int


class Row(BaseModel):
    name: str
    titles: list[TitleRef]


class Recommendations(BaseModel):
    user_id: int
    rows: list[Row]
    degraded: bool
