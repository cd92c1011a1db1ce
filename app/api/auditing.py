"""The question a reader of the audit log asks: the API's query string, and the page's,
whose blank fields are dropped first (the reading: `app/services/audit_log.py`)."""

from typing import Annotated

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.lists import AuditFilter
from app.core.numbers import INT_MAX
from app.core.zones import in_utc
from app.schemas.common import UTCTimestamp

Id = Annotated[int, Field(ge=1, le=INT_MAX)]
Name = Annotated[str, Field(min_length=1, max_length=320, pattern=r"^[^\x00]*$")]


class AuditQuery(BaseModel):
    """Filters (None: any), the page size, and the cursor of the page."""

    model_config = ConfigDict(extra="ignore")

    actor_id: Id | None = None
    actor: Name | None = None
    event: Name | None = None
    resource: Name | None = None
    record_id: Id | None = None
    since: UTCTimestamp | None = Field(default=None, description="Inclusive.")
    until: UTCTimestamp | None = Field(default=None, description="Exclusive.")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Id | None = None

    @property
    def where(self) -> AuditFilter:
        return AuditFilter(
            self.actor_id,
            self.actor,
            self.event,
            self.resource,
            self.record_id,
            self.since,
            self.until,
        )

    @classmethod
    def from_form(cls, params: dict[str, str], zone: str) -> "AuditQuery":
        """The page's filter form sends every field: a blank one is no filter; its times
        are the viewer's wall clock in `zone`."""
        given = {k: v for k, v in params.items() if v != ""}
        for name in ("since", "until"):
            if name in given:
                given[name] = in_utc(given[name], zone)
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise RequestValidationError(
                [error | {"loc": ("query", *error["loc"])} for error in exc.errors()]
            ) from None
