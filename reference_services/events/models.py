"""Playback events as clients send them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..common.body import JsonInt
from ..common.routing import MAX_ID

__all__ = ["Accepted", "PlaybackEvent"]


class PlaybackEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    event_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    user_id: JsonInt = Field(gt=0, le=MAX_ID)
    title_id: JsonInt = Field(gt=0, le=MAX_ID)
    type: Literal["start", "heartbeat", "pause", "stop"]
    position_s: float = Field(ge=0, le=1e6)
    ts: float = Field(gt=0, le=1e11)


class Accepted(BaseModel):
    event_id: str
    object: str
