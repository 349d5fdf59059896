"""Request and response shapes of the users service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..common.body import JsonInt
from ..common.routing import MAX_ID

__all__ = ["AccessToken", "MyList", "MyListAdd", "MyListChange", "TokenRequest", "User"]


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

    title_id: JsonInt = Field(gt=0, le=MAX_ID)


class MyListChange(BaseModel):
    user_id: int
    title_id: int
    changed: bool


class TokenRequest(BaseModel):
    """Credentials for POST /api/auth/token (seeded demo users: user N's password is ``pw-N``)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"user_id": 1, "password": "pw-1"}]}
    )

    user_id: JsonInt = Field(gt=0, le=MAX_ID)
    password: str = Field(min_length=1, max_length=200)


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
