"""Response shapes of the catalog service."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["Title"]


class Title(BaseModel):
    id: int
    name: str
    year: int
    genres: list[str]
    maturity: str
    duration_min: int
    popularity_rank: int
    synopsis: str
    degraded: bool
