"""Request and response shapes for authentication and users."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in_s: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    role: str
    enterprise_id: int | None


class UserIn(BaseModel):
    username: str
    password: str
    role: str
    enterprise: str | None = None
