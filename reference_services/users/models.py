"""Request and response shapes of the users service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MyList", "MyListAdd", "MyListChange", "User"]

MAX_ID = 2**31 - 1


class User(BaseModel):
    id: int
    name: str
    email: str
    plan: str


class MyListItem(BaseModel):
    title_id: int
    added_at: str


class MyList(BaseModel):
    user_id: int
    titles: list[MyListItem]


class MyListAdd(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title_id: int = Field(gt=0, le=MAX_ID)


class MyListChange(BaseModel):
    user_id: int
    title_id: int
    changed: bool
