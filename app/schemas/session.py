"""Session schemas: read-only, and never the token."""

from datetime import datetime

from app.schemas.common import ReadSchema


class SessionRead(ReadSchema):
    user_id: int
    expires_at: datetime
    last_seen_at: datetime
    ip_address: str | None
    user_agent: str | None
