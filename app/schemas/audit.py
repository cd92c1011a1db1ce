"""The audit log as the API shows it."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Timestamp


class AuditRead(BaseModel):
    """One event: who, when, from where, what, and the fields that changed."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: Timestamp
    actor_id: int | None
    actor_name: str | None
    address: str | None
    request_id: str | None
    event: str
    resource: str | None
    record_id: int | None
    changes: dict[str, Any] | None = Field(
        description='{field: [before, after]} of what changed; a secret as "changed".'
    )
    title: str | None = Field(
        default=None,
        description="The title of the record the entry is about, when you may read it "
        "(none once it is deleted).",
    )
    names: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="For each changed field that names records (`role_ids`, `project_id`): "
        "{id: title} of those you may read.",
    )


class AuditPage(BaseModel):
    """A page of entries, newest first."""

    items: list[AuditRead]
    limit: int
    next_cursor: str | None = Field(description="Pass as `cursor` for older entries.")
