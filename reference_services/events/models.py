"""Playback events as clients send them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Accepted", "PlaybackEvent"]


class PlaybackEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    event_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    user_id: int = Field(gt=0, le=2**31 - 1)
    title_id: int = Field(gt=0, le=2**31 - 1)
    type: Literal["start", "heartbeat", "pause", "stop"]
    position_s: float = Field(ge=0, le=1e6)
    ts: float = Field(gt=0, le=1e11)


class Accepted(BaseModel):
    event_id: str
    object: str
