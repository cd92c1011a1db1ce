"""What `GET /api/v1/auth/explain` answers: a decision and, permission by permission, why."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReasonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    role: str | None = Field(description="the role that gives it (null: held directly)")
    permission: str = Field(examples=["task:update:own[open]"])
    condition: str | None = Field(examples=["open"])
    allows: bool
    why_not: list[str] = Field(
        description="why it does not allow this record, in words with the record's values",
        examples=[['status is "done", the condition needs status != "done"']],
    )


class ExplanationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: int
    username: str
    resource: str
    action: Literal["read", "update", "delete"]
    record_id: int
    title: str = Field(description="the record's name", examples=["Pour concrete"])
    allowed: bool
    allowing: list[ReasonRead] = Field(description="the permissions that allow it")
    others: list[ReasonRead] = Field(description="the user's other permissions for it, and why not")
